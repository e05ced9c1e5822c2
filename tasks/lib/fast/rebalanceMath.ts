/**
 * `RebalanceMath` (contracts/libraries/RebalanceMath.sol) in BigInt, for the fast engine: the cost-aware
 * rebalance planner shared by the strategies, and the exact simulation of how the engine executes a plan.
 *
 * Bit-exact with the library: the same algorithm, the same rounding and the same order of operations; it
 * throws a `RebalanceMathError` named after the custom error wherever the library reverts with one, and a
 * plain `Error` where checked arithmetic or a division by zero would panic. Memory semantics follow the
 * Solidity too: the planning `Account` is a mutable object the helpers change in place, the snapshot is
 * never modified, and `execute` shares `policy` and `volatilityWad` with its input as the library does.
 * Values are taken to fit their Solidity types; of the silent wrap-arounds of `int256`/`uint256` casts only
 * the one the planner can reach is modelled (the margin in `commit`). See the Solidity for the math.
 */
import { allClosed, eligible, keeperReward } from "./closeOutRule";
import { close, healthRelief, type CloseEffect } from "./closeMath";
import { emptyPlan, type AccountSnapshot, type CloseStep, type Plan } from "./types";
import * as W from "./wad";
import { abs, health, max, min, notionalWad, toTokenDown, toTokenUp, uint, type PositionData } from "./wad";

/** `type(uint256).max`: an uncapped deleverage room, and "no limit" for a payable size. */
export const UINT256_MAX = 2n ** 256n - 1n;

/** `RebalanceMath.CLOSE_ROUNDING_SLACK_WAD`: extra gap (on top of one token unit) each close is sized for. */
export const CLOSE_ROUNDING_SLACK_WAD = 16n;

/** A revert of `RebalanceMath` with one of its custom errors; `message` starts with the error's name. */
export class RebalanceMathError extends Error {
  constructor(
    readonly errorName:
      | "RebalanceMathTopUpExceedsReserve"
      | "RebalanceMathInvalidClose"
      | "RebalanceMathLossExceedsMargin"
      | "RebalanceMathInsufficientMargin",
    readonly args: bigint[],
  ) {
    super(`${errorName}(${args.join(", ")})`);
    this.name = "RebalanceMathError";
  }
}

/**
 * `RebalanceMath.Account`: the account as a plan changes it, with the planning constants (token scale,
 * keeper reward, target health, reward-first sizing).
 */
export interface Account {
  marginTokens: bigint;
  equityWad: bigint;
  maintenanceWad: bigint;
  sizesWad: bigint[];
  scale: bigint;
  rewardWad: bigint;
  targetHealthWad: bigint;
  rewardFirst: boolean;
}

// ------------------------------------------------------------------------------------------- helpers

/** `WadMath.toWad` with Solidity's checked multiplication (the planner's margin may wrap, see `commit`). */
function toWad(amountTokens: bigint, scale: bigint): bigint {
  const amountWad = amountTokens * scale;
  if (amountWad > UINT256_MAX) throw new Error(`uint256 overflow: ${amountTokens} * ${scale}`);
  return amountWad;
}

/** A `WadMath` result: `Math.mulDiv` panics when it does not fit in 256 bits (wad.ts does not check). */
function fits(x: bigint): bigint {
  if (x > UINT256_MAX) throw new Error(`uint256 overflow: ${x}`);
  return x;
}

const mulWadDown = (x: bigint, y: bigint): bigint => fits(W.mulWadDown(x, y));
const mulWadUp = (x: bigint, y: bigint): bigint => fits(W.mulWadUp(x, y));
const divWadDown = (x: bigint, y: bigint): bigint => fits(W.divWadDown(x, y));
const divWadUp = (x: bigint, y: bigint): bigint => fits(W.divWadUp(x, y));

/** `array[i]` with Solidity's bounds check (an out-of-bounds read panics). */
function at(array: bigint[], i: number): bigint {
  if (i >= array.length) throw new Error(`array index out of bounds: ${i} of ${array.length}`);
  return array[i];
}

