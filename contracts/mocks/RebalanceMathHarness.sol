// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccountSnapshot, Plan} from "../interfaces/RebalanceTypes.sol";
import {MarginMath} from "../libraries/MarginMath.sol";
import {RebalanceMath} from "../libraries/RebalanceMath.sol";

/// @title RebalanceMathHarness
/// @notice Exposes the internal functions of `RebalanceMath` for unit tests. Not part of the protocol.
contract RebalanceMathHarness {
    /// @notice `RebalanceMath.planToTarget`.
    function planToTarget(
        AccountSnapshot memory s,
        uint256 targetHealthWad,
        bool preferDeleverage
    ) external pure returns (Plan memory) {
        return RebalanceMath.planToTarget(s, targetHealthWad, preferDeleverage);
    }

    /// @notice `RebalanceMath.planSweep`.
    function planSweep(AccountSnapshot memory s, uint256 targetHealthWad) external pure returns (Plan memory) {
        return RebalanceMath.planSweep(s, targetHealthWad);
    }

    /// @notice `RebalanceMath.healthAfter`.
    function healthAfter(AccountSnapshot memory s, Plan memory plan) external pure returns (uint256) {
        return RebalanceMath.healthAfter(s, plan);
    }

    /// @notice `RebalanceMath.healthPath`.
    function healthPath(AccountSnapshot memory s, Plan memory plan) external pure returns (uint256[] memory) {
        return RebalanceMath.healthPath(s, plan);
    }

    /// @notice `RebalanceMath.execute`.
    function execute(AccountSnapshot memory s, Plan memory plan) external pure returns (AccountSnapshot memory) {
        return RebalanceMath.execute(s, plan);
    }

    /// @notice `RebalanceMath.costOrder`.
    function costOrder(
        MarginMath.PositionData[] memory positions,
        uint256 targetHealthWad
    ) external pure returns (uint256[] memory) {
        return RebalanceMath.costOrder(positions, targetHealthWad);
    }

    /// @notice `RebalanceMath.gap`.
    function gap(
        int256 equityWad,
        uint256 maintenanceWad,
        uint256 targetHealthWad,
        uint256 rewardWad
    ) external pure returns (int256) {
        return RebalanceMath.gap(equityWad, maintenanceWad, targetHealthWad, rewardWad);
    }
}
