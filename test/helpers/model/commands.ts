import { expect } from "chai";
import fc from "fast-check";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { AbiCoder } from "ethers";
import { usdc } from "../fixtures";
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
  predictLiquidate,
  predictModify,
  predictRebalance,
  predictWithdrawMargin,
  reverts,
  selectorOf,
} from "./expect";
import {
  StepInfo,
  checkCircuitBreaker,
  checkConservation,
  checkHealthMonotonicity,
  checkLpSharePrice,
  checkReserveWithdrawable,
  checkRevertChangesNothing,
} from "./invariants";

const coder = AbiCoder.defaultAbiCoder();
const TRADERS = 4;
/** Feed answers have 8 decimals; prices are WAD. */
const FEED_TO_WAD = 10n ** 10n;

type Body = (m: Model, w: World, pre: Snapshot) => Promise<Partial<StepInfo> & { outcomes: Outcome[] }>;

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
    w.pre = post;
  }

  toString() {
    return this.label;
  }
}

/** Records an outcome in the stats under `name` (ok, or the revert's error name). */
function tally(w: World, name: string, o: Outcome, e: Expectation) {
  w.stats.add(`${name}: ${o.ok ? "ok" : o.revert.name}`);
  if (e.kind === "revert") w.stats.add(`expected revert: ${e.name}`);
}

function run(w: World, name: string, label: string, o: Outcome, e: Expectation) {
  tally(w, name, o, e);
  return check(o, e, label);
}

const trader = fc.integer({ min: 0, max: TRADERS - 1 });
const market = fc.integer({ min: 0, max: MARKETS.length - 1 });
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
      run(w, "withdrawMargin", "withdrawMargin", o, e);
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

/** Opens, increases, reduces or flips by a notional of `leverage` × margin (at least 1,000 USDC worth). */
const modifyPosition = fc
  .record({ i: trader, k: market, leverageTenths: fc.integer({ min: 1, max: 250 }), long: fc.boolean() })
  .map(
    ({ i, k, leverageTenths, long }) =>
      new Step(
        `modifyPosition(trader${i}, ${MARKETS[k].name}, ${long ? "+" : "-"}${leverageTenths / 10}x margin)`,
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
          const o = await w.attempt(() => w.f.engine.connect(t).modifyPosition(MARKETS[k].id, delta));
          run(w, "modifyPosition", "modifyPosition", o, e);
          return { outcomes: [o] };
        },
      ),
  );

/** Reduces a position by a share of it; 100% is `closePosition`. */
const reducePosition = fc.record({ i: trader, k: market, share: bps }).map(
  ({ i, k, share }) =>
    new Step(`reducePosition(trader${i}, ${MARKETS[k].name}, ${share / 100}%)`, async (m, w, pre) => {
      const t = w.traders[i];
      const size = pre.traders[i].sizes[k];
      const id = MARKETS[k].id;
      let o: Outcome;
      let e: Expectation;
      if (share === 10_000 || size === 0n) {
        e =
          size === 0n ? reverts("MarginEngineNoPosition", t.address, id) : predictModify(m, pre, i, k, -size);
        o = await w.attempt(() => w.f.engine.connect(t).closePosition(id));
        run(w, "closePosition", "closePosition", o, e);
      } else {
        const delta = -((size * BigInt(share)) / 10_000n);
        if (delta === 0n) return { outcomes: [] };
        e = predictModify(m, pre, i, k, delta);
        o = await w.attempt(() => w.f.engine.connect(t).modifyPosition(id, delta));
        run(w, "reducePosition", "reducePosition", o, e);
      }
      return { outcomes: [o] };
    }),
);

// ------------------------------------------------------------------------------------------- policy

