// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IMarginEngineOrders
/// @notice The margin engine's two-step orders, the only way a trader changes its exposure: a trader
///         submits an order, and anyone (a keeper) executes it at the first round of the market's feed
///         published after submission. A trader therefore never fills at a price it could see when it
///         committed (a round visible in the mempool before it lands included).
/// @dev Lifecycle, with `t` the submission time and the market's latest round:
///      - pending while no round has `updatedAt > t`: the trader may cancel;
///      - executable while the latest round is the first with `updatedAt > t` (the round before it has
///        `0 < updatedAt ≤ t`), until `expiry`: anyone may execute; the trader may no longer cancel,
///        which would let it walk away once it sees the round after;
///      - lapsed once a later round lands or after `expiry`: it can no longer execute and anyone may
///        cancel it.
///      Orders hold no collateral; nothing is lost when one lapses. No execution fee is paid.
interface IMarginEngineOrders {
    /// @notice A trader's pending order (see `submitOrder`); all zero once executed or cancelled.
    /// @param account The trader.
    /// @param marketId The market.
    /// @param submittedAt When it was submitted: it fills only at the first round published after.
    /// @param expiry Last second at which it may execute.
    /// @param sizeDeltaWad Size change (WAD, + buys, − sells; 0: close the whole position at execution).
    /// @param acceptablePriceWad Worst fill price (WAD; buys fill at or below it, sells at or above; 0: any).
    struct Order {
        address account;
        uint16 marketId;
        uint40 submittedAt;
        uint40 expiry;
        int128 sizeDeltaWad;
        uint128 acceptablePriceWad;
    }

    /// @notice Emitted when a trader submitted an order.
    /// @param orderId The order's id.
    /// @param account The trader.
    /// @param marketId The market.
    /// @param sizeDeltaWad Size change (WAD, signed; 0: close all).
    /// @param acceptablePriceWad Worst fill price (WAD; 0: any).
    /// @param expiry Last second at which it may execute.
    event OrderSubmitted(
        uint256 indexed orderId,
        address indexed account,
        uint256 indexed marketId,
        int256 sizeDeltaWad,
        uint256 acceptablePriceWad,
        uint256 expiry
    );
    /// @notice Emitted when an order was cancelled.
    /// @param orderId The order's id.
    /// @param account The trader.
    /// @param by The caller (the trader, or anyone once the order could no longer execute).
    event OrderCancelled(uint256 indexed orderId, address indexed account, address by);
    /// @notice Emitted when an order was executed (followed by the trade's `PositionModified`).
    /// @param orderId The order's id.
    /// @param account The trader.
    /// @param executor The caller.
    /// @param sizeDeltaWad The size change traded (WAD, signed).
    /// @param priceWad The fill price: the first round published after submission (WAD).
    event OrderExecuted(
        uint256 indexed orderId,
        address indexed account,
        address indexed executor,
        int256 sizeDeltaWad,
        uint256 priceWad
    );

    /// @notice Thrown when an order id is not pending.
    /// @param orderId The id.
    error MarginEngineUnknownOrder(uint256 orderId);
    /// @notice Thrown when an order's expiry is not in the future.
    /// @param expiry The expiry given.
    error MarginEngineInvalidExpiry(uint256 expiry);
    /// @notice Thrown when executing an order after its expiry.
    /// @param orderId The order.
    /// @param expiry Its expiry.
    error MarginEngineOrderExpired(uint256 orderId, uint256 expiry);
    /// @notice Thrown when executing an order before a round of its market was published after it.
    /// @param orderId The order.
    /// @param submittedAt When it was submitted.
    /// @param roundUpdatedAt The latest round's `updatedAt`.
    error MarginEngineOrderAwaitingRound(uint256 orderId, uint256 submittedAt, uint256 roundUpdatedAt);
    /// @notice Thrown when the latest round of an order's market is not the first published after the
    ///         order (a later round landed, or the previous round cannot be read): it can no longer execute.
    /// @param orderId The order.
    /// @param submittedAt When it was submitted.
    /// @param previousRoundUpdatedAt The previous round's `updatedAt` (0: unreadable).
    error MarginEngineOrderRoundPassed(uint256 orderId, uint256 submittedAt, uint256 previousRoundUpdatedAt);
    /// @notice Thrown when the fill price is worse than the order's acceptable price.
    /// @param orderId The order.
    /// @param priceWad The fill price.
    /// @param acceptablePriceWad The acceptable price.
    error MarginEngineOrderPriceNotAcceptable(uint256 orderId, uint256 priceWad, uint256 acceptablePriceWad);
    /// @notice Thrown when the trader cancels an order whose fill round has been published (it is then
    ///         bound to execute at that round), or someone else cancels an order that can still execute.
    /// @param orderId The order.
    /// @param caller The caller.
    error MarginEngineOrderNotCancellable(uint256 orderId, address caller);

    /// @notice Submits an order to open, increase, reduce, close or flip the caller's position in
    ///         `marketId`. It holds no collateral: margin stays in the vault and execution checks it.
    /// @dev The order fills only at the first round of the market's feed published after submission
    ///      (`updatedAt > submittedAt`), never at a price the trader could see when committing. Once a
    ///      later round lands the order can no longer execute (anyone may then cancel it).
    /// @param marketId The market.
    /// @param sizeDeltaWad Size change (WAD base units, + buys, − sells); 0 closes the whole position
    ///        held at execution.
    /// @param acceptablePriceWad Worst fill price (WAD): buys fill at or below it, sells at or above it;
    ///        0 accepts any price.
    /// @param expiry Last second at which the order may execute (in the future).
    /// @return orderId The order's id (1, 2, ...).
    function submitOrder(
        uint256 marketId,
        int256 sizeDeltaWad,
        uint256 acceptablePriceWad,
        uint256 expiry
    ) external returns (uint256 orderId);

    /// @notice Cancels an order. The trader may cancel it until its fill round is published; anyone may
    ///         cancel it once it can no longer execute (expired, or a later round landed).
    /// @param orderId The order.
    function cancelOrder(uint256 orderId) external;

    /// @notice Executes a pending order at the current price of its market, which must come from the
    ///         first round published after the order, be `Ok` and be within the acceptable price.
    ///         Permissionless; no execution fee is paid. The trade follows the trading rules: increasing
    ///         risk needs `E ≥ IM` afterwards and the `Open` action unpaused; reducing needs the `Close`
    ///         action unpaused and must not leave the account both liquidatable and less healthy; losses
    ///         and fees (the market fee on the traded notional) must be covered by margin; the open-interest
    ///         caps and the pool's liquidity must back an increase. Flipping counts as a close then an open.
    /// @param orderId The order.
    function executeOrder(uint256 orderId) external;

    /// @notice A pending order (all zero when none).
    /// @param orderId The order.
    function pendingOrder(uint256 orderId) external view returns (Order memory);

    /// @notice Number of orders ever submitted (ids are 1..orderCount()).
    function orderCount() external view returns (uint256);
}
