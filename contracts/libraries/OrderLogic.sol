// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IMarginEngine} from "../interfaces/IMarginEngine.sol";
import {IMarginEngineOrders} from "../interfaces/IMarginEngineOrders.sol";
import {IChainlinkOracleAdapter} from "../interfaces/IChainlinkOracleAdapter.sol";
import {EngineLib} from "./EngineLib.sol";

/// @title OrderLogic
/// @notice `MarginEngine.submitOrder`, `cancelOrder` and the checks of `executeOrder`, run in the engine's
///         context (external library, linked at deploy). The trade itself is `TradeLogic.modify`.
/// @dev An order fills only at the first round of its market's feed published after it (see
///      `IMarginEngineOrders` for the lifecycle). Its phase follows from the adapter's `priceAndTime`:
///      the latest round's `updatedAt` and the previous round's. Strict comparisons make a round
///      published in the block of the submission count as seen before it.
library OrderLogic {
    using SafeCast for uint256;
    using SafeCast for int256;

    /// @dev Where an order stands (see `IMarginEngineOrders`).
    enum Phase {
        Pending,
        Executable,
        Lapsed
    }

    /// @notice Stores `account`'s order (see `IMarginEngineOrders.submitOrder`).
    function submit(
        EngineLib.Layout storage s,
        address account,
        uint256 marketId,
        int256 sizeDeltaWad,
        uint256 acceptablePriceWad,
        uint256 expiry
    ) external returns (uint256 orderId) {
        EngineLib.market(s, marketId);
        if (expiry <= block.timestamp || expiry > type(uint40).max) {
            revert IMarginEngineOrders.MarginEngineInvalidExpiry(expiry);
        }
        if (sizeDeltaWad == 0 && s.positions[account][marketId].sizeWad == 0) {
            revert IMarginEngine.MarginEngineNoPosition(account, marketId);
        }
        orderId = ++s.orderCount;
        s.orders[orderId] = IMarginEngineOrders.Order({
            account: account,
            marketId: uint16(marketId),
            submittedAt: uint40(block.timestamp),
            expiry: uint40(expiry),
            sizeDeltaWad: sizeDeltaWad.toInt128(),
            acceptablePriceWad: acceptablePriceWad.toUint128()
        });
        emit IMarginEngineOrders.OrderSubmitted(orderId, account, marketId, sizeDeltaWad, acceptablePriceWad, expiry);
    }

    /// @notice Cancels an order for `caller` (see `IMarginEngineOrders.cancelOrder`).
    function cancel(EngineLib.Layout storage s, EngineLib.Wiring memory w, uint256 orderId, address caller) external {
        IMarginEngineOrders.Order memory o = _pending(s, orderId);
        (, , uint256 updatedAt, uint256 previousUpdatedAt) = w.oracle.priceAndTime(_asset(s, o.marketId));
        Phase phase = _phase(o, updatedAt, previousUpdatedAt);
        if (phase != Phase.Lapsed && (caller != o.account || phase != Phase.Pending)) {
            revert IMarginEngineOrders.MarginEngineOrderNotCancellable(orderId, caller);
        }
        delete s.orders[orderId];
        emit IMarginEngineOrders.OrderCancelled(orderId, o.account, caller);
    }

    /// @notice Checks that an order may execute now, deletes it and returns the trade to make: the
    ///         account, the market and the size change (a close-all order resolved to the position held),
    ///         and the market's `Ok` price it fills at, for the trade to use without reading it again.
    function take(
        EngineLib.Layout storage s,
        EngineLib.Wiring memory w,
        uint256 orderId,
        address executor
    ) external returns (address account, int256 delta, EngineLib.KnownPrice memory fill) {
        IMarginEngineOrders.Order memory o = _pending(s, orderId);
        if (block.timestamp > o.expiry) revert IMarginEngineOrders.MarginEngineOrderExpired(orderId, o.expiry);
        uint256 marketId = o.marketId;
        bytes32 asset = _asset(s, marketId);
        (uint256 priceWad, IChainlinkOracleAdapter.Status status, uint256 updatedAt, uint256 previousUpdatedAt) = w
            .oracle
            .priceAndTime(asset);
        if (status != IChainlinkOracleAdapter.Status.Ok) revert IMarginEngine.MarginEngineBadPrice(asset, status);
        Phase phase = _phase(o, updatedAt, previousUpdatedAt);
        if (phase == Phase.Pending) {
            revert IMarginEngineOrders.MarginEngineOrderAwaitingRound(orderId, o.submittedAt, updatedAt);
        }
        if (phase == Phase.Lapsed) {
            revert IMarginEngineOrders.MarginEngineOrderRoundPassed(orderId, o.submittedAt, previousUpdatedAt);
        }
        account = o.account;
        delta = o.sizeDeltaWad;
        if (delta == 0) {
            delta = -s.positions[account][marketId].sizeWad;
            if (delta == 0) revert IMarginEngine.MarginEngineNoPosition(account, marketId);
        }
        uint256 limit = o.acceptablePriceWad;
        if (limit != 0 && (delta > 0 ? priceWad > limit : priceWad < limit)) {
            revert IMarginEngineOrders.MarginEngineOrderPriceNotAcceptable(orderId, priceWad, limit);
        }
        delete s.orders[orderId];
        emit IMarginEngineOrders.OrderExecuted(orderId, account, executor, delta, priceWad);
        fill = EngineLib.KnownPrice(marketId, priceWad, updatedAt);
    }

    /// @dev The order `orderId`; reverts when it is not pending.
    function _pending(
        EngineLib.Layout storage s,
        uint256 orderId
    ) private view returns (IMarginEngineOrders.Order memory o) {
        o = s.orders[orderId];
        if (o.account == address(0)) revert IMarginEngineOrders.MarginEngineUnknownOrder(orderId);
    }

    /// @dev Pending until a round is published after the order; executable while the latest round is the
    ///      first such round (the previous one readable and not after the order); lapsed afterwards or
    ///      once expired.
    function _phase(
        IMarginEngineOrders.Order memory o,
        uint256 updatedAt,
        uint256 previousUpdatedAt
    ) private view returns (Phase) {
        if (block.timestamp > o.expiry) return Phase.Lapsed;
        if (updatedAt <= o.submittedAt) return Phase.Pending;
        if (previousUpdatedAt == 0 || previousUpdatedAt > o.submittedAt) return Phase.Lapsed;
        return Phase.Executable;
    }

    function _asset(EngineLib.Layout storage s, uint256 marketId) private view returns (bytes32) {
        return EngineLib.marketAsset(s, marketId, s.marketWords[marketId]);
    }
}
