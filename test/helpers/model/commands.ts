import { expect } from "chai";
import fc from "fast-check";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { AbiCoder, Signer } from "ethers";
import { orderIdOf, usdc } from "../fixtures";
import {
  Action,
  MARKETS,
  MarketName,
  Model,
  Outcome,
  SEQUENCER_GRACE,
  Snapshot,
  Status,
  WAD,
  World,
  isPaused,
} from "./world";
import {
  Expectation,
  SUCCESS,
  check,
  heldMarkets,
  predictLiquidate,
  predictModify,
  predictRebalance,
  poolPriceBlock,
  predictWithdrawMargin,
  reverts,
  selectorOf,
} from "./expect";
import { checkCommittedFills, checkLossBeforeReward, checkUnderwaterOnlyThroughGaps } from "./actors";
import {
  StepInfo,
  checkCircuitBreaker,
  checkConservation,
  checkHealthMonotonicity,
  checkKeeperRewards,
  checkLpSharePrice,
  checkReserveWithdrawable,
  checkRevertChangesNothing,
} from "./invariants";

const coder = AbiCoder.defaultAbiCoder();
/** Four honest traders and the adversary's two accounts (`ADVERSARY`); every trader command may pick any. */
const TRADERS = 6;
/** Feed answers have 8 decimals; prices are WAD. */
const FEED_TO_WAD = 10n ** 10n;

export type Body = (
  m: Model,
  w: World,
  pre: Snapshot,
) => Promise<Partial<StepInfo> & { outcomes: Outcome[] }>;

/**
 * One command: runs `body` against the chain, then reads the state again and checks every invariant
 * against the state before. The model is updated by `body`.
 */
export class Step implements fc.AsyncCommand<Model, World> {
  constructor(
    readonly label: string,
    readonly body: Body,
    readonly precondition: (m: Readonly<Model>) => boolean = () => true,
  ) {}

  check(m: Readonly<Model>) {
    return this.precondition(m);
  }

  async run(m: Model, w: World) {
    w.log.push(this.label);
    const pre = w.pre;
    const result = await this.body(m, w, pre);
    const info: StepInfo = {
      changed: result.changed ?? result.outcomes.some((o) => o.ok),
      noPrice: result.noPrice ?? new Set(),
    };
    const post = await w.snapshot();
    const events = w.events(result.outcomes.flatMap((o) => o.receipts));
    checkConservation(w, pre, post, events);
    checkHealthMonotonicity(w, m, pre, post, events);
    await checkReserveWithdrawable(w, post);
    checkCircuitBreaker(w, pre, post, info);
    checkRevertChangesNothing(pre, post, info);
    checkLpSharePrice(pre, post, events);
    checkKeeperRewards(w, m, pre, post, events);
    checkCommittedFills(w, pre, post, events);
    checkUnderwaterOnlyThroughGaps(w, pre, post);
    checkLossBeforeReward(events);
    w.actors.step(w, pre, post, events);
    for (const e of events) {
      if (e.name === "Rebalanced") {
        w.stats.add(`event: Rebalanced`);
        if (e.args.toppedUpTokens > 0n) w.stats.add("event: Rebalanced with top-up");
        if (e.args.deleveragedNotionalWad > 0n) w.stats.add("event: Rebalanced with deleverage");
        if (e.args.sweptTokens > 0n) w.stats.add("event: Rebalanced with sweep");
      } else if (
        ["Liquidated", "Rescued", "BadDebtRecorded", "TraderPaid", "AccountSkipped"].includes(e.name)
      ) {
        w.stats.add(`event: ${e.name}`);
      }
    }
    if (post.traders.some((t) => t.health < WAD)) w.stats.add("state: a trader with health < 1");
    if (Object.values(post.prices).every((x) => x.status === Status.Ok)) w.stats.add("state: every price Ok");
    if (w.traders.some((t, i) => predictLiquidate(m, post, i, t.address).kind === "success"))
      w.stats.add("state: a trader can be liquidated");
    if (m.globalPaused) w.stats.add("state: global pause");
    if (!m.sequencerUp) w.stats.add("state: sequencer down");
    w.pre = post;
  }

  toString() {
    return this.label;
  }
}

/**
 * Steps that one fast-check command runs in order, each checked on its own (a plan of several moves whose
 * later moves read the state the earlier left).
 */
export class StepChain implements fc.AsyncCommand<Model, World> {
  constructor(readonly steps: Step[]) {}

  check(m: Readonly<Model>) {
    return this.steps[0].check(m);
  }

  async run(m: Model, w: World) {
    for (const step of this.steps) await step.run(m, w);
  }

  toString() {
    return this.steps.map((step) => step.label).join(", then ");
  }
}

