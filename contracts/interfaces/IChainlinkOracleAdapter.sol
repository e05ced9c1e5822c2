// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IChainlinkOracleAdapter
/// @notice Reads Chainlink AggregatorV3 feeds defensively and tells every caller whether a price may be
///         acted on. `price(asset)` never reverts: it returns a status, and only `Status.Ok` prices may
///         be used by actions that trust the price (open, increase, withdraw margin, rebalance,
///         liquidate).
/// @dev Assets are identified by a `bytes32` key (e.g. `"ETH"`). Prices are WAD USD per 1e18 base
///      units. Statuses, checked in this order:
///      - `SequencerDown`: an L2 sequencer uptime feed is configured and reports the sequencer down
///        (answer 1), or cannot be read;
///      - `GracePeriod`: the sequencer came back up less than `gracePeriod` seconds ago;
///      - `Invalid`: the feed call reverted, ran out of its gas allowance, returned malformed data,
///        an incomplete round (`updatedAt == 0`), a timestamp in the future, an answer ≤ 0, or an answer
///        outside `[minPriceWad, maxPriceWad]`;
///      - `Stale`: `block.timestamp - updatedAt > heartbeat`;
///      - `Deviation`: the answer moved more than `maxDeviationWad` (relative) from the reference
///        price: the feed's previous round when it can be read, else the last good price. A jump is
///        confirmed by the next round that stays within the bound of it, or accepted by the guardian
///        with `acceptPrice`;
///      - `Ok` otherwise.
interface IChainlinkOracleAdapter {
    /// @notice Whether a price may be acted on, and if not, why.
    enum Status {
        Ok,
        Stale,
        Invalid,
        Deviation,
        SequencerDown,
        GracePeriod
    }

    /// @notice Where a volatility estimate comes from.
    enum VolatilitySource {
        None,
        Ewma,
        Feed
    }

    /// @notice Per-asset volatility configuration.
    /// @param initialVolatilityWad Annualised volatility assumed before the first observed return (WAD).
    /// @param ewmaWindow Time constant of the EWMA (seconds): an observation `dt` seconds after the last
    ///        one gets weight `1 − exp(−dt / ewmaWindow)`.
    /// @param volatilityFeed Optional Chainlink realised-volatility feed (annualised, in percent, with
    ///        the feed's decimals); zero when none.
    /// @param volatilityFeedHeartbeat Staleness limit of the volatility feed (seconds).
    struct VolatilityConfig {
        uint64 initialVolatilityWad;
        uint32 ewmaWindow;
        address volatilityFeed;
        uint32 volatilityFeedHeartbeat;
    }

    /// @notice Per-asset feed configuration.
    /// @param feed The AggregatorV3 feed (proxy) address.
    /// @param decimals The feed's answer decimals, read from the feed when configured.
    /// @param heartbeat Seconds after `updatedAt` at which the answer becomes stale.
    /// @param maxDeviationWad Largest relative move from the reference price accepted without
    ///        confirmation (WAD, 0.1e18 = 10%).
    /// @param minPriceWad Lowest plausible price (WAD); answers below it are `Invalid`.
    /// @param maxPriceWad Highest plausible price (WAD); answers above it are `Invalid`.
    struct FeedConfig {
        address feed;
        uint8 decimals;
        uint32 heartbeat;
        uint64 maxDeviationWad;
        uint128 minPriceWad;
        uint128 maxPriceWad;
    }

    /// @notice Emitted when an asset's feed was configured or replaced.
    /// @param asset The asset key.
    /// @param feed The feed address.
    /// @param decimals The feed's decimals.
    /// @param heartbeat Staleness limit in seconds.
    /// @param minPriceWad Lower price bound (WAD).
    /// @param maxPriceWad Upper price bound (WAD).
    /// @param maxDeviationWad Largest unconfirmed relative move (WAD).
    event FeedConfigured(
        bytes32 indexed asset,
        address indexed feed,
        uint8 decimals,
        uint32 heartbeat,
        uint256 minPriceWad,
        uint256 maxPriceWad,
        uint256 maxDeviationWad
    );

    /// @notice Emitted at deployment with the L2 sequencer uptime feed the adapter is wired to.
    /// @param feed The sequencer uptime feed (zero: none).
    /// @param gracePeriod Seconds after the sequencer comes back during which prices are not trusted.
    event SequencerFeedConfigured(address indexed feed, uint32 gracePeriod);

    /// @notice Emitted when `update` recorded a new last good price.
    /// @param asset The asset key.
    /// @param roundId The feed round recorded.
    /// @param priceWad The price (WAD).
    /// @param updatedAt The round's `updatedAt`.
    event PriceUpdated(bytes32 indexed asset, uint80 roundId, uint256 priceWad, uint256 updatedAt);

