// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";
import {IChainlinkOracleAdapter} from "../interfaces/IChainlinkOracleAdapter.sol";
import {ConstantsLib} from "../libraries/ConstantsLib.sol";

/// @title FeedReader
/// @notice The `ChainlinkOracleAdapter`'s feed calls, deviation test and sequencer status (internal:
///         compiled into it).
/// @dev Feeds are read with a low-level `staticcall` capped at `FEED_GAS_LIMIT` gas that copies at most
///      160 bytes of returndata, so a reverting, gas-burning or malformed feed yields `Status.Invalid`
///      instead of reverting the caller. When a read fails and less than `FEED_GAS_LIMIT / 63` gas is
///      left, the feed may only have been starved by the caller (EIP-150 passes on at most 63/64 of the
///      remaining gas), so the call reverts with `ChainlinkOracleAdapterInsufficientGas` rather than
///      report a status it cannot vouch for. This covers the deviation reference read too: starving it
///      would otherwise swap the previous round for the last good price as reference.
library FeedReader {
    /// @notice Gas given to each feed call.
    uint256 internal constant FEED_GAS_LIMIT = 250_000;
    /// @dev Bytes of the five words `latestRoundData` / `getRoundData` return.
    uint256 private constant ROUND_DATA_SIZE = 160;
    /// @dev Sequencer uptime feed answer meaning "up".
    int256 private constant SEQUENCER_UP = 0;

    /// @dev `SequencerDown`, `GracePeriod` or `Ok` from an L2 sequencer uptime feed. Any answer other than 0
    ///      ("up") counts as down; a `startedAt` in the future counts as a fresh change.
    function sequencerStatus(address feed, uint256 gracePeriod) internal view returns (IChainlinkOracleAdapter.Status) {
        (bool read, , int256 answer, uint256 startedAt, ) = readRound(feed, true, 0);
        if (!read || answer != SEQUENCER_UP || startedAt == 0) return IChainlinkOracleAdapter.Status.SequencerDown;
        if (startedAt > block.timestamp || block.timestamp - startedAt < gracePeriod) {
            return IChainlinkOracleAdapter.Status.GracePeriod;
        }
        return IChainlinkOracleAdapter.Status.Ok;
    }

    /// @dev Calls `latestRoundData()` (`latest`) or `getRoundData(roundId)` with `FEED_GAS_LIMIT` gas,
    ///      copying at most 160 bytes of returndata (a feed cannot make the caller pay for a huge copy).
    ///      `read` is false when the call failed or returned fewer than 160 bytes; the five words are then
    ///      zero. `answeredInRound` is not used.
    function readRound(
        address feed,
        bool latest,
        uint256 roundId
    ) internal view returns (bool read, uint256 id, int256 answer, uint256 startedAt, uint256 updatedAt) {
        bytes4 selector =
            latest ? AggregatorV3Interface.latestRoundData.selector : AggregatorV3Interface.getRoundData.selector;
        uint256 callSize = latest ? 4 : 36;
        uint256 gasLimit = FEED_GAS_LIMIT;
        assembly ("memory-safe") {
            // Calldata in the scratch space (0x00-0x23), output above the free memory pointer.
            mstore(0x00, selector)
            mstore(0x04, roundId)
            let out := mload(0x40)
            read := staticcall(gasLimit, feed, 0x00, callSize, out, ROUND_DATA_SIZE)
            if lt(returndatasize(), ROUND_DATA_SIZE) {
                read := 0
            }
            if read {
                id := mload(out)
                answer := mload(add(out, 0x20))
                startedAt := mload(add(out, 0x40))
                updatedAt := mload(add(out, 0x60))
            }
        }
        if (!read) checkGasLeft();
    }

    /// @dev Reads `decimals()` once, with the same gas cap; reverts when unreadable or above 18.
    function readDecimals(address feed) internal view returns (uint8) {
        bytes4 selector = AggregatorV3Interface.decimals.selector;
        uint256 gasLimit = FEED_GAS_LIMIT;
        bool ok;
        uint256 value;
        assembly ("memory-safe") {
            mstore(0x00, selector)
            ok := staticcall(gasLimit, feed, 0x00, 4, 0x00, 0x20)
            if lt(returndatasize(), 0x20) {
                ok := 0
            }
            if ok {
                value := mload(0)
            }
        }
        if (!ok) checkGasLeft();
        if (!ok || value > ConstantsLib.WAD_DECIMALS) {
            revert IChainlinkOracleAdapter.ChainlinkOracleAdapterUnsupportedFeed(feed);
        }
        return uint8(value);
    }

    /// @dev After a failed feed call: with less than `FEED_GAS_LIMIT / 63` gas left the call may have
    ///      received less than `FEED_GAS_LIMIT` (EIP-150), so its failure proves nothing about the feed.
    function checkGasLeft() internal view {
        if (gasleft() < FEED_GAS_LIMIT / 63) revert IChainlinkOracleAdapter.ChainlinkOracleAdapterInsufficientGas();
    }

    /// @dev The previous round's answer in WAD, or 0 when it cannot serve as reference (round 0,
    ///      unreadable, incomplete, in the future, or outside `[minPriceWad, maxPriceWad]`), and its
    ///      `updatedAt` as read (0 when unreadable), so that a caller needs no second read of it.
    function previousRoundWad(
        address feed,
        uint256 roundId,
        uint256 scale,
        uint256 minPriceWad,
        uint256 maxPriceWad
    ) internal view returns (uint256 answerWad, uint256 updatedAt) {
        if (roundId == 0) return (0, 0);
        bool read;
        int256 answer;
        (read, , answer, , updatedAt) = readRound(feed, false, roundId - 1);
        if (!read) return (0, 0);
        if (answer <= 0 || uint256(answer) > type(uint128).max) return (0, updatedAt);
        if (updatedAt == 0 || updatedAt > block.timestamp) return (0, updatedAt);
        answerWad = uint256(answer) * scale;
        if (answerWad < minPriceWad || answerWad > maxPriceWad) answerWad = 0;
    }

    /// @dev Whether `|priceWad - referenceWad| / referenceWad > maxDeviationWad`, compared exactly by
    ///      cross-multiplication (no rounding). Both prices are below `2**128 * 1e18`, so no product
    ///      overflows. A zero reference means none: nothing deviates from it.
    function deviates(uint256 priceWad, uint256 referenceWad, uint256 maxDeviationWad) internal pure returns (bool) {
        if (referenceWad == 0) return false;
        uint256 diffWad = priceWad > referenceWad ? priceWad - referenceWad : referenceWad - priceWad;
        return diffWad * ConstantsLib.WAD > maxDeviationWad * referenceWad;
    }
}
