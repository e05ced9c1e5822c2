// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IRebalanceStrategy} from "../interfaces/IRebalanceStrategy.sol";
import {IVolatilityScaledStrategy} from "../interfaces/IVolatilityScaledStrategy.sol";
import {AccountSnapshot, Plan} from "../interfaces/RebalanceTypes.sol";
import {ConstantsLib} from "../libraries/ConstantsLib.sol";
import {MarginMath} from "../libraries/MarginMath.sol";
import {RebalanceMath} from "../libraries/RebalanceMath.sol";
import {RiskMath} from "../libraries/RiskMath.sol";
import {WadMath} from "../libraries/WadMath.sol";

/// @title VolatilityScaledStrategy
/// @notice Rebalances on the probability of touching liquidation within a horizon; see
///         `IVolatilityScaledStrategy` for the model.
/// @dev Stateless; every parameter is immutable. `D*` is linear in `σ_p`, so the distance per unit of risk,
///      `z_t·√(τ/year)`, is computed once at deployment (rounded up: a larger buffer is conservative).
contract VolatilityScaledStrategy is IVolatilityScaledStrategy {
    using WadMath for uint256;

    /// @notice Longest accepted horizon.
    uint256 public constant MAX_HORIZON = 365 days;
    /// @notice Largest accepted turbulence target multiplier (WAD).
    uint256 public constant MAX_TURBULENCE_MULTIPLIER = 4e18;
    /// @notice Most planning rounds of one restore (see `_restore`).
    uint256 public constant MAX_PLAN_ROUNDS = 4;
    /// @notice A restore plan whose outcome needs at most this much less health than its target is not
    ///         re-planned to a lower target (WAD).
    uint256 public constant TARGET_ROUND_TOLERANCE = 0.001e18;

    uint256 private immutable _pMaxWad;
    uint256 private immutable _pTargetWad;
    uint256 private immutable _horizonSeconds;
    uint256 private immutable _turbulenceVolatilityWad;
    uint256 private immutable _turbulenceTargetMultiplierWad;
    /// @dev `D* / σ_p = Φ⁻¹(1 − pTarget/2)·√(τ/year)` (WAD, rounded up).
    uint256 private immutable _distancePerRiskWad;

    /// @param pMaxWad_ Hit probability above which to rebalance (WAD, e.g. 0.01e18).
    /// @param pTargetWad_ Hit probability to restore (WAD, below `pMaxWad_`, e.g. 0.001e18).
    /// @param horizonSeconds_ Horizon `τ` (seconds, e.g. 6 hours).
    /// @param turbulenceVolatilityWad_ Volatility above which an account is turbulent (WAD, e.g. 1.2e18).
    /// @param turbulenceTargetMultiplierWad_ Target health factor in turbulence (WAD, ≥ 1e18, e.g. 1.5e18).
    constructor(
        uint256 pMaxWad_,
        uint256 pTargetWad_,
        uint256 horizonSeconds_,
        uint256 turbulenceVolatilityWad_,
        uint256 turbulenceTargetMultiplierWad_
    ) {
        if (pTargetWad_ == 0 || pTargetWad_ >= pMaxWad_ || pMaxWad_ >= ConstantsLib.WAD) {
            revert VolatilityScaledStrategyInvalidProbabilities(pMaxWad_, pTargetWad_);
        }
        if (horizonSeconds_ == 0 || horizonSeconds_ > MAX_HORIZON) {
            revert VolatilityScaledStrategyInvalidHorizon(horizonSeconds_);
        }
        if (
            turbulenceVolatilityWad_ == 0 ||
            turbulenceTargetMultiplierWad_ < ConstantsLib.WAD ||
            turbulenceTargetMultiplierWad_ > MAX_TURBULENCE_MULTIPLIER
        ) revert VolatilityScaledStrategyInvalidTurbulence(turbulenceVolatilityWad_, turbulenceTargetMultiplierWad_);
        _pMaxWad = pMaxWad_;
        _pTargetWad = pTargetWad_;
        _horizonSeconds = horizonSeconds_;
        _turbulenceVolatilityWad = turbulenceVolatilityWad_;
        _turbulenceTargetMultiplierWad = turbulenceTargetMultiplierWad_;
        _distancePerRiskWad = RiskMath.distanceForProbabilityWad(pTargetWad_, ConstantsLib.WAD, horizonSeconds_);
        emit VolatilityScaledStrategyDeployed(
            pMaxWad_,
            pTargetWad_,
            horizonSeconds_,
            turbulenceVolatilityWad_,
            turbulenceTargetMultiplierWad_
        );
    }

    /// @inheritdoc IRebalanceStrategy
    /// @dev Restore (`P_hit > pMax` or health < trigger) to `h*`, deleverage first in turbulence; else sweep
    ///      to `h*` when health ≥ sweep health and `P_hit ≤ pTarget`; else nothing.
    function plan(AccountSnapshot calldata snapshot) external view returns (Plan memory) {
        AccountSnapshot memory s = snapshot;
        if (s.maintenanceWad == 0) return RebalanceMath.planSweep(s, s.policy.targetHealthWad);
        uint256 riskWad = _portfolioRisk(s);
        uint256 pHitWad = _hitProbability(s, riskWad);
        (uint256 targetHealthWad, bool turbulent) = _targetHealth(s, riskWad);
        if (pHitWad > _pMaxWad || s.healthWad < s.policy.triggerHealthWad) {
            return _restore(s, targetHealthWad, turbulent);
        }
        Plan memory nothing;
        if (pHitWad > _pTargetWad) return nothing;
        return RebalanceMath.planSweep(s, targetHealthWad);
    }

    /// @inheritdoc IRebalanceStrategy
    /// @dev `2·Φ(−D / (σ_p·√(τ/year)))`; 1e18 when `D ≤ 0`; 0 without positions.
    function hitProbability(AccountSnapshot calldata snapshot) external view returns (uint256) {
        AccountSnapshot memory s = snapshot;
        if (s.maintenanceWad == 0) return 0;
        return _hitProbability(s, _portfolioRisk(s));
    }

    /// @inheritdoc IRebalanceStrategy
    function usesVolatility() external pure returns (bool) {
        return true;
    }

    /// @inheritdoc IRebalanceStrategy
    function name() external pure returns (string memory) {
        return "volatility-scaled";
    }

    /// @inheritdoc IVolatilityScaledStrategy
    function pMaxWad() external view returns (uint256) {
        return _pMaxWad;
    }

    /// @inheritdoc IVolatilityScaledStrategy
    function pTargetWad() external view returns (uint256) {
        return _pTargetWad;
    }

    /// @inheritdoc IVolatilityScaledStrategy
    function horizonSeconds() external view returns (uint256) {
        return _horizonSeconds;
    }

    /// @inheritdoc IVolatilityScaledStrategy
    function turbulenceVolatilityWad() external view returns (uint256) {
        return _turbulenceVolatilityWad;
    }

    /// @inheritdoc IVolatilityScaledStrategy
    function turbulenceTargetMultiplierWad() external view returns (uint256) {
        return _turbulenceTargetMultiplierWad;
    }

    /// @inheritdoc IVolatilityScaledStrategy
    function portfolioRiskWad(AccountSnapshot calldata snapshot) external pure returns (uint256) {
        return _portfolioRisk(snapshot);
    }

    /// @inheritdoc IVolatilityScaledStrategy
    function targetHealth(
        AccountSnapshot calldata snapshot
    ) external view returns (uint256 targetHealthWad, bool turbulent) {
        AccountSnapshot memory s = snapshot;
        return _targetHealth(s, _portfolioRisk(s));
    }

    /// @dev Restore plan whose outcome meets its own `h*`. Closes in cost order change the account's mix, and
    ///      with it `σ_p/MM` and `h*`: more risk per unit of maintenance left behind would let `P_hit` exceed
    ///      `pMax` again (a second restore), less would leave margin for a sweep. So the target is iterated:
    ///      `h_{k+1} = h*(outcome of the plan to h_k)`, from `h_0 = h*(snapshot)`, for at most
    ///      `MAX_PLAN_ROUNDS` plans. The result is the lowest-target plan whose outcome meets its own `h*`
    ///      (or, if none does, the last one). Iteration stops early on a plan without closes (a top-up leaves
    ///      the mix unchanged), on a plan that exhausts the allowed means, and on a plan that meets its own
    ///      `h*` within `TARGET_ROUND_TOLERANCE`. The iteration converges linearly; a residual shortfall is
    ///      absorbed by the band between `pTarget` and `pMax` (the outcome's `P_hit` stays below `pMax`).
    ///      A plan with closes that cannot reach its `h*` but reaches the policy's target reports the health
    ///      it reaches as its target (still at least the policy's).
    function _restore(
        AccountSnapshot memory s,
        uint256 targetHealthWad,
        bool turbulent
    ) private view returns (Plan memory best) {
        bool consistent;
        for (uint256 round; round < MAX_PLAN_ROUNDS; ++round) {
            Plan memory p = RebalanceMath.planToTarget(s, targetHealthWad, turbulent);
            if (p.closes.length == 0) return consistent ? best : p;
            AccountSnapshot memory next = RebalanceMath.execute(s, p);
            if (next.healthWad < p.targetHealthWad) {
                if (consistent) return best;
                // Out of reach this block: report what the plan restores as its target when that meets
                // the policy's, so that it stands on its own rather than on every means being exhausted.
                if (next.healthWad >= s.policy.targetHealthWad) p.targetHealthWad = next.healthWad;
                return p;
            }
            (uint256 neededWad, ) = _targetHealth(next, _portfolioRisk(next));
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
    }

    /// @dev `Σ |size_i·P_i|·σ_i`, each term rounded up.
    function _portfolioRisk(AccountSnapshot memory s) private pure returns (uint256 riskWad) {
        for (uint256 i; i < s.positions.length; ++i) {
            MarginMath.PositionData memory p = s.positions[i];
            riskWad += MarginMath.notionalWad(p.sizeWad, p.priceWad).mulWadUp(s.volatilityWad[i]);
        }
    }

    /// @dev `P_hit` for distance `E − MM` and risk `riskWad`.
    function _hitProbability(AccountSnapshot memory s, uint256 riskWad) private view returns (uint256) {
        return RiskMath.hitProbabilityWad(s.equityWad - int256(s.maintenanceWad), riskWad, _horizonSeconds);
    }

    /// @dev `h* = max(policy target, 1 + D*/MM)` (rounded up), times the multiplier in turbulence.
    function _targetHealth(
        AccountSnapshot memory s,
        uint256 riskWad
    ) private view returns (uint256 targetHealthWad, bool turbulent) {
        targetHealthWad = s.policy.targetHealthWad;
        if (s.maintenanceWad != 0) {
            uint256 distanceWad = riskWad.mulWadUp(_distancePerRiskWad);
            uint256 riskTarget = ConstantsLib.WAD + distanceWad.divWadUp(s.maintenanceWad);
            if (riskTarget > targetHealthWad) targetHealthWad = riskTarget;
        }
        for (uint256 i; i < s.positions.length; ++i) {
            if (s.positions[i].sizeWad != 0 && s.volatilityWad[i] > _turbulenceVolatilityWad) turbulent = true;
        }
        if (turbulent) targetHealthWad = targetHealthWad.mulWadUp(_turbulenceTargetMultiplierWad);
    }
}
