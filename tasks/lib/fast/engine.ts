/**
 * The engine's money path in BigInt, bit-exact with the contracts (`MarginEngine` with `TradeLogic`,
 * `RebalanceSnapshot`, `RebalancePreview`, `RebalanceLogic` and `LiquidationLogic`), with the vault's
 * margin and reserve balances of every account. Each rule is taken from its port (`rebalanceMath.ts`,
 * `rebalanceValidation.ts`, `closeMath.ts`, `liquidationMath.ts`, `strategies.ts`, `wad.ts`); this file
 * only holds the state and the order in which the entry points apply them.
 *
 * Scope: what the backtest exercises. Markets without deleverage caps (room unlimited), no pauses, no
 * sequencer feed, a pool deep enough for every payout; the owner-round check of a close is modelled (an
 * owner action at or after the price round refuses closes). Entry points throw an `EngineRevert` where the
 * contract reverts, with the custom error's name.
 */
import { feeOn, toTokens } from "./closeMath";
import { planLiquidation, type LiquidationParams } from "./liquidationMath";
import { gap, topUpFor } from "./rebalanceMath";
import { check, isEmpty } from "./rebalanceValidation";
import type { AccountSnapshot, Plan, Policy } from "./types";
import {
  WAD,
  averageEntryWad,
  health,
  healthOf,
  notionalWad,
  pnlWad,
  requirements,
  toTokenUp,
  type PositionData,
} from "./wad";

const UINT_MAX = 2n ** 256n - 1n;
/** `IChainlinkOracleAdapter.Status.Ok`. */
export const STATUS_OK = 0;

/** A market as the engine stores it (`IMarginEngine.MarketConfig`, the fields the money path reads). */
export interface MarketModel {
  asset: string;
  imrWad: bigint;
  mmrWad: bigint;
  feeWad: bigint;
  liquidationPenaltyWad: bigint;
}

/** What the engine reads from the oracle adapter. */
export interface PriceSource {
  /** `price(asset)`: the price the engine uses, its grade and the time of its round. */
  price(asset: string): { priceWad: bigint; status: number; updatedAt: bigint };
  /** `volatility(asset)`: the annualised volatility the volatility-reading strategies plan on (WAD). */
  volatility(asset: string): bigint;
}

/** A strategy the engine may call: its plan for a snapshot, and whether it reads volatility. */
export interface StrategyModel {
  usesVolatility: boolean;
  plan(snapshot: AccountSnapshot): Plan;
}

/** An event the engine emits, with its arguments in declaration order. */
export interface EngineEvent {
  name: "PositionModified" | "Rebalanced" | "Liquidated" | "Rescued";
  account: string;
  args: (bigint | string)[];
}

export class EngineRevert extends Error {
  constructor(readonly errorName: string) {
    super(`engine reverted: ${errorName}`);
  }
}

interface Position {
  sizeWad: bigint;
  entryPriceWad: bigint;
}

interface Account {
  marginTokens: bigint;
  reserveTokens: bigint;
  positions: Map<number, Position>;
  policy?: Policy;
  ownerActionAt: bigint;
}

export type KeeperActionKind = "none" | "rebalance" | "liquidate";

export interface EngineConfig {
  /** Token scale `10**(18 − decimals)`. */
  scale: bigint;
  /** Markets by id (from 1). */
  markets: Map<number, MarketModel>;
  liquidation: LiquidationParams;
  /** The engine's keeper reward (tokens). */
  keeperRewardTokens: bigint;
  /** The address a policy names for the built-in threshold planner (the engine's own). */
  builtinStrategy: string;
  /** Approved external strategies by address. */
  strategies: Map<string, StrategyModel>;
  /** The built-in planner (`ThresholdPlanner.plan`). */
  builtinPlan: (snapshot: AccountSnapshot) => Plan;
}

