/**
 * Gas and scale benchmarks: `npm run bench` (= `hardhat run scripts/bench.ts`). Prints a table and writes
 * `reports/bench.json`. Gas is whole-transaction `gasUsed` from receipts (for `checkUpkeep`, `estimateGas`
 * of the call) on the in-process network with Chainlink's `MockV3Aggregator` feeds.
 */
import hre from "hardhat";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { HDNodeWallet } from "ethers";
import type { MockV3Aggregator } from "../typechain-types";
import { emulateRounds, MAINNET_ETH_USD, syntheticCrash } from "../tasks/lib/sim/prices";
import { DEFAULT_BOOK, runSimulation } from "../tasks/lib/sim/runner";
import { runFastSimulation } from "../tasks/lib/fast/runner";
import { callTree, formatTree, type Frame } from "./gas-trace";

const { ethers } = hre;
const WAD = 10n ** 18n;
const usdc = (x: number) => BigInt(Math.round(x * 1e6));
const coder = ethers.AbiCoder.defaultAbiCoder();

async function deploy() {
  const { default: BallastLocalModule } = await import("../ignition/modules/BallastLocal");
  const { DEFAULTS } = await import("../ignition/modules/core");
  const d = await hre.ignition.deploy(BallastLocalModule, {
    parameters: {
      BallastLocal: {
        ethMarket: { ...DEFAULTS.eth.market, maxOpenInterestWad: ethers.parseEther("100000000") },
        btcMarket: { ...DEFAULTS.btc.market, maxOpenInterestWad: ethers.parseEther("10000000") },
      },
    },
  });
  const at = (c: { getAddress(): Promise<string> }) => c.getAddress();
  const [deployer, lp, keeper] = await ethers.getSigners();
  const c = {
    deployer,
    lp,
    keeper,
    token: await ethers.getContractAt("MockUSDC", await at(d.usdc)),
    ethFeed: await ethers.getContractAt("MockV3Aggregator", await at(d.ethFeed)),
    btcFeed: await ethers.getContractAt("MockV3Aggregator", await at(d.btcFeed)),
    oracle: await ethers.getContractAt("ChainlinkOracleAdapter", await at(d.oracle)),
    vault: await ethers.getContractAt("CollateralVault", await at(d.vault)),
    pool: await ethers.getContractAt("LiquidityPool", await at(d.pool)),
    engine: await ethers.getContractAt("MarginEngine", await at(d.engine)),
    keeperContract: await ethers.getContractAt("RebalanceKeeper", await at(d.keeper)),
    threshold: await at(d.thresholdStrategy),
    feeds: [] as { asset: string; feed: MockV3Aggregator }[],
  };
  // Two more markets for the 4-market case.
  c.feeds.push({ asset: ethers.encodeBytes32String("ETH"), feed: c.ethFeed });
  c.feeds.push({ asset: ethers.encodeBytes32String("BTC"), feed: c.btcFeed });
  for (const name of ["SOL", "LINK"]) {
    const asset = ethers.encodeBytes32String(name);
    const feed = await ethers.deployContract("MockV3Aggregator", [8, 100n * 10n ** 8n]);
    await c.oracle.setFeed(
      asset,
      feed,
      3_900,
      ethers.parseEther("1"),
      ethers.parseEther("100000"),
      DEFAULTS.maxDeviationWad,
    );
    await c.engine.listMarket({
      ...DEFAULTS.eth.market,
      asset,
      maxOpenInterestWad: ethers.parseEther("100000000"),
    });
    c.feeds.push({ asset, feed });
  }
  await c.engine.connect(c.deployer).setKeeperReward(usdc(1));
  await c.token.mint(lp.address, usdc(500_000_000));
  await c.token.connect(lp).approve(await c.pool.getAddress(), ethers.MaxUint256);
  await c.pool.connect(lp).deposit(usdc(500_000_000), lp.address);
  // The keeper already holds margin (its rewards are credited there).
  await c.token.mint(keeper.address, usdc(1));
  await c.token.connect(keeper).approve(await c.vault.getAddress(), ethers.MaxUint256);
  await c.vault.connect(keeper).depositMargin(keeper.address, usdc(1));
  return c;
}
type Ctx = Awaited<ReturnType<typeof deploy>>;

async function newTrader(c: Ctx, marginUsd: number, reserveUsd: number): Promise<HDNodeWallet> {
  const w = ethers.Wallet.createRandom().connect(ethers.provider);
  await hre.network.provider.send("hardhat_setBalance", [w.address, "0x56BC75E2D63100000"]);
  await c.token.mint(w.address, usdc(marginUsd + reserveUsd));
  await c.token.connect(w).approve(await c.vault.getAddress(), ethers.MaxUint256);
  return w;
}

