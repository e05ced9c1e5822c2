import type { HardhatRuntimeEnvironment } from "hardhat/types";
import type { HDNodeWallet, Interface, TransactionReceipt } from "ethers";
import type { PricePoint } from "./prices";
import { hindsightExposure } from "./hindsight";
import { ErrorDecoder } from "../errors";

export type PolicyName = "none" | "threshold" | "volatility";
export const POLICY_NAMES: PolicyName[] = ["none", "threshold", "volatility"];

/** The accounts a simulation opens: every policy × leverage × side, each with the same margin. */
export interface BookSpec {
  policies: PolicyName[];
  leverages: number[];
  sides: (1 | -1)[];
  /** Margin per account (USD). */
  marginUsd: number;
  /** Reserve as a share of margin (0.5 = 50%). */
  reserveShare: number;
  /** Policy floors for both strategies (the volatility-scaled one may aim higher). */
  triggerHealth: number;
  targetHealth: number;
}

/** The default book: as the backtest's (documented in docs/PERFORMANCE.md). */
export const DEFAULT_BOOK: BookSpec = {
  policies: POLICY_NAMES,
  leverages: [2, 3, 5, 10, 20],
  sides: [1, -1],
  marginUsd: 10_000,
  reserveShare: 0.5,
  triggerHealth: 1.3,
  targetHealth: 1.6,
};

export interface SimAccount {
  address: string;
  policy: PolicyName;
  leverage: number;
  side: 1 | -1;
  initialSizeWad: bigint;
  /** Notional at the first round, USD. */
  initialNotionalUsd: number;
}

export interface SimEvent {
  round: number;
  timestamp: number;
  account: string;
  kind: "rebalance" | "liquidation" | "rescue";
  /** Who sent the transaction: the keeper service, or the competing liquidator. */
  by: "keeper" | "liquidator";
  toppedUpUsd: number;
  deleveragedUsd: number;
  feesUsd: number;
  rewardUsd: number;
  badDebtUsd: number;
  healthBefore: number;
  healthAfter: number;
}

export interface PolicyMetrics {
  accounts: number;
  liquidations: number;
  liquidatedAccounts: number;
  liquidationsAtOrBelow10x: number;
  badDebt: number;
  rebalances: number;
  topUpVolume: number;
  deleveragedNotional: number;
  feesPaid: number;
  keeperRewards: number;
  gasUsed: number;
  minHealth: number;
  secondsBelowTrigger: number;
  exposureRetained: number;
  /** Sum of the accounts' notional at the first round, USD. */
  protectedNotional: number;
  /** (feesPaid + keeperRewards) / protectedNotional. */
  costShare: number;
  /** Mean over the accounts of the hindsight yardstick (`hindsight.ts`): the largest share of the opening
   *  size that a single cut at the first round would have kept out of liquidation on this path. */
  hindsightExposure: number;
  /** Exposure kept over the hindsight yardstick, summed over the accounts (1 = as much as hindsight). */
  exposureVsHindsight: number;
  /** Accounts liquidated in a second replay without the competing liquidator (the keeper acting first);
   *  set by callers that run both. */
  liquidatedKeeperFirst?: number;
}

/** One account's outcome: what it kept and what hindsight would have kept. */
export interface AccountOutcome {
  address: string;
  policy: PolicyName;
  leverage: number;
  side: 1 | -1;
  liquidations: number;
  /** Time-weighted |size| / opening |size|. */
  exposureKept: number;
  hindsightExposure: number;
}