/** `MarginMath.initialWad`: initial requirement `Σ ⌈⌈|size|·P⌉·imr⌉`. */
export function initialWad(positions: PositionData[]): bigint {
  let requirement = 0n;
  for (const p of positions) requirement += mulWadUp(notionalWad(p.sizeWad, p.priceWad), p.imrWad);
  return requirement;
}

// ------------------------------------------------------------------------------------------- planning

/**
 * `RebalanceMath.closeOut`: closes every position of an account too small to rebalance economically
 * (deleverage allowed, equity positive but at most `CLOSE_OUT_MAX_REWARDS` rewards, every market has room);
 * else an empty plan.
 */
export function closeOut(s: AccountSnapshot, targetHealthWad: bigint): Plan {
  const plan = emptyPlan();
  const n = s.positions.length;
  if (!s.policy.allowDeleverage || n === 0 || s.equityWad <= 0n) return plan;
  if (!eligible(s.equityWad, s.keeperRewardTokens, s.scale)) return plan;
  const closes: CloseStep[] = [];
  for (let i = 0; i < n; i++) {
    const p = s.positions[i];
    if (notionalWad(p.sizeWad, p.priceWad) > at(s.deleverageRoomWad, i)) return plan;
    closes.push({ index: BigInt(i), sizeWad: p.sizeWad });
  }
  plan.targetHealthWad = targetHealthWad;
  plan.closes = closes;
  return plan;
}

/**
 * `RebalanceMath.planToTarget`: the cheapest plan that restores `targetHealthWad` after paying the keeper
 * reward (when out of reach, the one that comes closest), or an empty plan when there is nothing (worth)
 * doing. `preferDeleverage` plans closes before the top-up (turbulence).
 */
export function planToTarget(s: AccountSnapshot, targetHealthWad: bigint, preferDeleverage: boolean): Plan {
  const plan = emptyPlan();
  if (s.maintenanceWad === 0n) return plan;
  const rewardWad = toWad(s.keeperRewardTokens, s.scale);
  const gapWad = gap(s.equityWad, s.maintenanceWad, targetHealthWad, rewardWad);
  if (gapWad <= 0n) return plan;
  if (gapWad < rewardWad) return closeOut(s, targetHealthWad);

  let a = attempt(s, plan, targetHealthWad, preferDeleverage, gapWad);
  if (preferDeleverage && s.policy.allowTopUp && s.reserveTokens !== 0n && isShort(a)) {
    plan.topUpTokens = 0n;
    plan.closes = [];
    a = attempt(s, plan, targetHealthWad, false, gapWad);
  }

  if (
    (plan.topUpTokens === 0n && plan.closes.length === 0) ||
    a.marginTokens < s.keeperRewardTokens ||
    health(a.equityWad - rewardWad, a.maintenanceWad) <= s.healthWad
  ) {
    return closeOut(s, targetHealthWad);
  }
  plan.targetHealthWad = targetHealthWad;
  return plan;
}

/**
 * `RebalanceMath.planSweep`: margin beyond what `targetHealthWad` and the initial requirement need moves
 * back to reserve, or an empty plan.
 */
export function planSweep(s: AccountSnapshot, targetHealthWad: bigint): Plan {
  const plan = emptyPlan();
  if (s.policy.sweepHealthWad === 0n || s.healthWad < s.policy.sweepHealthWad) return plan;
  if (s.marginTokens <= s.keeperRewardTokens) return plan;
  const rewardWad = toWad(s.keeperRewardTokens, s.scale);
  const afterReward = s.equityWad - rewardWad;
  const aboveTarget = afterReward - mulWadUp(s.maintenanceWad, targetHealthWad);
  const aboveInitial = afterReward - s.initialWad;
  if (aboveTarget <= 0n || aboveInitial <= 0n) return plan;
  const freeWad = min(min(aboveTarget, aboveInitial), toWad(s.marginTokens - s.keeperRewardTokens, s.scale));
  const sweepTokens = toTokenDown(freeWad, s.scale);
  if (sweepTokens === 0n || toWad(sweepTokens, s.scale) < rewardWad) return plan;
  plan.targetHealthWad = targetHealthWad;
  plan.sweepTokens = sweepTokens;
  return plan;
}