    /// @notice Emitted when the guardian accepted a round that jumped beyond the deviation bound.
    /// @param asset The asset key.
    /// @param roundId The accepted round.
    /// @param priceWad The accepted price (WAD).
    /// @param by The guardian or admin that accepted it.
    event PriceAccepted(bytes32 indexed asset, uint80 roundId, uint256 priceWad, address indexed by);

    /// @notice Emitted when the risk consumer whose margins bound the deviation bounds was set or removed.
    /// @param consumer The consumer (zero: none).
    event RiskConsumerSet(address indexed consumer);

    /// @notice Emitted when an asset's volatility configuration changed.
    /// @param asset The asset key.
    /// @param config The new configuration.
    event VolatilityConfigured(bytes32 indexed asset, VolatilityConfig config);

    /// @notice Emitted when `update` (or `acceptPrice`) folded a new return into the EWMA volatility.
    /// @param asset The asset key.
    /// @param volatilityWad The new annualised EWMA volatility (WAD).
    event VolatilityUpdated(bytes32 indexed asset, uint256 volatilityWad);

    /// @notice Thrown when a volatility configuration is outside the hard bounds.
    /// @param config The configuration given.
    error ChainlinkOracleAdapterInvalidVolatilityConfig(VolatilityConfig config);

    /// @notice Thrown when the caller lacks the role the function needs.
    /// @param caller The caller.
    /// @param role The role required.
    error ChainlinkOracleAdapterUnauthorized(address caller, bytes32 role);
    /// @notice Thrown when an address argument is zero.
    error ChainlinkOracleAdapterZeroAddress();
    /// @notice Thrown when a feed reports more than 18 decimals, or its `decimals()` cannot be read.
    /// @param feed The feed.
    error ChainlinkOracleAdapterUnsupportedFeed(address feed);
    /// @notice Thrown when the heartbeat is outside `[MIN_HEARTBEAT, MAX_HEARTBEAT]`.
    /// @param heartbeat The heartbeat given.
    error ChainlinkOracleAdapterInvalidHeartbeat(uint256 heartbeat);
    /// @notice Thrown when price bounds are zero or inverted.
    /// @param minPriceWad The lower bound given.
    /// @param maxPriceWad The upper bound given.
    error ChainlinkOracleAdapterInvalidBounds(uint256 minPriceWad, uint256 maxPriceWad);
    /// @notice Thrown when the deviation bound is outside `[MIN_DEVIATION, MAX_DEVIATION]`.
    /// @param maxDeviationWad The bound given.
    error ChainlinkOracleAdapterInvalidDeviation(uint256 maxDeviationWad);
    /// @notice Thrown when a deviation bound is above the smallest maintenance margin of the markets on the
    ///         asset (see `IOracleRiskConsumer`).
    /// @param asset The asset key.
    /// @param maxDeviationWad The bound given.
    /// @param minMaintenanceMarginWad The smallest maintenance margin ratio of a market on `asset`.
    error ChainlinkOracleAdapterDeviationAboveMargin(
        bytes32 asset,
        uint256 maxDeviationWad,
        uint256 minMaintenanceMarginWad
    );
    /// @notice Thrown when the grace period is above `MAX_GRACE_PERIOD`.
    /// @param gracePeriod The grace period given.
    error ChainlinkOracleAdapterInvalidGracePeriod(uint256 gracePeriod);
    /// @notice Thrown when an asset has no feed.
    /// @param asset The asset key.
    error ChainlinkOracleAdapterUnknownAsset(bytes32 asset);
    /// @notice Thrown by `acceptPrice` when the latest round is not held back by the deviation check.
    /// @param asset The asset key.
    /// @param status The asset's current status.
    error ChainlinkOracleAdapterNothingToAccept(bytes32 asset, Status status);
    /// @notice Thrown when the transaction has too little gas left to tell a failing feed from a
    ///         starved call.
    error ChainlinkOracleAdapterInsufficientGas();

    /// @notice Configures (or replaces) the feed of `asset`. Admin only.
    /// @param asset The asset key.
    /// @param feed AggregatorV3 feed address; its `decimals()` (≤ 18) is read and stored.
    /// @param heartbeat Staleness limit in seconds.
    /// @param minPriceWad Lower plausible price (WAD).
    /// @param maxPriceWad Upper plausible price (WAD).
    /// @param maxDeviationWad Largest unconfirmed relative move (WAD).
    function setFeed(
        bytes32 asset,
        address feed,
        uint32 heartbeat,
        uint256 minPriceWad,
        uint256 maxPriceWad,
        uint256 maxDeviationWad
    ) external;