export interface SimResult {
  rounds: PricePoint[];
  /** The book the accounts were opened from (one copy per policy, times the replicas). */
  book: BookSpec;
  accounts: SimAccount[];
  /** Health per account after each sampled round (Infinity without positions). */
  health: Record<string, number[]>;
  /** |size| / initial |size| per account after each sampled round. */
  exposure: Record<string, number[]>;
  /** Margin and idle reserve per account (USD) at each sampled round, read with the health. */
  margin: Record<string, number[]>;
  reserve: Record<string, number[]>;
  sampledRounds: number[];
  events: SimEvent[];
  metrics: Record<string, PolicyMetrics>;
  outcomes: AccountOutcome[];
  /** Whether a competing liquidator acted before the keeper on every round. */
  liquidatorFirst: boolean;
  wallSeconds: number;
}

export interface SimOptions {
  book: BookSpec;
  /** Copies of the book per policy (margins varied by ±20% with `seed` beyond the first copy). */
  replicas?: number;
  seed?: number;
  /** Largest jump one round may make without being held back (the adapter's deviation bound). */
  maxDeviation?: number;
  /** Sample health every `sampleEvery` rounds (and at the last one). */
  sampleEvery?: number;
  onProgress?: (done: number, total: number) => void;
  /**
   * A competing liquidator (default true): after each round, before the keeper's cycle, it calls
   * `liquidate` on every account whose health is below 1, as a liquidation bot would in the same block.
   * Rounds the adapter does not grade `Ok` are refused by the engine and skipped. False: only the keeper
   * acts (an account can then sit below 1 and still be rebalanced rather than liquidated).
   */
  liquidator?: boolean;
  /**
   * An annualised volatility to publish as the adapter's realised-volatility feed at each round (series
   * time, seconds): the adapter then serves it instead of its EWMA, and the volatility strategy plans on
   * it. Undefined: the adapter's EWMA, as deployed.
   */
  volatilityAt?: (timestamp: number) => number;
}

const WAD = 10n ** 18n;
const toUsd = (wad: bigint) => Number(wad) / 1e18;
const tokensToUsd = (tokens: bigint) => Number(tokens) / 1e6;
const healthNumber = (wad: bigint) => (wad === 2n ** 256n - 1n ? Infinity : Number(wad) / 1e18);

/**
 * Replays `rounds` (USD prices with timestamps) as Chainlink rounds of the ETH/USD mock feed on a freshly
 * deployed protocol (the `BallastLocal` Ignition module), with the book of accounts of `options.book`;
 * after every round the oracle's last good price is recorded and a keeper scans every page of
 * `checkUpkeep` and performs what it found, as a live executor would. Chain time follows the rounds'
 * timestamps (offset to the chain's clock).
 */
