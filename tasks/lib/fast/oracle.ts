/**
 * `ChainlinkOracleAdapter` (contracts/oracle/ChainlinkOracleAdapter.sol, with its `FeedReader`) for one
 * asset fed by Chainlink's `MockV3Aggregator`, as the chain backtest deploys it (`tasks/lib/sim/runner.ts`:
 * the `BallastLocal` Ignition module, no L2 sequencer feed). Bit-exact with the adapter's `update`,
 * `acceptPrice` and views: the same grading (Invalid, Stale, Deviation against the previous round or the
 * last good price, Ok), the same last-good-price record, and the same volatility (the EWMA of
 * `volatilityMath.ts`, or the realised-volatility feed while it is fresh).
 *
 * The adapter reads the feed's latest round and, to grade a new round, the one before it, so the model
 * keeps the feed's rounds: every round the feed publishes must reach it, through `update(round, t)` or,
 * when no `update` follows, `publishRound(round)`. A round is `{ roundId, answer, updatedAt }` as the feed
 * returns it (`MockV3Aggregator.updateAnswer` in a block at `t` publishes `{ latestRound + 1, answer, t }`;
 * `updateRoundData` any round). Times are block timestamps (seconds).
 *
 * Not modelled, because that deployment cannot reach them: the sequencer statuses (no sequencer feed),
 * unreadable feeds (a mock always answers), the gas guard, roles, and the risk consumer's check that the
 * deviation bound stays within every market's maintenance margin (pass the bound that was deployed).
 */
import { Revert, mulDivUp } from "./solady";
import { ewmaStep, volatilityWad as ewmaVolatilityWad } from "./volatilityMath";
import { WAD } from "./wad";

/** `IChainlinkOracleAdapter.Status`. */
export const Status = {
  Ok: 0,
  Stale: 1,
  Invalid: 2,
  Deviation: 3,
  SequencerDown: 4,
  GracePeriod: 5,
} as const;
export type Status = (typeof Status)[keyof typeof Status];

/** `IChainlinkOracleAdapter.VolatilitySource`. */
export const VolatilitySource = { None: 0, Ewma: 1, Feed: 2 } as const;
export type VolatilitySource = (typeof VolatilitySource)[keyof typeof VolatilitySource];

/** The adapter's bounds on its parameters. */
export const MIN_HEARTBEAT = 60n;
export const MAX_HEARTBEAT = 172_800n;
export const MIN_DEVIATION = 5n * 10n ** 15n;
export const MAX_DEVIATION = WAD;
export const MAX_INITIAL_VOLATILITY = 10n * WAD;
export const MIN_EWMA_WINDOW = 60n;
export const MAX_EWMA_WINDOW = 2_592_000n;

const MAX_UINT40 = (1n << 40n) - 1n;
const MAX_UINT80 = (1n << 80n) - 1n;
const MAX_UINT128 = (1n << 128n) - 1n;
const MAX_UINT216 = (1n << 216n) - 1n;
/** WAD per percent: a volatility feed answer of 1% (whole feed units) is 0.01e18. */
const WAD_PER_PERCENT = 10n ** 16n;

// ------------------------------------------------------------------------------------------------
// Types
// ------------------------------------------------------------------------------------------------

/** A feed round as `latestRoundData` / `getRoundData` return it (the fields the adapter reads). */
export interface FeedRound {
  roundId: bigint;
  /** The answer in feed units (int256). */
  answer: bigint;
  updatedAt: bigint;
}

/** `setVolatilityConfig`'s arguments, with the realised-volatility feed described by its decimals. */
export interface VolatilityConfig {
  /** Annualised volatility before the first sample (WAD, in (0, 10e18]). */
  initialVolatilityWad: bigint;
  /** EWMA time constant (seconds, in [60, 30 days]). */
  ewmaWindow: bigint;
  /**
   * Staleness limit of the realised-volatility feed (seconds). 0 means no feed (the adapter refuses a feed
   * with a heartbeat below 60, and ignores the heartbeat without one; `DEFAULTS` sets 0).
   */
  volatilityFeedHeartbeat: bigint;
  /** The realised-volatility feed's decimals (≤ 18); required with a feed. */
  volatilityFeedDecimals?: number;
}

