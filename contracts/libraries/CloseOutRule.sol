// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ConstantsLib} from "./ConstantsLib.sol";

/// @title CloseOutRule
/// @notice When a rebalance may close an account out entirely, and what it then pays the keeper: the one
///         statement of the rule that the planner (`RebalanceMath`) and the engine's validation
///         (`RebalanceLogic`) apply.
/// @dev An account whose equity is at most `CLOSE_OUT_MAX_REWARDS` keeper rewards is too small to rebalance
///      economically; rather than drift into liquidation, a rebalance may close every position although
///      that ends above any target. A close-out pays the keeper what the margin has left, up to the reward;
///      any other plan must afford the whole reward.
library CloseOutRule {
    /// @notice Whether an account with `equityWad` may be closed out (equity at most
    ///         `CLOSE_OUT_MAX_REWARDS` rewards of `keeperRewardTokens`, token `scale`).
    function eligible(int256 equityWad, uint256 keeperRewardTokens, uint256 scale) internal pure returns (bool) {
        return equityWad <= int256(ConstantsLib.CLOSE_OUT_MAX_REWARDS * keeperRewardTokens * scale);
    }

    /// @notice Whether no position is left at `sizes`.
    function allClosed(int256[] memory sizes) internal pure returns (bool) {
        for (uint256 i; i < sizes.length; ++i) {
            if (sizes[i] != 0) return false;
        }
        return true;
    }

    /// @notice The keeper reward a plan pays out of `marginTokens` (the margin before the reward):
    ///         `rewardTokens`, or for a close-out at most the margin; `affordable` is false when any other
    ///         plan's margin cannot pay it.
    function keeperReward(
        uint256 marginTokens,
        uint256 rewardTokens,
        bool closedOut
    ) internal pure returns (uint256 paidTokens, bool affordable) {
        if (marginTokens >= rewardTokens) return (rewardTokens, true);
        return closedOut ? (marginTokens, true) : (rewardTokens, false);
    }
}