export async function runSimulation(
  hre: HardhatRuntimeEnvironment,
  rounds: PricePoint[],
  options: SimOptions,
): Promise<SimResult> {
  const started = Date.now();
  const { ethers } = hre;
  const { default: BallastLocalModule } = await import("../../../ignition/modules/BallastLocal");
  const { ETH, DEFAULTS } = await import("../../../ignition/modules/core");
  const book = options.book;
  const sampleEvery = options.sampleEvery ?? 1;
  const toAnswer = (price: number) => BigInt(Math.round(price * 1e8));

  const [deployer, lp, keeper, liquidatorSigner] = await ethers.getSigners();
  const liquidatorFirst = options.liquidator ?? true;
  // The adapter's bound must stay within the markets' maintenance margin (the engine refuses the listing
  // otherwise): one round graded `Ok` cannot take an account that is not liquidatable under water.
  const maxDeviationWad =
    options.maxDeviation === undefined
      ? DEFAULTS.maxDeviationWad
      : ethers.parseEther(String(options.maxDeviation));
  const deployed = await hre.ignition.deploy(BallastLocalModule, {
    parameters: {
      Mocks: { ethInitialAnswer: toAnswer(rounds[0].price) },
      BallastLocal: {
        maxDeviationWad,
        heartbeat: 172_800,
        ethMinPriceWad: 1n,
        ethMarket: { ...DEFAULTS.eth.market, maxOpenInterestWad: ethers.parseEther("100000000") },
        btcMarket: DEFAULTS.btc.market,
      },
    },
  });
  const at = (c: { getAddress(): Promise<string> }) => c.getAddress();
  const token = await ethers.getContractAt("MockUSDC", await at(deployed.usdc));
  const feed = await ethers.getContractAt("MockV3Aggregator", await at(deployed.ethFeed));
  const oracle = await ethers.getContractAt("ChainlinkOracleAdapter", await at(deployed.oracle));
  const vault = await ethers.getContractAt("CollateralVault", await at(deployed.vault));
  const pool = await ethers.getContractAt("LiquidityPool", await at(deployed.pool));
  const engine = await ethers.getContractAt("MarginEngine", await at(deployed.engine));
  const keeperContract = await ethers.getContractAt("RebalanceKeeper", await at(deployed.keeper));
  const lens = await ethers.getContractAt("AccountLens", await at(deployed.lens));
  // A realised-volatility feed in place of the EWMA (percent, 8 decimals, like Chainlink's).
  const volatilityAnswer = (sigma: number) => BigInt(Math.round(sigma * 100 * 1e8));
  const volatilityFeed = options.volatilityAt
    ? await (
        await ethers.getContractFactory("MockV3Aggregator")
      ).deploy(8, volatilityAnswer(options.volatilityAt(rounds[0].timestamp)))
    : undefined;
  if (volatilityFeed) {
    await oracle.setVolatilityConfig(ETH, {
      ...DEFAULTS.eth.volatility,
      volatilityFeed: await volatilityFeed.getAddress(),
      volatilityFeedHeartbeat: 7_200,
    });
  }
  let volatilityPublished = { answer: -1n, at: 0 };
  const strategies: Record<PolicyName, string> = {
    none: ethers.ZeroAddress,
    threshold: await at(deployed.engine), // the built-in threshold planner
    volatility: await at(deployed.volatilityStrategy),
  };

  // Liquidity: enough to back every position the book opens.
  const totalNotional =
    book.policies.length * book.sides.length * book.leverages.reduce((a, b) => a + b, 0) * book.marginUsd;
  const lpDeposit = BigInt(Math.ceil(totalNotional)) * 10n ** 6n;
  await token.mint(lp.address, lpDeposit);
  await token.connect(lp).approve(await vault.getAddress(), ethers.MaxUint256);
  await token.connect(lp).approve(await pool.getAddress(), ethers.MaxUint256);
  await pool.connect(lp).deposit(lpDeposit, lp.address);
  await token.mint(keeper.address, 10n ** 6n);
  await token.connect(keeper).approve(await vault.getAddress(), ethers.MaxUint256);
  await vault.connect(keeper).depositMargin(keeper.address, 10n ** 6n);

  const accounts: SimAccount[] = [];
  const replicas = options.replicas ?? 1;
  const { seededRandom } = await import("./prices");
  const random = seededRandom(options.seed ?? 1);
  const price0 = ethers.parseEther(rounds[0].price.toFixed(8));
  for (const policy of book.policies) {
    for (let copy = 0; copy < replicas; copy++) {
      for (const side of book.sides) {
        for (const leverage of book.leverages) {
          const marginUsd = copy === 0 ? book.marginUsd : Math.round(book.marginUsd * (0.8 + 0.4 * random()));
          const wallet: HDNodeWallet = ethers.Wallet.createRandom().connect(ethers.provider);
          await hre.network.provider.send("hardhat_setBalance", [wallet.address, "0x56BC75E2D63100000"]);
          const margin = BigInt(marginUsd) * 10n ** 6n;
          const reserve = BigInt(Math.round(marginUsd * book.reserveShare)) * 10n ** 6n;
          await token.mint(wallet.address, margin + reserve);
          await token.connect(wallet).approve(await vault.getAddress(), ethers.MaxUint256);
          await vault.connect(wallet).depositMargin(wallet.address, margin);
          if (reserve > 0n) await vault.connect(wallet).depositReserve(wallet.address, reserve);
          const notionalWad = ethers.parseEther(String(marginUsd * leverage));
          const size = (notionalWad * WAD) / price0;
          const sizeWad = side === 1 ? size : -size;
          // Traders submit orders; they fill at the round the simulation publishes after them.
          const now = (await ethers.provider.getBlock("latest"))!.timestamp;
          await engine.connect(wallet).submitOrder(1n, sizeWad, 0n, BigInt(now) + 86_400n);
          if (policy !== "none") {
            await engine.connect(wallet).setPolicy({
              triggerHealthWad: ethers.parseEther(String(book.triggerHealth)),
              targetHealthWad: ethers.parseEther(String(book.targetHealth)),
              sweepHealthWad: 0n,
              allowTopUp: true,
              allowDeleverage: true,
              maxKeeperRewardTokens: 5n * 10n ** 6n,
              strategy: strategies[policy],
            });
          }
          accounts.push({
            address: wallet.address,
            policy,
            leverage,
            side,
            initialSizeWad: sizeWad,
            initialNotionalUsd: marginUsd * leverage,
          });
        }
      }
    }
  }

  const addresses = accounts.map((a) => a.address);
  const health: Record<string, number[]> = Object.fromEntries(accounts.map((a) => [a.address, []]));
  const exposure: Record<string, number[]> = Object.fromEntries(accounts.map((a) => [a.address, []]));
  const margin: Record<string, number[]> = Object.fromEntries(accounts.map((a) => [a.address, []]));
  const reserve: Record<string, number[]> = Object.fromEntries(accounts.map((a) => [a.address, []]));
  // Only the engine moves margin and reserve (rebalances, rescues, liquidations): read every account once,
  // then again only after an event touched it.
  const balances: Record<string, [number, number]> = {};
  const readBalances = async (address: string) => {
    const [m, r] = await vault.balancesOf(address);
    balances[address] = [tokensToUsd(m), tokensToUsd(r)];
  };
  const sampledRounds: number[] = [];
  const events: SimEvent[] = [];
  const gasByAccount: Record<string, bigint> = {};
  const belowTrigger: Record<string, number> = Object.fromEntries(accounts.map((a) => [a.address, 0]));
  const exposureTime: Record<string, number> = Object.fromEntries(accounts.map((a) => [a.address, 0]));
  const byAddress = new Map(accounts.map((a) => [a.address.toLowerCase(), a]));
  const engineInterface: Interface = engine.interface;

  const { BallastKeeper } = await import("../keeper");
  const keeperLog: string[] = [];
  const keeperService = new BallastKeeper(
    {
      engine,
      keeper: keeperContract,
      oracle,
      provider: ethers.provider,
      signer: keeper,
      write: (line) => keeperLog.push(line),
    },
    { pageSize: 100, gasBudget: 15_000_000n },
  );
  const engineAddress = await engine.getAddress();

  // The round the opening orders fill at (at the first price, published after every order), and the
  // keeper's first cycle, which executes them.
  await feed.updateAnswer(toAnswer(rounds[0].price));
  await keeperService.runCycle("open");
  // (The same cycle may already have rebalanced an account its policy sees at risk: the size can be
  // smaller than the order's, never of the other sign or zero.)
  for (const a of accounts) {
    const size = (await engine.position(a.address, 1n)).sizeWad;
    if (size === 0n || size > 0n !== a.initialSizeWad > 0n || abs(size) > abs(a.initialSizeWad)) {
      throw new Error(`the opening order of ${a.address} was not executed: ${keeperLog.at(-1)}`);
    }
  }
  // Balances after the opening fee; the hindsight yardstick from them and the path.
  for (const a of accounts) await readBalances(a.address);
  const config = await engine.marketConfig(1n);
  const market = { mmr: toUsd(config.mmrWad), fee: toUsd(config.feeWad) };
  const path = rounds.map((r) => r.price);
  const hindsight: Record<string, number> = {};
  for (const a of accounts) {
    const p = await engine.position(a.address, 1n);
    hindsight[a.address] = hindsightExposure(
      {
        marginUsd: balances[a.address][0],
        reserveUsd: balances[a.address][1],
        size: toUsd(a.initialSizeWad),
        entryPrice: toUsd(p.entryPriceWad),
      },
      market,
      path,
    );
  }
  const refusals = ErrorDecoder.fromInterfaces([engineInterface]);
  const liquidateFirst = async (i: number, timestamp: number, below: string[]) => {
    for (const address of below) {
      // Again while a liquidation leaves the account below 1, as a bot would in the same block.
      for (let attempt = 0; attempt < 5; attempt++) {
        let receipt: TransactionReceipt | null;
        try {
          receipt = await (await engine.connect(liquidatorSigner).liquidate(address)).wait();
        } catch (error) {
          // A round the adapter did not grade `Ok` (or a pause) stops the liquidator as it stops everyone.
          const reason = refusals.describe(error)?.name;
          if (reason === "MarginEngineBadPrice" || reason === "MarginEnginePaused") break;
          throw error;
        }
        const before = events.length;
        collectEvents(receipt!, engineInterface, i, timestamp, events, byAddress, gasByAccount, "liquidator");
        await readBalances(address);
        const last = events.at(-1);
        if (events.length === before || last!.kind !== "liquidation" || last!.healthAfter >= 1) break;
      }
    }
  };

  const latest = await ethers.provider.getBlock("latest");
  const chainStart = latest!.timestamp + 60;
  const t0 = rounds[0].timestamp;
  let previousTime = rounds[0].timestamp;
  let lastHealth: Record<string, number> = {};
  let lastExposure: Record<string, number> = {};

  for (let i = 0; i < rounds.length; i++) {
    const round = rounds[i];
    // The round's time on the chain; later when the previous round's transactions (one block each) ran
    // past it, so that blocks stay in order.
    const minimum = (await ethers.provider.getBlock("latest"))!.timestamp + 2;
    const chainTime = Math.max(chainStart + (round.timestamp - t0), minimum);
    if (volatilityFeed && options.volatilityAt) {
      // Republished when the forecast changes, and at least every 3,000 s (the feed's heartbeat is 7,200).
      const answer = volatilityAnswer(options.volatilityAt(round.timestamp));
      if (answer !== volatilityPublished.answer || chainTime - volatilityPublished.at >= 3_000) {
        await hre.network.provider.send("evm_setNextBlockTimestamp", [chainTime - 1]);
        await volatilityFeed.updateAnswer(answer);
        volatilityPublished = { answer, at: chainTime };
      }
    }
    await hre.network.provider.send("evm_setNextBlockTimestamp", [chainTime]);
    if (i > 0) await feed.updateAnswer(toAnswer(round.price));
    else await hre.network.provider.send("evm_mine", []);
    await oracle.update(ETH);

    // Health and exposure right after the price moved (before the keeper acts: the lowest point), and
    // the time-weighted metrics since the previous round.
    const dt = round.timestamp - previousTime;
    if (i > 0) {
      for (const a of accounts) {
        if ((lastHealth[a.address] ?? Infinity) < book.triggerHealth) belowTrigger[a.address] += dt;
        exposureTime[a.address] += (lastExposure[a.address] ?? 1) * dt;
      }
    }
    previousTime = round.timestamp;
    const sample = i % sampleEvery === 0 || i === rounds.length - 1;
    const current: Record<string, number> = {};
    const currentExposure: Record<string, number> = {};
    const [healths, sizes] = await lens.healthAndSizes(addresses, 1n);
    for (const [k, a] of accounts.entries()) {
      const h = healthNumber(healths[k]);
      const size = sizes[k];
      current[a.address] = h;
      currentExposure[a.address] = Number(abs(size)) / Number(abs(a.initialSizeWad));
      if (sample) {
        health[a.address].push(h);
        exposure[a.address].push(currentExposure[a.address]);
        margin[a.address].push(balances[a.address][0]);
        reserve[a.address].push(balances[a.address][1]);
      }
    }
    if (sample) sampledRounds.push(i);
    if (liquidatorFirst) {
      await liquidateFirst(
        i,
        round.timestamp,
        accounts.filter((a) => current[a.address] < 1).map((a) => a.address),
      );
    }
    // The keeper service's own cycle (the class `npx hardhat keeper` runs): it records new rounds, scans
    // every page against one block, and performs in batches sized to its gas budget.
    const fromBlock = (await ethers.provider.getBlockNumber()) + 1;
    const report = await keeperService.runCycle("round");
    if (report.status === "error") throw new Error(`keeper cycle failed at round ${i}: ${keeperLog.at(-1)}`);
    if (report.sent.length > 0) {
      const before = events.length;
      const hashes = new Set(
        (await ethers.provider.getLogs({ address: engineAddress, fromBlock, toBlock: "latest" })).map(
          (l) => l.transactionHash,
        ),
      );
      for (const hash of hashes) {
        const receipt = await ethers.provider.getTransactionReceipt(hash);
        collectEvents(
          receipt!,
          engineInterface,
          i,
          round.timestamp,
          events,
          byAddress,
          gasByAccount,
          "keeper",
        );
      }
      for (const address of new Set(events.slice(before).map((e) => e.account))) await readBalances(address);
    }
    lastHealth = current;
    lastExposure = currentExposure;
    options.onProgress?.(i + 1, rounds.length);
  }

  const span = Math.max(1, rounds[rounds.length - 1].timestamp - rounds[0].timestamp);
  const metrics: Record<string, PolicyMetrics> = {};
  for (const policy of book.policies) {
    const mine = accounts.filter((a) => a.policy === policy);
    const set = new Set(mine.map((a) => a.address));
    const own = events.filter((e) => set.has(e.account));
    const liquidations = own.filter((e) => e.kind === "liquidation");
    const liquidated = new Set(liquidations.map((e) => e.account));
    const minHealth = Math.min(...mine.flatMap((a) => health[a.address].filter((h) => Number.isFinite(h))));
    const protectedNotional = sum(mine.map((a) => a.initialNotionalUsd));
    const feesPaid = round2(sum(own.map((e) => e.feesUsd)));
    const keeperRewards = round2(sum(own.map((e) => e.rewardUsd)));
    const kept = sum(mine.map((a) => exposureTime[a.address] / span));
    const optimal = sum(mine.map((a) => hindsight[a.address]));
    metrics[policy] = {
      accounts: mine.length,
      liquidations: liquidations.length,
      liquidatedAccounts: liquidated.size,
      liquidationsAtOrBelow10x: mine.filter((a) => a.leverage <= 10 && liquidated.has(a.address)).length,
      badDebt: round2(sum(liquidations.map((e) => e.badDebtUsd))),
      rebalances: own.filter((e) => e.kind === "rebalance").length,
      topUpVolume: round2(sum(own.map((e) => e.toppedUpUsd))),
      deleveragedNotional: round2(sum(own.map((e) => e.deleveragedUsd))),
      feesPaid,
      keeperRewards,
      gasUsed: Number(sum(mine.map((a) => Number(gasByAccount[a.address.toLowerCase()] ?? 0n)))),
      minHealth: Number.isFinite(minHealth) ? round4(minHealth) : 0,
      secondsBelowTrigger: sum(mine.map((a) => belowTrigger[a.address])),
      exposureRetained: round4(sum(mine.map((a) => exposureTime[a.address] / span)) / mine.length),
      protectedNotional: round2(protectedNotional),
      costShare:
        protectedNotional > 0 ? Number(((feesPaid + keeperRewards) / protectedNotional).toFixed(6)) : 0,
      hindsightExposure: round4(optimal / mine.length),
      exposureVsHindsight: optimal > 0 ? round4(kept / optimal) : 0,
    };
  }
  const outcomes: AccountOutcome[] = accounts.map((a) => ({
    address: a.address,
    policy: a.policy,
    leverage: a.leverage,
    side: a.side,
    liquidations: events.filter((e) => e.kind === "liquidation" && e.account === a.address).length,
    exposureKept: round4(exposureTime[a.address] / span),
    hindsightExposure: round4(hindsight[a.address]),
  }));

  return {
    rounds,
    book,
    accounts,
    health,
    exposure,
    margin,
    reserve,
    sampledRounds,
    events,
    metrics,
    outcomes,
    liquidatorFirst,
    wallSeconds: (Date.now() - started) / 1000,
  };
}