/**
 * The deployment: `setFeed`'s risk parameters and the feed's decimals, and optionally `setVolatilityConfig`
 * (when `initialVolatilityWad` is given).
 */
export interface OracleConfig extends Partial<VolatilityConfig> {
  /** The price feed's decimals (≤ 18), which `setFeed` reads from the feed. */
  feedDecimals: number;
  /** Seconds after `updatedAt` at which a round is `Stale` (in [60, 2 days]). */
  heartbeat: bigint;
  /** Lowest and highest plausible price (WAD); answers outside are `Invalid`. */
  minPriceWad: bigint;
  maxPriceWad: bigint;
  /** Largest relative move from the reference accepted without confirmation (WAD, in [0.005e18, 1e18]). */
  maxDeviationWad: bigint;
}

/** The risk parameters `setFeed` and `setRiskParams` take. */
export type RiskParams = Pick<OracleConfig, "heartbeat" | "minPriceWad" | "maxPriceWad" | "maxDeviationWad">;

/** `price(asset)`. */
export interface PriceQuote {
  priceWad: bigint;
  status: Status;
  /** The round's `updatedAt`; 0 when the round is `Invalid`. */
  updatedAt: bigint;
}

/** `update(asset)`'s return values, and what it emitted. */
export interface UpdateResult {
  priceWad: bigint;
  status: Status;
  /** Whether it recorded a new last good price (`PriceUpdated`). */
  recorded: boolean;
  /** The volatility of `VolatilityUpdated` when it folded a return into the EWMA, else undefined. */
  volatilityWad?: bigint;
}

/** `lastGoodPrice(asset)`. */
export interface LastGoodPrice {
  priceWad: bigint;
  updatedAt: bigint;
  roundId: bigint;
}

// ------------------------------------------------------------------------------------------------
// A feed's rounds
// ------------------------------------------------------------------------------------------------

/** The rounds of a `MockV3Aggregator`: what its `latestRoundData` and `getRoundData` return. */
export class FeedRounds {
  private latest = 0n;
  private readonly rounds = new Map<bigint, FeedRound>();

  /** Stores `round` and makes it the latest (`updateRoundData`; `updateAnswer` with the next id). */
  publish(round: FeedRound): void {
    this.latest = round.roundId;
    this.rounds.set(round.roundId, { ...round });
  }

  /** `updateAnswer(answer)` in a block at `blockTimestamp`: the next round. */
  publishNext(answer: bigint, blockTimestamp: bigint): FeedRound {
    const round = { roundId: this.latest + 1n, answer, updatedAt: blockTimestamp };
    this.publish(round);
    return round;
  }

  /** `latestRoundData()`: zeros before the first round; the id is cast to uint80 as the mock does. */
  latestRoundData(): FeedRound {
    return { ...this.getRoundData(this.latest), roundId: BigInt.asUintN(80, this.latest) };
  }

  /** `getRoundData(roundId)`: zeros (with the id asked for) for a round never published. */
  getRoundData(roundId: bigint): FeedRound {
    const round = this.rounds.get(roundId);
    return round ? { ...round } : { roundId, answer: 0n, updatedAt: 0n };
  }
}

// ------------------------------------------------------------------------------------------------
// The adapter
// ------------------------------------------------------------------------------------------------

/** `ChainlinkOracleAdapter.Quote`: the latest round and its grade. */
interface Quote {
  priceWad: bigint;
  status: Status;
  roundId: bigint;
  updatedAt: bigint;
  recordedRoundId: bigint;
  /** Whether grading read the previous round, and its `updatedAt` then. */
  previousRead: boolean;
  previousUpdatedAt: bigint;
}