/** Records an outcome in the stats under `name` (ok, or the revert's error name). */
function tally(w: World, name: string, o: Outcome, e: Expectation) {
  w.stats.add(`${name}: ${o.ok ? "ok" : o.revert.name}`);
  if (e.kind === "revert") w.stats.add(`expected revert: ${e.name}`);
}

export function run(w: World, name: string, label: string, o: Outcome, e: Expectation) {
  tally(w, name, o, e);
  return check(o, e, label);
}

export const trader = fc.integer({ min: 0, max: TRADERS - 1 });
export const market = fc.integer({ min: 0, max: MARKETS.length - 1 });
const bps = fc.integer({ min: 1, max: 10_000 });

// ------------------------------------------------------------------------------------------- margin

const depositMargin = fc.record({ i: trader, amount: fc.integer({ min: 1, max: 30_000 }) }).map(
  ({ i, amount }) =>
    new Step(`depositMargin(trader${i}, ${amount} USDC)`, async (_m, w) => {
      const t = w.traders[i];
      const o = await w.attempt(() => w.f.vault.connect(t).depositMargin(t.address, usdc(amount)));
      run(w, "depositMargin", "depositMargin (never paused, needs no price)", o, SUCCESS);
      return { outcomes: [o], noPrice: new Set([i]) };
    }),
);

const withdrawMargin = fc.record({ i: trader, share: bps }).map(
  ({ i, share }) =>
    new Step(`withdrawMargin(trader${i}, ${share / 100}% of margin)`, async (m, w, pre) => {
      const t = w.traders[i];
      const amount = (pre.traders[i].margin * BigInt(share)) / 10_000n;
      if (amount === 0n) return { outcomes: [] };
      const e = predictWithdrawMargin(m, pre, i);
      const o = await w.attempt(() => w.f.engine.connect(t).withdrawMargin(amount, t.address));
      if (run(w, "withdrawMargin", "withdrawMargin", o, e)) await w.noteOwnerAction(i, o.receipts);
      return { outcomes: [o] };
    }),
);

const depositReserve = fc.record({ i: trader, amount: fc.integer({ min: 1, max: 30_000 }) }).map(
  ({ i, amount }) =>
    new Step(`depositReserve(trader${i}, ${amount} USDC)`, async (_m, w) => {
      const t = w.traders[i];
      const o = await w.attempt(() => w.f.vault.connect(t).depositReserve(t.address, usdc(amount)));
      run(w, "depositReserve", "depositReserve (never paused, needs no price)", o, SUCCESS);
      return { outcomes: [o], noPrice: new Set([i]) };
    }),
);

const withdrawReserve = fc.record({ i: trader, share: bps }).map(
  ({ i, share }) =>
    new Step(`withdrawReserve(trader${i}, ${share / 100}% of reserve)`, async (_m, w, pre) => {
      const t = w.traders[i];
      const amount = (pre.traders[i].reserve * BigInt(share)) / 10_000n;
      if (amount === 0n) return { outcomes: [] };
      const o = await w.attempt(() => w.f.vault.connect(t).withdrawReserve(amount, t.address));
      run(w, "withdrawReserve", "withdrawReserve (never paused, needs no price)", o, SUCCESS);
      return { outcomes: [o], noPrice: new Set([i]) };
    }),
);

// ---------------------------------------------------------------------------------------- positions

/**
 * Trades through an order: submits `delta` (0: close all) on market `k`, publishes a round at the same
 * answer when the market's price is `Ok` (a round after the order, which leaves every status as it was),
 * and executes with the keeper. With a price that is not `Ok` no round is published, so the execution
 * meets the status the model predicts.
 */
async function orderTrade(w: World, pre: Snapshot, t: Signer, k: number, delta: bigint) {
  const name = MARKETS[k].name;
  const orderId = await submitOrder(w, pre, t, k, delta);
  if (pre.prices[name].status === Status.Ok) {
    await (await w.feed(name).updateAnswer(pre.prices[name].answer)).wait();
  }
  return w.f.engine.connect(w.f.keeper).executeOrder(orderId);
}

/** Submits an order (any price, one hour to expiry) and records its submission time for the invariants. */
export async function submitOrder(w: World, pre: Snapshot, t: Signer, k: number, delta: bigint) {
  const submitted = await w.f.engine.connect(t).submitOrder(MARKETS[k].id, delta, 0n, pre.timestamp + 3_600n);
  const receipt = await submitted.wait();
  const orderId = await orderIdOf(w.f, submitted);
  const trader = w.traders.findIndex((x) => x === t);
  w.orders.set(orderId, { submittedAt: await w.blockTime(receipt!), k, trader });
  return orderId;
}

