/**
 * The rebalance strategies in BigInt, for the fast engine:
 * - `thresholdPlan`: `ThresholdPlanner.plan` (contracts/libraries/ThresholdPlanner.sol), the rule both
 *   `ThresholdStrategy` and the engine's built-in planner apply;
 * - `VolatilityScaledStrategyModel`: `VolatilityScaledStrategy` (contracts/strategies/VolatilityScaledStrategy.sol).
 *
 * Bit-exact with the contracts: same decisions, same rounding, same order of operations; they throw where
 * the contracts revert (an `Error` whose message starts with the custom error's name).
 */
import { distanceForProbabilityWad, hitProbabilityWad } from "./riskMath";
import { execute, planSweep, planToTarget } from "./rebalanceMath";
import { emptyPlan, type AccountSnapshot, type Plan } from "./types";
import { WAD, divWadUp, mulWadUp, notionalWad } from "./wad";

/**
 * `ThresholdPlanner.plan`: below the trigger health, restore the policy's target (top-up first); else
 * sweep to it when at or above the sweep health; else an empty plan.
 */
export function thresholdPlan(s: AccountSnapshot): Plan {
  if (s.healthWad < s.policy.triggerHealthWad) {
    return planToTarget(s, s.policy.targetHealthWad, false);
  }
  return planSweep(s, s.policy.targetHealthWad);
}

/** `VolatilityScaledStrategy.MAX_HORIZON`: longest accepted horizon (365 days). */
export const MAX_HORIZON = 365n * 24n * 3600n;
/** `VolatilityScaledStrategy.MAX_TURBULENCE_MULTIPLIER`: largest turbulence target multiplier (WAD). */
export const MAX_TURBULENCE_MULTIPLIER = 4n * WAD;
/** `VolatilityScaledStrategy.MAX_PLAN_ROUNDS`: most planning rounds of one restore. */
export const MAX_PLAN_ROUNDS = 4;
/** `VolatilityScaledStrategy.TARGET_ROUND_TOLERANCE`: a plan this close to its own need is kept (WAD). */
export const TARGET_ROUND_TOLERANCE = 10n ** 15n;

/** The parameters of a `VolatilityScaledStrategy` deployment. */
export interface VolatilityScaledParams {
  pMaxWad: bigint;
  pTargetWad: bigint;
  horizonSeconds: bigint;
  turbulenceVolatilityWad: bigint;
  turbulenceTargetMultiplierWad: bigint;
}

/**
 * `VolatilityScaledStrategy`: rebalances on the probability of touching liquidation within a horizon (see
 * `IVolatilityScaledStrategy` for the model). Immutable, like the contract.
 */
export class VolatilityScaledStrategyModel {
  readonly pMaxWad: bigint;
  readonly pTargetWad: bigint;
  readonly horizonSeconds: bigint;
  readonly turbulenceVolatilityWad: bigint;
  readonly turbulenceTargetMultiplierWad: bigint;
  /** `D* / σ_p = Φ⁻¹(1 − pTarget/2)·√(τ/year)` (WAD, rounded up). */
  readonly distancePerRiskWad: bigint;

  /** The constructor's checks and the distance per unit of risk, as the contract's constructor. */
  constructor(
    pMaxWad: bigint,
    pTargetWad: bigint,
    horizonSeconds: bigint,
    turbulenceVolatilityWad: bigint,
    turbulenceTargetMultiplierWad: bigint,
  ) {
    if (pTargetWad === 0n || pTargetWad >= pMaxWad || pMaxWad >= WAD) {
      throw new Error(`VolatilityScaledStrategyInvalidProbabilities(${pMaxWad}, ${pTargetWad})`);
    }
    if (horizonSeconds === 0n || horizonSeconds > MAX_HORIZON) {
      throw new Error(`VolatilityScaledStrategyInvalidHorizon(${horizonSeconds})`);
    }
    if (
      turbulenceVolatilityWad === 0n ||
      turbulenceTargetMultiplierWad < WAD ||
      turbulenceTargetMultiplierWad > MAX_TURBULENCE_MULTIPLIER
    ) {
      throw new Error(
        `VolatilityScaledStrategyInvalidTurbulence(${turbulenceVolatilityWad}, ${turbulenceTargetMultiplierWad})`,
      );
    }
    this.pMaxWad = pMaxWad;
    this.pTargetWad = pTargetWad;
    this.horizonSeconds = horizonSeconds;
    this.turbulenceVolatilityWad = turbulenceVolatilityWad;
    this.turbulenceTargetMultiplierWad = turbulenceTargetMultiplierWad;
    this.distancePerRiskWad = distanceForProbabilityWad(pTargetWad, WAD, horizonSeconds);
  }

  /** A model from a parameter record (same order and checks as the constructor). */
  static from(p: VolatilityScaledParams): VolatilityScaledStrategyModel {
    return new VolatilityScaledStrategyModel(
      p.pMaxWad,
      p.pTargetWad,
      p.horizonSeconds,
      p.turbulenceVolatilityWad,
      p.turbulenceTargetMultiplierWad,
    );
  }