/** `ChainlinkOracleAdapter.LastGood` (`inBounds` is the `IN_BOUNDS` flag). */
interface LastGood extends LastGoodPrice {
  inBounds: boolean;
}

/** `VolatilityState` and `VolatilityParams`: the configuration and the EWMA's annualised variance. */
interface VolatilityState {
  config: VolatilityConfig;
  varianceWadSq: bigint;
}

/** One asset of a `ChainlinkOracleAdapter` without a sequencer feed, fed by a `MockV3Aggregator`. */
export class OracleModel {
  /** The price feed's rounds. */
  readonly feed = new FeedRounds();
  /** The realised-volatility feed's rounds (read only while a volatility configuration names a feed). */
  readonly volatilityFeed = new FeedRounds();
  private readonly feedDecimals: number;
  private params!: RiskParams;
  private last: LastGood = { priceWad: 0n, updatedAt: 0n, roundId: 0n, inBounds: false };
  private volatilityState?: VolatilityState;

  /** The deployment: `setFeed` for a new asset, then `setVolatilityConfig` when configured. */
  constructor(config: OracleConfig) {
    checkDecimals(config.feedDecimals);
    this.feedDecimals = config.feedDecimals;
    this.setRiskParams(config);
    if (config.initialVolatilityWad !== undefined) {
      this.setVolatilityConfig({
        initialVolatilityWad: config.initialVolatilityWad,
        ewmaWindow: config.ewmaWindow ?? 0n,
        volatilityFeedHeartbeat: config.volatilityFeedHeartbeat ?? 0n,
        volatilityFeedDecimals: config.volatilityFeedDecimals,
      });
    }
  }

  // ---------------------------------------------------------------- configuration

  /** `setRiskParams`: new heartbeat, bounds and deviation bound; the last good price is kept. */
  setRiskParams(p: RiskParams): void {
    checkRiskParams(p);
    this.params = {
      heartbeat: p.heartbeat,
      minPriceWad: p.minPriceWad,
      maxPriceWad: p.maxPriceWad,
      maxDeviationWad: p.maxDeviationWad,
    };
    this.last.inBounds = this.inBounds(this.last.priceWad);
  }

  /** `setVolatilityConfig`: checks it and restarts the EWMA at `initialVolatilityWad²`. */
  setVolatilityConfig(config: VolatilityConfig): void {
    checkVolatilityConfig(config);
    if (hasFeed(config)) {
      if (config.volatilityFeedDecimals === undefined) {
        throw new RangeError("volatilityFeedDecimals is required");
      }
      checkDecimals(config.volatilityFeedDecimals);
    }
    this.volatilityState = {
      config: { ...config },
      varianceWadSq: config.initialVolatilityWad * config.initialVolatilityWad,
    };
  }

  /** The EWMA's annualised variance (36 decimals); undefined without a volatility configuration. */
  varianceWadSq(): bigint | undefined {
    return this.volatilityState?.varianceWadSq;
  }

  // ---------------------------------------------------------------- feeds

  /** A round the price feed published (it becomes the latest), without calling the adapter. */
  publishRound(round: FeedRound): void {
    this.feed.publish(round);
  }

  /** The price feed's latest round. */
  latestRound(): FeedRound {
    return this.feed.latestRoundData();
  }

  /** The realised-volatility feed's `updateAnswer(answer)` (percent, feed units) in a block at `updatedAt`. */
  setVolatilityFeedAnswer(answer: bigint, updatedAt: bigint): void {
    this.volatilityFeed.publishNext(answer, updatedAt);
  }

  // ---------------------------------------------------------------- price recording

