import { types } from "hardhat/config";
import { defineTask } from "./lib/cli";
import { loadBallast } from "./lib/context";
import { TaskError } from "./lib/errors";
import { BallastKeeper, MAX_BATCH, MAX_PAGE } from "./lib/keeper";
import { withCommonParams } from "./lib/output";
import { resolveSigner } from "./lib/signers";
import { parseGwei } from "./lib/units";

interface KeeperArgs {
  deployment?: string;
  json: boolean;
  signer?: string;
  gasBudget: number;
  maxGasPrice?: string;
  pageSize: number;
  maxBatch: number;
  once: boolean;
  dryRun: boolean;
  pollInterval: number;
  retries: number;
}

withCommonParams(
  defineTask(
    "keeper",
    "Keeper service: records new feed rounds, scans checkUpkeep, sends performUpkeep batches",
  )
    .addOptionalParam(
      "gasBudget",
      "Most estimated gas per performUpkeep (batches are split to fit)",
      5_000_000,
      types.int,
    )
    .addOptionalParam(
      "maxGasPrice",
      "Skip cycles while the network gas price is above this (gwei)",
      undefined,
      types.string,
    )
    .addOptionalParam("pageSize", `Accounts per checkUpkeep page (1-${MAX_PAGE})`, 100, types.int)
    .addOptionalParam(
      "maxBatch",
      `Most accounts per performUpkeep batch (1-${MAX_BATCH}); larger batches are halved`,
      MAX_BATCH,
      types.int,
    )
    .addFlag("once", "Run one cycle, then exit")
    .addFlag("dryRun", "Send no transaction; log what would be sent")
    .addOptionalParam("pollInterval", "Seconds before a cycle runs without a new block", 15, types.int)
    .addOptionalParam("retries", "Attempts per RPC read on transient errors", 5, types.int)
    .addOptionalParam(
      "signer",
      "Sender: account index or address (default: the first account)",
      undefined,
      types.string,
    ),
).setAction(async (args: KeeperArgs, hre) => {
  if (!(args.gasBudget > 0)) throw new TaskError("--gas-budget must be positive");
  if (!(args.pageSize >= 1 && args.pageSize <= MAX_PAGE))
    throw new TaskError(`--page-size must be 1-${MAX_PAGE}`);
  if (!(args.maxBatch >= 1 && args.maxBatch <= MAX_BATCH))
    throw new TaskError(`--max-batch must be 1-${MAX_BATCH}`);
  if (!(args.retries >= 1)) throw new TaskError("--retries must be at least 1");
  if (!(args.pollInterval >= 1)) throw new TaskError("--poll-interval must be at least 1 second");
  const maxGasPriceWei = args.maxGasPrice === undefined ? undefined : parseGwei(args.maxGasPrice);

  const signer = await resolveSigner(hre, args.signer, "--signer");
  const b = await loadBallast(hre, args.deployment, signer);
  const keeper = new BallastKeeper(
    {
      engine: b.engine,
      keeper: await b.keeper(),
      oracle: b.oracle,
      provider: hre.ethers.provider,
      signer,
      decoder: b.decoder,
      token: { decimals: b.tokenDecimals, symbol: b.tokenSymbol },
    },
    {
      gasBudget: BigInt(args.gasBudget),
      maxGasPriceWei,
      pageSize: args.pageSize,
      maxBatch: args.maxBatch,
      dryRun: args.dryRun,
      pollIntervalMs: args.pollInterval * 1000,
      retry: { attempts: args.retries },
      format: args.json ? "json" : "text",
    },
  );
  // stdout carries only the log lines (JSON with --json); this goes to stderr.
  console.error(
    `keeper on ${hre.network.name}: engine ${await b.engine.getAddress()}, keeper ${b.address("keeper")}, ` +
      `signer ${signer.address}, deployment ${b.deployment.file}` +
      (args.dryRun ? " (dry run)" : "") +
      (args.once ? " (one cycle)" : ""),
  );

  if (args.once) {
    const report = await keeper.runCycle("once");
    if (report.status === "error") throw new TaskError("the cycle failed (see the error line)");
    return report;
  }

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) process.exit(1); // a second signal: do not wait for the cycle
    console.error(`keeper: ${signal}, stopping after the current step`);
    keeper.stop();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    await keeper.run();
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
  console.error("keeper: stopped");
});