export class EngineModel {
  private readonly accounts = new Map<string, Account>();
  /** `EngineLib.Layout.active`: accounts with a position, in the contract's order (swap-and-pop). */
  readonly active: string[] = [];
  /** Events of the entry points called so far (the caller drains them). */
  events: EngineEvent[] = [];

  constructor(
    readonly config: EngineConfig,
    private readonly oracle: PriceSource,
  ) {}

  // ------------------------------------------------------------------ vault and owner actions

  depositMargin(account: string, tokens: bigint) {
    this.account(account).marginTokens += tokens;
  }

  depositReserve(account: string, tokens: bigint) {
    this.account(account).reserveTokens += tokens;
  }

  /** `setPolicy` (validated by the caller's deployment: the backtest only sets valid policies). */
  setPolicy(account: string, policy: Policy, now: bigint) {
    const a = this.account(account);
    a.policy = policy;
    a.ownerActionAt = now;
  }

  balances(account: string): { marginTokens: bigint; reserveTokens: bigint } {
    const a = this.account(account);
    return { marginTokens: a.marginTokens, reserveTokens: a.reserveTokens };
  }

  position(account: string, marketId: number): Position {
    return this.account(account).positions.get(marketId) ?? { sizeWad: 0n, entryPriceWad: 0n };
  }

  /** `MarginEngine.health`: at the adapter's price whatever its grade. */
  health(account: string): bigint {
    const a = this.account(account);
    const { positions } = this.loadPositions(a.positions);
    return healthOf(a.marginTokens * this.config.scale, positions);
  }

  // ------------------------------------------------------------------ trading

  /** `executeOrder` of an order for `delta` in `marketId`, filled at the adapter's price (`TradeLogic.modify`,
   *  without the open-interest and pool-liquidity checks, which the backtest's book stays inside). */
  executeOrder(account: string, marketId: number, delta: bigint) {
    const a = this.account(account);
    const old = this.position(account, marketId);
    const newSize = old.sizeWad + delta;
    const reduces = old.sizeWad !== 0n && old.sizeWad > 0n !== delta > 0n;
    const adds = !reduces || (newSize !== 0n && newSize > 0n !== old.sizeWad > 0n);
    const market = this.market(marketId);
    const held = new Map(a.positions);
    held.set(marketId, old);
    // Every market of the account at an `Ok` price, the traded one included (`requireOk` in the contract).
    const { positions, pricesOk } = this.loadPositions(held);
    if (!pricesOk) throw new EngineRevert("MarginEngineBadPrice");
    const index = positions.findIndex((p) => Number(p.marketId) === marketId);
    const priceWad = positions[index].priceWad;
    const healthBefore = adds ? 0n : healthOf(a.marginTokens * this.config.scale, positions);
    let realised = 0n;
    let newEntry: bigint;
    if (reduces) {
      const closed =
        (delta < 0n ? -delta : delta) >= (old.sizeWad < 0n ? -old.sizeWad : old.sizeWad)
          ? old.sizeWad
          : -delta;
      realised = pnlWad(closed, old.entryPriceWad, priceWad);
      newEntry = newSize === 0n ? 0n : adds ? priceWad : old.entryPriceWad;
    } else {
      newEntry = averageEntryWad(old.sizeWad, old.entryPriceWad, delta, priceWad);
    }
    const { feeWad } = feeOn(delta, priceWad, market.feeWad);
    const traderDelta = toTokens(realised - feeWad, this.config.scale);
    if (traderDelta < 0n && -traderDelta > a.marginTokens)
      throw new EngineRevert("MarginEngineLossExceedsMargin");
    positions[index].sizeWad = newSize;
    positions[index].entryPriceWad = newEntry;
    const after = requirements((a.marginTokens + traderDelta) * this.config.scale, positions);
    if (adds) {
      if (after.equity < after.initial) throw new EngineRevert("MarginEngineInsufficientMargin");
    } else {
      const healthAfter = health(after.equity, after.maintenance);
      if (healthAfter < WAD && healthAfter < healthBefore)
        throw new EngineRevert("MarginEngineHealthWorsened");
    }
    this.applyPositionChange(a, account, marketId, newSize, newEntry);
    this.emit("PositionModified", account, [
      BigInt(marketId),
      delta,
      newSize,
      priceWad,
      newEntry,
      realised,
      toTokenUp(feeWad, this.config.scale),
    ]);
    a.marginTokens += traderDelta;
  }

