// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MarginMath} from "../libraries/MarginMath.sol";

/// @notice An account's rebalancing policy, set by its owner.
/// @param triggerHealthWad Rebalance when health falls below this (WAD, > 1). A floor for every strategy:
///        a strategy may act earlier (e.g. on hit probability), never later.
/// @param targetHealthWad Restore at least this health (WAD, ≥ trigger + `MIN_POLICY_GAP`).
/// @param sweepHealthWad 0 to never sweep; otherwise, above this health (≥ target + `MIN_POLICY_GAP`),
///        margin beyond what the target needs moves back to reserve.
/// @param allowTopUp Whether reserve may move into margin.
/// @param allowDeleverage Whether positions may be reduced at the oracle price.
/// @param maxKeeperRewardTokens Most the account pays a keeper per rebalance (token units).
/// @param strategy The governance-approved `IRebalanceStrategy` that plans.
struct Policy {
    uint64 triggerHealthWad;
    uint64 targetHealthWad;
    uint64 sweepHealthWad;
    bool allowTopUp;
    bool allowDeleverage;
    uint96 maxKeeperRewardTokens;
    address strategy;
}

/// @notice Everything a strategy needs to plan, taken by the engine at `Ok` prices.
/// @param account The account.
/// @param marginTokens Margin (token units).
/// @param reserveTokens Reserve value available for a top-up (token units).
/// @param equityWad Equity (WAD, signed).
/// @param maintenanceWad Maintenance requirement (WAD).
/// @param initialWad Initial requirement (WAD).
/// @param healthWad Health (WAD).
/// @param keeperRewardTokens Reward the rebalance pays its keeper out of margin (token units).
/// @param scale `10**(18 − token decimals)`: token units → WAD.
/// @param policy The account's policy.
/// @param positions Every position with its market data, ascending market id.
/// @param volatilityWad Annualised volatility of each position's asset (WAD; 0.8e18 = 80%/year).
/// @param deleverageRoomWad Notional (WAD) each position's market may still deleverage in the current
///        window of the systemic cap (`type(uint256).max` when uncapped).
struct AccountSnapshot {
    address account;
    uint256 marginTokens;
    uint256 reserveTokens;
    int256 equityWad;
    uint256 maintenanceWad;
    uint256 initialWad;
    uint256 healthWad;
    uint256 keeperRewardTokens;
    uint256 scale;
    Policy policy;
    MarginMath.PositionData[] positions;
    uint256[] volatilityWad;
    uint256[] deleverageRoomWad;
}

/// @notice One partial close of a rebalance plan.
/// @param index Index of the position in `AccountSnapshot.positions`.
/// @param sizeWad Size to close: same sign as the position, magnitude at most the position's.
struct CloseStep {
    uint256 index;
    int256 sizeWad;
}

/// @notice What a strategy wants done. An empty plan (all zero, no closes) means "nothing to do".
/// @param targetHealthWad Health the plan restores (≥ the policy's target), including the keeper reward.
/// @param topUpTokens Reserve moved into margin first (token units).
/// @param closes Partial closes, executed in this order after the top-up.
/// @param sweepTokens Margin moved back to reserve (a sweep plan has no top-up and no closes).
struct Plan {
    uint256 targetHealthWad;
    uint256 topUpTokens;
    CloseStep[] closes;
    uint256 sweepTokens;
}