const setPolicy = fc
  .record({
    i: trader,
    volatility: fc.boolean(),
    triggerHundredths: fc.integer({ min: 101, max: 300 }),
    gapHundredths: fc.integer({ min: 5, max: 200 }),
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
          const target = p.triggerHundredths + p.gapHundredths;
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
            m.policies.set(p.i, {
              targetHealthWad: policy.targetHealthWad,
              sweepHealthWad: policy.sweepHealthWad,
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

const priceMove = fc
  .record({
    k: market,
    kind: fc.constantFrom("normal", "normal", "normal", "normal", "jump", "invalid", "stale"),
    moveBps: fc.integer({ min: -1_500, max: 1_500 }),
    jumpBps: fc.integer({ min: 2_500, max: 4_500 }),
    jumpUp: fc.boolean(),
    invalid: fc.constantFrom("zero", "negative", "below", "above"),
    dt: fc.integer({ min: 1, max: 600 }),
    staleExtra: fc.integer({ min: 120, max: 7_200 }),
    poke: fc.boolean(),
  })
  .map((p) => {
    const name = MARKETS[p.k].name;
    const what =
      p.kind === "normal"
        ? `${p.moveBps / 100}%`
        : p.kind === "jump"
          ? `${p.jumpUp ? "+" : "-"}${p.jumpBps / 100}%`
          : p.kind === "invalid"
            ? p.invalid
            : `+${p.staleExtra}s past heartbeat`;
    return new Step(
      `price(${name}, ${p.kind} ${what}, after ${p.dt}s${p.poke ? ", update" : ""})`,
      async (_m, w, pre) => {
        const { f } = w;
        const feed = w.feed(name);
        const asset = MARKETS[p.k].asset;
        const cfg = await f.oracle.feedConfig(asset);
        const outcomes: Outcome[] = [];
        const latest = pre.prices[name].answer;
        const latestValid = await inBounds(w, name, latest);
        // The adapter's deviation reference: the previous round when it is usable, else the last good price.
        const reference = latestValid ? latest : (await f.oracle.lastGoodPrice(asset))[0] / FEED_TO_WAD;
        // Without any reference (no usable previous round, no last good price) nothing deviates.
        const base = reference > 0n ? reference : pre.prices[name].priceWad / FEED_TO_WAD;
        let expected: number | null = null;
        if (p.kind === "stale") {
          await time.increase(Number(cfg.heartbeat) + p.staleExtra);
          expected = latestValid ? Status.Stale : Status.Invalid;
        } else {
          await time.increase(p.dt);
          let next: bigint;
          if (p.kind === "invalid") {
            next =
              p.invalid === "zero"
                ? 0n
                : p.invalid === "negative"
                  ? -1n
                  : p.invalid === "below"
                    ? cfg.minPriceWad / FEED_TO_WAD / 2n
                    : (cfg.maxPriceWad / FEED_TO_WAD) * 2n;
            expected = Status.Invalid;
          } else {
            const moveBps = p.kind === "normal" ? p.moveBps : p.jumpUp ? p.jumpBps : -p.jumpBps;
            next = (base * BigInt(10_000 + moveBps)) / 10_000n;
            const lo = ((cfg.minPriceWad / FEED_TO_WAD) * 105n) / 100n;
            const hi = ((cfg.maxPriceWad / FEED_TO_WAD) * 100n) / 105n;
            next = next < lo ? lo : next > hi ? hi : next;
            const diff = next > reference ? next - reference : reference - next;
            expected =
              reference > 0n && diff * WAD > cfg.maxDeviationWad * reference ? Status.Deviation : Status.Ok;
          }
          const o = await w.attempt(() => feed.updateAnswer(next));
          run(w, "feed round", "MockV3Aggregator.updateAnswer", o, SUCCESS);
          outcomes.push(o);
        }
        if (p.poke) {
          const o = await w.attempt(() => f.oracle.update(asset));
          run(w, "oracle.update", "oracle.update never reverts", o, SUCCESS);
          outcomes.push(o);
        }
        const after = await f.oracle.price(asset);
        const seq = sequencerStatus({ ...pre, timestamp: BigInt(await time.latest()) });
        const status = seq !== Status.Ok ? seq : expected;
        expect(Number(after[1]), `${name} status after a ${p.kind} round`).to.equal(status);
        w.stats.add(`price status: ${Object.keys(Status)[Number(after[1])]}`);
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

const rebalance = trader.map(
  (i) =>
    new Step(`rebalance(trader${i})`, async (m, w, pre) => {
      const account = w.traders[i].address;
      const e = predictRebalance(m, pre, i, account);
      const o = await w.attempt(() => w.f.engine.connect(w.keeper).rebalance(account));
      run(w, "rebalance", "rebalance", o, e);
      return { outcomes: [o] };
    }),
);

const liquidate = fc.record({ i: trader, by: fc.integer({ min: 0, max: TRADERS }) }).map(
  ({ i, by }) =>
    new Step(
      `liquidate(trader${i}) by ${by === i || by === TRADERS ? "keeper" : `trader${by}`}`,
      async (m, w, pre) => {
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
      (m) => m.cachedUpkeep,
    ),
);

// ---------------------------------------------------------------------------------------------- LPs

const lpDeposit = fc.integer({ min: 1_000, max: 200_000 }).map(
  (amount) =>
    new Step(`pool.deposit(${amount} USDC)`, async (m, w) => {
      const e = isPaused(m, 0n, Action.Deposit) ? reverts("LiquidityPoolPaused") : SUCCESS;
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
      const max = paused
        ? redeem
          ? pre.lpShares
          : await pool.convertToAssets(pre.lpShares)
        : redeem
          ? await pool.maxRedeem(lp)
          : await pool.maxWithdraw(lp);
      const amount = (max * BigInt(share)) / 10_000n;
      if (amount === 0n) return { outcomes: [] };
      const e = paused ? reverts("LiquidityPoolPaused") : SUCCESS;
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

const pause = fc.record({ target: pauseTarget, on: fc.boolean() }).map(
  ({ target, on }) =>
    new Step(`${on ? "pause" : "unpause"}(${describeTarget(target)})`, async (m, w) => {
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
      for (const { id } of MARKETS) {
        for (const action of Object.values(Action)) {
          expect(await w.f.guardian.isPaused(id, action), "model and guardian agree").to.equal(
            isPaused(m, id, action),
          );
        }
      }
      return { outcomes: [o] };
    }),
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
  modifyPosition,
  modifyPosition,
  modifyPosition,
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
  sequencerUp,
  acceptPrice,
  rebalance,
  rebalance,
  liquidate,
  liquidate,
  keeperScan,
  keeperPerform,
  keeperPerform,
  lpDeposit,
  lpExit,
  pause,
  pause,
];