/** `RebalanceMath.gap`: `G = h*·MM − (E − R)` (signed; `h*·MM` rounded up). */
export function gap(
  equityWad: bigint,
  maintenanceWad: bigint,
  targetHealthWad: bigint,
  rewardWad: bigint,
): bigint {
  return mulWadUp(maintenanceWad, targetHealthWad) - (equityWad - rewardWad);
}

/** `RebalanceMath.topUpFor`: `min(reserve, ⌈gap / scale⌉)` tokens, 0 without a gap. */
export function topUpFor(gapWad: bigint, reserveTokens: bigint, scale: bigint): bigint {
  if (gapWad <= 0n) return 0n;
  return min(reserveTokens, toTokenUp(gapWad, scale));
}

/**
 * `RebalanceMath.costOrder`: indices of the positions deleverage may close at `targetHealthWad`, cheapest
 * relief first (ascending `fee_i / r_i`, ties in index order; insertion sort).
 */
export function costOrder(positions: PositionData[], targetHealthWad: bigint): bigint[] {
  const order: number[] = [];
  const relief: bigint[] = [];
  let count = 0;
  for (let i = 0; i < positions.length; i++) {
    const p = positions[i];
    const gross = mulWadDown(targetHealthWad, p.mmrWad);
    if (p.sizeWad === 0n || gross <= p.feeWad) continue;
    const r = gross - p.feeWad;
    let j = count;
    while (j !== 0 && cheaper(p.feeWad, r, positions[order[j - 1]].feeWad, relief[j - 1])) {
      order[j] = order[j - 1];
      relief[j] = relief[j - 1];
      j--;
    }
    order[j] = i;
    relief[j] = r;
    count++;
  }
  return order.slice(0, count).map(BigInt);
}

// ----------------------------------------------------------------------------------------- simulation

/**
 * `RebalanceMath.healthPath`: health after each step of `plan` as the engine executes it: `[after top-up,
 * after close 1, …, after close k, final]` (the final entry also moves the sweep and pays the reward).
 */
export function healthPath(s: AccountSnapshot, plan: Plan): bigint[] {
  return run(s, plan).path;
}

/** `RebalanceMath.healthAfter`: health after `plan` executes and the keeper is paid. */
export function healthAfter(s: AccountSnapshot, plan: Plan): bigint {
  const path = healthPath(s, plan);
  return path[path.length - 1];
}

/**
 * `RebalanceMath.execute`: the snapshot of the account after `plan` executes, at the same prices. A fresh
 * snapshot (`s` is not modified); `policy` and `volatilityWad` are the very objects of `s`, as in Solidity.
 */
export function execute(s: AccountSnapshot, plan: Plan): AccountSnapshot {
  const { a, path } = run(s, plan);
  const n = s.positions.length;
  const positions: PositionData[] = [];
  const deleverageRoomWad: bigint[] = [];
  for (let i = 0; i < n; i++) {
    const p = s.positions[i];
    positions.push({
      marketId: p.marketId,
      sizeWad: a.sizesWad[i],
      entryPriceWad: p.entryPriceWad,
      priceWad: p.priceWad,
      imrWad: p.imrWad,
      mmrWad: p.mmrWad,
      feeWad: p.feeWad,
      penaltyWad: p.penaltyWad,
    });
    deleverageRoomWad.push(at(s.deleverageRoomWad, i));
  }
  for (const step of plan.closes) {
    const index = Number(step.index);
    const room = deleverageRoomWad[index];
    if (room === UINT256_MAX) continue;
    const closed = notionalWad(step.sizeWad, s.positions[index].priceWad);
    deleverageRoomWad[index] = room > closed ? room - closed : 0n;
  }
  return {
    account: s.account,
    marginTokens: a.marginTokens,
    reserveTokens: uint(s.reserveTokens - plan.topUpTokens) + plan.sweepTokens,
    equityWad: a.equityWad,
    maintenanceWad: a.maintenanceWad,
    initialWad: initialWad(positions),
    healthWad: path[path.length - 1],
    keeperRewardTokens: s.keeperRewardTokens,
    scale: s.scale,
    policy: s.policy,
    positions,
    volatilityWad: s.volatilityWad,
    deleverageRoomWad,
  };
}

