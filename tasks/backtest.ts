import { types } from "hardhat/config";
import { defineTask } from "./lib/cli";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { MAINNET_ETH_USD, emulateRounds, pathStats, readPrices } from "./lib/sim/prices";
import { TaskError } from "./lib/errors";
import { DEFAULT_BOOK, POLICY_NAMES, PolicyName, runSimulation, type SimOptions } from "./lib/sim/runner";
import { runFastSimulation } from "./lib/fast/runner";
import { metricsText, renderReport } from "./lib/sim/report";
import { progressBar } from "./lib/sim/progress";
import { FittedGarch, garchVolatilityAt } from "./lib/sim/volatility-models";

interface BacktestArgs {
  prices: string;
  policies: string;
  accounts?: number;
  seed: number;
  out: string;
  json: boolean;
  html?: string;
  deviation: number;
  heartbeat: number;
  raw: boolean;
  maxDeviation?: number;
  keeperFirst: boolean;
  volatilityModel?: string;
  engine: string;
}

defineTask(
  "backtest",
  "Replays a price history as Chainlink rounds against a book of accounts under each policy",
)
  .addParam("prices", "CSV of `timestamp,price` rows (unix seconds, USD; a header line allowed)")
  .addOptionalParam("policies", "Policies to compare, comma-separated", POLICY_NAMES.join(","))
  .addOptionalParam(
    "accounts",
    "Accounts per policy (default: the book, 2/3/5/10/20x long and short)",
    undefined,
    types.int,
  )
  .addOptionalParam("seed", "Seed for the margins of accounts beyond the default book", 1, types.int)
  .addParam("out", "Where to write the results (a JSON file)")
  .addOptionalParam("html", "Where to write an HTML report")
  .addFlag("json", "Print the results as JSON on stdout instead of the table")
  .addOptionalParam(
    "deviation",
    "Feed deviation threshold (fraction)",
    MAINNET_ETH_USD.deviation,
    types.float,
  )
  .addOptionalParam("heartbeat", "Feed heartbeat (seconds)", MAINNET_ETH_USD.heartbeat, types.int)
  .addFlag("raw", "Publish exactly one round per row")
  .addOptionalParam(
    "keeperFirst",
    "Also replay without the competing liquidator (the keeper acting first) and report its liquidations",
    true,
    types.boolean,
  )
  .addOptionalParam(
    "maxDeviation",
    "The adapter's deviation bound per round (default 0.02; at most the markets' 2% maintenance margin)",
    undefined,
    types.float,
  )
  .addOptionalParam(
    "engine",
    "fast: the BigInt model of the contracts (bit-exact, seconds); chain: the contracts on the in-process network",
    "fast",
  )
  .addOptionalParam(
    "volatilityModel",
    "A GARCH(1,1) fit (the JSON `npm run volatility-study` writes): its hourly forecast is published as the " +
      "adapter's realised-volatility feed, in place of the EWMA",
  )
  .setAction(async (args: BacktestArgs, hre) => {
    if (hre.network.name !== "hardhat") {
      throw new TaskError(
        `the backtest runs on the in-process network only: drop --network ${hre.network.name}`,
      );
    }
    if (args.engine !== "fast" && args.engine !== "chain") {
      throw new TaskError(`--engine: expected fast or chain, got "${args.engine}"`);
    }
    // A fresh clone has no artifacts (under solidity-coverage they exist, instrumented: keep them).
    if (args.engine === "chain" && !(await hre.artifacts.artifactExists("MarginEngine"))) {
      await hre.run("compile", { quiet: true });
    }
    const policies = args.policies.split(",").map((p) => p.trim()) as PolicyName[];
    for (const p of policies) {
      if (!POLICY_NAMES.includes(p))
        throw new TaskError(`--policies: unknown policy "${p}" (expected ${POLICY_NAMES.join(", ")})`);
    }
    const points = readPrices(args.prices);
    const rounds = emulateRounds(points, {
      deviation: args.deviation,
      heartbeat: args.heartbeat,
      raw: args.raw,
    });
    const book = { ...DEFAULT_BOOK, policies };
    const perPolicy = book.leverages.length * book.sides.length;
    const replicas = args.accounts ? Math.max(1, Math.ceil(args.accounts / perPolicy)) : 1;
    console.error(
      `backtest ${args.prices}: ${points.length} rows → ${rounds.length} rounds; ` +
        `${policies.length} policies × ${perPolicy * replicas} accounts`,
    );
    let volatilityAt: ((timestamp: number) => number) | undefined;
    if (args.volatilityModel) {
      let fit: FittedGarch | undefined;
      try {
        fit = (JSON.parse(readFileSync(args.volatilityModel, "utf8")) as { garch?: FittedGarch }).garch;
      } catch (error) {
        throw new TaskError(`--volatility-model ${args.volatilityModel}: ${(error as Error).message}`);
      }
      const fields = ["omega", "alpha", "beta", "trainVariance"] as const;
      if (!fit || fields.some((f) => typeof fit![f] !== "number" || !(fit![f] >= 0))) {
        throw new TaskError(
          `--volatility-model ${args.volatilityModel}: expected { garch: { ${fields.join(", ")} } } (npm run volatility-study)`,
        );
      }
      volatilityAt = garchVolatilityAt(points, fit);
    }
    const simulate = async (liquidator: boolean, label: string) => {
      const options: SimOptions = {
        book,
        replicas,
        seed: args.seed,
        maxDeviation: args.maxDeviation,
        sampleEvery: Math.max(1, Math.floor(rounds.length / 1_000)),
        onProgress: progressBar(label),
        liquidator,
        volatilityAt,
      };
      return args.engine === "chain"
        ? runSimulation(hre, rounds, options)
        : runFastSimulation(rounds, options);
    };
    // The headline: a liquidator acting first on every round, as on a live chain.
    const result = await simulate(true, "rounds (liquidator first)");
    let keeperFirstSeconds = 0;
    if (args.keeperFirst) {
      const keeperOnly = await simulate(false, "rounds (keeper first)");
      keeperFirstSeconds = keeperOnly.wallSeconds;
      for (const [policy, m] of Object.entries(keeperOnly.metrics)) {
        result.metrics[policy].liquidatedKeeperFirst = m.liquidatedAccounts;
      }
    }
    const stats = pathStats(rounds);
    const output = {
      prices: args.prices,
      rows: points.length,
      rounds: rounds.length,
      priceMin: stats.min,
      priceMax: stats.max,
      maxDrawdown: Math.round(stats.maxDrawdown * 1e6) / 1e6,
      feed: { deviation: args.deviation, heartbeat: args.heartbeat, raw: args.raw },
      wallSeconds: Math.round(result.wallSeconds * 10) / 10,
      keeperFirstWallSeconds: Math.round(keeperFirstSeconds * 10) / 10,
      engine: args.engine,
      liquidator: "first",
      volatility: args.volatilityModel ? { model: "garch", fit: args.volatilityModel } : { model: "ewma" },
      policies: result.metrics,
      accounts: result.outcomes,
    };
    mkdirSync(dirname(args.out), { recursive: true });
    writeFileSync(args.out, JSON.stringify(output, null, 2) + "\n");
    if (args.html) {
      mkdirSync(dirname(args.html), { recursive: true });
      writeFileSync(
        args.html,
        renderReport(
          result,
          `Ballast backtest: ${args.prices}`,
          `${points.length} price-series rows replayed as ${rounds.length} Chainlink rounds.`,
          { rows: points, feed: { deviation: args.deviation, heartbeat: args.heartbeat, raw: args.raw } },
        ),
      );
    }
    if (args.json) console.log(JSON.stringify(output, null, 2));
    else console.log(metricsText(result.metrics));
    console.error(
      `wrote ${args.out}${args.html ? ` and ${args.html}` : ""} (${result.wallSeconds.toFixed(1)} s)`,
    );
    return output;
  });
