/**
 * The fast replay: the backtest of `tasks/lib/sim/runner.ts` on the BigInt model of the contracts
 * (`engine.ts`, `oracle.ts`, the planner ports) instead of the in-process chain. Same book, same rounds,
 * same order of actors within a round (the price round and the adapter's update; the competing
 * liquidator on every account below health 1; the keeper's scan of every active account, then its
 * rebalances, then its liquidations), same ledger, so the result is the chain replay's to the wei
 * (`test/tasks/fast-engine.test.ts` checks it). Gas is not modelled: `gasUsed` stays 0.
 *
 * Time: the feed's rounds carry the chain times the chain replay gives them: the series' rounds
 * `OPENING_SECONDS` after the opening round plus their own offsets (each at least 2 s after the
 * previous). The chain can only be later than that where a round's transactions (one block, one second
 * each) ran past the next round's time, which rounds 15 s or more apart with a book of 30 accounts do not;
 * `FastOptions.feedTimes` replaces the schedule (the differential test passes the chain's own).
 */
import { DEFAULTS, ETH } from "../../../ignition/modules/core";
import { bookPolicy, openingBook } from "../sim/book";
import { ReplayLedger, liquidatedBelowOne } from "../sim/ledger";
import type { PricePoint } from "../sim/prices";
import {
  OPENING_SECONDS,
  hindsightOf,
  type SimAccount,
  type SimOptions,
  type SimResult,
} from "../sim/runner";
import { EngineModel, EngineRevert, type PriceSource } from "./engine";
import { OracleModel } from "./oracle";
import { VolatilityScaledStrategyModel, thresholdPlan, type VolatilityScaledParams } from "./strategies";

const ENGINE = "0x00000000000000000000000000000000000e0001";
const VOLATILITY_STRATEGY = "0x00000000000000000000000000000000000e0002";
const KEEPER = "0x00000000000000000000000000000000000e0003";
const LIQUIDATOR = "0x00000000000000000000000000000000000e0004";
const ETH_MARKET = 1;

export interface FastOptions extends SimOptions {
  /** The volatility-scaled strategy's deployment (default: the Ignition module's). */
  volatilityStrategy?: VolatilityScaledParams;
  /** Chain time of every round of the price feed: its deployment, the opening round (at the first price),
   *  then one per price round after the first (which the opening round already published). */
  feedTimes?: number[];
}

const toAnswer = (price: number) => BigInt(Math.round(price * 1e8));
const volatilityAnswer = (sigma: number) => BigInt(Math.round(sigma * 100 * 1e8));

/** The chain times of the feed's rounds, as the chain replay gives them (see the file notes). */
export function defaultFeedTimes(rounds: PricePoint[], deployedAt = 1_700_000_000): number[] {
  const openedAt = deployedAt + 60;
  const times = [deployedAt, openedAt];
  const chainStart = openedAt + OPENING_SECONDS;
  for (let i = 1; i < rounds.length; i++) {
    const previous = times[times.length - 1];
    times.push(Math.max(chainStart + (rounds[i].timestamp - rounds[0].timestamp), previous + 2));
  }
  return times;
}

