// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title ScriptedFeed
/// @notice Test Chainlink-shaped feed (8 decimals) that returns exactly the five raw words a test
///         scripted from `latestRoundData` and `getRoundData` (any round id), including values no honest
///         aggregator returns (a round id above `uint80`, an answer ≤ 0, `updatedAt` of 0 or in the
///         future, `answeredInRound` behind the round). Never deploy outside tests.
contract ScriptedFeed {
    uint256[5] private _words;

    /// @notice Eight decimals, like Chainlink USD feeds.
    function decimals() external pure returns (uint8) {
        return 8;
    }

    /// @notice Scripts the round every read returns.
    /// @param roundId The round id word.
    /// @param answer The answer.
    /// @param startedAt The start time.
    /// @param updatedAt The update time.
    /// @param answeredInRound The answered-in-round word.
    function setRound(
        uint256 roundId,
        int256 answer,
        uint256 startedAt,
        uint256 updatedAt,
        uint256 answeredInRound
    ) external {
        _words = [roundId, uint256(answer), startedAt, updatedAt, answeredInRound];
    }

    /// @notice The scripted round, as raw words.
    function latestRoundData() external view returns (uint80, int256, uint256, uint256, uint80) {
        _return();
    }

    /// @notice The scripted round, as raw words, whatever round is asked for.
    function getRoundData(uint80) external view returns (uint80, int256, uint256, uint256, uint80) {
        _return();
    }

    function _return() private view {
        uint256[5] memory w = _words;
        assembly ("memory-safe") {
            return(w, 0xa0)
        }
    }
}
