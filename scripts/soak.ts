/**
 * Soak: the whole protocol on a local `hardhat node`, a book of accounts, the keeper service as its own
 * process, and a real price series replayed as Chainlink rounds, checked for token conservation at the
 * end.
 *
 *   npm run soak [-- --accounts 500 --rounds 2000 --prices data/prices/<file>.csv --port 8547
 *                    --json reports/soak.json --seed 1 --keeper-records-rounds]
 *
 * 1. starts `hardhat node` on a free port (or `--port`) in its own process group;
 * 2. deploys `ignition/modules/BallastLocal.ts` to it with Ignition (`--network localhost`, LOCAL_RPC_URL),
 *    with `ignition/parameters/local.json` plus the series' first price and a larger ETH open-interest cap,
 *    under the deployment id `soak-<port>` (removed at the end);
 * 3. opens the accounts (scripts/soak/book.ts): the node impersonates them, a funder deposits their
 *    margin and reserve, each opens its ETH position and sets its policy; transactions are sent without
 *    waiting for one another and their receipts checked afterwards;
 * 4. starts `hardhat keeper --json --network localhost` (its JSON log goes to `<json>.keeper.log`);
 * 5. replays the rounds: each round's answer goes to the ETH MockV3Aggregator at the round's time
 *    (offset to the chain's clock), together with `oracle.update(ETH)` in the same block (as
 *    `push-round`; with `--keeper-records-rounds` the keeper records the round instead). The soak then
 *    waits until the keeper logs a completed cycle that scanned a block at or after the push and sent
 *    nothing: every account it found was handled and the state at that block needs nothing more.
 *    Liquidations are the keeper's too (`performUpkeep` liquidates what `checkUpkeep` lists);
 * 6. stops the keeper with SIGTERM, counts transactions from the chain and the keeper's log, decodes
 *    the engine's events, checks conservation to the wei, prints a table and writes the JSON report.
 *
 * Exit code 1 when conservation fails, a transaction reverted, the keeper logged a non-transient error
 * or did not stop cleanly; 2 on a usage error. The node and the keeper are always stopped.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { Interface, JsonRpcProvider, Log, MaxUint256, parseEther } from "ethers";
import type {
  AccountLens,
  ChainlinkOracleAdapter,
  CollateralVault,
  LiquidityPool,
  MarginEngine,
  MockUSDC,
  MockV3Aggregator,
  RebalanceKeeper,
} from "../typechain-types";
import { enumName, SKIP_REASON } from "../tasks/lib/enums";
import { ErrorDecoder } from "../tasks/lib/errors";
import { emulateRounds, MAINNET_ETH_USD, pathStats, readPriceCsv } from "../tasks/lib/sim/prices";
import { makeBook, Trader } from "./soak/book";
import { contractAt, encode, pool, Sender, SentTx } from "./soak/chain";
import { KeeperLine, KeeperLog } from "./soak/keeperLog";
import {
  Child,
  freePort,
  killAllNow,
  portIsFree,
  ROOT,
  runHardhat,
  stopAll,
  waitForNode,
} from "./soak/processes";

// ------------------------------------------------------------------ options

interface Options {
  accounts: number;
  rounds: number;
  prices: string;
  port?: number;
  json: string;
  seed: number;
  keeperRecordsRounds: boolean;
  gasBudget: number;
  maxBatch: number;
  pageSize: number;
  roundTimeoutMs: number;
  maxCyclesPerRound: number;
  nodeHardfork?: string;
  nodeBlockGasLimit?: number;
  /** Stop replaying (and report what was replayed) after this many minutes of wall time. */
  maxMinutes?: number;
}

const USAGE =
  "usage: npm run soak [-- --accounts N] [--rounds N] [--prices <csv>] [--port N] [--json <file>] [--seed N]\n" +
  "       [--keeper-records-rounds] [--gas-budget GAS] [--max-batch N] [--page-size N] [--round-timeout S] [--max-cycles-per-round N]\n" +
  "       [--node-hardfork <name>] [--node-block-gas-limit GAS] [--max-minutes N]";

