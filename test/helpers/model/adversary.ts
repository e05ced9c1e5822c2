import { expect } from "chai";
import fc from "fast-check";
import { usdc } from "../fixtures";
import { Step, StepChain, market, pushRound, run, submitOrder } from "./commands";
import { equityAtMarks } from "./actors";
import { SUCCESS, predictLiquidate, predictModify, predictRebalance, reverts } from "./expect";
import {
  ADVERSARY,
  ETH_DELEVERAGE_CAP,
  MARKETS,
  Model,
  Outcome,
  Snapshot,
  Status,
  WAD,
  World,
} from "./world";

/**
 * The adversary: one owner with two accounts (traders 4 and 5), who knows every round before it lands
 * and uses only public entry points. Its moves are the ones the outside review found paying, tried
 * again in any order among the honest traders' and keepers' commands:
 *
 * - trade around a round whose value it knows (open in its direction, or close a position it hurts,
 *   before it lands; try to execute at the round it saw; execute late to pick a round);
 * - set the most extreme policy allowed (trigger 3, target 4, sweep 10, deleverage only) and rebalance
 *   itself at once, or after a round, drawing on ETH's deleverage cap;
 * - liquidate itself, or one of its accounts with the other;
 * - let one leg sink under water on rounds within the bound, then liquidate it;
 * - open a hedged pair (long in one account, short in the other) to farm bad debt.
 *
 * What it may take out is bounded by the actor invariant of `actors.ts`; these commands only add the
 * expectations that are certain (the order timing errors, no reward for liquidating oneself).
 */

const account = fc.constantFrom(...ADVERSARY);
const partnerOf = (a: number) => (a === ADVERSARY[0] ? ADVERSARY[1] : ADVERSARY[0]);

/** Whether market `k` certainly has an `Ok` price before the command. */
function live(pre: Snapshot, k: number) {
  const p = pre.prices[MARKETS[k].name];
  return p.certain && p.status === Status.Ok;
}

/** A size worth `leverageTenths / 10` times the account's margin (at least 1,000 USDC) at market `k`'s price. */
function sizeFor(pre: Snapshot, i: number, k: number, leverageTenths: number) {
  const margin = pre.traders[i].margin > usdc(1_000) ? pre.traders[i].margin : usdc(1_000);
  return (margin * 10n ** 12n * BigInt(leverageTenths) * WAD) / 10n / pre.prices[MARKETS[k].name].priceWad;
}

/**
 * Trades around a round whose value the adversary knows: submits an order that profits from the move
 * (`open`), or closes a position the move hurts (`close`), then the round lands and the order is executed.
 * With `early`, its other account first tries to execute at the round the order was submitted under
 * (`MarginEngineOrderAwaitingRound`). With `late`, a second round lands before execution, as if the
 * adversary waited to pick the better of two (`MarginEngineOrderRoundPassed`).
 */
const frontRun = fc
  .record({
    a: account,
    k: market,
    moveBps: fc.integer({ min: -200, max: 200 }).filter((x) => x !== 0),
    intent: fc.constantFrom("open", "close"),
    leverageTenths: fc.integer({ min: 10, max: 120 }),
    early: fc.boolean(),
    late: fc.constantFrom(false, false, true),
    byPartner: fc.boolean(),
  })
  .map(
    (p) =>
      new Step(
        `adversary.frontRun(trader${p.a}, ${MARKETS[p.k].name} round ${p.moveBps > 0 ? "+" : ""}${p.moveBps / 100}% known, ` +
          `${p.intent}${p.early ? ", try early" : ""}${p.late ? ", execute late" : ""})`,
        async (m, w, pre) => {
          const { name } = MARKETS[p.k];
          if (!live(pre, p.k)) return { outcomes: [] };
          const owner = w.traders[p.a];
          const executor = p.byPartner ? w.traders[partnerOf(p.a)] : owner;
          const held = pre.traders[p.a].sizes[p.k];
          const up = p.moveBps > 0;
          const hurts = held !== 0n && held > 0n !== up;
          const size = sizeFor(pre, p.a, p.k, p.leverageTenths);
          const delta = p.intent === "close" && hurts ? -held : up ? size : -size;
          if (delta === 0n) return { outcomes: [] };
          const orderId = await submitOrder(w, pre, owner, p.k, delta);
          const submittedAt = w.orders.get(orderId)!.submittedAt;
          const outcomes: Outcome[] = [];
          if (p.early) {
            const o = await w.attempt(() => w.f.engine.connect(executor).executeOrder(orderId));
            run(
              w,
              "adversary.executeEarly",
              "an order cannot fill at the round its owner saw",
              o,
              reverts("MarginEngineOrderAwaitingRound", orderId, submittedAt, pre.prices[name].updatedAt),
            );
            outcomes.push(o);
          }
          const round = await pushRound(w, pre, p.k, "normal", p.moveBps, "zero");
          outcomes.push(round.o);
          expect(round.expected, "a known round within the bound is Ok").to.equal(Status.Ok);
          let e = predictModify(m, pre, p.a, p.k, delta);
          if (p.late) {
            const fillRound = await w.blockTime(round.o.receipts[0]);
            const next = await w.attempt(async () =>
              w.feed(name).updateAnswer(await w.feed(name).latestAnswer()),
            );
            outcomes.push(next);
            e = reverts("MarginEngineOrderRoundPassed", orderId, submittedAt, fillRound);
          }
          const o = await w.attempt(() => w.f.engine.connect(executor).executeOrder(orderId));
          run(w, p.late ? "adversary.executeLate" : "adversary.frontRun", "adversary's order", o, e);
          outcomes.push(o);
          return { outcomes };
        },
      ),
  );

