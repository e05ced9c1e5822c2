import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { Interface, Result, TransactionReceipt } from "ethers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import {
  ChainlinkOracleAdapter__factory,
  CollateralVault__factory,
  LiquidityPool__factory,
  MarginEngine__factory,
  MockV3Aggregator,
  MockV3Aggregator__factory,
  PauseGuardian__factory,
  RebalanceKeeper__factory,
} from "../../../typechain-types";
import { BTC, BTC_MARKET, ETH, ETH_MARKET, deployFunded, usdc, trade } from "../fixtures";
import { ActorBook } from "./actors";

export const WAD = 10n ** 18n;
export const MAX_UINT = 2n ** 256n - 1n;

/** Oracle statuses (`IChainlinkOracleAdapter.Status`). */
import { Status } from "../../../tasks/lib/fast/oracle";
export { Status };
/** Pause actions (`IPauseGuardian.Action`). */
export const Action = { Open: 0, Close: 1, Deposit: 2, Withdraw: 3, Rebalance: 4, Liquidate: 5 } as const;

/** The two markets, ascending id (the engine loads positions in this order). */
export const MARKETS = [
  { id: ETH_MARKET, asset: ETH, name: "ETH" as const },
  { id: BTC_MARKET, asset: BTC, name: "BTC" as const },
];
export type MarketName = "ETH" | "BTC";

export const SEQUENCER_GRACE = 3_600;
/** Seconds ahead of the last block within which a status flip (staleness, grace end) makes it uncertain. */
const STATUS_WINDOW = 60;

/** Traders 4 and 5 are the adversary's two accounts; 0–3 are honest traders. */
export const ADVERSARY = [4, 5] as const;
/** Deleverage cap on ETH (notional per window, WAD) that the adversary may try to use up. */
export const ETH_DELEVERAGE_CAP = 200_000n * 10n ** 18n;

/**
 * The deployment every sequence starts from: the Ignition deployment with 1,000,000 USDC of LP
 * liquidity, an L2 sequencer uptime feed (up for two hours), an insurance buffer, a deleverage cap on
 * ETH, four funded honest traders with positions (two of them with policies) and the adversary's two
 * funded accounts, one long and one short ETH (a hedged pair).
 */
export async function statefulFixture() {
  // An L2 deployment: the sequencer uptime feed (up for two hours) is wired into the adapter.
  const sequencer = await new MockV3Aggregator__factory((await ethers.getSigners())[0]).deploy(0, 0);
  const upSince = (await time.latest()) - 7_200;
  await sequencer.updateRoundData(1, 0, upSince, upSince);
  const f = await deployFunded({
    sequencerFeed: await sequencer.getAddress(),
    sequencerGracePeriod: SEQUENCER_GRACE,
  });
  const signers = await ethers.getSigners();
  const adversary = [signers[9], signers[10]];
  for (const s of adversary) {
    await f.token.mint(s.address, usdc(10_000_000));
    await f.token.connect(s).approve(await f.vault.getAddress(), ethers.MaxUint256);
    await f.token.connect(s).approve(await f.pool.getAddress(), ethers.MaxUint256);
  }
  await f.engine.connect(f.riskAdmin).setDeleverageCap(ETH_MARKET, ETH_DELEVERAGE_CAP, 3_600);
  await f.pool.connect(f.lp).fundInsurance(usdc(20_000));
  const traders = [f.alice, f.bob, f.carol, f.outsider, ...adversary];
  for (const t of traders) {
    await f.vault.connect(t).depositMargin(t.address, usdc(20_000));
    await f.vault.connect(t).depositReserve(t.address, usdc(10_000));
  }
  // alice: 20x ETH long and dave (the fourth trader): 12x BTC long, both without policy; bob: 15x BTC
  // short with a threshold policy; carol: 10x ETH short with a volatility-scaled policy that sweeps. All
  // are a few percent from liquidation or from their trigger.
  await trade(f, f.alice, ETH_MARKET, (400_000n * WAD) / 3_000n);
  await trade(f, f.bob, BTC_MARKET, -(300_000n * WAD) / 60_000n);
  await trade(f, f.carol, ETH_MARKET, -(200_000n * WAD) / 3_000n);
  await trade(f, f.outsider, BTC_MARKET, (240_000n * WAD) / 60_000n);
  // The adversary's pair: 22.5x each, at health 2.2 (under the extreme policies' trigger of 3).
  await trade(f, adversary[0], ETH_MARKET, (450_000n * WAD) / 3_000n);
  await trade(f, adversary[1], ETH_MARKET, -(450_000n * WAD) / 3_000n);
  await f.engine.connect(f.bob).setPolicy({
    triggerHealthWad: ethers.parseEther("1.5"),
    targetHealthWad: ethers.parseEther("2"),
    sweepHealthWad: 0n,
    allowTopUp: true,
    allowDeleverage: true,
    maxKeeperRewardTokens: usdc(5),
    strategy: await f.thresholdStrategy.getAddress(),
  });
  await f.engine.connect(f.carol).setPolicy({
    triggerHealthWad: ethers.parseEther("1.3"),
    targetHealthWad: ethers.parseEther("1.6"),
    sweepHealthWad: ethers.parseEther("4"),
    allowTopUp: true,
    allowDeleverage: false,
    maxKeeperRewardTokens: usdc(2),
    strategy: await f.volatilityStrategy.getAddress(),
  });
  // The engine's record of bob's and carol's owner action (their policies), for `ownerActionAt`.
  const policiesSetAt = BigInt(await time.latest());
  return { ...f, sequencer, traders, policiesSetAt };
}

