import { expect } from "chai";
import {
  MARKETS,
  Model,
  Outcome,
  Snapshot,
  Status,
  Action,
  isPaused,
  pausedIn,
  protocolInterface,
  MAX_UINT,
  WAD,
} from "./world";

/**
 * What the model predicts for a call:
 * - `revert`: it must revert with exactly this custom error and arguments;
 * - `success`: it must succeed;
 * - `free`: nothing the model knows blocks it; it may still revert for reasons the model does not track
 *   (insufficient margin, nothing to rebalance, ...), never with a panic;
 * - `uncertain`: a price status may flip before the transaction lands (heartbeat or sequencer grace
 *   boundary within a minute); any outcome but a panic is accepted.
 */
export type Expectation =
  | { kind: "revert"; name: string; args: unknown[] }
  | { kind: "success" }
  | { kind: "free" }
  | { kind: "uncertain" };

export const FREE: Expectation = { kind: "free" };
export const SUCCESS: Expectation = { kind: "success" };
export const UNCERTAIN: Expectation = { kind: "uncertain" };
export const reverts = (name: string, ...args: unknown[]): Expectation => ({ kind: "revert", name, args });

/** Selector of a protocol custom error. */
export function selectorOf(name: string): string {
  return protocolInterface.getError(name)!.selector;
}

/** Markets (indices into `MARKETS`) in which trader `i` holds a position before the call. */
export function heldMarkets(pre: Snapshot, i: number): number[] {
  return MARKETS.map((_, k) => k).filter((k) => pre.traders[i].sizes[k] !== 0n);
}

/**
 * The engine loads the positions of `marketIdx` in ascending market id and reverts `MarginEngineBadPrice`
 * at the first price that is not `Ok`.
 */
export function priceBlock(pre: Snapshot, marketIdx: number[]): Expectation | null {
  for (const k of [...new Set(marketIdx)].sort()) {
    const p = pre.prices[MARKETS[k].name];
    if (!p.certain) return UNCERTAIN;
    if (p.status !== Status.Ok) return reverts("MarginEngineBadPrice", MARKETS[k].asset, p.status);
  }
  return null;
}

/**
 * LP deposits and exits need an `Ok` price for every market with open interest (`LiquidityPoolBadPrice`):
 * the pool marks open trader PnL at those prices. Only traders hold positions in the model.
 */
export function poolPriceBlock(pre: Snapshot): Expectation | null {
  const withInterest = MARKETS.map((_, k) => k).filter((k) => pre.traders.some((t) => t.sizes[k] !== 0n));
  let uncertain = false;
  for (const k of withInterest) {
    const p = pre.prices[MARKETS[k].name];
    if (!p.certain) uncertain = true;
    else if (p.status !== Status.Ok) return reverts("LiquidityPoolBadPrice");
  }
  return uncertain ? UNCERTAIN : null;
}

/**
 * An executed order for `delta` on market `k` by trader `i` (a close-all order is `delta = -size`). The
 * execution checks the order's own market price first, then the trading rules.
 */
export function predictModify(m: Model, pre: Snapshot, i: number, k: number, delta: bigint): Expectation {
  const id = MARKETS[k].id;
  const own = pre.prices[MARKETS[k].name];
  if (!own.certain) return UNCERTAIN;
  if (own.status !== Status.Ok) return reverts("MarginEngineBadPrice", MARKETS[k].asset, own.status);
  const old = pre.traders[i].sizes[k];
  const next = old + delta;
  const reduces = old !== 0n && old > 0n !== delta > 0n;
  const adds = !reduces || (next !== 0n && next > 0n !== old > 0n);
  if (adds && isPaused(m, id, Action.Open)) return reverts("MarginEnginePaused", id, Action.Open);
  if (reduces && isPaused(m, id, Action.Close)) return reverts("MarginEnginePaused", id, Action.Close);
  return priceBlock(pre, [...heldMarkets(pre, i), k]) ?? FREE;
}

/** `withdrawMargin(amount)` by trader `i` (amount within its margin). */
export function predictWithdrawMargin(m: Model, pre: Snapshot, i: number): Expectation {
  if (isPaused(m, 0n, Action.Withdraw)) return reverts("MarginEnginePaused", 0n, Action.Withdraw);
  return priceBlock(pre, heldMarkets(pre, i)) ?? FREE;
}

/** `liquidate(trader i)`. */
export function predictLiquidate(m: Model, pre: Snapshot, i: number, account: string): Expectation {
  const held = heldMarkets(pre, i);
  const paused = pausedIn(
    m,
    held.map((k) => MARKETS[k].id),
    Action.Liquidate,
  );
  if (paused !== null) return reverts("MarginEnginePaused", paused, Action.Liquidate);
  const bad = priceBlock(pre, held);
  if (bad) return bad;
  const health = pre.traders[i].health;
  if (health >= WAD) return reverts("MarginEngineNotLiquidatable", account, health);
  // Unhealthy, prices Ok, not paused: nothing may stop a liquidation.
  return SUCCESS;
}

/** `rebalance(trader i)`. */
export function predictRebalance(m: Model, pre: Snapshot, i: number, account: string): Expectation {
  if (!m.policies.has(i)) return reverts("MarginEngineNoPolicy", account);
  const held = heldMarkets(pre, i);
  if (held.length === 0) return reverts("MarginEngineNothingToRebalance", account, MAX_UINT);
  const paused = pausedIn(
    m,
    held.map((k) => MARKETS[k].id),
    Action.Rebalance,
  );
  if (paused !== null) return reverts("MarginEnginePaused", paused, Action.Rebalance);
  return priceBlock(pre, held) ?? FREE;
}

const norm = (xs: unknown[]) => xs.map((x) => (typeof x === "string" ? x.toLowerCase() : String(x)));

/** Asserts `outcome` against `expectation`; returns whether the call went through. */
export function check(outcome: Outcome, expectation: Expectation, label: string): boolean {
  if (!outcome.ok) {
    const r = outcome.revert;
    expect(
      r.name,
      `${label}: unexpected panic or revert without reason (${r.raw.slice(0, 200)})`,
    ).to.not.match(/^(Panic|<no data>)/);
  }
  switch (expectation.kind) {
    case "revert":
      expect(outcome.ok, `${label}: should revert with ${expectation.name}`).to.equal(false);
      if (!outcome.ok) {
        expect(outcome.revert.name, `${label}: revert reason`).to.equal(expectation.name);
        expect(norm(outcome.revert.args), `${label}: ${expectation.name} arguments`).to.deep.equal(
          norm(expectation.args),
        );
      }
      break;
    case "success":
      expect(
        outcome.ok,
        `${label}: should succeed, reverted with ${outcome.ok ? "" : `${outcome.revert.name}(${norm(outcome.revert.args)})`}`,
      ).to.equal(true);
      break;
    default:
      break;
  }
  return outcome.ok;
}