  /**
   * `update(asset)` in a block at `blockTimestamp`, the feed's latest round being `feedRound` (published
   * now or earlier; passing the latest round again is harmless). Grades it and, when it is `Ok` and newer
   * than the recorded round, records it as the last good price and folds the return into the EWMA.
   */
  update(feedRound: FeedRound, blockTimestamp: bigint): UpdateResult {
    this.publishRound(feedRound);
    const quote = this.quote(blockTimestamp);
    if (quote.status !== Status.Ok || quote.roundId <= quote.recordedRoundId) {
      return { priceWad: quote.priceWad, status: quote.status, recorded: false };
    }
    const volatilityWad = this.record(quote);
    return { priceWad: quote.priceWad, status: quote.status, recorded: true, volatilityWad };
  }

  /**
   * `acceptPrice(asset)` in a block at `blockTimestamp` (the guardian's call): records the latest round if
   * it is held back as `Deviation` (and folds its return into the EWMA); throws
   * `ChainlinkOracleAdapterNothingToAccept` for any other status. Returns the `VolatilityUpdated`
   * volatility, if any.
   */
  acceptPrice(blockTimestamp: bigint): bigint | undefined {
    const quote = this.quote(blockTimestamp);
    if (quote.status !== Status.Deviation) {
      throw new Revert("ChainlinkOracleAdapterNothingToAccept(bytes32,uint8)");
    }
    return this.record(quote);
  }

  // ---------------------------------------------------------------- views

  /** `price(asset)` at `blockTimestamp`: the latest round's price, grade and `updatedAt`. */
  price(blockTimestamp: bigint): PriceQuote {
    const quote = this.quote(blockTimestamp);
    return { priceWad: quote.priceWad, status: quote.status, updatedAt: quote.updatedAt };
  }

  /** `priceAndTime(asset)` at `blockTimestamp`: `price` and the previous round's `updatedAt`. */
  priceAndTime(blockTimestamp: bigint): PriceQuote & { previousUpdatedAt: bigint } {
    const quote = this.quote(blockTimestamp);
    let previousUpdatedAt = 0n;
    if (quote.previousRead) previousUpdatedAt = quote.previousUpdatedAt;
    else if (quote.roundId !== 0n) previousUpdatedAt = this.feed.getRoundData(quote.roundId - 1n).updatedAt;
    return { priceWad: quote.priceWad, status: quote.status, updatedAt: quote.updatedAt, previousUpdatedAt };
  }

  /** `lastGoodPrice(asset)`: the recorded price, its `updatedAt` and round (zeros before the first). */
  lastGoodPrice(): LastGoodPrice {
    const { priceWad, updatedAt, roundId } = this.last;
    return { priceWad, updatedAt, roundId };
  }

  /**
   * `volatility(asset)` at `blockTimestamp`: the realised-volatility feed while it is usable, else the EWMA
   * (`⌈√var⌉`); `(0, None)` without a volatility configuration.
   */
  volatility(blockTimestamp: bigint): { volatilityWad: bigint; source: VolatilitySource } {
    const state = this.volatilityState;
    if (!state) return { volatilityWad: 0n, source: VolatilitySource.None };
    if (hasFeed(state.config)) {
      const fromFeed = this.feedVolatilityWad(state.config, blockTimestamp);
      if (fromFeed !== 0n) return { volatilityWad: fromFeed, source: VolatilitySource.Feed };
    }
    return { volatilityWad: ewmaVolatilityWad(state.varianceWadSq), source: VolatilitySource.Ewma };
  }

  // ---------------------------------------------------------------- evaluation