/** Submits `w`'s order, publishes a round at the same answer after it and has the keeper execute it. */
async function trade(c: Ctx, w: HDNodeWallet, marketId: bigint, sizeDeltaWad: bigint) {
  const now = (await ethers.provider.getBlock("latest"))!.timestamp;
  const submit = c.engine.connect(w).submitOrder(marketId, sizeDeltaWad, 0n, BigInt(now) + 3_600n);
  const submitGas = await gas(submit);
  const orderId = await c.engine.orderCount();
  const { feed } = c.feeds[Number(marketId) - 1];
  await feed.updateAnswer(await feed.latestAnswer());
  const executeGas = await gas(c.engine.connect(c.keeper).executeOrder(orderId));
  return { submitGas, executeGas };
}

/** Opens `leverage`× longs in the first `markets` markets, splitting the notional equally. */
async function openBook(c: Ctx, w: HDNodeWallet, marginUsd: number, leverage: number, markets: number) {
  for (let m = 0; m < markets; m++) {
    const notional = ethers.parseEther(String((marginUsd * leverage) / markets));
    const priceWad = (await c.feeds[m].feed.latestAnswer()) * 10n ** 10n;
    await trade(c, w, BigInt(m + 1), (notional * WAD) / priceWad);
  }
}

/** The threshold policy; planned by the engine's built-in planner unless `external` names `ThresholdStrategy`. */
async function setPolicy(
  c: Ctx,
  w: HDNodeWallet,
  opts: { topUp: boolean; sweep?: number; external?: boolean },
) {
  await c.engine.connect(w).setPolicy({
    triggerHealthWad: ethers.parseEther("1.5"),
    targetHealthWad: ethers.parseEther("2"),
    sweepHealthWad: opts.sweep ? ethers.parseEther(String(opts.sweep)) : 0n,
    allowTopUp: opts.topUp,
    allowDeleverage: true,
    maxKeeperRewardTokens: usdc(5),
    strategy: opts.external ? c.threshold : await c.engine.builtinStrategy(),
  });
}

/** Moves every market's price by `factor` in ≤ 2% rounds (the adapter grades a larger one `Deviation`) and records the rounds in the adapter. */
async function move(c: Ctx, factor: number) {
  for (let m = 0; m < c.feeds.length; m++) {
    const { feed, asset } = c.feeds[m];
    let answer = await feed.latestAnswer();
    const target = BigInt(Math.round(Number(answer) * factor));
    while (answer !== target) {
      const step = answer / 50n;
      answer =
        target > answer
          ? target - answer > step
            ? answer + step
            : target
          : answer - target > step
            ? answer - step
            : target;
      await feed.updateAnswer(answer);
    }
    await c.oracle.update(asset);
  }
}

/** Names of the deployment's contracts and linked libraries, by lower-case address, for gas traces. */
async function contractNames(c: Ctx): Promise<Record<string, string>> {
  const names: Record<string, string> = {};
  const add = (name: string, address: string) => {
    names[address.toLowerCase()] = name;
  };
  for (const [name, contract] of Object.entries({
    MarginEngine: c.engine,
    CollateralVault: c.vault,
    LiquidityPool: c.pool,
    ChainlinkOracleAdapter: c.oracle,
    RebalanceKeeper: c.keeperContract,
    "ETH/USD feed": c.ethFeed,
    "BTC/USD feed": c.btcFeed,
  })) {
    add(name, await contract.getAddress());
  }
  add("ThresholdStrategy", c.threshold);
  add("PauseGuardian", await c.vault.guardian());
  // Linked libraries: their addresses sit in the engine's code where the artifact's link references say.
  const artifact = await hre.artifacts.readArtifact("MarginEngine");
  const code = await ethers.provider.getCode(await c.engine.getAddress());
  for (const libraries of Object.values(artifact.deployedLinkReferences)) {
    for (const [library, [{ start }]] of Object.entries(libraries)) {
      add(library, "0x" + code.slice(2 + start * 2, 2 + (start + 20) * 2));
    }
  }
  return names;
}

async function gas(tx: Promise<{ wait(): Promise<{ gasUsed: bigint } | null> }>) {
  return Number((await (await tx).wait())!.gasUsed);
}

