/**
 * `RebalanceValidation` (contracts/libraries/RebalanceValidation.sol) in BigInt, bit-exact: the engine's
 * check of a strategy's plan and the effect it computes for the execution (health after, deleveraged
 * notional, trader delta, keeper reward, the effect of each close).
 */
import { type CloseEffect, close, feeOn } from "./closeMath";
import { allClosed, eligible, keeperReward } from "./closeOutRule";
import type { AccountSnapshot, CloseStep, Plan } from "./types";
import { WAD, abs, health, pnlWad, type PositionData } from "./wad";

export const OVERSHOOT_TOLERANCE = 2n * 10n ** 16n;
export const ROUNDING_TOLERANCE = 10n ** 13n;
export const MAX_PLAN_TARGET = 20n * WAD;
const UINT_MAX = 2n ** 256n - 1n;

/** `IMarginEngine.PlanError`, by name. */
export type PlanError =
  | "TargetBelowPolicy"
  | "TargetTooHigh"
  | "TopUpNotAllowed"
  | "TopUpExceedsReserve"
  | "DeleverageNotAllowed"
  | "InvalidClose"
  | "DeleverageCapExceeded"
  | "StepLowersHealth"
  | "Overshoot"
  | "Undershoot"
  | "NoImprovement"
  | "SweepNotAllowed"
  | "SweepTooLarge"
  | "LossExceedsMargin";

export interface ValidationResult {
  healthAfterWad: bigint;
  deleveragedNotionalWad: bigint;
  traderDeltaTokens: bigint;
  rewardTokens: bigint;
  capped: boolean;
  closes: CloseEffect[];
}

export type CheckOutcome = { ok: true; result: ValidationResult } | { ok: false; error: PlanError };

interface Sim {
  equityWad: bigint;
  maintenanceWad: bigint;
  healthWad: bigint;
  marginTokens: bigint;
  sizes: bigint[];
  closedNotional: bigint[];
  closes: CloseEffect[];
}

const emptyResult = (): ValidationResult => ({
  healthAfterWad: 0n,
  deleveragedNotionalWad: 0n,
  traderDeltaTokens: 0n,
  rewardTokens: 0n,
  capped: false,
  closes: [],
});

export function isEmpty(plan: Plan): boolean {
  return plan.topUpTokens === 0n && plan.sweepTokens === 0n && plan.closes.length === 0;
}

/** `RebalanceValidation.check`. */
export function check(snap: AccountSnapshot, plan: Plan): CheckOutcome {
  if (plan.sweepTokens !== 0n) return checkSweep(snap, plan);
  const permission = checkPermissions(snap, plan);
  if (permission !== undefined) return { ok: false, error: permission };

  const sim = startSim(snap, plan);
  for (let k = 0; k < plan.closes.length; k++) {
    const stepError = simulateClose(snap, sim, plan.closes[k], k);
    if (stepError !== undefined) return { ok: false, error: stepError };
  }
  const r = emptyResult();
  r.closes = sim.closes;
  if (plan.closes.length !== 0) r.deleveragedNotionalWad = sim.closedNotional.reduce((a, b) => a + b, 0n);
  const marginBeforeReward = sim.marginTokens;
  r.traderDeltaTokens = marginBeforeReward - (snap.marginTokens + plan.topUpTokens);
  const closedOut = allClosed(sim.sizes);
  const reward = keeperReward(marginBeforeReward, snap.keeperRewardTokens, closedOut);
  r.rewardTokens = reward.paidTokens;
  if (!reward.affordable) return { ok: false, error: "NoImprovement" };
  r.healthAfterWad = health(sim.equityWad - r.rewardTokens * snap.scale, sim.maintenanceWad);

  if (r.healthAfterWad <= snap.healthWad) return { ok: false, error: "NoImprovement" };
  if (closedOut) {
    if (!eligible(snap.equityWad, snap.keeperRewardTokens, snap.scale))
      return { ok: false, error: "Overshoot" };
    return { ok: true, result: r };
  }
  if (r.healthAfterWad > plan.targetHealthWad + OVERSHOOT_TOLERANCE) return { ok: false, error: "Overshoot" };
  if (r.healthAfterWad + ROUNDING_TOLERANCE < plan.targetHealthWad) {
    const marginLeft = marginBeforeReward - r.rewardTokens;
    if (!exhausted(snap, plan, sim, marginLeft)) return { ok: false, error: "Undershoot" };
    r.capped = anyCapped(snap, sim.sizes, sim.closedNotional);
  }
  return { ok: true, result: r };
}

