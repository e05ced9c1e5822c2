import { task, types } from "hardhat/config";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { MAINNET_ETH_USD, emulateRounds, readPriceCsv, syntheticCrash } from "./lib/sim/prices";
import { DEFAULT_BOOK, runSimulation } from "./lib/sim/runner";
import { metricsText, renderReport } from "./lib/sim/report";
import { progressBar } from "./lib/sim/progress";

/** Names of `IChainlinkOracleAdapter.Status` values. */
export const STATUS_NAMES = ["Ok", "Stale", "Invalid", "Deviation", "SequencerDown", "GracePeriod"];

interface DemoArgs {
  prices?: string;
  seed: number;
  out: string;
}

task("demo", "Runs Ballast through a price crash on the in-process network and writes an HTML report")
  .addOptionalParam("prices", "CSV of `timestamp,price` rows to replay instead of the synthetic crash")
  .addOptionalParam("seed", "Seed of the synthetic crash", 7, types.int)
  .addOptionalParam("out", "Folder for the report", "reports")
  .setAction(async (args: DemoArgs, hre) => {
    if (hre.network.name !== "hardhat") {
      throw new Error("the demo runs on the in-process network only: drop --network");
    }
    // A fresh clone has no artifacts (under solidity-coverage they exist, instrumented: keep them).
    if (!(await hre.artifacts.artifactExists("MarginEngine"))) await hre.run("compile", { quiet: true });
    const points = args.prices ? readPriceCsv(args.prices) : syntheticCrash(args.seed);
    const rounds = emulateRounds(points, MAINNET_ETH_USD);
    const source = args.prices ? args.prices : `synthetic crash (seed ${args.seed})`;
    // About 20 accounts: 7 leverages × 3 policies, all long (the crash hurts longs).
    const book = { ...DEFAULT_BOOK, leverages: [2, 3, 5, 8, 10, 15, 20], sides: [1 as const] };
    console.log(`Ballast demo: ${source}, ${points.length} points → ${rounds.length} Chainlink rounds`);
    console.log(
      `${book.policies.length * book.leverages.length} accounts (leverage ${book.leverages.join(", ")}x; policies ${book.policies.join(", ")})`,
    );

    const result = await runSimulation(hre, rounds, {
      book,
      sampleEvery: Math.max(1, Math.floor(rounds.length / 400)),
      onProgress: progressBar("rounds"),
    });

    console.log(metricsText(result.metrics));
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
    writeFileSync(
      join(args.out, "demo.json"),
      JSON.stringify({ source, rounds: rounds.length, metrics: result.metrics }, null, 2),
    );
    console.log(`report: ${file} (${result.wallSeconds.toFixed(1)} s)`);
  });
