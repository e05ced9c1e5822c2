// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title RevertingFeed
/// @notice Test feed whose round reads always revert; `decimals()` works so that it can be configured.
contract RevertingFeed {
    /// @notice Thrown by every round read.
    error RevertingFeedBroken();

    /// @notice Eight decimals, like Chainlink USD feeds.
    function decimals() external pure returns (uint8) {
        return 8;
    }

    /// @notice Always reverts.
    function latestRoundData() external pure returns (uint80, int256, uint256, uint256, uint80) {
        revert RevertingFeedBroken();
    }

    /// @notice Always reverts.
    function getRoundData(uint80) external pure returns (uint80, int256, uint256, uint256, uint80) {
        revert RevertingFeedBroken();
    }
}