function checkPermissions(snap: AccountSnapshot, plan: Plan): PlanError | undefined {
  const policy = snap.policy;
  if (plan.targetHealthWad < policy.targetHealthWad) return "TargetBelowPolicy";
  if (plan.targetHealthWad > MAX_PLAN_TARGET) return "TargetTooHigh";
  if (plan.topUpTokens !== 0n) {
    if (!policy.allowTopUp) return "TopUpNotAllowed";
    if (plan.topUpTokens > snap.reserveTokens) return "TopUpExceedsReserve";
  }
  if (plan.closes.length !== 0 && !policy.allowDeleverage) return "DeleverageNotAllowed";
  return undefined;
}

function checkSweep(snap: AccountSnapshot, plan: Plan): CheckOutcome {
  const policy = snap.policy;
  if (
    plan.topUpTokens !== 0n ||
    plan.closes.length !== 0 ||
    policy.sweepHealthWad === 0n ||
    snap.healthWad < policy.sweepHealthWad
  ) {
    return { ok: false, error: "SweepNotAllowed" };
  }
  const r = emptyResult();
  r.rewardTokens = snap.keeperRewardTokens;
  const outflow = plan.sweepTokens + r.rewardTokens;
  if (outflow > snap.marginTokens) return { ok: false, error: "SweepTooLarge" };
  const equityAfter = snap.equityWad - outflow * snap.scale;
  r.healthAfterWad = health(equityAfter, snap.maintenanceWad);
  if (equityAfter < snap.initialWad || r.healthAfterWad < policy.targetHealthWad) {
    return { ok: false, error: "SweepTooLarge" };
  }
  return { ok: true, result: r };
}

function startSim(snap: AccountSnapshot, plan: Plan): Sim {
  const marginTokens = snap.marginTokens + plan.topUpTokens;
  const equityWad = snap.equityWad + plan.topUpTokens * snap.scale;
  return {
    marginTokens,
    equityWad,
    maintenanceWad: snap.maintenanceWad,
    healthWad: health(equityWad, snap.maintenanceWad),
    sizes: snap.positions.map((p) => p.sizeWad),
    closedNotional: snap.positions.map(() => 0n),
    closes: [],
  };
}

function simulateClose(snap: AccountSnapshot, sim: Sim, step: CloseStep, k: number): PlanError | undefined {
  const index = Number(step.index);
  if (BigInt(step.index) >= BigInt(snap.positions.length)) return "InvalidClose";
  const size = sim.sizes[index];
  const c = step.sizeWad;
  if (c === 0n || c > 0n !== size > 0n || abs(c) > abs(size)) return "InvalidClose";
  const e = close(snap.positions[index], size, c, sim.equityWad, sim.maintenanceWad, snap.scale);
  sim.closedNotional[index] += e.notionalWad;
  if (sim.closedNotional[index] > snap.deleverageRoomWad[index]) return "DeleverageCapExceeded";
  if (e.netTokens < 0n && -e.netTokens > sim.marginTokens) return "LossExceedsMargin";
  sim.marginTokens = sim.marginTokens + e.netTokens;
  sim.equityWad = e.equityAfterWad;
  sim.maintenanceWad = e.maintenanceAfterWad;
  sim.sizes[index] = size - c;
  sim.closes[k] = e;
  const h = health(sim.equityWad, sim.maintenanceWad);
  if (h < sim.healthWad) return "StepLowersHealth";
  sim.healthWad = h;
  return undefined;
}

function exhausted(snap: AccountSnapshot, plan: Plan, sim: Sim, marginLeftTokens: bigint): boolean {
  if (snap.policy.allowTopUp && plan.topUpTokens < snap.reserveTokens) return false;
  if (!snap.policy.allowDeleverage) return true;
  const marginSpent = marginLeftTokens <= BigInt(plan.closes.length + 1);
  for (let i = 0; i < sim.sizes.length; i++) {
    if (sim.sizes[i] === 0n) continue;
    const room = snap.deleverageRoomWad[i];
    if (room !== UINT_MAX && room - sim.closedNotional[i] <= unitNotional(snap.positions[i])) continue;
    if (marginSpent && closeLoses(snap.positions[i], sim.sizes[i])) continue;
    return false;
  }
  return true;
}

function closeLoses(p: PositionData, size: bigint): boolean {
  const { feeWad } = feeOn(size, p.priceWad, p.feeWad);
  return pnlWad(size, p.entryPriceWad, p.priceWad) < feeWad;
}

/** `RebalanceValidation.anyCapped`. */
export function anyCapped(snap: AccountSnapshot, sizes: bigint[], closedNotional: bigint[]): boolean {
  for (let i = 0; i < sizes.length; i++) {
    if (sizes[i] === 0n) continue;
    const room = snap.deleverageRoomWad[i];
    if (room !== UINT_MAX && room - closedNotional[i] <= unitNotional(snap.positions[i])) return true;
  }
  return false;
}

const unitNotional = (p: PositionData): bigint => p.priceWad / WAD + 1n;