/** `RebalanceMath._run`: executes `plan` on `s`: the account afterwards and the health after each step. */
function run(s: AccountSnapshot, plan: Plan): { a: Account; path: bigint[] } {
  const k = plan.closes.length;
  const path: bigint[] = new Array<bigint>(k + 2).fill(0n);
  if (plan.topUpTokens > s.reserveTokens) {
    throw new RebalanceMathError("RebalanceMathTopUpExceedsReserve", [plan.topUpTokens, s.reserveTokens]);
  }
  const a = load(s, 0n);
  a.marginTokens += plan.topUpTokens;
  a.equityWad += toWad(plan.topUpTokens, s.scale);
  path[0] = health(a.equityWad, a.maintenanceWad);

  for (let j = 0; j < k; j++) {
    const step = plan.closes[j];
    if (step.index >= BigInt(a.sizesWad.length)) {
      throw new RebalanceMathError("RebalanceMathInvalidClose", [step.index, step.sizeWad]);
    }
    const index = Number(step.index);
    const size = a.sizesWad[index];
    if (step.sizeWad === 0n || step.sizeWad > 0n !== size > 0n || abs(step.sizeWad) > abs(size)) {
      throw new RebalanceMathError("RebalanceMathInvalidClose", [step.index, step.sizeWad]);
    }
    const e = close(s.positions[index], size, step.sizeWad, a.equityWad, a.maintenanceWad, a.scale);
    if (e.netTokens < 0n && -e.netTokens > a.marginTokens) {
      throw new RebalanceMathError("RebalanceMathLossExceedsMargin", [-e.netTokens, a.marginTokens]);
    }
    commit(a, step, e);
    path[j + 1] = health(a.equityWad, a.maintenanceWad);
  }

  let outTokens = 0n;
  if (plan.sweepTokens !== 0n) {
    outTokens = plan.sweepTokens + s.keeperRewardTokens;
  } else if (plan.topUpTokens !== 0n || k !== 0) {
    // A close-out pays the keeper at most what the margin has left (CloseOutRule).
    outTokens = keeperReward(
      a.marginTokens,
      s.keeperRewardTokens,
      k !== 0 && allClosed(a.sizesWad),
    ).paidTokens;
  }
  if (outTokens > a.marginTokens) {
    throw new RebalanceMathError("RebalanceMathInsufficientMargin", [outTokens, a.marginTokens]);
  }
  a.marginTokens -= outTokens;
  a.equityWad -= toWad(outTokens, s.scale);
  path[k + 1] = health(a.equityWad, a.maintenanceWad);
  return { a, path };
}

// ------------------------------------------------------------------------------------------- private

/** `_attempt`: steps 2–4 of `planToTarget` into the empty `plan` (top-up, closes); the account after. */
function attempt(
  s: AccountSnapshot,
  plan: Plan,
  targetHealthWad: bigint,
  closesFirst: boolean,
  gapWad: bigint,
): Account {
  let a = load(s, targetHealthWad);
  if (s.policy.allowTopUp && !closesFirst) {
    plan.topUpTokens = topUp(a, s.reserveTokens, gapWad);
    gapWad -= plan.topUpTokens * s.scale; // the gap is linear in equity
  }
  if (s.policy.allowDeleverage && gapWad > 0n) {
    const result = deleverage(s, a, plan.topUpTokens);
    plan.closes = result.closes;
    a = result.account;
  }
  if (s.policy.allowTopUp && closesFirst) {
    gapWad = gapLeft(a);
    if (gapWad > 0n) plan.topUpTokens = topUp(a, s.reserveTokens, gapWad);
  }
  return a;
}

/** `_gapLeft`: the gap of `a`. */
function gapLeft(a: Account): bigint {
  return gap(a.equityWad, a.maintenanceWad, a.targetHealthWad, a.rewardWad);
}

/** `_topUp`: tops up `topUpFor(gapWad, reserveTokens, scale)` tokens into `a`. */
function topUp(a: Account, reserveTokens: bigint, gapWad: bigint): bigint {
  const topUpTokens = topUpFor(gapWad, reserveTokens, a.scale);
  a.marginTokens += topUpTokens;
  a.equityWad += toWad(topUpTokens, a.scale);
  return topUpTokens;
}