/** Decodes the engine's events in a keeper receipt into simulation events. */
function collectEvents(
  receipt: TransactionReceipt,
  iface: Interface,
  round: number,
  timestamp: number,
  out: SimEvent[],
  accounts: Map<string, SimAccount>,
  gasByAccount: Record<string, bigint>,
  by: SimEvent["by"],
) {
  const fees = new Map<string, number>();
  const touched = new Set<string>();
  for (const log of receipt.logs) {
    let parsed;
    try {
      parsed = iface.parseLog(log);
    } catch {
      continue;
    }
    if (!parsed) continue;
    const account = String(parsed.args[0]).toLowerCase();
    if (!accounts.has(account)) continue;
    touched.add(account);
    if (parsed.name === "PositionModified") {
      fees.set(account, (fees.get(account) ?? 0) + tokensToUsd(parsed.args[7]));
    } else if (parsed.name === "Rebalanced") {
      out.push({
        round,
        timestamp,
        account: accounts.get(account)!.address,
        kind: "rebalance",
        by,
        toppedUpUsd: tokensToUsd(parsed.args[4]),
        deleveragedUsd: toUsd(parsed.args[5]),
        feesUsd: fees.get(account) ?? 0,
        rewardUsd: tokensToUsd(parsed.args[7]),
        badDebtUsd: 0,
        healthBefore: healthNumber(parsed.args[2]),
        healthAfter: healthNumber(parsed.args[3]),
      });
      fees.delete(account);
    } else if (parsed.name === "Liquidated") {
      const penalty = tokensToUsd(parsed.args[5]);
      out.push({
        round,
        timestamp,
        account: accounts.get(account)!.address,
        kind: "liquidation",
        by,
        toppedUpUsd: 0,
        deleveragedUsd: toUsd(parsed.args[4]),
        feesUsd: (fees.get(account) ?? 0) + penalty,
        rewardUsd: tokensToUsd(parsed.args[6]),
        badDebtUsd: tokensToUsd(parsed.args[7]),
        healthBefore: healthNumber(parsed.args[2]),
        healthAfter: healthNumber(parsed.args[3]),
      });
      fees.delete(account);
    } else if (parsed.name === "Rescued") {
      out.push({
        round,
        timestamp,
        account: accounts.get(account)!.address,
        kind: "rescue",
        by,
        toppedUpUsd: tokensToUsd(parsed.args[1]),
        deleveragedUsd: 0,
        feesUsd: 0,
        rewardUsd: 0,
        badDebtUsd: 0,
        healthBefore: 0,
        healthAfter: healthNumber(parsed.args[2]),
      });
    }
  }
  // The batch's gas, shared equally by the accounts it touched.
  if (touched.size > 0) {
    const share = receipt.gasUsed / BigInt(touched.size);
    for (const a of touched) gasByAccount[a] = (gasByAccount[a] ?? 0n) + share;
  }
}

const abs = (x: bigint) => (x < 0n ? -x : x);
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const round2 = (x: number) => Math.round(x * 100) / 100;
const round4 = (x: number) => Math.round(x * 10_000) / 10_000;
