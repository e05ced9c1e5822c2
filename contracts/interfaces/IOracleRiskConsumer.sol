// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IOracleRiskConsumer
/// @notice What a price consumer tells the oracle adapter about the moves it can absorb.
/// @dev An account that is not liquidatable holds equity of at least its maintenance margin. If the
///      largest single-round move the adapter grades `Ok` exceeds that margin, one round can take such an
///      account below zero equity before any liquidator may act, and a hedged pair of accounts becomes a
///      free option written by LPs. The adapter refuses a deviation bound above
///      `minMaintenanceMarginWad(asset)`, and the engine refuses a market whose maintenance margin is below
///      the adapter's bound; together the two checks hold whichever is set first.
interface IOracleRiskConsumer {
    /// @notice The smallest maintenance margin ratio (WAD) of any market on `asset`; `type(uint256).max`
    ///         when none is listed.
    /// @param asset The oracle asset key.
    function minMaintenanceMarginWad(bytes32 asset) external view returns (uint256);
}