class UsageError extends Error {}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    accounts: 500,
    rounds: 2_000,
    prices: "data/prices/eth-usd-2018-11-capitulation.csv",
    json: "reports/soak.json",
    seed: 1,
    keeperRecordsRounds: false,
    gasBudget: 5_000_000,
    maxBatch: 20,
    pageSize: 100,
    roundTimeoutMs: 180_000,
    maxCyclesPerRound: 12,
  };
  const int = (name: string, v: string | undefined, min: number) => {
    const n = Number(v);
    if (v === undefined || !Number.isInteger(n) || n < min)
      throw new UsageError(`${name} needs an integer ≥ ${min}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    switch (a) {
      case "--accounts":
        o.accounts = int(a, v, 1);
        i++;
        break;
      case "--rounds":
        o.rounds = int(a, v, 2);
        i++;
        break;
      case "--prices":
        if (v === undefined) throw new UsageError("--prices needs a file");
        o.prices = v;
        i++;
        break;
      case "--port":
        o.port = int(a, v, 1);
        i++;
        break;
      case "--json":
        if (v === undefined) throw new UsageError("--json needs a file");
        o.json = v;
        i++;
        break;
      case "--seed":
        o.seed = int(a, v, 0);
        i++;
        break;
      case "--gas-budget":
        o.gasBudget = int(a, v, 100_000);
        i++;
        break;
      case "--max-batch":
        o.maxBatch = int(a, v, 1);
        i++;
        break;
      case "--page-size":
        o.pageSize = int(a, v, 1);
        i++;
        break;
      case "--round-timeout":
        o.roundTimeoutMs = int(a, v, 1) * 1000;
        i++;
        break;
      case "--max-cycles-per-round":
        o.maxCyclesPerRound = int(a, v, 1);
        i++;
        break;
      case "--node-hardfork":
        if (v === undefined) throw new UsageError("--node-hardfork needs a hardfork name");
        o.nodeHardfork = v;
        i++;
        break;
      case "--node-block-gas-limit":
        o.nodeBlockGasLimit = int(a, v, 1_000_000);
        i++;
        break;
      case "--max-minutes":
        o.maxMinutes = int(a, v, 1);
        i++;
        break;
      case "--keeper-records-rounds":
        o.keeperRecordsRounds = true;
        break;
      case "--help":
      case "-h":
        console.log(USAGE);
        process.exit(0);
        break;
      default:
        throw new UsageError(`unknown argument "${a}"`);
    }
  }
  return o;
}

// ------------------------------------------------------------------ helpers

const WAD = 10n ** 18n;
const USDC = 10n ** 6n;
const ETH_KEY = "0x4554480000000000000000000000000000000000000000000000000000000000";
const MAX_UINT = 2n ** 256n - 1n;
const seconds = (ms: number) => Math.round(ms / 100) / 10;
const usdc = (tokens: bigint) => {
  const sign = tokens < 0n ? "-" : "";
  const t = tokens < 0n ? -tokens : tokens;
  return `${sign}${t / USDC}.${(t % USDC).toString().padStart(6, "0")}`;
};
const wadToNumber = (wad: bigint) => Number(wad) / 1e18;
const log = (message: string) =>
  process.stderr.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------ the soak

async function soak(o: Options): Promise<number> {
  const started = Date.now();
  const timing: Record<string, number> = {};
  const jsonPath = resolve(o.json);
  const keeperLogPath = jsonPath.replace(/\.json$/, "") + ".keeper.log";
  mkdirSync(dirname(jsonPath), { recursive: true });

  // Prices: the series emulated as Chainlink rounds (0.5% deviation, 1 h heartbeat), the first N.
  const pricesPath = resolve(o.prices);
  const points = readPriceCsv(pricesPath);
  const allRounds = emulateRounds(points, MAINNET_ETH_USD);
  const rounds = allRounds.slice(0, o.rounds);
  if (rounds.length < o.rounds) log(`the series has ${allRounds.length} rounds; replaying all of them`);
  const toAnswer = (price: number) => BigInt(Math.round(price * 1e8));

  // 1. the node
  const port = o.port ?? (await freePort());
  if (!(await portIsFree(port))) throw new UsageError(`port ${port} is in use`);
  const url = `http://127.0.0.1:${port}`;
  let t = Date.now();
  const nodeEnv: Record<string, string> = {};
  if (o.nodeHardfork !== undefined) nodeEnv.SOAK_NODE_HARDFORK = o.nodeHardfork;
  if (o.nodeBlockGasLimit !== undefined) nodeEnv.SOAK_NODE_BLOCK_GAS_LIMIT = String(o.nodeBlockGasLimit);
  const node = new Child(
    "hardhat node",
    ["--config", "scripts/soak/node.config.ts", "node", "--port", String(port), "--hostname", "127.0.0.1"],
    nodeEnv,
  );
  const provider = await waitForNode(
    url,
    120_000,
    () => {
      if (!node.running) throw new Error(`hardhat node exited (${node.exitCode}): ${node.stderr}`);
    },
    { staticNetwork: true, polling: false },
  );
  // `hardhat node` logs (and traces, to name contracts and calls) every request; the soak sends tens of
  // thousands. The log goes nowhere here, so it is switched off.
  await provider.send("hardhat_setLoggingEnabled", [false]);
  timing.nodeStartSeconds = seconds(Date.now() - t);
  log(`hardhat node on ${url} (pid ${node.process.pid})`);
  const env = { LOCAL_RPC_URL: url };
  // The node's resident memory (Linux), sampled while the soak waits for the keeper.
  let nodePeakRssMb = 0;
  const sampleNodeMemory = () => {
    try {
      const status = readFileSync(`/proc/${node.process.pid}/status`, "utf8");
      const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      nodePeakRssMb = Math.max(nodePeakRssMb, Math.round(kb / 1024));
    } catch {
      // not Linux, or the node is gone
    }
  };

  // 2. deployment
  t = Date.now();
  const deploymentId = `soak-${port}`;
  const deploymentDir = join(ROOT, "ignition", "deployments", deploymentId);
  rmSync(deploymentDir, { recursive: true, force: true });
  cleanups.push(() => rmSync(deploymentDir, { recursive: true, force: true }));
  const parameters = JSON.parse(readFileSync(join(ROOT, "ignition", "parameters", "local.json"), "utf8"));
  parameters.Mocks.ethInitialAnswer = `${toAnswer(rounds[0].price)}n`;
  // 100,000 ETH of open interest is far below what the book opens at the series' prices.
  parameters.BallastLocal.ethMarket.maxOpenInterestWad = `${parseEther("1000000000")}n`;
  const parametersFile = join(tmpdir(), `ballast-soak-${port}-${process.pid}.json`);
  writeFileSync(parametersFile, JSON.stringify(parameters, null, 2));
  cleanups.push(() => rmSync(parametersFile, { force: true }));
  await runHardhat(
    [
      "ignition",
      "deploy",
      "ignition/modules/BallastLocal.ts",
      "--network",
      "localhost",
      "--parameters",
      parametersFile,
      "--deployment-id",
      deploymentId,
    ],
    env,
  );
  const deployed: Record<string, string> = JSON.parse(
    readFileSync(join(deploymentDir, "deployed_addresses.json"), "utf8"),
  );
  const at = (name: string) => {
    const a = deployed[`BallastLocal#${name}`] ?? deployed[`Mocks#${name}`];
    if (a === undefined) throw new Error(`the deployment has no ${name}`);
    return a;
  };
  timing.deploySeconds = seconds(Date.now() - t);
  const deployBlock = await provider.getBlockNumber();
  log(`deployed with Ignition (${deploymentId}) in ${timing.deploySeconds} s, ${deployBlock} blocks`);

  const token = contractAt<MockUSDC>("MockUSDC", at("MockUSDC"), provider);
  const feed = contractAt<MockV3Aggregator>("MockV3Aggregator", at("EthUsdFeed"), provider);
  const oracle = contractAt<ChainlinkOracleAdapter>(
    "ChainlinkOracleAdapter",
    at("ChainlinkOracleAdapter"),
    provider,
  );
  const vault = contractAt<CollateralVault>("CollateralVault", at("CollateralVault"), provider);
  const lpPool = contractAt<LiquidityPool>("LiquidityPool", at("LiquidityPool"), provider);
  const engine = contractAt<MarginEngine>("MarginEngine", at("MarginEngine"), provider);
  const keeperContract = contractAt<RebalanceKeeper>("RebalanceKeeper", at("RebalanceKeeper"), provider);
  const lens = contractAt<AccountLens>("AccountLens", at("AccountLens"), provider);
  // "threshold": the engine's built-in planner (a policy naming the engine).
  const strategies = { threshold: at("MarginEngine"), volatility: at("VolatilityScaledStrategy") };
  const A = {
    token: await token.getAddress(),
    feed: await feed.getAddress(),
    oracle: await oracle.getAddress(),
    vault: await vault.getAddress(),
    pool: await lpPool.getAddress(),
    engine: await engine.getAddress(),
    keeper: await keeperContract.getAddress(),
  };

  // 3. accounts
  t = Date.now();
  const [deployer, keeperSigner, lp, funder, pusher] = (await provider.send("eth_accounts", [])) as string[];
  const sender = new Sender(provider);
  const book = makeBook(o.accounts, o.seed);
  const price0Wad = parseEther(rounds[0].price.toFixed(8));
  const sizeOf = (tr: Trader) => {
    const size = (BigInt(tr.margin * tr.leverage) * WAD * WAD) / price0Wad;
    return tr.side === 1 ? size : -size;
  };
  const totalMarginTokens = book.reduce((s, tr) => s + BigInt(tr.margin) * USDC, 0n);
  const totalReserveTokens = book.reduce((s, tr) => s + BigInt(tr.reserve) * USDC, 0n);
  const totalNotionalUsd = book.reduce((s, tr) => s + tr.margin * tr.leverage, 0);
  const lpDeposit = BigInt(totalNotionalUsd) * USDC; // backs every position the book opens
  let minted = 0n;

  const tokenI = token.interface as unknown as Interface;
  const vaultI = vault.interface as unknown as Interface;
  const poolI = lpPool.interface as unknown as Interface;
  const engineI = engine.interface as unknown as Interface;
  const feedI = feed.interface as unknown as Interface;
  const oracleI = oracle.interface as unknown as Interface;
  const keeperI = keeperContract.interface as unknown as Interface;
  const mined = async (...txs: Promise<SentTx>[]) => sender.confirm(await Promise.all(txs));

  minted += lpDeposit + totalMarginTokens + totalReserveTokens;
  await mined(
    sender.send(lp, A.token, encode(tokenI, "mint", [lp, lpDeposit]), "mint (LP)"),
    sender.send(lp, A.token, encode(tokenI, "approve", [A.pool, MaxUint256]), "approve (LP)"),
    sender.send(
      funder,
      A.token,
      encode(tokenI, "mint", [funder, totalMarginTokens + totalReserveTokens]),
      "mint",
    ),
    sender.send(funder, A.token, encode(tokenI, "approve", [A.vault, MaxUint256]), "approve"),
  );
  await mined(sender.send(lp, A.pool, encode(poolI, "deposit", [lpDeposit, lp]), "LP deposit"));

  // The node signs for the traders: impersonated, with ether for gas.
  await pool(book, 16, async (tr) => {
    await provider.send("hardhat_impersonateAccount", [tr.address]);
    await provider.send("hardhat_setBalance", [tr.address, "0x56BC75E2D63100000"]);
  });
  // Margin and reserve, paid by the funder (the vault credits any account).
  const deposits: SentTx[] = [];
  await pool(book, 16, async (tr) => {
    deposits.push(
      await sender.send(
        funder,
        A.vault,
        encode(vaultI, "depositMargin", [tr.address, BigInt(tr.margin) * USDC]),
        `depositMargin ${tr.index}`,
      ),
    );
    if (tr.reserve > 0) {
      deposits.push(
        await sender.send(
          funder,
          A.vault,
          encode(vaultI, "depositReserve", [tr.address, BigInt(tr.reserve) * USDC]),
          `depositReserve ${tr.index}`,
        ),
      );
    }
  });
  await sender.confirm(deposits);
  // Orders and policies, each trader's own transactions; the orders fill at the round published after
  // them (at the first price), executed by the pusher.
  const opened: SentTx[] = [];
  const expiry = BigInt((await provider.getBlock("latest"))!.timestamp) + 86_400n;
  await pool(book, 16, async (tr) => {
    opened.push(
      await sender.send(
        tr.address,
        A.engine,
        encode(engineI, "submitOrder", [1n, sizeOf(tr), 0n, expiry]),
        `submitOrder ${tr.index}`,
      ),
    );
    if (tr.policy !== "none") {
      const policy = {
        triggerHealthWad: parseEther(tr.trigger.toFixed(2)),
        targetHealthWad: parseEther(tr.target.toFixed(2)),
        sweepHealthWad: 0n,
        allowTopUp: true,
        allowDeleverage: tr.allowDeleverage,
        maxKeeperRewardTokens: 5n * USDC,
        strategy: strategies[tr.policy],
      };
      opened.push(
        await sender.send(
          tr.address,
          A.engine,
          encode(engineI, "setPolicy", [policy]),
          `setPolicy ${tr.index}`,
        ),
      );
    }
  });
  await sender.confirm(opened);
  await mined(
    sender.send(pusher, A.feed, encode(feedI, "updateAnswer", [toAnswer(rounds[0].price)]), "round at open"),
  );
  const orderCount = Number(await engine.orderCount());
  const executed: SentTx[] = [];
  for (let id = 1; id <= orderCount; id++) {
    executed.push(
      await sender.send(
        pusher,
        A.engine,
        encode(engineI, "executeOrder", [BigInt(id)]),
        `executeOrder ${id}`,
      ),
    );
  }
  await sender.confirm(executed);
  const activeAfterSetup = Number(await engine.activeAccountCount());
  if (activeAfterSetup !== book.length)
    throw new Error(`${activeAfterSetup} active accounts, expected ${book.length}`);
  timing.setupSeconds = seconds(Date.now() - t);
  const setupTxs = sender.sent;
  const setupEndBlock = await provider.getBlockNumber();
  log(`opened ${book.length} accounts with ${setupTxs} transactions in ${timing.setupSeconds} s`);

  // 4. the keeper service
  const keeperLog = new KeeperLog();
  const keeperArgs = [
    "keeper",
    "--json",
    "--network",
    "localhost",
    "--deployment",
    deploymentDir,
    "--signer",
    "1",
    "--gas-budget",
    String(o.gasBudget),
    "--max-batch",
    String(o.maxBatch),
    "--page-size",
    String(o.pageSize),
    "--poll-interval",
    "5",
  ];
  const keeperNonceBefore = BigInt(await provider.getTransactionCount(keeperSigner));
  const keeper = new Child("keeper", keeperArgs, env, {
    stdout: (chunk) => keeperLog.push(chunk),
    logFile: keeperLogPath,
  });
  const keeperDied = () => {
    sampleNodeMemory();
    if (!node.running)
      return `the hardhat node exited (code ${node.exitCode}, signal ${node.signal}): ${node.stderr.slice(-2000)}`;
    return keeper.running
      ? undefined
      : `the keeper exited (code ${keeper.exitCode}): ${keeper.stderr.slice(-2000)}`;
  };
  await keeperLog.waitFor(0, (l) => l.event === "cycle", 120_000, keeperDied);
  log(`keeper running (pid ${keeper.process.pid}), log ${relative(process.cwd(), keeperLogPath)}`);

  // 5. replay
  t = Date.now();
  const replayStartBlock = (await provider.getBlockNumber()) + 1;
  const chainStart = (await provider.getBlock("latest"))!.timestamp + 60;
  const t0 = rounds[0].timestamp;
  let roundId = Number((await feed.latestRound()) as bigint);
  let cursor = keeperLog.lines.length;
  let shifted = 0;
  let maxRoundMs = 0;
  let cyclesWaited = 0;
  let failingRounds = 0;
  let pushMs = 0;
  let waitMs = 0;
  const notQuiescent: { round: number; block: number; cycles: number }[] = [];
  const progressEvery = Math.max(1, Math.round(rounds.length / 20));
  const answerGas = 200_000n;
  const updateGas = 1_000_000n;
  let replayedCount = 0;
  let stoppedEarly: string | null = null;
  replaying = true;
  for (let i = 0; i < rounds.length; i++) {
    if (stopRequest !== undefined) {
      stoppedEarly = `${stopRequest} after ${i} rounds`;
      break;
    }
    if (o.maxMinutes !== undefined && Date.now() - started > o.maxMinutes * 60_000) {
      stoppedEarly = `--max-minutes ${o.maxMinutes} reached after ${i} rounds`;
      break;
    }
    const roundStarted = Date.now();
    const round = rounds[i];
    const latest = (await provider.getBlock("latest"))!;
    let ts = chainStart + (round.timestamp - t0);
    if (ts <= latest.timestamp) {
      ts = latest.timestamp + 1;
      shifted++;
    }
    const data = encode(feedI, "updateAnswer", [toAnswer(round.price)]);
    let pushBlock: number;
    if (o.keeperRecordsRounds) {
      await provider.send("evm_setNextBlockTimestamp", [ts]);
      [{ blockNumber: pushBlock }] = await mined(sender.send(pusher, A.feed, data, `round ${i}`, answerGas));
    } else {
      // The round and its recording in one block (both wait in the mempool until evm_mine).
      await provider.send("evm_setAutomine", [false]);
      let txs: SentTx[];
      try {
        txs = [
          await sender.send(pusher, A.feed, data, `round ${i}`, answerGas),
          await sender.send(
            pusher,
            A.oracle,
            encode(oracleI, "update", [ETH_KEY]),
            `oracle.update ${i}`,
            updateGas,
          ),
        ];
        await provider.send("evm_mine", [ts]);
      } finally {
        await provider.send("evm_setAutomine", [true]);
      }
      const receipts = await sender.confirm(txs);
      pushBlock = receipts[0].blockNumber;
      if (receipts[1].blockNumber !== pushBlock)
        throw new Error(`round ${i}: update mined apart from the round`);
    }
    roundId++;
    const pushed = Date.now();
    pushMs += pushed - roundStarted;

    // Wait for a completed cycle that scanned the state at or after the push and sent nothing.
    // A cycle's scan runs after its feed updates, so one that sent updates but no performUpkeep also
    // leaves nothing to do (and the keeper runs no further cycle for its own update's block).
    const settled = (l: KeeperLine) =>
      l.status === "done" && Number(l.sent) === Number(l.updates) && recorded;
    let recorded = !o.keeperRecordsRounds;
    let cycles = 0;
    let errorCycles = 0;
    const found = await keeperLog.waitFor(
      cursor,
      (l: KeeperLine) => {
        if (
          !recorded &&
          (l.event === "update" || l.event === "skip") &&
          String(l.roundId) === String(roundId)
        ) {
          recorded = true;
        }
        if (l.event !== "cycle" || typeof l.block !== "number" || l.block < pushBlock) return false;
        cycles++;
        if (settled(l)) return true;
        errorCycles = l.status === "error" ? errorCycles + 1 : 0;
        if (errorCycles >= 3) return true; // failing every cycle: no point waiting for more
        return cycles >= o.maxCyclesPerRound;
      },
      o.roundTimeoutMs,
      keeperDied,
    );
    const last = keeperLog.lines[found];
    if (!settled(last)) {
      notQuiescent.push({ round: i, block: pushBlock, cycles });
      failingRounds = last.status === "error" ? failingRounds + 1 : 0;
      if (failingRounds >= 3) {
        const errors = keeperLog.of("error").slice(-3);
        throw new Error(
          `the keeper failed every cycle for 3 rounds in a row (rounds ${i - 2}-${i}); its last errors:\n` +
            errors.map((e) => JSON.stringify(e)).join("\n"),
        );
      }
    } else failingRounds = 0;
    cyclesWaited += cycles;
    replayedCount = i + 1;
    waitMs += Date.now() - pushed;
    cursor = found + 1;
    maxRoundMs = Math.max(maxRoundMs, Date.now() - roundStarted);
    if ((i + 1) % progressEvery === 0 || i === rounds.length - 1) {
      const elapsed = (Date.now() - t) / 1000;
      const eta = (elapsed / (i + 1)) * (rounds.length - i - 1);
      const performs = keeperLog.of("perform");
      const rebalanced = performs.reduce(
        (s, l) => s + ((l.rebalanced as string[] | undefined)?.length ?? 0),
        0,
      );
      const liquidated = performs.reduce(
        (s, l) => s + ((l.liquidated as string[] | undefined)?.length ?? 0),
        0,
      );
      log(
        `round ${i + 1}/${rounds.length} at ${round.price.toFixed(2)} USD: ${rebalanced} rebalances, ` +
          `${liquidated} liquidations; ${elapsed.toFixed(0)} s, ~${eta.toFixed(0)} s to go`,
      );
    }
  }
  replaying = false;
  if (stoppedEarly !== null) log(`replay stopped early: ${stoppedEarly}`);
  const replayed = rounds.slice(0, Math.max(1, replayedCount));
  const stats = pathStats(replayed);
  timing.replaySeconds = seconds(Date.now() - t);
  const replayEndBlock = await provider.getBlockNumber();

  // Stop the keeper as an operator would (SIGTERM: it finishes its step and exits 0).
  keeper.signalProcess("SIGTERM");
  const keeperExit = await Promise.race([keeper.exited, sleep(60_000).then(() => "timeout" as const)]);
  if (keeperExit === "timeout") await keeper.stopGroup();
  const keeperNonceAfter = BigInt(await provider.getTransactionCount(keeperSigner));
  log(`replayed ${replayedCount} rounds in ${timing.replaySeconds} s; keeper exited with ${keeperExit}`);

  // 6. analysis
  t = Date.now();
  const endBlock = await provider.getBlockNumber();
  // Every transaction after the deployment, by sender, and its status.
  const soakSenders = new Set(
    [lp, funder, pusher, ...book.map((tr) => tr.address)].map((a) => a.toLowerCase()),
  );
  const blockNumbers = Array.from({ length: endBlock - deployBlock }, (_, k) => deployBlock + 1 + k);
  const onChain = { soak: 0, keeper: 0, other: 0, replaySoak: 0, setupSoak: 0, gasKeeper: 0n };
  const revertedOnChain: { hash: string; from: string; block: number }[] = [];
  await pool(blockNumbers, 16, async (n) => {
    const block = await provider.send("eth_getBlockByNumber", [`0x${n.toString(16)}`, true]);
    for (const tx of block.transactions as { hash: string; from: string }[]) {
      const from = tx.from.toLowerCase();
      const receipt = await provider.send("eth_getTransactionReceipt", [tx.hash]);
      if (receipt.status !== "0x1") revertedOnChain.push({ hash: tx.hash, from, block: n });
      if (from === keeperSigner.toLowerCase()) {
        onChain.keeper++;
        onChain.gasKeeper += BigInt(receipt.gasUsed);
      } else if (soakSenders.has(from)) {
        onChain.soak++;
        if (n > setupEndBlock) onChain.replaySoak++;
        else onChain.setupSoak++;
      } else onChain.other++;
    }
  });

  // The engine's, pool's and keeper contract's events.
  const logsOf = async (address: string, iface: Interface) =>
    (await provider.getLogs({ address, fromBlock: replayStartBlock, toBlock: endBlock }))
      .map((l: Log) => {
        const parsed = iface.parseLog(l);
        return parsed === null ? null : { name: parsed.name, args: parsed.args, tx: l.transactionHash };
      })
      .filter((e) => e !== null);
  const engineEvents = await logsOf(A.engine, engineI);
  const poolEvents = await logsOf(A.pool, poolI);
  const keeperEvents = await logsOf(A.keeper, keeperI);
  const byAddress = new Map(book.map((tr) => [tr.address.toLowerCase(), tr]));
  const rebalances = engineEvents.filter((e) => e.name === "Rebalanced");
  const liquidations = engineEvents.filter((e) => e.name === "Liquidated");
  const rescues = engineEvents.filter((e) => e.name === "Rescued");
  const sumArg = (events: typeof engineEvents, name: string) =>
    events.reduce((s, e) => s + (e.args.getValue(name) as bigint), 0n);
  const distinct = (events: typeof engineEvents) =>
    new Set(events.map((e) => String(e.args[0]).toLowerCase()));
  const rebalancedAccounts = distinct(rebalances);
  const liquidatedAccounts = distinct(liquidations);
  const perPolicy = (accounts: Set<string>) => {
    const out: Record<string, number> = { none: 0, threshold: 0, volatility: 0 };
    for (const a of accounts) {
      const tr = byAddress.get(a);
      if (tr) out[tr.policy]++;
    }
    return out;
  };
  const badDebtEvents = poolEvents.filter((e) => e.name === "BadDebtRecorded");
  const upkeeps = keeperEvents.filter((e) => e.name === "UpkeepPerformed");
  const decoder = ErrorDecoder.fromInterfaces([engineI, keeperI, oracleI, vaultI, poolI]);
  const accountSkipped = keeperEvents
    .filter((e) => e.name === "AccountSkipped")
    .map((e) => ({
      account: String(e.args[0]),
      reason: enumName(SKIP_REASON, e.args[1] as bigint),
      error: decoder.nameOf(String(e.args[2])),
      tx: e.tx,
    }));

  const rewardTokens = upkeeps.reduce((s, e) => s + (e.args.getValue("rewardTokens") as bigint), 0n);

  // The keeper's log.
  const lines = keeperLog.lines;
  const cycles = lines.filter((l) => l.event === "cycle");
  const cyclesByStatus: Record<string, number> = {};
  for (const c of cycles) cyclesByStatus[String(c.status)] = (cyclesByStatus[String(c.status)] ?? 0) + 1;
  const updateLines = lines.filter((l) => l.event === "update" && typeof l.tx === "string");
  const performLines = lines.filter((l) => l.event === "perform" && typeof l.tx === "string");
  const skipLines = lines.filter((l) => l.event === "skip");
  const errorLines = lines.filter((l) => l.event === "error");
  const hardErrors = errorLines.filter((l) => l.transient !== true);
  const skipsByReason: Record<string, number> = {};
  for (const s of skipLines) skipsByReason[String(s.reason)] = (skipsByReason[String(s.reason)] ?? 0) + 1;
  const logRebalanced = performLines.reduce((s, l) => s + (l.rebalanced as string[]).length, 0);
  const logLiquidated = performLines.reduce((s, l) => s + (l.liquidated as string[]).length, 0);
  const cycleMs = cycles.reduce((s, c) => s + Number(c.durationMs ?? 0), 0);
  const busyCycles = cycles.filter((c) => Number(c.sent) > Number(c.updates));
  const busyCycleMs = busyCycles.reduce((s, c) => s + Number(c.durationMs ?? 0), 0);
  const quietCycles = cycles
    .filter((c) => c.status === "done" && c.sent === 0)
    .map((c) => Number(c.durationMs))
    .sort((a, b) => a - b);

  // End state: health of every trader, and what checkUpkeep still finds.
  const addresses = book.map((tr) => tr.address);
  const [healths, sizes] = await lens.healthAndSizes(addresses, 1n);
  let underWater = 0;
  let minHealth = Infinity;
  let open = 0;
  for (let k = 0; k < healths.length; k++) {
    if (sizes[k] !== 0n) open++;
    if (healths[k] === MAX_UINT) continue;
    minHealth = Math.min(minHealth, wadToNumber(healths[k]));
    if (healths[k] < WAD) underWater++;
  }
  const activeAtEnd = Number(await engine.activeAccountCount());
  let leftRebalance = 0;
  let leftLiquidate = 0;
  const scanStarted = Date.now();
  for (let start = 0; start < activeAtEnd; start += o.pageSize) {
    const checkData = encodeCheck(start, o.pageSize);
    const [, performData] = await keeperContract.checkUpkeep(checkData);
    const [r, l] = keeperI.getAbiCoder().decode(["address[]", "address[]", "address[]"], performData);
    leftRebalance += r.length;
    leftLiquidate += l.length;
  }
  const fullScanMs = Date.now() - scanStarted;
  // Gas of one checkUpkeep over every active account (null when over the node's call gas cap).
  const scanGas = await provider
    .estimateGas({
      to: A.keeper,
      data: encode(keeperI, "checkUpkeep", [encodeCheck(0, Math.max(1, activeAtEnd))]),
    })
    .catch(() => null);

  // Conservation, to the wei (as test/helpers/fixtures.ts `expectConservation`, plus the token supply).
  const holders = [deployer, keeperSigner, lp, funder, pusher, A.keeper, A.engine, ...addresses];
  let marginReserve = 0n;
  for (const a of [...addresses, keeperSigner, A.keeper, deployer, lp, funder, pusher]) {
    marginReserve += (await vault.marginOf(a)) + (await vault.reserveOf(a));
  }
  const vaultBalance = await token.balanceOf(A.vault);
  const poolBalance = await token.balanceOf(A.pool);
  let held = vaultBalance + poolBalance;
  for (const a of holders) held += await token.balanceOf(a);
  const checks = [
    check("vault balance == Σ margin + Σ reserve (every account)", vaultBalance, marginReserve),
    check("vault balance == totalHeld", vaultBalance, await vault.totalHeld()),
    check(
      "pool balance == cashAssets + insuranceBalance",
      poolBalance,
      (await lpPool.cashAssets()) + (await lpPool.insuranceBalance()),
    ),
    check("engine holds no tokens", await token.balanceOf(A.engine), 0n),
    check("keeper contract holds no tokens", await token.balanceOf(A.keeper), 0n),
    check("keeper contract holds no margin", await vault.marginOf(A.keeper), 0n),
    check(
      "keeper signer balance == Σ UpkeepPerformed rewards",
      await token.balanceOf(keeperSigner),
      rewardTokens,
    ),
    check("token supply == minted by the soak", await token.totalSupply(), minted),
    check("token supply == Σ balances (vault, pool, every holder)", await token.totalSupply(), held),
    check(
      "bad debt: Σ Liquidated.badDebt == Σ BadDebtRecorded",
      sumArg(liquidations, "badDebtTokens"),
      sumArg(badDebtEvents, "amountTokens"),
    ),
  ];
  const conservationOk = checks.every((c) => c.ok);
  timing.analysisSeconds = seconds(Date.now() - t);
  timing.wallSeconds = seconds(Date.now() - started);

  const soakReverted = sender.reverted.length;
  const keeperTxFromLog = updateLines.length + performLines.length;
  const unexpectedReverts = revertedOnChain.length + soakReverted + hardErrors.length;
  const countTrue = (f: (tr: Trader) => boolean) => book.filter(f).length;
  const report = {
    ok: conservationOk && unexpectedReverts === 0 && keeperExit === 0,
    config: {
      accounts: o.accounts,
      rounds: o.rounds,
      prices: relative(process.cwd(), pricesPath),
      feedEmulation: MAINNET_ETH_USD,
      market: "ETH",
      seed: o.seed,
      port,
      roundsRecordedBy: o.keeperRecordsRounds ? "keeper" : "soak",
      node: {
        hardfork: o.nodeHardfork ?? "the project's (Hardhat's default)",
        blockGasLimit: o.nodeBlockGasLimit ?? "the project's (Hardhat's default)",
      },
      keeperArgs,
      keeperLog: relative(process.cwd(), keeperLogPath),
    },
    series: {
      rows: points.length,
      emulatedRounds: allRounds.length,
      requestedRounds: rounds.length,
      replayedRounds: replayedCount,
      complete: replayedCount === rounds.length,
      stoppedEarly,
      from: new Date(rounds[0].timestamp * 1000).toISOString(),
      to: new Date(replayed[replayed.length - 1].timestamp * 1000).toISOString(),
      priceStart: rounds[0].price,
      priceEnd: replayed[replayed.length - 1].price,
      priceMin: stats.min,
      priceMax: stats.max,
      maxDrawdown: Number(stats.maxDrawdown.toFixed(4)),
    },
    book: {
      accounts: book.length,
      longs: countTrue((tr) => tr.side === 1),
      shorts: countTrue((tr) => tr.side === -1),
      policies: {
        none: countTrue((tr) => tr.policy === "none"),
        threshold: countTrue((tr) => tr.policy === "threshold"),
        volatility: countTrue((tr) => tr.policy === "volatility"),
      },
      leverageMin: Math.min(...book.map((tr) => tr.leverage)),
      leverageMax: Math.max(...book.map((tr) => tr.leverage)),
      leverageMean: Number((book.reduce((s, tr) => s + tr.leverage, 0) / book.length).toFixed(2)),
      marginTokens: usdc(totalMarginTokens),
      reserveTokens: usdc(totalReserveTokens),
      notionalUsd: totalNotionalUsd,
      lpDepositTokens: usdc(lpDeposit),
    },
    timing: {
      ...timing,
      secondsPerRound: Number((timing.replaySeconds / Math.max(1, replayedCount)).toFixed(3)),
      maxRoundSeconds: seconds(maxRoundMs),
      keeperCycleSeconds: seconds(cycleMs),
      // Cycles that sent performUpkeep batches (each batch: an estimate, the transaction, its receipt)
      // and those that only scanned.
      keeperBusyCycles: busyCycles.length,
      keeperBusyCycleSeconds: seconds(busyCycleMs),
      keeperQuietCycleSeconds: seconds(cycleMs - busyCycleMs),
      secondsPerPerformUpkeep: performLines.length
        ? Number((busyCycleMs / 1000 / performLines.length).toFixed(3))
        : null,
      // Where a round's time goes: pushing it (and recording it), then waiting for the keeper: its
      // block poll (500 ms on an HTTP network) and its cycles; the cycle is mostly the checkUpkeep scan.
      pushSeconds: seconds(pushMs),
      waitForKeeperSeconds: seconds(waitMs),
      quietCycleMedianMs: quietCycles.length ? quietCycles[Math.floor(quietCycles.length / 2)] : null,
      fullScanMsAtEnd: fullScanMs,
      nodePeakRssMb,
      fullScanGasAtEnd: scanGas === null ? null : scanGas.toString(),
    },
    transactions: {
      deployment: await countDeploymentTxs(provider, deployBlock),
      soak: {
        setup: setupTxs,
        replay: sender.sent - setupTxs,
        total: sender.sent,
        onChain: onChain.soak,
      },
      keeper: {
        update: updateLines.length,
        performUpkeep: performLines.length,
        total: keeperTxFromLog,
        onChain: onChain.keeper,
        nonceDelta: Number(keeperNonceAfter - keeperNonceBefore),
        gasUsed: onChain.gasKeeper.toString(),
      },
      otherOnChain: onChain.other,
      total: sender.sent + keeperTxFromLog,
      reverted: {
        onChain: revertedOnChain.length,
        soak: soakReverted,
        keeperErrors: hardErrors.length,
        list: [...revertedOnChain, ...sender.reverted, ...hardErrors],
      },
      blocks: {
        deployment: deployBlock,
        setup: setupEndBlock - deployBlock,
        replay: endBlock - setupEndBlock,
      },
    },
    keeper: {
      exitCode: keeperExit,
      cycles: cycles.length,
      cyclesByStatus,
      cyclesWaitedForRounds: cyclesWaited,
      transientRetries: errorLines.length - hardErrors.length,
      skips: { total: skipLines.length, byReason: skipsByReason, list: skipLines },
      accountsSkippedOnChain: accountSkipped,
      nonJsonStdoutLines: keeperLog.other.length,
    },
    actions: {
      rebalances: rebalances.length,
      rebalancesInKeeperLog: logRebalanced,
      rebalancedAccounts: rebalancedAccounts.size,
      rebalancedAccountsByPolicy: perPolicy(rebalancedAccounts),
      toppedUpTokens: usdc(sumArg(rebalances, "toppedUpTokens")),
      deleveragedNotionalUsd: Number(wadToNumber(sumArg(rebalances, "deleveragedNotionalWad")).toFixed(2)),
      keeperRewardTokens: usdc(sumArg(rebalances, "keeperRewardTokens")),
      liquidations: liquidations.length,
      liquidationsInKeeperLog: logLiquidated,
      liquidatedAccounts: liquidatedAccounts.size,
      liquidatedAccountsByPolicy: perPolicy(liquidatedAccounts),
      rescues: rescues.length,
      liquidationPenaltyTokens: usdc(sumArg(liquidations, "penaltyTokens")),
      liquidatorRewardTokens: usdc(sumArg(liquidations, "liquidatorRewardTokens")),
      badDebtTokens: usdc(sumArg(liquidations, "badDebtTokens")),
      badDebtCoveredByInsuranceTokens: usdc(sumArg(badDebtEvents, "coveredByInsuranceTokens")),
      badDebtBorneByLiquidityTokens: usdc(sumArg(badDebtEvents, "borneByLiquidityTokens")),
      upkeepRewardTokens: usdc(rewardTokens),
    },
    rounds: {
      pushed: replayedCount,
      timestampsShifted: shifted,
      notQuiescent,
    },
    end: {
      activeAccounts: activeAtEnd,
      openPositions: open,
      underWater,
      minHealth: Number.isFinite(minHealth) ? Number(minHealth.toFixed(4)) : null,
      checkUpkeepRebalance: leftRebalance,
      checkUpkeepLiquidate: leftLiquidate,
    },
    conservation: { ok: conservationOk, checks },
    unexpectedReverts,
  };
  writeFileSync(
    jsonPath,
    JSON.stringify(report, (_k, v) => (typeof v === "bigint" ? v.toString() : v), 2) + "\n",
  );
  printTable(report);
  log(`report: ${relative(process.cwd(), jsonPath)}`);
  if (!report.ok) return 1;
  return stopRequest !== undefined ? 130 : 0;
}

function encodeCheck(start: number, count: number): string {
  return new Interface([]).getAbiCoder().encode(["uint256", "uint256"], [start, count]);
}

function check(name: string, actual: bigint, expected: bigint) {
  return { name, actual: actual.toString(), expected: expected.toString(), ok: actual === expected };
}

/** Transactions of the deployment (Ignition's, blocks 1 … `deployBlock`). */
async function countDeploymentTxs(provider: JsonRpcProvider, deployBlock: number): Promise<number> {
  let n = 0;
  for (let b = 1; b <= deployBlock; b++) {
    n += Number(await provider.send("eth_getBlockTransactionCountByNumber", [`0x${b.toString(16)}`]));
  }
  return n;
}

// ------------------------------------------------------------------ output

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function printTable(r: any) {
  const rows: [string, string][] = [
    ["accounts (long / short)", `${r.book.accounts} (${r.book.longs} / ${r.book.shorts})`],
    [
      "policies (none / threshold / volatility)",
      `${r.book.policies.none} / ${r.book.policies.threshold} / ${r.book.policies.volatility}`,
    ],
    ["leverage", `${r.book.leverageMin}x-${r.book.leverageMax}x (mean ${r.book.leverageMean}x)`],
    [
      "rounds replayed",
      `${r.series.replayedRounds} of ${r.series.requestedRounds} requested, ${r.series.emulatedRounds} in the series (${r.config.prices})` +
        (r.series.stoppedEarly ? `; stopped early: ${r.series.stoppedEarly}` : ""),
    ],
    [
      "price",
      `${r.series.priceStart} → ${r.series.priceEnd} (min ${r.series.priceMin}, drawdown ${(r.series.maxDrawdown * 100).toFixed(1)}%)`,
    ],
    [
      "transactions: soak (setup + replay)",
      `${r.transactions.soak.total} (${r.transactions.soak.setup} + ${r.transactions.soak.replay})`,
    ],
    [
      "transactions: keeper (update + performUpkeep)",
      `${r.transactions.keeper.total} (${r.transactions.keeper.update} + ${r.transactions.keeper.performUpkeep}); on chain ${r.transactions.keeper.onChain}`,
    ],
    ["transactions: total", String(r.transactions.total)],
    [
      "reverted (on chain / soak / keeper errors)",
      `${r.transactions.reverted.onChain} / ${r.transactions.reverted.soak} / ${r.transactions.reverted.keeperErrors}`,
    ],
    [
      "keeper skips",
      r.keeper.skips.total === 0
        ? "0"
        : Object.entries(r.keeper.skips.byReason)
            .map(([k, v]) => `${k}: ${v}`)
            .join(", "),
    ],
    ["accounts skipped on chain", String(r.keeper.accountsSkippedOnChain.length)],
    [
      "rebalances (accounts)",
      `${r.actions.rebalances} (${r.actions.rebalancedAccounts}: threshold ${r.actions.rebalancedAccountsByPolicy.threshold}, volatility ${r.actions.rebalancedAccountsByPolicy.volatility})`,
    ],
    ["topped up / deleveraged", `${r.actions.toppedUpTokens} USDC / ${r.actions.deleveragedNotionalUsd} USD`],
    [
      "liquidations (accounts)",
      `${r.actions.liquidations} (${r.actions.liquidatedAccounts}: none ${r.actions.liquidatedAccountsByPolicy.none}, threshold ${r.actions.liquidatedAccountsByPolicy.threshold}, volatility ${r.actions.liquidatedAccountsByPolicy.volatility})`,
    ],
    ["bad debt", `${r.actions.badDebtTokens} USDC`],
    ["keeper rewards", `${r.actions.upkeepRewardTokens} USDC`],
    ["at the end: under water / min health", `${r.end.underWater} / ${r.end.minHealth}`],
    ["rounds not settled within the cycle cap", String(r.rounds.notQuiescent.length)],
    ["conservation", r.conservation.ok ? "ok (exact)" : "FAILED"],
    ["keeper exit code", String(r.keeper.exitCode)],
    ["setup", `${r.timing.setupSeconds} s`],
    [
      "replay",
      `${r.timing.replaySeconds} s (${r.timing.secondsPerRound} s/round, max ${r.timing.maxRoundSeconds} s)`,
    ],
    [
      "keeper time: busy / quiet cycles",
      `${r.timing.keeperBusyCycleSeconds} s in ${r.timing.keeperBusyCycles} / ${r.timing.keeperQuietCycleSeconds} s (${r.timing.secondsPerPerformUpkeep} s per performUpkeep)`,
    ],
    ["wall time", `${r.timing.wallSeconds} s`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  console.log("");
  for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
  // Every skip the keeper stated, with its reason (all of them are in the JSON report).
  const skips = r.keeper.skips.list as KeeperLine[];
  for (const l of skips.slice(0, 20)) {
    const { ts: _ts, event: _event, reason, ...rest } = l;
    console.log(`  skip ${String(reason)}: ${JSON.stringify(rest)}`);
  }
  if (skips.length > 20) console.log(`  … ${skips.length - 20} more skips in the JSON report`);
  for (const a of r.keeper.accountsSkippedOnChain.slice(0, 20)) {
    console.log(`  skipped on chain: ${a.account} (${a.reason}, ${a.error}, tx ${a.tx})`);
  }
  for (const c of r.conservation.checks) {
    if (!c.ok) console.log(`  conservation FAILED: ${c.name}: ${c.actual} != ${c.expected}`);
  }
  console.log("");
}

// ------------------------------------------------------------------ process lifecycle

const cleanups: (() => void)[] = [];
let stopping = false;

async function shutdown(code: number) {
  if (stopping) return;
  stopping = true;
  await stopAll();
  for (const c of cleanups.splice(0)) {
    try {
      c();
    } catch {
      // best effort
    }
  }
  process.exit(code);
}

process.on("exit", killAllNow);
let replaying = false;
let stopRequest: string | undefined;
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => {
    if (replaying && stopRequest === undefined) {
      // The first signal during the replay ends it after the current round; the report is still written.
      stopRequest = signal;
      log(`${signal}: stopping after this round and reporting (again to stop at once)`);
      return;
    }
    log(`${signal}: stopping the node and the keeper`);
    void shutdown(130);
  });
}

async function main() {
  let options: Options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  try {
    const code = await soak(options);
    await shutdown(code);
  } catch (error) {
    log(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    await shutdown(error instanceof UsageError ? 2 : 1);
  }
}

void main();