/** Opens, increases, reduces or flips by a notional of `leverage` × margin (at least 1,000 USDC worth). */
const tradeOrder = fc
  .record({ i: trader, k: market, leverageTenths: fc.integer({ min: 1, max: 250 }), long: fc.boolean() })
  .map(
    ({ i, k, leverageTenths, long }) =>
      new Step(
        `tradeOrder(trader${i}, ${MARKETS[k].name}, ${long ? "+" : "-"}${leverageTenths / 10}x margin)`,
        async (m, w, pre) => {
          const t = w.traders[i];
          const priceWad = pre.prices[MARKETS[k].name].priceWad;
          if (priceWad === 0n) return { outcomes: [] };
          const marginWad =
            (pre.traders[i].margin > usdc(1_000) ? pre.traders[i].margin : usdc(1_000)) * 10n ** 12n;
          const size = (marginWad * BigInt(leverageTenths) * WAD) / 10n / priceWad;
          const delta = long ? size : -size;
          if (delta === 0n) return { outcomes: [] };
          const e = predictModify(m, pre, i, k, delta);
          const o = await w.attempt(() => orderTrade(w, pre, t, k, delta));
          run(w, "tradeOrder", "tradeOrder", o, e);
          return { outcomes: [o] };
        },
      ),
  );

/**
 * Reduces a position by a share of it, or closes it (a close-all order). Picks a market the trader holds
 * when it holds any, unless `anyMarket` (then an empty market gives `MarginEngineNoPosition`).
 */
const reducePosition = fc
  .record({ i: trader, k: market, share: bps, close: fc.boolean(), anyMarket: fc.boolean() })
  .map(
    ({ i, k: chosen, share, close, anyMarket }) =>
      new Step(
        `${close ? "closeOrder" : "reducePosition"}(trader${i}, ${anyMarket ? MARKETS[chosen].name : "a held market"}` +
          `${close ? "" : `, ${share / 100}%`})`,
        async (m, w, pre) => {
          const t = w.traders[i];
          const held = heldMarkets(pre, i);
          const k = anyMarket || held.length === 0 ? chosen : held[chosen % held.length];
          const size = pre.traders[i].sizes[k];
          const id = MARKETS[k].id;
          let o: Outcome;
          if (close || size === 0n) {
            const e =
              size === 0n
                ? reverts("MarginEngineNoPosition", t.address, id)
                : predictModify(m, pre, i, k, -size);
            o = await w.attempt(() => orderTrade(w, pre, t, k, 0n));
            run(w, "closeOrder", "closeOrder", o, e);
          } else {
            const delta = -((size * BigInt(share)) / 10_000n);
            if (delta === 0n) return { outcomes: [] };
            const e = predictModify(m, pre, i, k, delta);
            o = await w.attempt(() => orderTrade(w, pre, t, k, delta));
            run(w, "reducePosition", "reducePosition", o, e);
          }
          return { outcomes: [o] };
        },
      ),
  );

// ------------------------------------------------------------------------------------------- policy

const setPolicy = fc
  .record({
    i: trader,
    volatility: fc.boolean(),
    triggerHundredths: fc.integer({ min: 101, max: 300 }),
    gapHundredths: fc.integer({ min: 5, max: 100 }), // target ≤ MAX_POLICY_TARGET (4)
    sweepGapHundredths: fc.option(fc.integer({ min: 5, max: 300 }), { nil: undefined }),
    means: fc.constantFrom("both", "topUp", "deleverage"),
    maxRewardCents: fc.integer({ min: 0, max: 500 }),
  })
  .map(
    (p) =>
      new Step(
        `setPolicy(trader${p.i}, ${p.volatility ? "volatility" : "threshold"}, trigger ${p.triggerHundredths / 100}, ` +
          `target +${p.gapHundredths / 100}, sweep ${p.sweepGapHundredths === undefined ? "never" : `+${p.sweepGapHundredths / 100}`}, ` +
          `${p.means}, max reward ${p.maxRewardCents / 100})`,
        async (m, w) => {
          const t = w.traders[p.i];
          const target = Math.min(p.triggerHundredths + p.gapHundredths, 400); // MAX_POLICY_TARGET
          const sweep =
            p.sweepGapHundredths === undefined ? 0 : Math.min(target + p.sweepGapHundredths, 1_000);
          const policy = {
            triggerHealthWad: BigInt(p.triggerHundredths) * 10n ** 16n,
            targetHealthWad: BigInt(target) * 10n ** 16n,
            sweepHealthWad: BigInt(sweep) * 10n ** 16n,
            allowTopUp: p.means !== "deleverage",
            allowDeleverage: p.means !== "topUp",
            maxKeeperRewardTokens: BigInt(p.maxRewardCents) * 10n ** 4n,
            strategy: await (p.volatility ? w.f.volatilityStrategy : w.f.thresholdStrategy).getAddress(),
          };
          const o = await w.attempt(() => w.f.engine.connect(t).setPolicy(policy));
          if (run(w, "setPolicy", "setPolicy (valid parameters)", o, SUCCESS)) {
            await w.noteOwnerAction(p.i, o.receipts);
            m.policies.set(p.i, {
              targetHealthWad: policy.targetHealthWad,
              sweepHealthWad: policy.sweepHealthWad,
              maxKeeperRewardTokens: policy.maxKeeperRewardTokens,
            });
          }
          return { outcomes: [o] };
        },
      ),
  );

