// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IRebalanceStrategy} from "./IRebalanceStrategy.sol";
import {AccountSnapshot} from "./RebalanceTypes.sol";

/// @title IVolatilityScaledStrategy
/// @notice A strategy that rebalances on the probability of touching liquidation within a horizon, and
///         restores a distance to liquidation scaled to the account's risk.
/// @dev Model (all WAD): portfolio risk `σ_p = Σ |size_i·P_i|·σ_i` (USD per √year; correlation 1, the
///      conservative bound), distance to liquidation `D = E − MM`, and, for a driftless Brownian equity
///      over the horizon `τ`, by the reflection principle `P_hit = 2·Φ(−D / (σ_p·√(τ/year)))`.
///      - Trigger: `P_hit > pMax`, or health below the policy's trigger (the policy is a floor).
///      - Target: `h* = max(policy target, 1 + D*/MM)` with `D* = z_t·σ_p·√(τ/year)`,
///        `z_t = Φ⁻¹(1 − pTarget/2)`: the distance at which `P_hit = pTarget`. `D*/MM` is a weighted
///        average of `z_t·√(τ/year)·σ_i/mmr_i`, so it does not change under proportional deleverage and
///        `h*` is a health target like any other. Closing the cheapest markets first is not proportional
///        and can shift the mix, so a restore with closes re-plans to the `h*` of its own outcome (a few
///        rounds, see the implementation); the band between `pTarget` and `pMax` absorbs what is left.
///        Consequence: after its own restore the strategy never restores again; when the closes moved the
///        mix to less risk (or closed the turbulent market), it may sweep once the margin the new mix no
///        longer needs, and then rests.
///      - Turbulence (the largest `σ_i` above `turbulenceVolatility`): `h* ·= turbulenceTargetMultiplier` and
///        closes are planned before the top-up (capital preservation).
///      - Sweep: at or above the policy's sweep health and with `P_hit ≤ pTarget`, margin above `h*` (and
///        above the initial requirement) moves back to reserve; sweeping to `h*` rather than the policy's
///        target keeps `P_hit ≤ pTarget` afterwards, so a sweep never triggers a restore.
interface IVolatilityScaledStrategy is IRebalanceStrategy {
    /// @notice Thrown when the probabilities are not `0 < pTarget < pMax < 1`.
    /// @param pMaxWad The trigger probability.
    /// @param pTargetWad The target probability.
    error VolatilityScaledStrategyInvalidProbabilities(uint256 pMaxWad, uint256 pTargetWad);

    /// @notice Thrown when the horizon is zero or above `MAX_HORIZON`.
    /// @param horizonSeconds The horizon.
    error VolatilityScaledStrategyInvalidHorizon(uint256 horizonSeconds);

    /// @notice Thrown when the turbulence threshold is zero or the multiplier is outside
    ///         `[1e18, MAX_TURBULENCE_MULTIPLIER]`.
    /// @param turbulenceVolatilityWad The turbulence threshold.
    /// @param turbulenceTargetMultiplierWad The target multiplier.
    error VolatilityScaledStrategyInvalidTurbulence(
        uint256 turbulenceVolatilityWad,
        uint256 turbulenceTargetMultiplierWad
    );

    /// @notice Emitted once, at deployment, with the strategy's immutable parameters.
    /// @param pMaxWad Hit probability above which the strategy rebalances (WAD).
    /// @param pTargetWad Hit probability a rebalance restores (WAD).
    /// @param horizonSeconds Horizon `τ` of the hit probability.
    /// @param turbulenceVolatilityWad Annualised volatility above which the market is turbulent (WAD).
    /// @param turbulenceTargetMultiplierWad Factor applied to the target health in turbulence (WAD).
    event VolatilityScaledStrategyDeployed(
        uint256 pMaxWad,
        uint256 pTargetWad,
        uint256 horizonSeconds,
        uint256 turbulenceVolatilityWad,
        uint256 turbulenceTargetMultiplierWad
    );

    /// @notice Hit probability above which the strategy rebalances (WAD).
    function pMaxWad() external view returns (uint256);

    /// @notice Hit probability a rebalance restores (WAD).
    function pTargetWad() external view returns (uint256);

    /// @notice Horizon `τ` of the hit probability (seconds).
    function horizonSeconds() external view returns (uint256);

    /// @notice Annualised volatility (WAD) above which any of an account's markets makes it turbulent.
    function turbulenceVolatilityWad() external view returns (uint256);

    /// @notice Factor (WAD, ≥ 1e18) applied to the target health in turbulence.
    function turbulenceTargetMultiplierWad() external view returns (uint256);

    /// @notice Portfolio risk `σ_p = Σ |size_i·P_i|·σ_i` (USD per √year, WAD, rounded up).
    /// @param snapshot The account snapshot.
    function portfolioRiskWad(AccountSnapshot calldata snapshot) external view returns (uint256);

    /// @notice The health a restore plan (or the floor a sweep) would aim for, and whether the account is in
    ///         turbulence.
    /// @param snapshot The account snapshot.
    /// @return targetHealthWad `h*` (WAD).
    /// @return turbulent Whether the largest position volatility exceeds the turbulence threshold.
    function targetHealth(
        AccountSnapshot calldata snapshot
    ) external view returns (uint256 targetHealthWad, bool turbulent);
}