    /// @notice Adjusts the risk parameters of an existing feed within the hard bounds. Risk admin or
    ///         admin.
    /// @param asset The asset key.
    /// @param heartbeat Staleness limit in seconds.
    /// @param minPriceWad Lower plausible price (WAD).
    /// @param maxPriceWad Upper plausible price (WAD).
    /// @param maxDeviationWad Largest unconfirmed relative move (WAD).
    function setRiskParams(
        bytes32 asset,
        uint32 heartbeat,
        uint256 minPriceWad,
        uint256 maxPriceWad,
        uint256 maxDeviationWad
    ) external;

    /// @notice Sets the consumer (the margin engine) whose smallest maintenance margin per asset every later
    ///         deviation bound must not exceed (zero address removes it). Admin only. The bounds already
    ///         set are checked against the consumer's margins when it is set.
    /// @param consumer The consumer.
    function setRiskConsumer(address consumer) external;

    /// @notice The consumer set by `setRiskConsumer` (zero: none).
    function riskConsumer() external view returns (address);

    /// @notice Configures the volatility estimate of an existing asset. Risk admin or admin.
    /// @param asset The asset key.
    /// @param config The configuration (a volatility feed's `decimals()` must be readable and ≤ 18).
    function setVolatilityConfig(bytes32 asset, VolatilityConfig calldata config) external;

    /// @notice Annualised volatility of `asset` (WAD): the realised-volatility feed when one is configured
    ///         and its latest round is fresh and positive, else the EWMA of returns observed by `update`
    ///         (the initial volatility until the first return), else 0 with source `None`.
    /// @param asset The asset key.
    /// @return volatilityWad Annualised volatility (WAD).
    /// @return source Where it came from.
    function volatility(bytes32 asset) external view returns (uint256 volatilityWad, VolatilitySource source);

    /// @notice The volatility configuration of `asset`.
    /// @param asset The asset key.
    function volatilityConfig(bytes32 asset) external view returns (VolatilityConfig memory);

    /// @notice Permissionless poke: reads the feed and, when the status is `Ok` and the round is newer
    ///         than the recorded one, records the price as the last good price and folds the log return
    ///         since the previous recorded price into the asset's EWMA volatility (time-normalised:
    ///         sample `ln(P₁/P₀)² · year / dt`, weight `1 − exp(−dt / ewmaWindow)`).
    /// @param asset The asset key.
    /// @return priceWad The price (see `price`).
    /// @return status The status.
    function update(bytes32 asset) external returns (uint256 priceWad, Status status);

    /// @notice Accepts the latest round of `asset` although it jumped beyond the deviation bound, and
    ///         records it as the last good price, folding the return into the EWMA volatility like
    ///         `update`. Guardian or admin.
    /// @param asset The asset key.
    function acceptPrice(bytes32 asset) external;

    /// @notice The current price of `asset` and whether it may be acted on. Never reverts.
    /// @dev `priceWad` is the latest answer scaled to WAD when it could be read and is positive, else
    ///      the last good price (0 if none). Only `Status.Ok` prices may be acted on.
    /// @param asset The asset key.
    /// @return priceWad The price (WAD USD per 1e18 base units).
    /// @return status The status.
    /// @return updatedAt The latest round's `updatedAt`: the round the price comes from when it is `Ok` (0
    ///         when the round failed the structural checks).
    function price(bytes32 asset) external view returns (uint256 priceWad, Status status, uint256 updatedAt);

    /// @notice `price` with the publication times of the latest round and of the round before it, so that
    ///         a caller can tell which round a price comes from relative to an earlier commitment.
    /// @param asset The asset key.
    /// @return priceWad The price (see `price`).
    /// @return status The status (see `price`).
    /// @return updatedAt The latest round's `updatedAt` (0 when the round failed the structural checks).
    /// @return previousUpdatedAt The previous round's `updatedAt` (0 when it cannot be read).
    function priceAndTime(
        bytes32 asset
    ) external view returns (uint256 priceWad, Status status, uint256 updatedAt, uint256 previousUpdatedAt);

    /// @notice The last price recorded by `update` or `acceptPrice`.
    /// @param asset The asset key.
    /// @return priceWad The price (WAD).
    /// @return updatedAt The round's `updatedAt`.
    /// @return roundId The round.
    function lastGoodPrice(bytes32 asset) external view returns (uint256 priceWad, uint256 updatedAt, uint80 roundId);

    /// @notice The feed configuration of `asset` (zero feed when none).
    /// @param asset The asset key.
    function feedConfig(bytes32 asset) external view returns (FeedConfig memory);

    /// @notice The L2 sequencer uptime feed (zero when none) and its grace period, fixed at deployment.
    function sequencerFeed() external view returns (address feed, uint32 gracePeriod);

    /// @notice The access-control list and pause switchboard.
    function guardian() external view returns (address);
}
