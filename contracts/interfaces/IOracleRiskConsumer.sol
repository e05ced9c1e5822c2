// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IOracleRiskConsumer
/// @notice What a price consumer tells the oracle adapter about the moves it can absorb.
/// @dev A market whose initial margin is at most the largest single-round move the adapter grades `Ok`
///      lets a fresh position at the highest leverage lose more than its margin in one round: hedged
///      pairs of accounts then become a free option written by LPs. The adapter refuses a deviation bound
///      at or above `minInitialMarginWad(asset)`, and the engine refuses a market whose initial margin is
///      at or below the adapter's bound; together the two checks hold whichever is set first.
interface IOracleRiskConsumer {
    /// @notice The smallest initial margin ratio (WAD) of any market on `asset`; `type(uint256).max` when
    ///         none is listed.
    /// @param asset The oracle asset key.
    function minInitialMarginWad(bytes32 asset) external view returns (uint256);
}