  /** `_quote`: reads the latest round and grades it: Invalid, Stale, recorded (Ok), then deviation. */
  private quote(now: bigint): Quote {
    const last = this.last;
    const quote: Quote = {
      priceWad: 0n,
      status: Status.Ok,
      roundId: 0n,
      updatedAt: 0n,
      recordedRoundId: last.roundId,
      previousRead: false,
      previousUpdatedAt: 0n,
    };
    const round = this.feed.latestRoundData();
    if (round.answer <= 0n || round.answer > MAX_UINT128) {
      quote.priceWad = last.priceWad;
      quote.status = Status.Invalid;
      return quote;
    }
    quote.priceWad = round.answer * this.scale();

    // The recorded round at the recorded price is known to be inside the bounds.
    const knownInBounds = round.roundId === last.roundId && quote.priceWad === last.priceWad && last.inBounds;
    if (
      round.roundId > MAX_UINT80 ||
      round.updatedAt === 0n ||
      round.updatedAt > now ||
      (!knownInBounds && !this.inBounds(quote.priceWad))
    ) {
      quote.status = Status.Invalid;
      return quote;
    }
    quote.roundId = round.roundId;
    quote.updatedAt = round.updatedAt;
    if (now - round.updatedAt > this.params.heartbeat) {
      quote.status = Status.Stale;
      return quote;
    }
    if (quote.roundId === last.roundId) return quote; // recorded or accepted: Ok
    this.gradeDeviation(quote, now);
    return quote;
  }

  /** `_gradeDeviation`: `Deviation` when the round moved beyond the bound from its reference. */
  private gradeDeviation(quote: Quote, now: bigint): void {
    const previous = this.previousRoundWad(quote.roundId, now);
    quote.previousUpdatedAt = previous.updatedAt;
    quote.previousRead = true;
    const referenceWad = previous.answerWad === 0n ? this.last.priceWad : previous.answerWad;
    if (deviates(quote.priceWad, referenceWad, this.params.maxDeviationWad)) quote.status = Status.Deviation;
  }

  /**
   * `FeedReader.previousRoundWad`: the previous round's answer in WAD, or 0 when it cannot serve as
   * reference (round 0, answer ≤ 0 or ≥ 2**128, incomplete, in the future, outside the bounds), and its
   * `updatedAt` as read.
   */
  private previousRoundWad(roundId: bigint, now: bigint): { answerWad: bigint; updatedAt: bigint } {
    if (roundId === 0n) return { answerWad: 0n, updatedAt: 0n };
    const previous = this.feed.getRoundData(roundId - 1n);
    const updatedAt = previous.updatedAt;
    if (previous.answer <= 0n || previous.answer > MAX_UINT128) return { answerWad: 0n, updatedAt };
    if (updatedAt === 0n || updatedAt > now) return { answerWad: 0n, updatedAt };
    const answerWad = previous.answer * this.scale();
    return { answerWad: this.inBounds(answerWad) ? answerWad : 0n, updatedAt };
  }

  private inBounds(priceWad: bigint): boolean {
    return priceWad >= this.params.minPriceWad && priceWad <= this.params.maxPriceWad;
  }

  /** `_scale`: feed units to WAD. */
  private scale(): bigint {
    return 10n ** BigInt(18 - this.feedDecimals);
  }

  // ---------------------------------------------------------------- recording and volatility

  /**
   * `_record` then `_foldReturn`: the quote (inside the bounds) becomes the last good price; with a
   * volatility configuration the return from the previous last good price is folded into the EWMA.
   * Returns the `VolatilityUpdated` volatility, or undefined when no sample was taken.
   */
  private record(quote: Quote): bigint | undefined {
    const previous = this.last;
    this.last = {
      priceWad: quote.priceWad, // ≤ maxPriceWad < 2**128: the uint128 field holds it
      updatedAt: quote.updatedAt & MAX_UINT40, // the uint40 field
      roundId: quote.roundId,
      inBounds: true,
    };
    if (!this.volatilityState) return undefined;
    return this.foldReturn(quote, previous, this.volatilityState);
  }