/** `_deleverage`: the deleverage passes from `a` (after `topUpTokens`): closes, and the account after. */
function deleverage(
  s: AccountSnapshot,
  a: Account,
  topUpTokens: bigint,
): { closes: CloseStep[]; account: Account } {
  const order = costOrder(s.positions, a.targetHealthWad).map(Number);
  let steps: CloseStep[] = [];
  let count = pass(s, a, order, steps, 0);
  let gapWad = gapLeft(a);
  if (gapWad > 0n) {
    count = pass(s, a, order, steps, count);
    gapWad = gapLeft(a);
  }
  if (gapWad > 0n || shortfall(a) !== 0n) {
    const b = load(s, a.targetHealthWad);
    b.marginTokens += topUpTokens;
    b.equityWad += toWad(topUpTokens, s.scale);
    b.rewardFirst = true;
    const marginSteps: CloseStep[] = [];
    const marginCount = pass(s, b, marginOrder(s, b, order), marginSteps, 0);
    const unpaid = shortfall(a) !== 0n;
    const takeB = unpaid !== (shortfall(b) !== 0n) ? unpaid : gapLeft(b) < gapLeft(a);
    if (takeB) {
      a = b;
      steps = marginSteps;
      count = marginCount;
    }
  }
  return { closes: steps.slice(0, count), account: a };
}

/** `_pass`: a greedy pass over `order` on `a` (rooms less earlier steps'), appended to `steps` at `count`. */
function pass(s: AccountSnapshot, a: Account, order: number[], steps: CloseStep[], count: number): number {
  for (let k = 0; k < order.length; k++) {
    const gapWad = gapLeft(a);
    if (gapWad <= 0n && (!a.rewardFirst || shortfall(a) === 0n)) break;
    const i = order[k];
    let room = at(s.deleverageRoomWad, i);
    for (let j = 0; j < count && room !== UINT256_MAX; j++) {
      if (steps[j].index === BigInt(i))
        room = uint(room - notionalWad(steps[j].sizeWad, s.positions[i].priceWad));
    }
    const step = closeStep(a, s.positions[i], i, gapWad > 0n ? gapWad : 0n, room);
    if (step.sizeWad !== 0n) steps[count++] = step;
  }
  return count;
}

/** `_marginOrder`: `order` (cost order) in margin order (ties keep cost order); insertion sort. */
function marginOrder(s: AccountSnapshot, a: Account, order: number[]): number[] {
  const n = order.length;
  const score: bigint[] = new Array<bigint>(n).fill(0n);
  const out: number[] = new Array<number>(n).fill(0);
  for (let k = 0; k < n; k++) {
    const p = s.positions[order[k]];
    const net = netCostPerSize(p, a.sizesWad[order[k]]);
    const relief = mulWadDown(p.priceWad, healthRelief(p, a.targetHealthWad)) + 1n;
    // Net cost: relief per unit of it (< 2**200); else first, the most gain per unit of relief first.
    score[k] = net > 0n ? divWadDown(relief, net) : (1n << 200n) + divWadDown(-net, relief);
    let j = k;
    while (j !== 0 && score[k] > score[out[j - 1]]) {
      out[j] = out[j - 1];
      j--;
    }
    out[j] = k;
  }
  for (let k = 0; k < n; k++) out[k] = order[out[k]];
  return out;
}

/**
 * `_close`: sizes the close of position `i` for `gapWad` and applies it to `a`; size 0 if none or if it
 * would lower health at its step.
 */
function closeStep(a: Account, p: PositionData, i: number, gapWad: bigint, roomWad: bigint): CloseStep {
  const step: CloseStep = { index: BigInt(i), sizeWad: 0n };
  const size = a.sizesWad[i];
  const closeAbs = closeSize(a, p, i, gapWad, roomWad);
  if (closeAbs === 0n) return step;
  const closeWad = size > 0n ? closeAbs : -closeAbs;
  const e = close(p, size, closeWad, a.equityWad, a.maintenanceWad, a.scale);
  if (health(e.equityAfterWad, e.maintenanceAfterWad) < health(a.equityWad, a.maintenanceWad)) return step;
  step.sizeWad = closeWad;
  commit(a, step, e);
  return step;
}