  // ------------------------------------------------------------------ rebalancing

  /** `RebalanceSnapshot.take`. */
  snapshot(account: string): { snap: AccountSnapshot; pricesOk: boolean; roundTimes: bigint[] } {
    const a = this.account(account);
    const policy = a.policy ?? emptyPolicy();
    const { positions, pricesOk, roundTimes } = this.loadPositions(a.positions);
    const scale = this.config.scale;
    const r = requirements(a.marginTokens * scale, positions);
    const strategy = this.strategyOf(policy);
    const reward = this.config.keeperRewardTokens;
    const snap: AccountSnapshot = {
      account,
      marginTokens: a.marginTokens,
      reserveTokens: policy.allowTopUp ? a.reserveTokens : 0n,
      equityWad: r.equity,
      maintenanceWad: r.maintenance,
      initialWad: r.initial,
      healthWad: health(r.equity, r.maintenance),
      keeperRewardTokens: reward < policy.maxKeeperRewardTokens ? reward : policy.maxKeeperRewardTokens,
      scale,
      policy,
      positions,
      volatilityWad: positions.map((p) =>
        strategy?.usesVolatility ? this.oracle.volatility(this.market(Number(p.marketId)).asset) : 0n,
      ),
      // No market of the backtest is capped (`DeleverageCapLogic.roomFor` is unlimited).
      deleverageRoomWad: positions.map(() => UINT_MAX),
    };
    return { snap, pricesOk, roundTimes };
  }

  /** `RebalancePreview.keeperAction` (what `checkUpkeep` reports for the account). */
  keeperAction(account: string): KeeperActionKind {
    const a = this.account(account);
    if (a.positions.size === 0) return "none";
    const { snap, pricesOk, roundTimes } = this.snapshot(account);
    if (!pricesOk) return "none";
    if (snap.healthWad < WAD) return "liquidate";
    const strategy = a.policy === undefined ? undefined : this.strategyOf(a.policy);
    if (strategy === undefined) return "none";
    let plan: Plan;
    try {
      plan = strategy.plan(snap);
    } catch {
      return "none";
    }
    if (isEmpty(plan)) return "none";
    const outcome = check(snap, plan);
    if (!outcome.ok) return "none";
    if (
      a.ownerActionAt !== 0n &&
      plan.closes.length !== 0 &&
      this.staleClose(plan, roundTimes, a.ownerActionAt)
    ) {
      return "none";
    }
    return "rebalance";
  }

