// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccountSnapshot, Plan} from "../interfaces/RebalanceTypes.sol";
import {RebalanceMath} from "./RebalanceMath.sol";

/// @title ThresholdPlanner
/// @notice The threshold policy, written once: below the trigger health, restore the target health by the
///         cheapest allowed means (`RebalanceMath.planToTarget`, top-up first); at or above the sweep
///         health, move margin the target does not need back to reserve (`RebalanceMath.planSweep`).
/// @dev Planned inside the engine for a policy whose strategy is the engine itself (the built-in threshold
///      planner, no external call), and by `ThresholdStrategy` for anyone calling it as a contract. Because
///      the policy's target is at least its trigger plus the protocol's minimum gap, and a restore plan
///      lands in `[target, target + tolerance)`, the account is neither below the trigger nor above the
///      sweep health after a plan: no ping-pong.
library ThresholdPlanner {
    /// @notice The threshold policy's plan for `s` (empty when there is nothing to do).
    function plan(AccountSnapshot memory s) internal pure returns (Plan memory) {
        if (s.healthWad < s.policy.triggerHealthWad) {
            return RebalanceMath.planToTarget(s, s.policy.targetHealthWad, false);
        }
        return RebalanceMath.planSweep(s, s.policy.targetHealthWad);
    }
}
