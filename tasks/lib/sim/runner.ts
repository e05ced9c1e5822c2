import type { HardhatRuntimeEnvironment } from "hardhat/types";
import type { HDNodeWallet, Interface, TransactionReceipt } from "ethers";
import type { PricePoint } from "./prices";
import { hindsightExposure } from "./hindsight";
import { ReplayLedger, liquidatedBelowOne, type TraceRound } from "./ledger";
import { bookPolicy, lpDepositTokens, openingBook } from "./book";
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
  /** Health above which margin the target does not need goes back to reserve (0 or absent: never). */
  sweepHealth?: number;
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
  /** With `SimOptions.trace`: every round's events and state in wei, for the differential test. */
  trace?: TraceRound[];
  /** With `SimOptions.trace`: the chain time of every round of the price feed, from its deployment. */
  feedTimes?: number[];
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
  /** Record `SimResult.trace` (every round's events, health, sizes and balances in wei). */
  trace?: boolean;
}

/** Seconds from the opening round (the orders' fill) to the series' first round on the chain. */
export const OPENING_SECONDS = 600;

const toUsd = (wad: bigint) => Number(wad) / 1e18;
const tokensToUsd = (tokens: bigint) => Number(tokens) / 1e6;

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
  const lpDeposit = lpDepositTokens(book);
  await token.mint(lp.address, lpDeposit);
  await token.connect(lp).approve(await vault.getAddress(), ethers.MaxUint256);
  await token.connect(lp).approve(await pool.getAddress(), ethers.MaxUint256);
  await pool.connect(lp).deposit(lpDeposit, lp.address);
  await token.mint(keeper.address, 10n ** 6n);
  await token.connect(keeper).approve(await vault.getAddress(), ethers.MaxUint256);
  await vault.connect(keeper).depositMargin(keeper.address, 10n ** 6n);

  const accounts: SimAccount[] = [];
  for (const o of openingBook(book, options.replicas ?? 1, options.seed ?? 1, rounds[0].price)) {
    const wallet: HDNodeWallet = ethers.Wallet.createRandom().connect(ethers.provider);
    await hre.network.provider.send("hardhat_setBalance", [wallet.address, "0x56BC75E2D63100000"]);
    await token.mint(wallet.address, o.marginTokens + o.reserveTokens);
    await token.connect(wallet).approve(await vault.getAddress(), ethers.MaxUint256);
    await vault.connect(wallet).depositMargin(wallet.address, o.marginTokens);
    if (o.reserveTokens > 0n) await vault.connect(wallet).depositReserve(wallet.address, o.reserveTokens);
    // Traders submit orders; they fill at the round the simulation publishes after them.
    const now = (await ethers.provider.getBlock("latest"))!.timestamp;
    await engine.connect(wallet).submitOrder(1n, o.sizeWad, 0n, BigInt(now) + 86_400n);
    if (o.policy !== "none") await engine.connect(wallet).setPolicy(bookPolicy(book, strategies[o.policy]));
    accounts.push({
      address: wallet.address,
      policy: o.policy,
      leverage: o.leverage,
      side: o.side,
      initialSizeWad: o.sizeWad,
      initialNotionalUsd: o.marginUsd * o.leverage,
    });
  }

  const addresses = accounts.map((a) => a.address);
  const ledger = new ReplayLedger(accounts, book, sampleEvery, options.trace ?? false);
  // Only the engine moves margin and reserve (rebalances, rescues, liquidations): read every account once,
  // then again only after an event touched it.
  const readBalances = async (address: string) => {
    const [m, r] = await vault.balancesOf(address);
    ledger.setBalances(address, m, r);
  };
  const engineInterface: Interface = engine.interface;
  const parse = (receipt: TransactionReceipt) =>
    receipt.logs.flatMap((log) => {
      try {
        const parsed = engineInterface.parseLog(log);
        return parsed ? [{ name: parsed.name, args: [...parsed.args] }] : [];
      } catch {
        return [];
      }
    });

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
  const opening = await (await feed.updateAnswer(toAnswer(rounds[0].price))).wait();
  const openedAt = (await ethers.provider.getBlock(opening!.blockNumber))!.timestamp;
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
  const entries: bigint[] = [];
  for (const a of accounts) entries.push((await engine.position(a.address, 1n)).entryPriceWad);
  const hindsight = hindsightOf(accounts, ledger.balances, entries, config, rounds);
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
        const before = ledger.events.length;
        ledger.record(parse(receipt!), i, timestamp, "liquidator", receipt!.gasUsed);
        await readBalances(address);
        if (!liquidatedBelowOne(ledger.events, before)) break;
      }
    }
  };

  // The price rounds start `OPENING_SECONDS` after the opening round (later only if its cycle ran past
  // that), so that the rounds' times, and with them the adapter's EWMA, do not depend on how long the
  // set-up took: the fast engine's default schedule is the same.
  const latest = await ethers.provider.getBlock("latest");
  const chainStart = Math.max(openedAt + OPENING_SECONDS, latest!.timestamp + 60);
  const t0 = rounds[0].timestamp;

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

    // Health and size right after the price moved (before anyone acts: the lowest point).
    const [healths, sizes] = await lens.healthAndSizes(addresses, 1n);
    ledger.observe(i, round.timestamp, rounds.length, healths, sizes);
    if (liquidatorFirst) {
      await liquidateFirst(
        i,
        round.timestamp,
        accounts.filter((a) => ledger.current[a.address] < 1).map((a) => a.address),
      );
    }
    // The keeper service's own cycle (the class `npx hardhat keeper` runs): it records new rounds, scans
    // every page against one block, and performs in batches sized to its gas budget.
    const fromBlock = (await ethers.provider.getBlockNumber()) + 1;
    const report = await keeperService.runCycle("round");
    if (report.status === "error") throw new Error(`keeper cycle failed at round ${i}: ${keeperLog.at(-1)}`);
    if (report.sent.length > 0) {
      const touched = new Set<string>();
      const hashes = new Set(
        (await ethers.provider.getLogs({ address: engineAddress, fromBlock, toBlock: "latest" })).map(
          (l) => l.transactionHash,
        ),
      );
      for (const hash of hashes) {
        const receipt = await ethers.provider.getTransactionReceipt(hash);
        for (const a of ledger.record(parse(receipt!), i, round.timestamp, "keeper", receipt!.gasUsed)) {
          touched.add(a);
        }
      }
      for (const address of touched) await readBalances(address);
    }
    ledger.endRound();
    options.onProgress?.(i + 1, rounds.length);
  }
  const result = ledger.finish(rounds, hindsight, liquidatorFirst, (Date.now() - started) / 1000);
  if (options.trace) {
    const latestRound = (await feed.latestRoundData()).roundId;
    result.feedTimes = [];
    for (let id = 1n; id <= latestRound; id++)
      result.feedTimes.push(Number((await feed.getRoundData(id)).updatedAt));
  }
  return result;
}

/** The hindsight yardstick of every account, from its balances (tokens) and entry after the opening. */
export function hindsightOf(
  accounts: SimAccount[],
  balances: Record<string, [bigint, bigint]>,
  entries: bigint[],
  market: { mmrWad: bigint; feeWad: bigint },
  rounds: PricePoint[],
): Record<string, number> {
  const path = rounds.map((r) => r.price);
  const hindsight: Record<string, number> = {};
  for (const [k, a] of accounts.entries()) {
    hindsight[a.address] = hindsightExposure(
      {
        marginUsd: tokensToUsd(balances[a.address][0]),
        reserveUsd: tokensToUsd(balances[a.address][1]),
        size: toUsd(a.initialSizeWad),
        entryPrice: toUsd(entries[k]),
      },
      { mmr: toUsd(market.mmrWad), fee: toUsd(market.feeWad) },
      path,
    );
  }
  return hindsight;
}

const abs = (x: bigint) => (x < 0n ? -x : x);