  /** `RebalanceLogic.rebalance` by `keeper`: returns the health after. */
  rebalance(account: string, keeper: string): bigint {
    const a = this.account(account);
    const policy = a.policy;
    if (policy === undefined) throw new EngineRevert("MarginEngineNoPolicy");
    const strategy = this.strategyOf(policy);
    if (strategy === undefined) throw new EngineRevert("MarginEngineStrategyNotApproved");
    if (a.positions.size === 0) throw new EngineRevert("MarginEngineNothingToRebalance");
    const { snap, pricesOk, roundTimes } = this.snapshot(account);
    if (!pricesOk) throw new EngineRevert("MarginEngineBadPrice");
    if (keeper === account) snap.keeperRewardTokens = 0n;
    let plan: Plan;
    try {
      plan = strategy.plan(snap);
    } catch (error) {
      // A strategy's revert reverts the rebalance.
      throw new EngineRevert(`StrategyReverted(${(error as Error).message})`);
    }
    if (isEmpty(plan)) throw new EngineRevert("MarginEngineNothingToRebalance");
    const outcome = check(snap, plan);
    if (!outcome.ok) throw new EngineRevert(`MarginEngineInvalidPlan(${outcome.error})`);
    const r = outcome.result;

    // The owner-round check refuses (reverts) closes at a round not after the owner's last action.
    if (plan.closes.length !== 0 && a.ownerActionAt !== 0n) {
      if (this.staleClose(plan, roundTimes, a.ownerActionAt)) {
        throw new EngineRevert("MarginEngineRoundNotAfterOwnerAction");
      }
      if (roundTimes.every((t) => t > a.ownerActionAt)) a.ownerActionAt = 0n;
    }
    for (const [k, step] of plan.closes.entries()) {
      const p = snap.positions[Number(step.index)];
      const newSize = p.sizeWad - step.sizeWad;
      this.applyPositionChange(a, account, Number(p.marketId), newSize, p.entryPriceWad);
      this.emit("PositionModified", account, [
        p.marketId,
        -step.sizeWad,
        newSize,
        p.priceWad,
        newSize === 0n ? 0n : p.entryPriceWad,
        r.closes[k].realisedPnlWad,
        toTokenUp(r.closes[k].feeWad, snap.scale),
      ]);
      p.sizeWad = newSize;
    }
    a.marginTokens += plan.topUpTokens + r.traderDeltaTokens - plan.sweepTokens - r.rewardTokens;
    a.reserveTokens += plan.sweepTokens - plan.topUpTokens;
    this.emit("Rebalanced", account, [
      keeper,
      snap.healthWad,
      r.healthAfterWad,
      plan.topUpTokens,
      r.deleveragedNotionalWad,
      plan.sweepTokens,
      r.rewardTokens,
    ]);
    return r.healthAfterWad;
  }

  // ------------------------------------------------------------------ liquidation

  /** `LiquidationLogic.liquidate` by `liquidator`. */
  liquidate(account: string, liquidator: string) {
    const a = this.account(account);
    const { positions, pricesOk } = this.loadPositions(a.positions);
    if (!pricesOk) throw new EngineRevert("MarginEngineBadPrice");
    const scale = this.config.scale;
    const r = requirements(a.marginTokens * scale, positions);
    let equity = r.equity;
    const healthBefore = health(equity, r.maintenance);
    if (healthBefore >= WAD) throw new EngineRevert("MarginEngineNotLiquidatable");

    // Rescue from the reserve when the policy allows top-ups.
    const policy = a.policy;
    if (
      policy !== undefined &&
      this.strategyAddressKnown(policy) &&
      policy.allowTopUp &&
      a.reserveTokens !== 0n
    ) {
      const amount = topUpFor(gap(equity, r.maintenance, policy.targetHealthWad, 0n), a.reserveTokens, scale);
      equity += amount * scale;
      const healthAfter = health(equity, r.maintenance);
      this.emit("Rescued", account, [amount, healthAfter]);
      a.reserveTokens -= amount;
      a.marginTokens += amount;
      if (healthAfter >= WAD) return;
    }

    const params = { ...this.config.liquidation };
    if (liquidator === account) params.liquidatorShareWad = 0n;
    const out = planLiquidation(a.marginTokens, equity, positions, params, scale);
    let closedNotional = 0n;
    for (const [i, p] of positions.entries()) {
      const closeSize = out.closeSizesWad[i];
      const newSize = p.sizeWad - closeSize;
      closedNotional += notionalWad(closeSize, p.priceWad);
      this.applyPositionChange(a, account, Number(p.marketId), newSize, p.entryPriceWad);
      this.emit("PositionModified", account, [
        p.marketId,
        -closeSize,
        newSize,
        p.priceWad,
        newSize === 0n ? 0n : p.entryPriceWad,
        pnlWad(closeSize, p.entryPriceWad, p.priceWad),
        0n,
      ]);
      p.sizeWad = newSize;
    }
    const healthAfter = healthOf(out.marginAfterTokens * scale, positions);
    this.emit("Liquidated", account, [
      liquidator,
      healthBefore,
      healthAfter,
      closedNotional,
      out.penaltyPaidTokens,
      out.rewardTokens,
      out.badDebtTokens,
    ]);
    a.marginTokens = out.marginAfterTokens;
  }