const clearPolicy = trader.map(
  (i) =>
    new Step(`clearPolicy(trader${i})`, async (m, w) => {
      const t = w.traders[i];
      const e = m.policies.has(i) ? SUCCESS : reverts("MarginEngineNoPolicy", t.address);
      const o = await w.attempt(() => w.f.engine.connect(t).clearPolicy());
      if (run(w, "clearPolicy", "clearPolicy", o, e)) m.policies.delete(i);
      return { outcomes: [o] };
    }),
);

// ------------------------------------------------------------------------------------------- prices

/** `IChainlinkOracleAdapter` status of the sequencer at `s` (Ok when up for longer than the grace period). */
function sequencerStatus(s: Snapshot): number {
  if (s.sequencerAnswer !== 0n) return Status.SequencerDown;
  if (s.timestamp - s.sequencerStartedAt < BigInt(SEQUENCER_GRACE)) return Status.GracePeriod;
  return Status.Ok;
}

/** Whether a feed answer (8 decimals) is positive and inside the adapter's bounds. */
async function inBounds(w: World, name: MarketName, answer: bigint) {
  const cfg = await w.f.oracle.feedConfig(MARKETS.find((x) => x.name === name)!.asset);
  return answer > 0n && answer * FEED_TO_WAD >= cfg.minPriceWad && answer * FEED_TO_WAD <= cfg.maxPriceWad;
}

export type RoundKind = "normal" | "jump" | "invalid";
export type InvalidKind = "zero" | "negative" | "below" | "above";

/**
 * Publishes a round on market `k`'s feed and returns the status the adapter must give it (before the
 * sequencer's precedence): `Invalid` for an answer ≤ 0 or out of bounds, `Deviation` for a move beyond the
 * bound from the adapter's reference (the previous round when usable, else the last good price), else `Ok`.
 */
export async function pushRound(
  w: World,
  pre: Snapshot,
  k: number,
  kind: RoundKind,
  moveBps: number,
  invalid: InvalidKind,
) {
  const { f } = w;
  const { name, asset } = MARKETS[k];
  const cfg = await f.oracle.feedConfig(asset);
  const latest = pre.prices[name].answer;
  const latestValid = await inBounds(w, name, latest);
  const reference = latestValid ? latest : (await f.oracle.lastGoodPrice(asset))[0] / FEED_TO_WAD;
  // Without any reference (no usable previous round, no last good price) nothing deviates.
  const base = reference > 0n ? reference : pre.prices[name].priceWad / FEED_TO_WAD;
  let next: bigint;
  let expected: number;
  if (kind === "invalid") {
    next =
      invalid === "zero"
        ? 0n
        : invalid === "negative"
          ? -1n
          : invalid === "below"
            ? cfg.minPriceWad / FEED_TO_WAD / 2n
            : (cfg.maxPriceWad / FEED_TO_WAD) * 2n;
    expected = Status.Invalid;
  } else {
    next = (base * BigInt(10_000 + moveBps)) / 10_000n;
    const lo = ((cfg.minPriceWad / FEED_TO_WAD) * 105n) / 100n;
    const hi = ((cfg.maxPriceWad / FEED_TO_WAD) * 100n) / 105n;
    next = next < lo ? lo : next > hi ? hi : next;
    const diff = next > reference ? next - reference : reference - next;
    expected = reference > 0n && diff * WAD > cfg.maxDeviationWad * reference ? Status.Deviation : Status.Ok;
  }
  const o = await w.attempt(() => w.feed(name).updateAnswer(next));
  run(w, "feed round", "MockV3Aggregator.updateAnswer", o, SUCCESS);
  return { o, expected };
}

/**
 * Chainlink rounds with real round ids and timestamps: a normal move (mostly within ±3%, up to ±15%, with a small round on the
 * other feed too when `both`, as feeds publish at least every heartbeat), a jump beyond the adapter's
 * deviation bound (25–45%), an invalid answer (0, negative, below or above the bounds), or no round for
 * longer than the heartbeat (stale). `update` pokes the adapter afterwards (records the last good price).
 * The status the adapter then reports is checked against the model of the adapter.
 */