export type Deployment = Awaited<ReturnType<typeof statefulFixture>>;

/** Every custom error and event of the protocol, to decode reverts and logs. */
export const protocolInterface = new Interface(
  dedupe([
    ...MarginEngine__factory.abi,
    ...CollateralVault__factory.abi,
    ...LiquidityPool__factory.abi,
    ...PauseGuardian__factory.abi,
    ...ChainlinkOracleAdapter__factory.abi,
    ...RebalanceKeeper__factory.abi,
  ]),
);

function dedupe<T extends { type: string; name?: string }>(abi: readonly T[]): T[] {
  const seen = new Set<string>();
  return abi.filter((f) => {
    if (f.type !== "error" && f.type !== "event") return false;
    const key = `${f.type}:${f.name}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export interface PolicyModel {
  targetHealthWad: bigint;
  sweepHealthWad: bigint;
  maxKeeperRewardTokens: bigint;
}

/** What the model knows for certain (everything the commands control). */
export interface Model {
  globalPaused: boolean;
  pausedMarkets: Set<bigint>;
  pausedActions: Set<number>;
  sequencerUp: boolean;
  /** Traders (by index) with a rebalancing policy. */
  policies: Map<number, PolicyModel>;
  /** Whether a `checkUpkeep` result is cached for a later (possibly stale) `performUpkeep`. */
  cachedUpkeep: boolean;
}

export function initialModel(): Model {
  return {
    globalPaused: false,
    pausedMarkets: new Set(),
    pausedActions: new Set(),
    sequencerUp: true,
    policies: new Map([
      [1, { targetHealthWad: ethers.parseEther("2"), sweepHealthWad: 0n, maxKeeperRewardTokens: usdc(5) }],
      [
        2,
        {
          targetHealthWad: ethers.parseEther("1.6"),
          sweepHealthWad: ethers.parseEther("4"),
          maxKeeperRewardTokens: usdc(2),
        },
      ],
    ]),
    cachedUpkeep: false,
  };
}

/** `IPauseGuardian.isPaused` as the model sees it. */
export function isPaused(m: Model, marketId: bigint, action: number): boolean {
  return m.globalPaused || m.pausedActions.has(action) || (marketId !== 0n && m.pausedMarkets.has(marketId));
}

/** `IPauseGuardian.isPausedAny` as the model sees it: the market id the engine reports, or null. */
export function pausedIn(m: Model, marketIds: bigint[], action: number): bigint | null {
  if (m.globalPaused || m.pausedActions.has(action)) return 0n;
  for (const id of marketIds) if (m.pausedMarkets.has(id)) return id;
  return null;
}

export interface PriceState {
  priceWad: bigint;
  status: number;
  /** False when the status may flip (heartbeat, sequencer grace end) before the next transaction. */
  certain: boolean;
  updatedAt: bigint;
  answer: bigint;
}

export interface TraderState {
  margin: bigint;
  reserve: bigint;
  health: bigint;
  /** Sizes by market, in `MARKETS` order. */
  sizes: bigint[];
  /** Entry prices by market (WAD), in `MARKETS` order. */
  entries: bigint[];
  /** The trader's own token balance. */
  wallet: bigint;
}

/** Everything the invariants compare, read after every command. */
export interface Snapshot {
  timestamp: bigint;
  traders: TraderState[];
  /** Vault margin and reserve of the non-trader accounts (keeper, keeper contract, LP). */
  others: { margin: bigint; reserve: bigint }[];
  tokens: Record<string, bigint>;
  totalSupply: bigint;
  vaultTotalHeld: bigint;
  /** `pool.totalAssets()`: cash with open trader PnL marked. */
  poolAssets: bigint;
  /** `pool.cashAssets()`: the pool's balance minus insurance. */
  poolCash: bigint;
  /** The price each market's open PnL is marked at: the adapter's price when `Ok`, else its last good price. */
  marks: Record<MarketName, bigint>;
  poolInsurance: bigint;
  poolShares: bigint;
  lpShares: bigint;
  prices: Record<MarketName, PriceState>;
  sequencerAnswer: bigint;
  sequencerStartedAt: bigint;
}

/** A decoded revert: the custom error's name and arguments, or what it was instead. */
export interface Revert {
  name: string;
  args: unknown[];
  selector: string;
  raw: string;
}

export type Outcome =
  | { ok: true; receipts: TransactionReceipt[] }
  | { ok: false; revert: Revert; receipts: TransactionReceipt[] };

export interface ProtocolEvent {
  name: string;
  args: Result;
  address: string;
}

/** The system under test, plus what the commands and invariants need between commands. */
export class World {
  readonly traders: HardhatEthersSigner[];
  readonly keeper: HardhatEthersSigner;
  readonly lp: HardhatEthersSigner;
  readonly guardian: HardhatEthersSigner;
  readonly admin: HardhatEthersSigner;
  readonly sequencer: MockV3Aggregator;
  /** Named token holders for the supply check (every address that ever holds USDC). */
  readonly holders: Record<string, string>;
  readonly others: string[];
  pre!: Snapshot;
  /** Block time of each trader's last `setPolicy` or `withdrawMargin` (the engine's owner-action record). */
  readonly ownerActionAt: bigint[];
  /** Submission block time and market (index into `MARKETS`) of every order the commands submitted. */
  readonly orders = new Map<bigint, { submittedAt: bigint; k: number; trader: number }>();
  /** What each actor gained, and what the price moves of its positions entitled it to. */
  actors!: ActorBook;
  /** The adapter's deviation bound per market (WAD). */
  maxDeviation: Record<MarketName, bigint> = { ETH: 0n, BTC: 0n };
  cachedPerformData = "0x";
  /** Names of the commands run so far in this sequence (for failure reports). */
  readonly log: string[] = [];
  heartbeat: Record<MarketName, bigint> = { ETH: 0n, BTC: 0n };
  keeperReward = 0n;

  constructor(
    readonly f: Deployment,
    readonly addresses: Record<string, string>,
    readonly stats: Stats,
  ) {
    this.traders = f.traders;
    this.keeper = f.keeper;
    this.lp = f.lp;
    this.guardian = f.guardianAccount;
    this.admin = f.deployer;
    this.sequencer = f.sequencer;
    this.ownerActionAt = f.traders.map((_, i) => (i === 1 || i === 2 ? f.policiesSetAt : 0n));
    this.holders = {
      trader0: f.alice.address,
      trader1: f.bob.address,
      trader2: f.carol.address,
      trader3: f.outsider.address,
      trader4: f.traders[4].address,
      trader5: f.traders[5].address,
      lp: f.lp.address,
      keeper: f.keeper.address,
      deployer: f.deployer.address,
      guardian: f.guardianAccount.address,
      vault: addresses.vault,
      pool: addresses.pool,
      engine: addresses.engine,
      keeperContract: addresses.keeperContract,
    };
    this.others = [f.keeper.address, addresses.keeperContract, f.lp.address];
  }

  static async create(f: Deployment, stats: Stats): Promise<World> {
    const addresses = {
      vault: await f.vault.getAddress(),
      pool: await f.pool.getAddress(),
      engine: await f.engine.getAddress(),
      keeperContract: await f.keeperContract.getAddress(),
    };
    const w = new World(f, addresses, stats);
    w.heartbeat = {
      ETH: (await f.oracle.feedConfig(ETH)).heartbeat,
      BTC: (await f.oracle.feedConfig(BTC)).heartbeat,
    };
    w.keeperReward = await f.engine.keeperReward();
    w.maxDeviation = {
      ETH: (await f.oracle.feedConfig(ETH)).maxDeviationWad,
      BTC: (await f.oracle.feedConfig(BTC)).maxDeviationWad,
    };
    w.pre = await w.snapshot();
    w.actors = new ActorBook(w.pre, [[0], [1], [2], [3], [...ADVERSARY]]);
    return w;
  }

  /** Block time of the transaction in `receipt`. */
  async blockTime(receipt: TransactionReceipt) {
    const block = await ethers.provider.getBlock(receipt.blockNumber);
    return BigInt(block!.timestamp);
  }

  /** Records the block time of trader `i`'s `setPolicy` or `withdrawMargin` that landed in `receipts`. */
  async noteOwnerAction(i: number, receipts: TransactionReceipt[]) {
    for (const r of receipts) this.ownerActionAt[i] = await this.blockTime(r);
  }

  feed(name: MarketName) {
    return name === "ETH" ? this.f.ethFeed : this.f.btcFeed;
  }

  /** Reads the whole observable state (in parallel: the in-process node answers calls in order). */
  async snapshot(): Promise<Snapshot> {
    const { f } = this;
    const block = await ethers.provider.getBlock("latest");
    const timestamp = BigInt(block!.timestamp);
    const traderAddrs = this.traders.map((t) => t.address);
    const holderNames = Object.keys(this.holders);
    const [
      traderPositions,
      traderBalances,
      otherBalances,
      ethHs,
      btcHs,
      tokenBalances,
      totalSupply,
      vaultTotalHeld,
      poolAssets,
      poolCash,
      poolInsurance,
      poolShares,
      lpShares,
      ethPrice,
      btcPrice,
      ethRound,
      btcRound,
      seqRound,
      ethLast,
      btcLast,
    ] = await Promise.all([
      Promise.all(traderAddrs.map((a) => Promise.all(MARKETS.map(({ id }) => f.engine.position(a, id))))),
      Promise.all(traderAddrs.map((a) => f.vault.balancesOf(a))),
      Promise.all(this.others.map((a) => f.vault.balancesOf(a))),
      f.lens.healthAndSizes(traderAddrs, ETH_MARKET),
      f.lens.healthAndSizes(traderAddrs, BTC_MARKET),
      Promise.all(holderNames.map((n) => f.token.balanceOf(this.holders[n]))),
      f.token.totalSupply(),
      f.vault.totalHeld(),
      f.pool.totalAssets(),
      f.pool.cashAssets(),
      f.pool.insuranceBalance(),
      f.pool.totalSupply(),
      f.pool.balanceOf(this.lp.address),
      f.oracle.price(ETH),
      f.oracle.price(BTC),
      f.ethFeed.latestRoundData(),
      f.btcFeed.latestRoundData(),
      this.sequencer.latestRoundData(),
      f.oracle.lastGoodPrice(ETH),
      f.oracle.lastGoodPrice(BTC),
    ]);
    const sequencerAnswer = seqRound[1];
    const sequencerStartedAt = seqRound[2];
    // A status is certain for the next transaction unless a boundary falls within STATUS_WINDOW seconds.
    const flips = (boundary: bigint) => boundary > timestamp && boundary <= timestamp + BigInt(STATUS_WINDOW);
    const graceFlip = sequencerAnswer === 0n && flips(sequencerStartedAt + BigInt(SEQUENCER_GRACE));
    const price = (name: MarketName, p: [bigint, bigint], round: { 1: bigint; 3: bigint }): PriceState => ({
      priceWad: p[0],
      status: Number(p[1]),
      updatedAt: round[3],
      answer: round[1],
      certain: !graceFlip && !flips(round[3] + this.heartbeat[name] + 1n),
    });
    const tokens: Record<string, bigint> = {};
    holderNames.forEach((n, i) => (tokens[n] = tokenBalances[i]));
    return {
      timestamp,
      traders: traderBalances.map((b, i) => ({
        margin: b[0],
        reserve: b[1],
        health: ethHs[0][i],
        sizes: [ethHs[1][i], btcHs[1][i]],
        entries: traderPositions[i].map((p) => p.entryPriceWad),
        wallet: tokens[`trader${i}`],
      })),
      others: otherBalances.map((b) => ({ margin: b[0], reserve: b[1] })),
      tokens,
      totalSupply,
      vaultTotalHeld,
      poolAssets,
      poolCash,
      marks: {
        ETH: Number(ethPrice[1]) === Status.Ok ? ethPrice[0] : ethLast[0],
        BTC: Number(btcPrice[1]) === Status.Ok ? btcPrice[0] : btcLast[0],
      },
      poolInsurance,
      poolShares,
      lpShares,
      prices: {
        ETH: price("ETH", [ethPrice[0], ethPrice[1]], ethRound),
        BTC: price("BTC", [btcPrice[0], btcPrice[1]], btcRound),
      },
      sequencerAnswer,
      sequencerStartedAt,
    };
  }

  /**
   * Sends `send()` and waits for it; a revert (at estimation or in the receipt) is returned decoded,
   * never thrown.
   */
  async attempt(send: () => Promise<{ wait(): Promise<TransactionReceipt | null> }>): Promise<Outcome> {
    try {
      const tx = await send();
      const receipt = await tx.wait();
      return { ok: true, receipts: [receipt!] };
    } catch (e) {
      return { ok: false, revert: decodeRevert(e), receipts: [] };
    }
  }

  /** Decoded protocol events of `receipts`. */
  events(receipts: TransactionReceipt[]) {
    const out: ProtocolEvent[] = [];
    for (const r of receipts) {
      for (const log of r.logs) {
        let parsed;
        try {
          parsed = protocolInterface.parseLog(log);
        } catch {
          continue;
        }
        if (parsed) out.push({ name: parsed.name, args: parsed.args, address: log.address });
      }
    }
    return out;
  }
}

/** Finds the revert data in an ethers / Hardhat error and decodes the protocol's custom error. */
export function decodeRevert(e: unknown): Revert {
  const raw = findData(e);
  if (!raw || raw === "0x")
    return { name: "<no data>", args: [], selector: "0x", raw: String((e as Error)?.message ?? e) };
  const selector = raw.slice(0, 10);
  try {
    const parsed = protocolInterface.parseError(raw);
    if (parsed) return { name: parsed.name, args: [...parsed.args], selector, raw };
  } catch {
    // fall through
  }
  if (selector === "0x4e487b71") {
    return { name: "Panic", args: [BigInt("0x" + raw.slice(10))], selector, raw };
  }
  // OpenZeppelin errors (ERC-4626, SafeCast, ERC-20) are not in the protocol's interfaces.
  return { name: `<unknown ${selector}>`, args: [], selector, raw };
}

function findData(e: unknown, depth = 0): string | undefined {
  if (!e || typeof e !== "object" || depth > 5) return undefined;
  const o = e as Record<string, unknown>;
  if (typeof o.data === "string" && o.data.startsWith("0x")) return o.data;
  for (const key of ["error", "info", "cause"]) {
    const found = findData(o[key], depth + 1);
    if (found) return found;
  }
  return undefined;
}

/** Counts across all sequences, to show (and assert) that the commands reached the interesting states. */
export class Stats {
  readonly counts = new Map<string, number>();
  /** Per actor, the largest gain beyond its entitlement seen in any sequence (see `actors.ts`). */
  worstExcess: bigint[] = [];
  noteExcess(excess: bigint[]) {
    this.worstExcess = excess.map((x, a) =>
      this.worstExcess[a] === undefined || x > this.worstExcess[a] ? x : this.worstExcess[a],
    );
  }
  add(key: string, n = 1) {
    this.counts.set(key, (this.counts.get(key) ?? 0) + n);
  }
  get(key: string) {
    return this.counts.get(key) ?? 0;
  }
  table(): Record<string, number> {
    return Object.fromEntries([...this.counts.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }
}