  // ------------------------------------------------------------------ internals

  private emit(name: EngineEvent["name"], account: string, args: (bigint | string)[]) {
    this.events.push({ name, account, args: [account, ...args] });
  }

  private account(address: string): Account {
    let a = this.accounts.get(address);
    if (a === undefined) {
      a = { marginTokens: 0n, reserveTokens: 0n, positions: new Map(), ownerActionAt: 0n };
      this.accounts.set(address, a);
    }
    return a;
  }

  private market(marketId: number): MarketModel {
    const m = this.config.markets.get(marketId);
    if (m === undefined) throw new EngineRevert("MarginEngineUnknownMarket");
    return m;
  }

  private strategyOf(policy: Policy): StrategyModel | undefined {
    if (policy.strategy === this.config.builtinStrategy) {
      return { usesVolatility: false, plan: this.config.builtinPlan };
    }
    return this.config.strategies.get(policy.strategy);
  }

  /** A policy is stored (its strategy word names an address) whether or not the strategy is approved. */
  private strategyAddressKnown(policy: Policy): boolean {
    return policy.strategy !== "0x0000000000000000000000000000000000000000";
  }

  /** `EngineLib.loadPositions` (ascending market id, as the bitmap is walked): one price read per market,
   *  whether every one is graded `Ok`, and the times of their rounds. */
  private loadPositions(held: Map<number, Position>) {
    const positions: PositionData[] = [];
    const roundTimes: bigint[] = [];
    let pricesOk = true;
    for (const id of [...held.keys()].sort((x, y) => x - y)) {
      const m = this.market(id);
      const pos = held.get(id)!;
      const quote = this.oracle.price(m.asset);
      if (quote.status !== STATUS_OK) pricesOk = false;
      roundTimes.push(quote.updatedAt);
      positions.push({
        marketId: BigInt(id),
        sizeWad: pos.sizeWad,
        entryPriceWad: pos.entryPriceWad,
        priceWad: quote.priceWad,
        imrWad: m.imrWad,
        mmrWad: m.mmrWad,
        feeWad: m.feeWad,
        penaltyWad: m.liquidationPenaltyWad,
      });
    }
    return { positions, pricesOk, roundTimes };
  }

  /** `RebalanceValidation.closeAtOwnerRound`: a close at a round not after the owner's last action. */
  private staleClose(plan: Plan, roundTimes: bigint[], actedAt: bigint): boolean {
    return plan.closes.some((step) => roundTimes[Number(step.index)] <= actedAt);
  }

  /** `EngineLib.applyPositionChange` for the account's book (open interest is not modelled). */
  private applyPositionChange(
    a: Account,
    account: string,
    marketId: number,
    newSize: bigint,
    newEntry: bigint,
  ) {
    const had = a.positions.size;
    if (newSize === 0n) {
      a.positions.delete(marketId);
      if (had !== 0 && a.positions.size === 0) this.deactivate(account);
    } else {
      a.positions.set(marketId, { sizeWad: newSize, entryPriceWad: newEntry });
      if (had === 0) this.active.push(account);
    }
  }

  private deactivate(account: string) {
    const index = this.active.indexOf(account);
    const last = this.active.length - 1;
    if (index !== last) this.active[index] = this.active[last];
    this.active.pop();
  }
}

/** `Policy` of an account without one. */
export function emptyPolicy(): Policy {
  return {
    triggerHealthWad: 0n,
    targetHealthWad: 0n,
    sweepHealthWad: 0n,
    allowTopUp: false,
    allowDeleverage: false,
    maxKeeperRewardTokens: 0n,
    strategy: "0x0000000000000000000000000000000000000000",
  };
}