const priceMove = fc
  .record({
    k: market,
    kind: fc.constantFrom(
      "normal",
      "normal",
      "normal",
      "normal",
      "normal",
      "normal",
      "jump",
      "invalid",
      "stale",
    ),
    moveBps: fc.oneof(
      { weight: 3, arbitrary: fc.integer({ min: -300, max: 300 }) },
      { weight: 1, arbitrary: fc.integer({ min: -1_500, max: 1_500 }) },
    ),
    both: fc.boolean(),
    otherBps: fc.integer({ min: -300, max: 300 }),
    jumpBps: fc.integer({ min: 2_500, max: 4_500 }),
    jumpUp: fc.boolean(),
    invalid: fc.constantFrom<InvalidKind>("zero", "negative", "below", "above"),
    dt: fc.integer({ min: 1, max: 600 }),
    staleExtra: fc.integer({ min: 120, max: 7_200 }),
    poke: fc.boolean(),
  })
  .map((p) => {
    const name = MARKETS[p.k].name;
    const other = 1 - p.k;
    const both = p.kind === "normal" && p.both;
    const what =
      p.kind === "normal"
        ? `${p.moveBps / 100}%${both ? ` and ${MARKETS[other].name} ${p.otherBps / 100}%` : ""}`
        : p.kind === "jump"
          ? `${p.jumpUp ? "+" : "-"}${p.jumpBps / 100}%`
          : p.kind === "invalid"
            ? p.invalid
            : `+${p.staleExtra}s past heartbeat`;
    return new Step(
      `price(${name}, ${p.kind} ${what}${p.kind === "stale" ? "" : `, after ${p.dt}s`}${p.poke ? ", update" : ""})`,
      async (_m, w, pre) => {
        const outcomes: Outcome[] = [];
        const expected = new Map<number, number>();
        if (p.kind === "stale") {
          await time.increase(Number(w.heartbeat[name]) + p.staleExtra);
          expected.set(
            p.k,
            (await inBounds(w, name, pre.prices[name].answer)) ? Status.Stale : Status.Invalid,
          );
        } else {
          await time.increase(p.dt);
          const moveBps = p.kind === "jump" ? (p.jumpUp ? p.jumpBps : -p.jumpBps) : p.moveBps;
          const round = await pushRound(w, pre, p.k, p.kind as RoundKind, moveBps, p.invalid);
          outcomes.push(round.o);
          expected.set(p.k, round.expected);
          if (both) {
            const second = await pushRound(w, pre, other, "normal", p.otherBps, p.invalid);
            outcomes.push(second.o);
            expected.set(other, second.expected);
          }
        }
        if (p.poke) {
          for (const k of expected.keys()) {
            const o = await w.attempt(() => w.f.oracle.update(MARKETS[k].asset));
            run(w, "oracle.update", "oracle.update never reverts", o, SUCCESS);
            outcomes.push(o);
          }
        }
        const now = BigInt(await time.latest());
        const seq = sequencerStatus({ ...pre, timestamp: now });
        for (const [k, status] of expected) {
          const after = Number((await w.f.oracle.price(MARKETS[k].asset))[1]);
          // Skipped when the sequencer's grace period ends within a minute (the call's timestamp may differ).
          if (seq === sequencerStatus({ ...pre, timestamp: now + 60n })) {
            expect(after, `${MARKETS[k].name} status after a ${p.kind} round`).to.equal(
              seq !== Status.Ok ? seq : status,
            );
          }
          w.stats.add(`price status: ${Object.keys(Status)[after]}`);
        }
        return { outcomes };
      },
    );
  });

const wait = fc.integer({ min: 1, max: 1_800 }).map(
  (dt) =>
    new Step(`wait(${dt}s)`, async () => {
      await time.increase(dt);
      return { outcomes: [] };
    }),
);

const sequencerDown = fc.constant(
  new Step(
    "sequencerDown()",
    async (m, w) => {
      const o = await w.attempt(() => w.sequencer.updateAnswer(1));
      run(w, "sequencer", "sequencer feed round", o, SUCCESS);
      m.sequencerUp = false;
      for (const { asset } of MARKETS)
        expect(Number((await w.f.oracle.price(asset))[1])).to.equal(Status.SequencerDown);
      return { outcomes: [o] };
    },
    (m) => m.sequencerUp,
  ),
);

const sequencerUp = fc.constant(
  new Step(
    "sequencerUp()",
    async (m, w) => {
      const o = await w.attempt(() => w.sequencer.updateAnswer(0));
      run(w, "sequencer", "sequencer feed round", o, SUCCESS);
      m.sequencerUp = true;
      for (const { asset } of MARKETS)
        expect(Number((await w.f.oracle.price(asset))[1])).to.equal(Status.GracePeriod);
      return { outcomes: [o] };
    },
    (m) => !m.sequencerUp,
  ),
);

