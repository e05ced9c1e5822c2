// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title GasBurningFeed
/// @notice Test feed whose round reads loop until they run out of gas; `decimals()` works so that it
///         can be configured.
contract GasBurningFeed {
    /// @notice Eight decimals, like Chainlink USD feeds.
    function decimals() external pure returns (uint8) {
        return 8;
    }

    /// @notice Never returns: loops until the call's gas is exhausted.
    function latestRoundData()
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        _burn();
        return (1, 1, block.timestamp, block.timestamp, 1);
    }

    /// @notice Never returns: loops until the call's gas is exhausted.
    function getRoundData(
        uint80 id
    )
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        _burn();
        return (id, 1, block.timestamp, block.timestamp, id);
    }

    /// @dev An infinite loop the compiler cannot prove infinite (`gasleft()` is always positive while
    ///      running).
    function _burn() private view {
        uint256 spins;
        while (gasleft() > 0) {
            ++spins;
        }
    }
}
