// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IRebalanceStrategy} from "../interfaces/IRebalanceStrategy.sol";
import {AccountSnapshot, Plan} from "../interfaces/RebalanceTypes.sol";
import {RebalanceMath} from "../libraries/RebalanceMath.sol";

/// @title ThresholdStrategy
/// @notice The policy's thresholds, nothing more: below the trigger health, restore the target health by
///         the cheapest allowed means (`RebalanceMath.planToTarget`, top-up first); at or above the sweep
///         health, move margin the target does not need back to reserve (`RebalanceMath.planSweep`).
/// @dev Stateless and parameter-free. Because the policy's target is at least its trigger plus the
///      protocol's minimum gap, and a restore plan lands in `[target, target + tolerance)`, the account is
///      neither below the trigger nor above the sweep health after a plan: no ping-pong.
contract ThresholdStrategy is IRebalanceStrategy {
    /// @inheritdoc IRebalanceStrategy
    function plan(AccountSnapshot calldata snapshot) external pure returns (Plan memory) {
        AccountSnapshot memory s = snapshot;
        if (s.healthWad < s.policy.triggerHealthWad) {
            return RebalanceMath.planToTarget(s, s.policy.targetHealthWad, false);
        }
        return RebalanceMath.planSweep(s, s.policy.targetHealthWad);
    }

    /// @inheritdoc IRebalanceStrategy
    /// @dev The threshold strategy does not estimate it.
    function hitProbability(AccountSnapshot calldata) external pure returns (uint256) {
        return 0;
    }

    /// @inheritdoc IRebalanceStrategy
    function usesVolatility() external pure returns (bool) {
        return false;
    }

    /// @inheritdoc IRebalanceStrategy
    function name() external pure returns (string memory) {
        return "threshold";
    }
}