/** Opens a hedged pair: the same size long in one account and short in the other, through two orders. */
const hedgedPair = fc
  .record({ k: market, leverageTenths: fc.integer({ min: 30, max: 120 }), longFirst: account })
  .map(
    (p) =>
      new Step(
        `adversary.hedgedPair(${MARKETS[p.k].name}, ${p.leverageTenths / 10}x, long in trader${p.longFirst})`,
        async (m, w, pre) => {
          if (!live(pre, p.k)) return { outcomes: [] };
          const long = p.longFirst;
          const short = partnerOf(long);
          const size = sizeFor(pre, long, p.k, p.leverageTenths);
          const ids = [
            await submitOrder(w, pre, w.traders[long], p.k, size),
            await submitOrder(w, pre, w.traders[short], p.k, -size),
          ];
          const { name } = MARKETS[p.k];
          const outcomes: Outcome[] = [
            await w.attempt(() => w.feed(name).updateAnswer(pre.prices[name].answer)),
          ];
          for (const [j, i] of [long, short].entries()) {
            const e = predictModify(m, pre, i, p.k, j === 0 ? size : -size);
            const o = await w.attempt(() => w.f.engine.connect(w.traders[i]).executeOrder(ids[j]));
            run(w, "adversary.hedgedPair", "adversary's pair order", o, e);
            outcomes.push(o);
          }
          return { outcomes };
        },
      ),
  );

/**
 * Sets the most extreme policy the bounds allow (trigger 3, target 4, sweep 10 or none; deleverage only or
 * both means) and rebalances at once: by itself or its other account (keeper reward to its own pocket).
 */
const extremePolicy = fc
  .record({
    a: account,
    deleverageOnly: fc.boolean(),
    sweep: fc.boolean(),
    byPartner: fc.boolean(),
  })
  .map(
    (p) =>
      new Step(
        `adversary.extremePolicy(trader${p.a}, 3 → 4${p.sweep ? ", sweep 10" : ""}, ` +
          `${p.deleverageOnly ? "deleverage only" : "both"}, rebalance by ${p.byPartner ? "partner" : "self"})`,
        async (m, w, pre) => {
          const owner = w.traders[p.a];
          const keeper = p.byPartner ? w.traders[partnerOf(p.a)] : owner;
          const policy = {
            triggerHealthWad: 3n * WAD,
            targetHealthWad: 4n * WAD,
            sweepHealthWad: p.sweep ? 10n * WAD : 0n,
            allowTopUp: !p.deleverageOnly,
            allowDeleverage: true,
            maxKeeperRewardTokens: usdc(5),
            strategy: await w.f.thresholdStrategy.getAddress(),
          };
          const set = await w.attempt(() => w.f.engine.connect(owner).setPolicy(policy));
          run(w, "adversary.setPolicy", "the extreme policy is within the bounds", set, SUCCESS);
          await w.noteOwnerAction(p.a, set.receipts);
          m.policies.set(p.a, {
            targetHealthWad: policy.targetHealthWad,
            sweepHealthWad: policy.sweepHealthWad,
            maxKeeperRewardTokens: policy.maxKeeperRewardTokens,
          });
          const e = predictRebalance(m, pre, p.a, owner.address);
          const o = await w.attempt(() => w.f.engine.connect(keeper).rebalance(owner.address));
          run(w, "adversary.rebalanceAtOnce", "adversary's self-rebalance", o, e);
          return { outcomes: [set, o] };
        },
      ),
  );

/**
 * A round lands (at the same answer) on each market the account holds, and the adversary rebalances the
 * account with its other account: now at a round after its policy change, drawing on ETH's deleverage cap.
 */
