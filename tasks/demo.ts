import { types } from "hardhat/config";
import { defineTask } from "./lib/cli";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { MAINNET_ETH_USD, emulateRounds, readPrices, syntheticCrash } from "./lib/sim/prices";
import { TaskError } from "./lib/errors";
import { DEFAULT_BOOK, runSimulation } from "./lib/sim/runner";
import { metricsText, renderReport } from "./lib/sim/report";
import { progressBar } from "./lib/sim/progress";

/** Names of `IChainlinkOracleAdapter.Status` values. */
export const STATUS_NAMES = ["Ok", "Stale", "Invalid", "Deviation", "SequencerDown", "GracePeriod"];

interface DemoArgs {
  prices?: string;
  seed: number;
  out: string;
  json: boolean;
}

defineTask("demo", "Runs Ballast through a price crash on the in-process network and writes an HTML report")
  .addOptionalParam("prices", "CSV of `timestamp,price` rows to replay instead of the synthetic crash")
  .addOptionalParam("seed", "Seed of the synthetic crash", 7, types.int)
  .addOptionalParam("out", "Folder for the report", "reports")
  .addFlag("json", "Print the summary as JSON on stdout instead of text and the table")
  .setAction(async (args: DemoArgs, hre) => {
    if (hre.network.name !== "hardhat") {
      throw new TaskError(`the demo runs on the in-process network only: drop --network ${hre.network.name}`);
    }
    // With --json, stdout carries one JSON object; what people read goes to stderr.
    const say = args.json ? console.error : console.log;
    // A fresh clone has no artifacts (under solidity-coverage they exist, instrumented: keep them).
    if (!(await hre.artifacts.artifactExists("MarginEngine"))) await hre.run("compile", { quiet: true });
    const points = args.prices ? readPrices(args.prices) : syntheticCrash(args.seed);
    const rounds = emulateRounds(points, MAINNET_ETH_USD);
    const source = args.prices ? args.prices : `synthetic crash (seed ${args.seed})`;
    // About 20 accounts: 7 leverages × 3 policies, all long (the crash hurts longs).
    const book = { ...DEFAULT_BOOK, leverages: [2, 3, 5, 8, 10, 15, 20], sides: [1 as const] };
    say(`Ballast demo: ${source}, ${points.length} points → ${rounds.length} Chainlink rounds`);
    say(
      `${book.policies.length * book.leverages.length} accounts (leverage ${book.leverages.join(", ")}x; policies ${book.policies.join(", ")})`,
    );

    const result = await runSimulation(hre, rounds, {
      book,
      sampleEvery: Math.max(1, Math.floor(rounds.length / 400)),
      onProgress: progressBar("rounds"),
    });

    if (!args.json) console.log(metricsText(result.metrics));
    mkdirSync(args.out, { recursive: true });
    const file = join(args.out, "demo.html");
    writeFileSync(
      file,
      renderReport(
        result,
        "Ballast demo: keeping leveraged accounts out of liquidation",
        `Price path: ${source}. Rounds published as Chainlink ETH/USD does on mainnet (0.5% deviation, 1 h heartbeat).`,
        { rows: points, feed: MAINNET_ETH_USD },
      ),
    );
    const summary = { source, rounds: rounds.length, metrics: result.metrics };
    writeFileSync(join(args.out, "demo.json"), JSON.stringify(summary, null, 2));
    say(`report: ${file} (${result.wallSeconds.toFixed(1)} s)`);
    if (args.json) console.log(JSON.stringify({ ...summary, report: file }, null, 2));
    return summary;
  });