const acceptPrice = market.map(
  (k) =>
    new Step(`acceptPrice(${MARKETS[k].name})`, async (_m, w, pre) => {
      const { asset, name } = MARKETS[k];
      const p = pre.prices[name];
      if (!p.certain) return { outcomes: [] };
      const e =
        p.status === Status.Deviation
          ? SUCCESS
          : reverts("ChainlinkOracleAdapterNothingToAccept", asset, p.status);
      const o = await w.attempt(() => w.f.oracle.connect(w.guardian).acceptPrice(asset));
      if (run(w, "acceptPrice", "acceptPrice", o, e)) {
        expect(Number((await w.f.oracle.price(asset))[1]), "an accepted price is Ok").to.equal(Status.Ok);
      }
      return { outcomes: [o] };
    }),
);

// -------------------------------------------------------------------------------- keeper and liquidation

/** Index `pick` into the traders that satisfy `want`, or `fallback` when none does. */
function choose(pick: number | undefined, fallback: number, want: (i: number) => boolean) {
  const candidates = [...Array(TRADERS).keys()].filter(want);
  return pick === undefined || candidates.length === 0 ? fallback : candidates[pick % candidates.length];
}

/** A keeper rebalances a trader: one with a policy (picked by `pick`) unless `pick` is absent. */
const rebalance = fc.record({ i: trader, pick: fc.option(fc.nat(), { nil: undefined }) }).map(
  ({ i: fallback, pick }) =>
    new Step(
      `rebalance(${pick === undefined ? `trader${fallback}` : `trader with policy #${pick % TRADERS}`})`,
      async (m, w, pre) => {
        const i = choose(pick, fallback, (j) => m.policies.has(j));
        const account = w.traders[i].address;
        const e = predictRebalance(m, pre, i, account);
        const o = await w.attempt(() => w.f.engine.connect(w.keeper).rebalance(account));
        run(w, "rebalance", "rebalance", o, e);
        return { outcomes: [o] };
      },
    ),
);

/**
 * Liquidates a trader: one with health < 1 (picked by `pick`) unless `pick` is absent or none is, by the
 * keeper or another trader.
 */
const liquidate = fc
  .record({
    i: trader,
    by: fc.integer({ min: 0, max: TRADERS }),
    pick: fc.option(fc.nat(), { nil: undefined }),
  })
  .map(
    ({ i: fallback, by, pick }) =>
      new Step(
        `liquidate(${pick === undefined ? `trader${fallback}` : `trader with health < 1 #${pick % TRADERS}, else trader${fallback}`}) ` +
          `by ${by === TRADERS ? "keeper" : `trader${by}, or the keeper if that is the account`}`,
        async (m, w, pre) => {
          const i = choose(pick, fallback, (j) => pre.traders[j].health < WAD);
          const account = w.traders[i].address;
          const liquidator = by === i || by === TRADERS ? w.keeper : w.traders[by];
          const e = predictLiquidate(m, pre, i, account);
          const o = await w.attempt(() => w.f.engine.connect(liquidator).liquidate(account));
          run(w, "liquidate", "liquidate", o, e);
          return { outcomes: [o] };
        },
      ),
  );

const decodePerform = (data: string) =>
  coder.decode(["address[]", "address[]", "address[]"], data).map((a: string[]) => [...a]) as string[][];

/**
 * `checkUpkeep` lists exactly the traders a keeper should act on now: to liquidate, those with health < 1
 * whose prices are all Ok and whose liquidation is not paused; never one holding a market without an Ok price.
 */
async function scan(m: Model, w: World, pre: Snapshot) {
  const [, data] = await w.f.keeperContract.checkUpkeep(coder.encode(["uint256", "uint256"], [0, 10]));
  const [toRebalance, toLiquidate] = decodePerform(data);
  w.traders.forEach((t, i) => {
    const e = predictLiquidate(m, pre, i, t.address);
    if (e.kind === "uncertain") return;
    const listed = toLiquidate.includes(t.address);
    expect(listed, `checkUpkeep lists trader${i} for liquidation iff it can be liquidated`).to.equal(
      e.kind === "success",
    );
    const r = predictRebalance(m, pre, i, t.address);
    if (r.kind === "revert" && toRebalance.includes(t.address)) {
      expect.fail(`checkUpkeep lists trader${i} for a rebalance that must revert ${r.name}`);
    }
  });
  return data;
}

const keeperScan = fc.constant(
  new Step("keeper.checkUpkeep()", async (m, w, pre) => {
    w.cachedPerformData = await scan(m, w, pre);
    m.cachedUpkeep = true;
    return { outcomes: [] };
  }),
);