const roundThenRebalance = fc.record({ pick: account, byPartner: fc.boolean() }).map(
  (p) =>
    new Step(
      `adversary.roundThenRebalance(trader${p.pick}, or its other account if only that has a policy) by ` +
        `${p.byPartner ? "the other account" : "itself"}`,
      async (m, w, pre) => {
        const a = m.policies.has(p.pick) || !m.policies.has(partnerOf(p.pick)) ? p.pick : partnerOf(p.pick);
        const owner = w.traders[a];
        const keeper = p.byPartner ? w.traders[partnerOf(a)] : owner;
        const outcomes: Outcome[] = [];
        for (const k of MARKETS.map((_, j) => j)) {
          if (pre.traders[a].sizes[k] === 0n || !live(pre, k)) continue;
          const { name } = MARKETS[k];
          outcomes.push(await w.attempt(() => w.feed(name).updateAnswer(pre.prices[name].answer)));
        }
        const e = predictRebalance(m, pre, a, owner.address);
        const o = await w.attempt(() => w.f.engine.connect(keeper).rebalance(owner.address));
        run(w, "adversary.rebalanceAfterRound", "adversary's self-rebalance after a round", o, e);
        const room = await w.f.engine.deleverageRoom(MARKETS[0].id);
        if (room < ETH_DELEVERAGE_CAP) w.stats.add("state: ETH deleverage cap partly used");
        outcomes.push(o);
        return { outcomes };
      },
    ),
);

/**
 * Liquidates one of its accounts (the one with health < 1 when only one is) by itself (no reward) or by
 * its other account.
 */
function liquidateStep(pick: number, byPartner: boolean) {
  return new Step(
    `adversary.liquidate(trader${pick}, or the other if only that one has health < 1) by ` +
      `${byPartner ? "its other account" : "itself"}`,
    async (m: Model, w: World, pre: Snapshot) => {
      const other = partnerOf(pick);
      const a = pre.traders[pick].health >= WAD && pre.traders[other].health < WAD ? other : pick;
      const target = w.traders[a];
      const liquidator = byPartner ? w.traders[partnerOf(a)] : target;
      const e = predictLiquidate(m, pre, a, target.address);
      const o = await w.attempt(() => w.f.engine.connect(liquidator).liquidate(target.address));
      if (run(w, "adversary.liquidate", "adversary's liquidation", o, e)) {
        const liquidated = w.events(o.receipts).find((x) => x.name === "Liquidated")!;
        if (liquidated.args.badDebtTokens > 0n) w.stats.add("adversary.liquidate: with bad debt");
        if (!byPartner) {
          expect(liquidated.args.liquidatorRewardTokens, "no reward for liquidating oneself").to.equal(0n);
        }
      }
      return { outcomes: [o] };
    },
  );
}

const selfLiquidate = fc
  .record({ pick: account, byPartner: fc.boolean() })
  .map((p) => liquidateStep(p.pick, p.byPartner));

/** Largest number of rounds the adversary waits for a leg to sink. */
const SINK_ROUNDS = 10;
/** Each of those rounds moves 1.9% against the leg: within the 2% deviation bound, so graded `Ok`. */
const SINK_MOVE_BPS = 190;

/**
 * The bad-debt farm of the review's finding 2: the adversary waits while rounds within the deviation
 * bound move against one leg of its positions (no keeper acts meanwhile), until that account's equity is
 * negative or `SINK_ROUNDS` rounds have landed, then liquidates it by itself or its other account. The
 * liquidation may pay no reward out of the loss owed to LPs (`checkLossBeforeReward`), and the pair's
 * gain stays within its entitlement (the actor invariant).
 */
function sinkStep(pick: number, k: number) {
  const { name } = MARKETS[k];
  return new Step(
    `adversary.sink(trader${pick}'s ${name} leg, or its other account's: rounds of ${SINK_MOVE_BPS / 100}% ` +
      `against it until its equity is negative, at most ${SINK_ROUNDS})`,
    async (_m: Model, w: World, pre: Snapshot) => {
      const a = pre.traders[pick].sizes[k] !== 0n ? pick : partnerOf(pick);
      const held = pre.traders[a].sizes[k];
      if (held === 0n || !live(pre, k)) return { outcomes: [] };
      const outcomes: Outcome[] = [];
      let s = pre;
      for (let r = 0; r < SINK_ROUNDS && equityAtMarks(s, a) >= 0n && live(s, k); r++) {
        const round = await pushRound(w, s, k, "normal", held > 0n ? -SINK_MOVE_BPS : SINK_MOVE_BPS, "zero");
        outcomes.push(round.o);
        expect(round.expected, "a round within the bound is Ok").to.equal(Status.Ok);
        s = await w.snapshot();
      }
      if (equityAtMarks(s, a) < 0n) w.stats.add("adversary.sink: a leg under water");
      return { outcomes };
    },
  );
}

const sinkThenLiquidate = fc
  .record({ pick: account, k: market, byPartner: fc.boolean() })
  .map((p) => new StepChain([sinkStep(p.pick, p.k), liquidateStep(p.pick, p.byPartner)]));

/** The adversary's commands, weighted so that about one command in five is its. */
export const adversaryCommands = [
  frontRun,
  frontRun,
  frontRun,
  hedgedPair,
  extremePolicy,
  extremePolicy,
  roundThenRebalance,
  roundThenRebalance,
  selfLiquidate,
  sinkThenLiquidate,
];
