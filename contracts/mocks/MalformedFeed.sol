// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title MalformedFeed
/// @notice Test feed whose round reads return 32 bytes instead of the five words of `latestRoundData`;
///         `decimals()` works so that it can be configured.
contract MalformedFeed {
    /// @notice Eight decimals, like Chainlink USD feeds.
    function decimals() external pure returns (uint8) {
        return 8;
    }

    /// @notice Returns a single word (a plausible answer, 2,000e8) instead of five.
    function latestRoundData() external pure returns (uint80, int256, uint256, uint256, uint80) {
        assembly ("memory-safe") {
            mstore(0x00, 200000000000)
            return(0x00, 0x20)
        }
    }
}