/**
 * `performUpkeep` with fresh `checkUpkeep` data (every listed account must be acted on) or with data
 * cached by an earlier scan (accounts that no longer qualify are skipped with the engine's error).
 */
const keeperPerform = fc.boolean().map(
  (fresh) =>
    new Step(
      `keeper.performUpkeep(${fresh ? "fresh" : "cached"} checkUpkeep data)`,
      async (m, w, pre) => {
        const data = fresh ? await scan(m, w, pre) : w.cachedPerformData;
        const [toRebalance, toLiquidate] = decodePerform(data);
        const o = await w.attempt(() => w.f.keeperContract.connect(w.keeper).performUpkeep(data));
        run(w, "performUpkeep", "performUpkeep never reverts", o, SUCCESS);
        const events = w.events(o.receipts);
        const skipped = new Map(
          events
            .filter((x) => x.name === "AccountSkipped")
            .map((x) => [x.args.account as string, x.args.errorSelector as string]),
        );
        const index = (a: string) => w.traders.findIndex((t) => t.address === a);
        for (const [list, predict, label] of [
          [toRebalance, predictRebalance, "rebalance"],
          [toLiquidate, predictLiquidate, "liquidation"],
        ] as const) {
          for (const account of list) {
            const i = index(account);
            const e = predict(m, pre, i, account);
            if (e.kind === "revert") {
              w.stats.add(`performUpkeep skipped: ${e.name}`);
              expect(
                skipped.get(account),
                `performUpkeep skips trader${i}'s ${label} with ${e.name}`,
              ).to.equal(selectorOf(e.name));
            } else if (fresh && e.kind !== "uncertain") {
              expect(skipped.has(account), `performUpkeep acts on trader${i}'s fresh ${label}`).to.equal(
                false,
              );
            }
          }
        }
        w.stats.add("performUpkeep rebalanced", events.filter((x) => x.name === "Rebalanced").length);
        w.stats.add("performUpkeep liquidated", events.filter((x) => x.name === "Liquidated").length);
        if (!isPaused(m, 0n, Action.Withdraw)) {
          expect(
            await w.f.vault.marginOf(w.holders.keeperContract),
            "keeper contract forwards rewards",
          ).to.equal(0n);
        }
        return { outcomes: [o] };
      },
      (m) => fresh || m.cachedUpkeep,
    ),
);

// ---------------------------------------------------------------------------------------------- LPs

const lpDeposit = fc.integer({ min: 1_000, max: 200_000 }).map(
  (amount) =>
    new Step(`pool.deposit(${amount} USDC)`, async (m, w, pre) => {
      const e = isPaused(m, 0n, Action.Deposit)
        ? reverts("LiquidityPoolPaused")
        : (poolPriceBlock(pre) ??
          (pre.poolShares !== 0n && pre.poolAssets === 0n ? reverts("LiquidityPoolInsolvent") : SUCCESS));
      const o = await w.attempt(() => w.f.pool.connect(w.lp).deposit(usdc(amount), w.lp.address));
      run(w, "pool.deposit", "pool.deposit", o, e);
      return { outcomes: [o] };
    }),
);

/** Redeems shares or withdraws assets: a share of what the LP may take now (of its shares when paused). */
const lpExit = fc.record({ redeem: fc.boolean(), share: bps }).map(
  ({ redeem, share }) =>
    new Step(`pool.${redeem ? "redeem" : "withdraw"}(${share / 100}% of the maximum)`, async (m, w, pre) => {
      const { pool } = w.f;
      const lp = w.lp.address;
      const paused = isPaused(m, 0n, Action.Withdraw);
      const blocked = paused ? null : poolPriceBlock(pre);
      // While paused or without Ok prices the max* views answer 0: try a share of the LP's holding.
      const max =
        paused || blocked !== null
          ? redeem
            ? pre.lpShares
            : await pool.convertToAssets(pre.lpShares)
          : redeem
            ? await pool.maxRedeem(lp)
            : await pool.maxWithdraw(lp);
      const amount = (max * BigInt(share)) / 10_000n;
      if (amount === 0n) return { outcomes: [] };
      const e = paused ? reverts("LiquidityPoolPaused") : (blocked ?? SUCCESS);
      const o = await w.attempt(() =>
        redeem ? pool.connect(w.lp).redeem(amount, lp, lp) : pool.connect(w.lp).withdraw(amount, lp, lp),
      );
      run(w, redeem ? "pool.redeem" : "pool.withdraw", "LP exit", o, e);
      return { outcomes: [o] };
    }),
);

// -------------------------------------------------------------------------------------------- pause