export function runFastSimulation(rounds: PricePoint[], options: FastOptions): SimResult {
  const started = Date.now();
  const book = options.book;
  const feedTimes = options.feedTimes ?? defaultFeedTimes(rounds);
  if (feedTimes.length !== rounds.length + 1)
    throw new Error("feedTimes: two set-up rounds, then one per round after the first");
  const liquidatorFirst = options.liquidator ?? true;

  const oracle = new OracleModel({
    heartbeat: 172_800n,
    minPriceWad: 1n,
    maxPriceWad: DEFAULTS.eth.maxPriceWad,
    maxDeviationWad:
      options.maxDeviation === undefined
        ? DEFAULTS.maxDeviationWad
        : BigInt(Math.round(options.maxDeviation * 1e18)),
    feedDecimals: 8,
    initialVolatilityWad: DEFAULTS.eth.volatility.initialVolatilityWad,
    ewmaWindow: BigInt(DEFAULTS.eth.volatility.ewmaWindow),
    volatilityFeedHeartbeat: options.volatilityAt ? 7_200n : 0n,
    volatilityFeedDecimals: 8,
  });
  let now = BigInt(feedTimes[0]);
  let roundId = 1n;
  const publish = (price: number, at: number) => {
    now = BigInt(at);
    oracle.update({ roundId, answer: toAnswer(price), updatedAt: now }, now);
    roundId += 1n;
  };
  const source: PriceSource = {
    price: () => oracle.price(now),
    volatility: () => oracle.volatility(now).volatilityWad,
  };
  const v = options.volatilityStrategy ?? {
    ...DEFAULTS.volatilityStrategy,
    horizonSeconds: BigInt(DEFAULTS.volatilityStrategy.horizonSeconds),
  };
  const volatilityStrategy = new VolatilityScaledStrategyModel(
    v.pMaxWad,
    v.pTargetWad,
    v.horizonSeconds,
    v.turbulenceVolatilityWad,
    v.turbulenceTargetMultiplierWad,
  );
  const m = DEFAULTS.eth.market;
  const engine = new EngineModel(
    {
      scale: 10n ** 12n,
      markets: new Map([
        [
          ETH_MARKET,
          {
            asset: ETH,
            imrWad: m.imrWad,
            mmrWad: m.mmrWad,
            feeWad: m.feeWad,
            liquidationPenaltyWad: m.liquidationPenaltyWad,
          },
        ],
      ]),
      liquidation: { ...DEFAULTS.liquidation },
      keeperRewardTokens: DEFAULTS.keeperRewardTokens,
      builtinStrategy: ENGINE,
      builtinPlan: thresholdPlan,
      strategies: new Map([
        [VOLATILITY_STRATEGY, { usesVolatility: true, plan: (s) => volatilityStrategy.plan(s) }],
      ]),
    },
    source,
  );
  const strategies = { none: "", threshold: ENGINE, volatility: VOLATILITY_STRATEGY };

  // Deployment: the feed's first round, then a realised-volatility feed when one is published.
  // (Nothing records it: the keeper's first update is at the opening round.)
  oracle.publishRound({ roundId, answer: toAnswer(rounds[0].price), updatedAt: now });
  roundId += 1n;
  let volatilityPublished = { answer: -1n, at: 0 };
  const publishVolatility = (timestamp: number, at: number) => {
    if (!options.volatilityAt) return;
    const answer = volatilityAnswer(options.volatilityAt(timestamp));
    if (answer !== volatilityPublished.answer || at - volatilityPublished.at >= 3_000) {
      oracle.setVolatilityFeedAnswer(answer, BigInt(at - 1));
      volatilityPublished = { answer, at };
    }
  };
  if (options.volatilityAt) {
    oracle.setVolatilityFeedAnswer(volatilityAnswer(options.volatilityAt(rounds[0].timestamp)), now);
  }

  const accounts: SimAccount[] = [];
  const opening = openingBook(book, options.replicas ?? 1, options.seed ?? 1, rounds[0].price);
  for (const [k, o] of opening.entries()) {
    const address = `0x${(k + 1).toString(16).padStart(40, "0")}`;
    engine.depositMargin(address, o.marginTokens);
    if (o.reserveTokens > 0n) engine.depositReserve(address, o.reserveTokens);
    if (o.policy !== "none") engine.setPolicy(address, bookPolicy(book, strategies[o.policy]), now);
    accounts.push({
      address,
      policy: o.policy,
      leverage: o.leverage,
      side: o.side,
      initialSizeWad: o.sizeWad,
      initialNotionalUsd: o.marginUsd * o.leverage,
    });
  }
  const ledger = new ReplayLedger(accounts, book, options.sampleEvery ?? 1, options.trace ?? false);
  const readBalances = (address: string) => {
    const b = engine.balances(address);
    ledger.setBalances(address, b.marginTokens, b.reserveTokens);
  };
  const drain = (round: number, timestamp: number, by: "keeper" | "liquidator") => {
    const touched = ledger.record(engine.events, round, timestamp, by);
    engine.events = [];
    for (const a of touched) readBalances(a);
  };

  // The opening round: the orders fill at the first price, then the keeper's first scan.
  publish(rounds[0].price, feedTimes[1]);
  for (const [k, a] of accounts.entries()) engine.executeOrder(a.address, ETH_MARKET, opening[k].sizeWad);
  engine.events = [];
  keeperCycle(engine);
  engine.events = [];
  for (const a of accounts) readBalances(a.address);
  const entries = accounts.map((a) => engine.position(a.address, ETH_MARKET).entryPriceWad);
  const hindsight = hindsightOf(accounts, ledger.balances, entries, DEFAULTS.eth.market, rounds);

  for (let i = 0; i < rounds.length; i++) {
    const round = rounds[i];
    // The first price round publishes nothing new (the opening round carries its price).
    const at = i === 0 ? feedTimes[1] + OPENING_SECONDS : feedTimes[i + 1];
    publishVolatility(round.timestamp, at);
    if (i > 0) publish(round.price, at);
    else now = BigInt(at);
    ledger.observe(
      i,
      round.timestamp,
      rounds.length,
      accounts.map((a) => engine.health(a.address)),
      accounts.map((a) => engine.position(a.address, ETH_MARKET).sizeWad),
    );
    if (liquidatorFirst) {
      for (const a of accounts.filter((x) => ledger.current[x.address] < 1)) {
        for (let attempt = 0; attempt < 5; attempt++) {
          try {
            engine.liquidate(a.address, LIQUIDATOR);
          } catch (error) {
            if (error instanceof EngineRevert && error.errorName === "MarginEngineBadPrice") break;
            throw error;
          }
          const before = ledger.events.length;
          drain(i, round.timestamp, "liquidator");
          if (!liquidatedBelowOne(ledger.events, before)) break;
        }
      }
    }
    keeperCycle(engine);
    drain(i, round.timestamp, "keeper");
    ledger.endRound();
    options.onProgress?.(i + 1, rounds.length);
  }
  return ledger.finish(rounds, hindsight, liquidatorFirst, (Date.now() - started) / 1000);
}

/**
 * One keeper cycle (`RebalanceKeeper.checkUpkeep` over every page, then `performUpkeep`): every active
 * account is graded against the same state, then the rebalances run, then the liquidations; a refused
 * call is skipped, as the keeper contract's try/catch does.
 */
function keeperCycle(engine: EngineModel) {
  const rebalance: string[] = [];
  const liquidate: string[] = [];
  for (const account of engine.active) {
    const action = engine.keeperAction(account);
    if (action === "rebalance") rebalance.push(account);
    else if (action === "liquidate") liquidate.push(account);
  }
  for (const account of rebalance) attempt(() => engine.rebalance(account, KEEPER));
  for (const account of liquidate) attempt(() => engine.liquidate(account, KEEPER));
}

function attempt(call: () => unknown) {
  try {
    call();
  } catch (error) {
    if (!(error instanceof EngineRevert)) throw error;
  }
}