  /** `_foldReturn`: no sample without a previous price or unless `dt > 0`. */
  private foldReturn(quote: Quote, previous: LastGood, state: VolatilityState): bigint | undefined {
    if (previous.priceWad === 0n || quote.updatedAt <= previous.updatedAt) return undefined;
    const varianceWadSq = ewmaStep(
      state.varianceWadSq,
      previous.priceWad,
      quote.priceWad,
      quote.updatedAt - previous.updatedAt,
      state.config.ewmaWindow,
    );
    state.varianceWadSq = varianceWadSq & MAX_UINT216; // the uint216 field (lossless: < 2**158)
    return ewmaVolatilityWad(varianceWadSq);
  }

  /**
   * `_feedVolatilityWad`: the realised-volatility feed's latest answer (percent) in WAD, rounded up, or 0
   * when it may not be used (≤ 0, 2**128 feed units or more, incomplete, in the future, or older than its
   * heartbeat).
   */
  private feedVolatilityWad(config: VolatilityConfig, now: bigint): bigint {
    const round = this.volatilityFeed.latestRoundData();
    if (round.answer <= 0n || round.answer > MAX_UINT128) return 0n;
    if (
      round.updatedAt === 0n ||
      round.updatedAt > now ||
      now - round.updatedAt > config.volatilityFeedHeartbeat
    ) {
      return 0n;
    }
    return mulDivUp(round.answer, WAD_PER_PERCENT, 10n ** BigInt(config.volatilityFeedDecimals ?? 0));
  }
}

// ------------------------------------------------------------------------------------------------
// Helpers
// ------------------------------------------------------------------------------------------------

/**
 * `FeedReader.deviates`: whether |price − reference| / reference > maxDeviation, compared exactly by
 * cross-multiplication; a zero reference means none.
 */
export function deviates(priceWad: bigint, referenceWad: bigint, maxDeviationWad: bigint): boolean {
  if (referenceWad === 0n) return false;
  const diffWad = priceWad > referenceWad ? priceWad - referenceWad : referenceWad - priceWad;
  return diffWad * WAD > maxDeviationWad * referenceWad;
}

/** Whether a volatility configuration names a realised-volatility feed (see `volatilityFeedHeartbeat`). */
function hasFeed(config: VolatilityConfig): boolean {
  return config.volatilityFeedHeartbeat !== 0n;
}

/** `FeedReader.readDecimals`'s check: at most 18 decimals. */
function checkDecimals(decimals: number): void {
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > 18) {
    throw new Revert("ChainlinkOracleAdapterUnsupportedFeed(address)");
  }
}

/** `_checkRiskParams` (without the risk consumer's margin check). */
function checkRiskParams(p: RiskParams) {
  if (p.heartbeat < MIN_HEARTBEAT || p.heartbeat > MAX_HEARTBEAT) {
    throw new Revert("ChainlinkOracleAdapterInvalidHeartbeat(uint256)");
  }
  if (p.minPriceWad === 0n || p.minPriceWad >= p.maxPriceWad || p.maxPriceWad > MAX_UINT128) {
    throw new Revert("ChainlinkOracleAdapterInvalidBounds(uint256,uint256)");
  }
  if (p.maxDeviationWad < MIN_DEVIATION || p.maxDeviationWad > MAX_DEVIATION) {
    throw new Revert("ChainlinkOracleAdapterInvalidDeviation(uint256)");
  }
}

/** `setVolatilityConfig`'s hard bounds. */
function checkVolatilityConfig(c: VolatilityConfig): void {
  const badFeedHeartbeat =
    hasFeed(c) && (c.volatilityFeedHeartbeat < MIN_HEARTBEAT || c.volatilityFeedHeartbeat > MAX_HEARTBEAT);
  if (
    c.initialVolatilityWad === 0n ||
    c.initialVolatilityWad > MAX_INITIAL_VOLATILITY ||
    c.ewmaWindow < MIN_EWMA_WINDOW ||
    c.ewmaWindow > MAX_EWMA_WINDOW ||
    badFeedHeartbeat
  ) {
    throw new Revert("ChainlinkOracleAdapterInvalidVolatilityConfig((uint64,uint32,address,uint32))");
  }
}