type PauseTarget = { scope: "global" } | { scope: "market"; k: number } | { scope: "action"; action: number };
const pauseTarget: fc.Arbitrary<PauseTarget> = fc.oneof(
  fc.constant({ scope: "global" as const }),
  market.map((k) => ({ scope: "market" as const, k })),
  fc.integer({ min: 0, max: 5 }).map((action) => ({ scope: "action" as const, action })),
);
const describeTarget = (t: PauseTarget) =>
  t.scope === "global"
    ? "all"
    : t.scope === "market"
      ? `market ${MARKETS[t.k].name}`
      : `action ${Object.keys(Action)[t.action]}`;

function pausedNow(m: Model, t: PauseTarget) {
  if (t.scope === "global") return m.globalPaused;
  if (t.scope === "market") return m.pausedMarkets.has(MARKETS[t.k].id);
  return m.pausedActions.has(t.action);
}

function setPaused(m: Model, t: PauseTarget, on: boolean) {
  if (t.scope === "global") m.globalPaused = on;
  else if (t.scope === "market") {
    if (on) m.pausedMarkets.add(MARKETS[t.k].id);
    else m.pausedMarkets.delete(MARKETS[t.k].id);
  } else if (on) m.pausedActions.add(t.action);
  else m.pausedActions.delete(t.action);
}

async function setPause(m: Model, w: World, target: PauseTarget, on: boolean): Promise<Outcome> {
  const g = w.f.guardian.connect(on ? w.guardian : w.admin);
  const e = pausedNow(m, target) === on ? reverts("PauseGuardianNoChange") : SUCCESS;
  const o = await w.attempt(() => {
    if (target.scope === "global") return on ? g.pauseAll() : g.unpauseAll();
    if (target.scope === "market")
      return on ? g.pauseMarket(MARKETS[target.k].id) : g.unpauseMarket(MARKETS[target.k].id);
    return on ? g.pauseAction(target.action) : g.unpauseAction(target.action);
  });
  if (run(w, on ? "pause" : "unpause", on ? "pause (guardian)" : "unpause (admin)", o, e))
    setPaused(m, target, on);
  const flags = await Promise.all(
    MARKETS.flatMap(({ id }) => Object.values(Action).map((action) => w.f.guardian.isPaused(id, action))),
  );
  const modelled = MARKETS.flatMap(({ id }) =>
    Object.values(Action).map((action) => isPaused(m, id, action)),
  );
  expect(flags, "model and guardian agree on every pause flag").to.deep.equal(modelled);
  return o;
}

/** The guardian pauses everything, a market or an action (already paused: `PauseGuardianNoChange`). */
const pause = pauseTarget.map(
  (target) =>
    new Step(`pause(${describeTarget(target)})`, async (m, w) => ({
      outcomes: [await setPause(m, w, target, true)],
    })),
);

/**
 * The admin lifts a pause: one that is on (picked by `pick`) unless `any`, or when nothing is paused,
 * `target` (then `PauseGuardianNoChange`).
 */
const unpause = fc
  .record({ target: pauseTarget, pick: fc.nat(), any: fc.constantFrom(false, false, false, true) })
  .map(
    ({ target, pick, any }) =>
      new Step(
        `unpause(${any ? describeTarget(target) : `paused #${pick % 8}, else ${describeTarget(target)}`})`,
        async (m, w) => {
          const on: PauseTarget[] = [
            ...(m.globalPaused ? [{ scope: "global" as const }] : []),
            ...MARKETS.map((_, k) => ({ scope: "market" as const, k })).filter((t) => pausedNow(m, t)),
            ...[...m.pausedActions].map((action) => ({ scope: "action" as const, action })),
          ];
          const chosen = any || on.length === 0 ? target : on[(pick % 8) % on.length];
          return { outcomes: [await setPause(m, w, chosen, false)] };
        },
      ),
  );

/**
 * Every command with a weight (listed more than once): trading, prices and keepers dominate; pauses,
 * sequencer outages and LP flows are rarer so that sequences of 10–30 commands still trade.
 */
export const allCommands = [
  depositMargin,
  withdrawMargin,
  depositReserve,
  withdrawReserve,
  tradeOrder,
  tradeOrder,
  tradeOrder,
  reducePosition,
  reducePosition,
  setPolicy,
  setPolicy,
  clearPolicy,
  priceMove,
  priceMove,
  priceMove,
  priceMove,
  priceMove,
  wait,
  sequencerDown,
  ...Array(6).fill(sequencerUp),
  acceptPrice,
  rebalance,
  rebalance,
  liquidate,
  liquidate,
  liquidate,
  keeperScan,
  keeperPerform,
  keeperPerform,
  keeperPerform,
  lpDeposit,
  lpExit,
  pause,
  unpause,
  unpause,
  unpause,
];