  /**
   * `plan`: restore (`P_hit > pMax` or health < trigger) to `h*`, deleverage first in turbulence; else
   * sweep to `h*` when health ≥ sweep health and `P_hit ≤ pTarget`; else nothing.
   */
  plan(s: AccountSnapshot): Plan {
    if (s.maintenanceWad === 0n) return planSweep(s, s.policy.targetHealthWad);
    const riskWad = this.portfolioRiskWad(s);
    const pHitWad = this.hitProbabilityFor(s, riskWad);
    const { targetHealthWad, turbulent } = this.targetHealthFor(s, riskWad);
    if (pHitWad > this.pMaxWad || s.healthWad < s.policy.triggerHealthWad) {
      return this.restore(s, targetHealthWad, turbulent);
    }
    if (pHitWad > this.pTargetWad) return emptyPlan();
    return planSweep(s, targetHealthWad);
  }

  /** `hitProbability`: `2·Φ(−D / (σ_p·√(τ/year)))`; 1e18 when `D ≤ 0`; 0 without positions. */
  hitProbability(s: AccountSnapshot): bigint {
    if (s.maintenanceWad === 0n) return 0n;
    return this.hitProbabilityFor(s, this.portfolioRiskWad(s));
  }

  /** `portfolioRiskWad`: `σ_p = Σ ⌈⌈|size_i·P_i|⌉·σ_i⌉`. */
  portfolioRiskWad(s: AccountSnapshot): bigint {
    let riskWad = 0n;
    for (let i = 0; i < s.positions.length; i++) {
      const p = s.positions[i];
      riskWad += mulWadUp(notionalWad(p.sizeWad, p.priceWad), volatilityAt(s, i));
    }
    return riskWad;
  }

  /** `targetHealth`: the health a restore would aim for, and whether the account is in turbulence. */
  targetHealth(s: AccountSnapshot): { targetHealthWad: bigint; turbulent: boolean } {
    return this.targetHealthFor(s, this.portfolioRiskWad(s));
  }

  /**
   * `_restore`: the restore plan whose outcome meets its own `h*`, iterating the target from the
   * snapshot's `h*` for at most `MAX_PLAN_ROUNDS` plans (see the contract).
   */
  private restore(s: AccountSnapshot, targetHealthWad: bigint, turbulent: boolean): Plan {
    let best = emptyPlan();
    let consistent = false;
    for (let round = 0; round < MAX_PLAN_ROUNDS; round++) {
      const p = planToTarget(s, targetHealthWad, turbulent);
      if (p.closes.length === 0) return consistent ? best : p;
      const next = execute(s, p);
      if (next.healthWad < p.targetHealthWad) {
        if (consistent) return best;
        // Out of reach: report what the plan restores as its target when that meets the policy's.
        if (next.healthWad >= s.policy.targetHealthWad) p.targetHealthWad = next.healthWad;
        return p;
      }
      const neededWad = this.targetHealthFor(next, this.portfolioRiskWad(next)).targetHealthWad;
      if (neededWad <= next.healthWad) {
        if (!consistent || targetHealthWad < best.targetHealthWad) best = p;
        consistent = true;
        // Close enough to its own need: a lower target could save little.
        if (neededWad + TARGET_ROUND_TOLERANCE >= targetHealthWad) break;
      } else if (!consistent) {
        best = p;
      }
      targetHealthWad = neededWad;
    }
    return best;
  }

  /** `_hitProbability`: `P_hit` for distance `E − MM` and risk `riskWad`. */
  private hitProbabilityFor(s: AccountSnapshot, riskWad: bigint): bigint {
    return hitProbabilityWad(s.equityWad - s.maintenanceWad, riskWad, this.horizonSeconds);
  }

  /** `_targetHealth`: `h* = max(policy target, 1 + D* / MM)` (rounded up), times the multiplier in turbulence. */
  private targetHealthFor(
    s: AccountSnapshot,
    riskWad: bigint,
  ): { targetHealthWad: bigint; turbulent: boolean } {
    let targetHealthWad = s.policy.targetHealthWad;
    if (s.maintenanceWad !== 0n) {
      const distanceWad = mulWadUp(riskWad, this.distancePerRiskWad);
      const riskTarget = WAD + divWadUp(distanceWad, s.maintenanceWad);
      if (riskTarget > targetHealthWad) targetHealthWad = riskTarget;
    }
    let turbulent = false;
    for (let i = 0; i < s.positions.length; i++) {
      if (s.positions[i].sizeWad !== 0n && volatilityAt(s, i) > this.turbulenceVolatilityWad)
        turbulent = true;
    }
    if (turbulent) targetHealthWad = mulWadUp(targetHealthWad, this.turbulenceTargetMultiplierWad);
    return { targetHealthWad, turbulent };
  }
}

/** `s.volatilityWad[i]` with Solidity's bounds check. */
function volatilityAt(s: AccountSnapshot, i: number): bigint {
  if (i >= s.volatilityWad.length)
    throw new Error(`array index out of bounds: ${i} of ${s.volatilityWad.length}`);
  return s.volatilityWad[i];
}