/** `_closeSize`: size (magnitude) to close in position `i` for `gapWad`. */
function closeSize(a: Account, p: PositionData, i: number, gapWad: bigint, roomWad: bigint): bigint {
  const sizeAbs = abs(a.sizesWad[i]);
  const reliefWad = healthRelief(p, a.targetHealthWad);
  const notional = divWadUp(gapWad + a.scale + CLOSE_ROUNDING_SLACK_WAD, reliefWad);
  let closeAbs = divWadUp(notional, p.priceWad);
  const shortWad = shortfall(a);
  if (shortWad !== 0n && a.rewardFirst) {
    const net = netCostPerSize(p, a.sizesWad[i]);
    if (net >= 0n && gapWad === 0n) return 0n;
    if (net < 0n) closeAbs = max(closeAbs, divWadUp(shortWad + a.scale + 4n, -net));
  }
  closeAbs = min(closeAbs, sizeAbs);
  if (roomWad !== UINT256_MAX) closeAbs = min(closeAbs, divWadDown(roomWad, p.priceWad));
  closeAbs = min(closeAbs, payableSize(a, p, a.sizesWad[i]));
  return closeAbs;
}

/**
 * `_payableSize`: largest close of a position of size `sizeWad` the margin pays, keeping the reward
 * (`(margin − R − 4) / k`); unlimited for a net gain per unit, and for k = 0 when anything is payable.
 */
function payableSize(a: Account, p: PositionData, sizeWad: bigint): bigint {
  const net = netCostPerSize(p, sizeWad);
  if (net < 0n) return UINT256_MAX;
  let payableWad = toWad(a.marginTokens, a.scale);
  payableWad = payableWad > a.rewardWad + 4n ? payableWad - a.rewardWad - 4n : 0n;
  if (net === 0n) return payableWad === 0n ? 0n : UINT256_MAX;
  return divWadDown(payableWad, net);
}

/** `_netCostPerSize`: fee `⌈P·fee⌉` plus the loss or minus the gain per unit of size (< 0: a net gain). */
function netCostPerSize(p: PositionData, sizeWad: bigint): bigint {
  const move = p.priceWad - p.entryPriceWad;
  return mulWadUp(p.priceWad, p.feeWad) - (sizeWad > 0n ? move : -move);
}

/** `_shortfall`: what the margin of `a` lacks to pay the keeper reward (WAD), 0 if nothing. */
function shortfall(a: Account): bigint {
  const marginWad = toWad(a.marginTokens, a.scale);
  return a.rewardWad > marginWad ? a.rewardWad - marginWad : 0n;
}

/** `_short`: whether `a` is short of the target or cannot pay the keeper reward. */
function isShort(a: Account): boolean {
  return gapLeft(a) > 0n || shortfall(a) !== 0n;
}

/**
 * `_commit`: writes a close, with its effect `e`, into `a`. The margin is `uint256(int256(margin) + net)`,
 * which wraps (no revert) should a planned close ever realise more than the margin, as in Solidity.
 */
function commit(a: Account, step: CloseStep, e: CloseEffect): void {
  const margin = a.marginTokens + e.netTokens;
  a.marginTokens = margin < 0n ? margin + UINT256_MAX + 1n : margin;
  a.equityWad = e.equityAfterWad;
  a.maintenanceWad = e.maintenanceAfterWad;
  a.sizesWad[Number(step.index)] -= step.sizeWad;
}

/** `_load`: the snapshot as a mutable account (sizes copied: the snapshot is never modified). */
function load(s: AccountSnapshot, target: bigint): Account {
  return {
    marginTokens: s.marginTokens,
    equityWad: s.equityWad,
    maintenanceWad: s.maintenanceWad,
    sizesWad: s.positions.map((p) => p.sizeWad),
    scale: s.scale,
    rewardWad: toWad(s.keeperRewardTokens, s.scale),
    targetHealthWad: target,
    rewardFirst: false,
  };
}

/** `_cheaper`: whether relief `ra` at fee `fa` is strictly cheaper per unit than relief `rb` at fee `fb`. */
function cheaper(fa: bigint, ra: bigint, fb: bigint, rb: bigint): boolean {
  return fa * rb < fb * ra;
}