async function main() {
  const started = Date.now();
  const snapshot = async () => (await hre.network.provider.send("evm_snapshot", [])) as string;
  const revert = async (id: string) => hre.network.provider.send("evm_revert", [id]);
  const c = await deploy();
  const base = await snapshot();
  const g: Record<string, number> = {};

  // Trading.
  const t = await newTrader(c, 10_000, 5_000);
  g.deposit = await gas(c.vault.connect(t).depositMargin(t.address, usdc(10_000)));
  const open = await trade(c, t, 1n, ethers.parseEther("10"));
  g.submitOrder = open.submitGas;
  g.executeOrderOpen = open.executeGas;
  const close = await trade(c, t, 1n, 0n); // a close-all order
  g.submitOrderClose = close.submitGas;
  g.executeOrderClose = close.executeGas;
  await revert(base);

  // Rebalances: the price falls until the account is under its trigger (health ≈ 1.42).
  const rebalanceCase = async (markets: number, topUp: boolean, behindProxy = false, external = false) => {
    const id = await snapshot();
    if (behindProxy) {
      const { DEFAULTS } = await import("../ignition/modules/core");
      // ETH/USD as on mainnet: the adapter reads a proxy in front of the aggregator (same rounds).
      const proxy = await ethers.deployContract("AggregatorProxyMock", [await c.ethFeed.getAddress()]);
      await c.oracle.setFeed(
        c.feeds[0].asset,
        proxy,
        DEFAULTS.heartbeat,
        DEFAULTS.eth.minPriceWad,
        DEFAULTS.eth.maxPriceWad,
        DEFAULTS.maxDeviationWad,
      );
    }
    const w = await newTrader(c, 10_000, 5_000);
    await c.vault.connect(w).depositMargin(w.address, usdc(10_000));
    await c.vault.connect(w).depositReserve(w.address, usdc(5_000));
    await openBook(c, w, 10_000, 3, markets);
    await setPolicy(c, w, { topUp, external });
    await move(c, 0.687);
    const [action, plan] = await c.engine.keeperAction(w.address);
    if (action !== 1n) {
      throw new Error(
        `no rebalance for ${markets} markets: action ${action}, health ${await c.engine.health(w.address)}`,
      );
    }
    const receipt = (await (await c.engine.connect(c.keeper).rebalance(w.address)).wait())!;
    const used = Number(receipt.gasUsed);
    const tree = await callTree(hre, receipt.hash, used, await c.engine.getAddress(), await contractNames(c));
    await revert(id);
    return { used, closes: plan.closes.length, tree };
  };
  const topUp = await rebalanceCase(1, true);
  g.rebalanceTopUp = topUp.used;
  g.rebalanceTopUpBehindProxy = (await rebalanceCase(1, true, true)).used;
  // The same top-up with the policy naming the external `ThresholdStrategy` (one more call).
  g.rebalanceTopUpExternalStrategy = (await rebalanceCase(1, true, false, true)).used;
  const d1 = await rebalanceCase(1, false);
  const d2 = await rebalanceCase(2, false);
  const d4 = await rebalanceCase(4, false);
  g.rebalanceDeleverage1 = d1.used;
  g.rebalanceDeleverage2 = d2.used;
  g.rebalanceDeleverage4 = d4.used;

  // Sweep: the price rises, health passes the sweep health.
  {
    const id = await snapshot();
    const w = await newTrader(c, 10_000, 0);
    await c.vault.connect(w).depositMargin(w.address, usdc(10_000));
    await openBook(c, w, 10_000, 5, 1);
    await setPolicy(c, w, { topUp: true, sweep: 3 });
    await move(c, 1.05);
    g.sweep = await gas(c.engine.connect(c.keeper).rebalance(w.address));
    await revert(id);
  }

  // Liquidation of an account without a policy.
  {
    const id = await snapshot();
    const w = await newTrader(c, 10_000, 0);
    await c.vault.connect(w).depositMargin(w.address, usdc(10_000));
    await openBook(c, w, 10_000, 10, 1);
    // A second, identical account: liquidated first, it makes the insurance slot and the liquidator's
    // USDC balance non-zero before the measured liquidation (the steady state, beside the first one).
    const other = await newTrader(c, 10_000, 0);
    await c.vault.connect(other).depositMargin(other.address, usdc(10_000));
    await openBook(c, other, 10_000, 10, 1);
    await move(c, 0.915);
    const first = await snapshot();
    g.liquidate = await gas(c.engine.connect(c.keeper).liquidate(w.address));
    await revert(first);
    await c.engine.connect(c.keeper).liquidate(other.address);
    g.liquidateSteadyState = await gas(c.engine.connect(c.keeper).liquidate(w.address));
    await revert(id);
  }

  // Keeper batches: N accounts needing a top-up each (or, `healthy`, N accounts that need nothing).
  const keeperCase = async (n: number, healthy = false) => {
    const id = await snapshot();
    for (let i = 0; i < n; i++) {
      const w = await newTrader(c, 10_000, 5_000);
      await c.vault.connect(w).depositMargin(w.address, usdc(10_000));
      await c.vault.connect(w).depositReserve(w.address, usdc(5_000));
      await openBook(c, w, 10_000, 3, 1);
      await setPolicy(c, w, { topUp: true });
    }
    if (!healthy) await move(c, 0.687);
    const page = coder.encode(["uint256", "uint256"], [0, n]);
    const checkGas = Number(await c.keeperContract.checkUpkeep.estimateGas(page));
    if (healthy) {
      await revert(id);
      return { checkGas, performGas: 0 };
    }
    const [, data] = await c.keeperContract.checkUpkeep(page);
    const [rebalance] = coder.decode(["address[]", "address[]", "address[]"], data);
    if (rebalance.length !== n) throw new Error(`expected ${n} rebalances, found ${rebalance.length}`);
    const performGas = await gas(c.keeperContract.connect(c.keeper).performUpkeep(data));
    await revert(id);
    return { checkGas, performGas };
  };
  const k1 = await keeperCase(1);
  const k10 = await keeperCase(10);
  const k50 = await keeperCase(50);
  g.performUpkeep1 = k1.performGas;
  g.performUpkeep10 = k10.performGas;
  g.performUpkeep50 = k50.performGas;
  g.performUpkeepMarginalPerAccount = Math.round((k50.performGas - k10.performGas) / 40);
  g.checkUpkeepPerAccount = Math.round((k50.checkGas - k10.checkGas) / 40);
  const h10 = await keeperCase(10, true);
  const h50 = await keeperCase(50, true);
  g.checkUpkeepPerHealthyAccount = Math.round((h50.checkGas - h10.checkGas) / 40);

  const scale = {
    checkUpkeepMaxAccountsUnder10M: Math.floor(
      (10_000_000 - (k10.checkGas - 10 * g.checkUpkeepPerAccount)) / g.checkUpkeepPerAccount,
    ),
    checkUpkeepMaxHealthyAccountsUnder10M: Math.floor(
      (10_000_000 - (h10.checkGas - 10 * g.checkUpkeepPerHealthyAccount)) / g.checkUpkeepPerHealthyAccount,
    ),
    performUpkeepMaxAccountsUnder5M: Math.floor(
      (5_000_000 - (k10.performGas - 10 * g.performUpkeepMarginalPerAccount)) /
        g.performUpkeepMarginalPerAccount,
    ),
  };

  // Backtest speed: 100 accounts over a synthetic crash, scaled to 1,000 rounds.
  await revert(base);
  const rounds = emulateRounds(syntheticCrash(11), MAINNET_ETH_USD);
  // The default book (2, 3, 5, 10, 20x, long and short) three times per policy: 90 accounts.
  const sim = await runSimulation(hre, rounds, { book: DEFAULT_BOOK, replicas: 3 });
  const accounts = sim.accounts.length;
  const per1000x100 = (seconds: number, n: number) =>
    Math.round(((seconds * 1_000) / rounds.length) * (100 / n) * 100) / 100;
  // The fast engine on the same book and rounds: 10 runs, the median (it takes well under a second).
  const fastRuns: number[] = [];
  for (let run = 0; run < 10; run++) {
    fastRuns.push(runFastSimulation(rounds, { book: DEFAULT_BOOK, replicas: 3 }).wallSeconds);
  }
  const fastSeconds = fastRuns.sort((a, b) => a - b)[5];
  const backtest = {
    chainSecondsPer1000Rounds100Accounts: per1000x100(sim.wallSeconds, accounts),
    fastSecondsPer1000Rounds100Accounts: per1000x100(fastSeconds, accounts),
    /** The chain figure under its earlier name. */
    secondsPer1000Rounds100Accounts: per1000x100(sim.wallSeconds, accounts),
    measuredRounds: rounds.length,
    measuredAccounts: accounts,
    measuredSeconds: Math.round(sim.wallSeconds * 10) / 10,
    measuredFastSeconds: Math.round(fastSeconds * 1000) / 1000,
  };

  const report = {
    gas: g,
    trace: { rebalanceTopUp: topUp.tree },
    scale,
    backtest,
    deleverageCloses: { "1": d1.closes, "2": d2.closes, "4": d4.closes },
  };
  mkdirSync("reports", { recursive: true });
  writeFileSync(join("reports", "bench.json"), JSON.stringify(report, null, 2) + "\n");
  console.table(Object.entries(g).map(([operation, gasUsed]) => ({ operation, gas: gasUsed })));
  console.log("top-up rebalance by call (inclusive gas, own gas in brackets):");
  console.log(formatTree(topUp.tree as Frame, "  ").join("\n"));
  console.table(Object.entries({ ...scale, ...backtest }).map(([measure, value]) => ({ measure, value })));
  console.log(`wrote reports/bench.json (${((Date.now() - started) / 1000).toFixed(0)} s)`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
