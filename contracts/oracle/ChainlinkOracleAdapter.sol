// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IChainlinkOracleAdapter} from "../interfaces/IChainlinkOracleAdapter.sol";
import {IPauseGuardian} from "../interfaces/IPauseGuardian.sol";
import {IOracleRiskConsumer} from "../interfaces/IOracleRiskConsumer.sol";
import {ConstantsLib} from "../libraries/ConstantsLib.sol";
import {VolatilityMath} from "../libraries/VolatilityMath.sol";
import {FixedPointMathLib} from "solady/src/utils/FixedPointMathLib.sol";
import {FeedReader} from "./FeedReader.sol";
import {RoleCheck} from "../governance/RoleCheck.sol";

/// @title ChainlinkOracleAdapter
/// @notice Reads Chainlink AggregatorV3 feeds defensively and grades every price (see
///         `IChainlinkOracleAdapter`).
/// @dev Feeds are read by `FeedReader` (a capped `staticcall`: a reverting, gas-burning or malformed feed
///      yields `Status.Invalid`; a call the caller starved reverts with
///      `ChainlinkOracleAdapterInsufficientGas`, the deviation reference read included).
///      Decisions the interface leaves open:
///      - with no readable reference (no readable previous round and no last good price yet, e.g. the
///        first round of a new feed) the deviation check is skipped: the bounds still apply;
///      - a previous round only serves as reference when it is complete, not in the future and inside
///        the price bounds; otherwise the last good price is used;
///      - the round recorded by `update` or `acceptPrice` is never re-checked for deviation;
///      - replacing an asset's feed keeps its last good price (as deviation reference) but forgets the
///        recorded round id, which belongs to the old feed;
///      - answers of 2**128 or more (feed units) count as unreadable: no bound can admit them.
///      Volatility (annualised, WAD; `YEAR = 365 days`):
///      - EWMA of time-normalised squared log returns between consecutive last good prices. With
///        `P₀, t₀` the previous and `P₁, t₁` the new last good price and `dt = t₁ − t₀ > 0`:
///        `r = ln(P₁ / P₀)`, sample `s = r² · YEAR / dt`, weight `α = 1 − exp(−dt / ewmaWindow)`,
///        `var ← var + α · (s − var)`, `σ = √var`. Before the first sample `var = initialVolatilityWad²`.
///        A longer gap both shrinks the sample of a given return and gives it more weight, so the
///        estimate does not depend on how often `update` is poked;
///      - the sample is folded in whenever a new last good price is recorded: by `update` and also by
///        `acceptPrice` (a jump the guardian accepted is a real move that the estimate must see;
///        otherwise it would be skipped, because later returns start from the accepted price);
///      - no sample when there is no previous last good price or `dt == 0`; `dt < 0` (a replacement
///        feed whose round is older than the recorded one) is skipped the same way;
///      - the arithmetic and its rounding (upward, so that it never understates risk) are in
///        `VolatilityMath`;
///      - the realised-volatility feed (annualised percent with the feed's decimals) is read with the
///        same capped `staticcall` and gas guard as price feeds and used by `volatility` only when it
///        is positive, below 2**128 feed units, complete, not in the future and within its heartbeat.
///      Storage: three slots per asset (feed parameters, bounds, last good price); `price` reads each at
///      most once. The sequencer feed is an immutable (wiring fixed at deployment). A flag in the
///      last-good-price slot lets it skip the bounds for the recorded round at the recorded price (while
///      that price is inside the current bounds). An asset with a volatility
///      configuration has two more:
///      the EWMA state (window, volatility feed decimals, variance), the only one `update` reads and
///      writes, and the rarely read volatility parameters (feed, heartbeat, initial volatility).
///      Whether an asset has a volatility configuration is mirrored by a flag in its last-good-price
///      slot, which `update` reads anyway: without a configuration `update` touches no extra slot.
contract ChainlinkOracleAdapter is IChainlinkOracleAdapter {
    using FeedReader for uint256;

    /// @notice Shortest accepted heartbeat (seconds).
    uint256 public constant MIN_HEARTBEAT = 60;
    /// @notice Longest accepted heartbeat (seconds).
    uint256 public constant MAX_HEARTBEAT = 2 days;
    /// @notice Smallest accepted deviation bound (WAD, 0.5%).
    uint256 public constant MIN_DEVIATION = 0.005e18;
    /// @notice Largest accepted deviation bound (WAD, 100%).
    uint256 public constant MAX_DEVIATION = 1e18;
    /// @notice Longest accepted sequencer grace period (seconds).
    uint256 public constant MAX_GRACE_PERIOD = 1 days;
    /// @notice Gas given to each feed call.
    uint256 public constant FEED_GAS_LIMIT = FeedReader.FEED_GAS_LIMIT;
    /// @notice Largest accepted initial volatility (WAD, 1000%/year).
    uint256 public constant MAX_INITIAL_VOLATILITY = 10e18;
    /// @notice Shortest accepted EWMA window (seconds).
    uint256 public constant MIN_EWMA_WINDOW = 60;
    /// @notice Longest accepted EWMA window (seconds).
    uint256 public constant MAX_EWMA_WINDOW = 30 days;
    /// @notice Seconds per year used to annualise variance.
    uint256 public constant YEAR = VolatilityMath.YEAR;

    /// @dev `DEFAULT_ADMIN_ROLE` of OpenZeppelin AccessControl (the guardian's admin).
    bytes32 private constant DEFAULT_ADMIN_ROLE = 0x00;
    /// @dev WAD per percent: a volatility feed answer of 1% (in whole feed units) is 0.01e18.
    uint256 private constant WAD_PER_PERCENT = 1e16;

    /// @dev Feed parameters read on every `price` call (one slot). `heartbeat` fits 24 bits because
    ///      `MAX_HEARTBEAT < 2**24`; `maxDeviationWad` fits 64 bits because `MAX_DEVIATION < 2**64`.
    struct FeedParams {
        address feed;
        uint8 decimals;
        uint24 heartbeat;
        uint64 maxDeviationWad;
    }

    /// @dev Plausible price range (one slot).
    struct PriceBounds {
        uint128 minPriceWad;
        uint128 maxPriceWad;
    }

    /// @dev Last good price (one slot). `priceWad ≤ maxPriceWad ≤ 2**128 - 1`; `updatedAt ≤
    ///      block.timestamp` fits 40 bits (until the year 36812). `flags`: `VOLATILITY_TRACKED`, set once
    ///      by `setVolatilityConfig`, mirrors `VolatilityState.ewmaWindow != 0` (it lives here because
    ///      `update` reads this slot anyway); `IN_BOUNDS` (see below).
    struct LastGood {
        uint128 priceWad;
        uint40 updatedAt;
        uint80 roundId;
        uint8 flags;
    }

    /// @dev `LastGood.flags`: the asset has a volatility configuration.
    uint8 private constant VOLATILITY_TRACKED = 1;
    /// @dev `LastGood.flags`: `priceWad` lies inside the asset's current price bounds. Set when a price
    ///      is recorded (it passed the bounds) and recomputed whenever the bounds change, so that `price`
    ///      need not read the bounds for the recorded round.
    uint8 private constant IN_BOUNDS = 2;
    /// @dev EWMA state, the only volatility slot `update` touches (one slot). `ewmaWindow == 0` means no
    ///      volatility configuration. `varianceWadSq` is the annualised variance in 36 decimals (σ in WAD,
    ///      squared), so `σ = √varianceWadSq` is exact for the initial volatility. It stays below 2**158:
    ///      initially ≤ `MAX_INITIAL_VOLATILITY² = 1e38`; prices lie in `[1, 2**128)` wei, so `|r| <
    ///      88.73e18` and a sample is below `88.73e18² · YEAR < 2.5e47`; each step is a convex combination.
    struct VolatilityState {
        uint32 ewmaWindow;
        uint8 feedDecimals;
        uint216 varianceWadSq;
    }

    /// @dev Volatility parameters that `update` does not need (one slot).
    struct VolatilityParams {
        address feed;
        uint32 feedHeartbeat;
        uint64 initialVolatilityWad;
    }

    /// @dev A feed round that passed the structural checks, and its evaluation.
    struct Quote {
        uint256 priceWad;
        Status status;
        uint80 roundId;
        uint256 updatedAt;
        uint80 recordedRoundId;
        /// @dev Whether grading read the previous round, and its `updatedAt` then.
        bool previousRead;
        uint256 previousUpdatedAt;
    }

    /// @inheritdoc IChainlinkOracleAdapter
    address public immutable guardian;

    mapping(bytes32 asset => FeedParams) private _feedParams;
    mapping(bytes32 asset => PriceBounds) private _bounds;
    mapping(bytes32 asset => LastGood) private _lastGood;
    /// @dev Every asset ever configured with `setFeed`, for `setRiskConsumer`.
    bytes32[] private _assets;
    mapping(bytes32 asset => VolatilityState) private _volatilityState;
    mapping(bytes32 asset => VolatilityParams) private _volatilityParams;
    /// @dev The consumer whose maintenance margins bound every deviation bound (zero: none).
    address private _riskConsumer;

    /// @dev The L2 sequencer uptime feed (zero: none, as on L1) and its grace period: wiring, fixed at
    ///      deployment, so that no price read pays for a storage slot to learn whether there is one.
    address private immutable _sequencerFeed;
    uint32 private immutable _sequencerGracePeriod;

    /// @param guardian_ The `PauseGuardian` that holds the roles.
    /// @param sequencerFeed_ The chain's sequencer uptime feed; zero on a chain without one (L1).
    /// @param sequencerGracePeriod_ Seconds after the sequencer comes back during which prices are not
    ///        trusted (at most `MAX_GRACE_PERIOD`; ignored without a feed).
    constructor(address guardian_, address sequencerFeed_, uint32 sequencerGracePeriod_) {
        if (guardian_ == address(0)) revert ChainlinkOracleAdapterZeroAddress();
        if (sequencerGracePeriod_ > MAX_GRACE_PERIOD) {
            revert ChainlinkOracleAdapterInvalidGracePeriod(sequencerGracePeriod_);
        }
        guardian = guardian_;
        _sequencerFeed = sequencerFeed_;
        _sequencerGracePeriod = sequencerGracePeriod_;
        emit SequencerFeedConfigured(sequencerFeed_, sequencerGracePeriod_);
    }

    // ---------------------------------------------------------------- configuration

    /// @inheritdoc IChainlinkOracleAdapter
    function setFeed(
        bytes32 asset,
        address feed,
        uint32 heartbeat,
        uint256 minPriceWad,
        uint256 maxPriceWad,
        uint256 maxDeviationWad
    ) external {
        _checkRole(DEFAULT_ADMIN_ROLE, false);
        if (feed == address(0)) revert ChainlinkOracleAdapterZeroAddress();
        _checkRiskParams(asset, heartbeat, minPriceWad, maxPriceWad, maxDeviationWad);
        uint8 feedDecimals = FeedReader.readDecimals(feed);

        address previousFeed = _feedParams[asset].feed;
        if (previousFeed == address(0)) _assets.push(asset);
        if (previousFeed != feed) _lastGood[asset].roundId = 0;
        _store(asset, feed, feedDecimals, heartbeat, minPriceWad, maxPriceWad, maxDeviationWad);
    }

    /// @inheritdoc IChainlinkOracleAdapter
    /// @dev Emits `FeedConfigured` with the unchanged feed and decimals.
    function setRiskParams(
        bytes32 asset,
        uint32 heartbeat,
        uint256 minPriceWad,
        uint256 maxPriceWad,
        uint256 maxDeviationWad
    ) external {
        _checkRole(ConstantsLib.RISK_ADMIN_ROLE, true);
        FeedParams memory params = _knownFeed(asset);
        _checkRiskParams(asset, heartbeat, minPriceWad, maxPriceWad, maxDeviationWad);

        _store(asset, params.feed, params.decimals, heartbeat, minPriceWad, maxPriceWad, maxDeviationWad);
    }

    /// @inheritdoc IChainlinkOracleAdapter
    function setRiskConsumer(address consumer) external {
        _checkRole(DEFAULT_ADMIN_ROLE, false);
        _riskConsumer = consumer;
        uint256 count = _assets.length;
        for (uint256 i; i < count; ++i) {
            bytes32 asset = _assets[i];
            _checkDeviationBelowMargin(asset, _feedParams[asset].maxDeviationWad);
        }
        emit RiskConsumerSet(consumer);
    }

    /// @inheritdoc IChainlinkOracleAdapter
    function riskConsumer() external view returns (address) {
        return _riskConsumer;
    }

    /// @inheritdoc IChainlinkOracleAdapter
    /// @dev Hard bounds: `0 < initialVolatilityWad ≤ MAX_INITIAL_VOLATILITY`, `MIN_EWMA_WINDOW ≤ ewmaWindow ≤
    ///      MAX_EWMA_WINDOW` and, with a volatility feed, `MIN_HEARTBEAT ≤ volatilityFeedHeartbeat ≤
    ///      MAX_HEARTBEAT` (else `ChainlinkOracleAdapterInvalidVolatilityConfig`). A volatility feed whose
    ///      `decimals()` cannot be read or exceeds 18 reverts with `ChainlinkOracleAdapterUnsupportedFeed`,
    ///      like `setFeed`. Without a volatility feed the heartbeat is stored as given and unused. Every call
    ///      resets the EWMA to `initialVolatilityWad²`; the last good price is kept, so the next recorded
    ///      price yields the first sample.
    function setVolatilityConfig(bytes32 asset, VolatilityConfig calldata config) external {
        _checkRole(ConstantsLib.RISK_ADMIN_ROLE, true);
        _knownFeed(asset);
        address feed = config.volatilityFeed;
        if (
            config.initialVolatilityWad == 0 ||
            config.initialVolatilityWad > MAX_INITIAL_VOLATILITY ||
            config.ewmaWindow < MIN_EWMA_WINDOW ||
            config.ewmaWindow > MAX_EWMA_WINDOW ||
            (feed != address(0) &&
                (config.volatilityFeedHeartbeat < MIN_HEARTBEAT || config.volatilityFeedHeartbeat > MAX_HEARTBEAT))
        ) revert ChainlinkOracleAdapterInvalidVolatilityConfig(config);
        uint8 feedDecimals = feed == address(0) ? 0 : FeedReader.readDecimals(feed);

        uint256 initialVolatilityWad = config.initialVolatilityWad;
        _volatilityState[asset] = VolatilityState({
            ewmaWindow: config.ewmaWindow,
            feedDecimals: feedDecimals,
            varianceWadSq: uint216(initialVolatilityWad * initialVolatilityWad)
        });
        _volatilityParams[asset] = VolatilityParams({
            feed: feed,
            feedHeartbeat: config.volatilityFeedHeartbeat,
            initialVolatilityWad: config.initialVolatilityWad
        });
        _lastGood[asset].flags |= VOLATILITY_TRACKED;
        emit VolatilityConfigured(asset, config);
    }

    // ---------------------------------------------------------------- price recording

    /// @inheritdoc IChainlinkOracleAdapter
    function update(bytes32 asset) external returns (uint256 priceWad, Status status) {
        (Quote memory quote, LastGood memory last) = _quote(asset, _knownFeed(asset));

        if (quote.status == Status.Ok && quote.roundId > quote.recordedRoundId) {
            _record(asset, quote, last.flags);
            emit PriceUpdated(asset, quote.roundId, quote.priceWad, quote.updatedAt);
            if (last.flags & VOLATILITY_TRACKED != 0) _foldReturn(asset, quote, last);
        }
        return (quote.priceWad, quote.status);
    }

    /// @inheritdoc IChainlinkOracleAdapter
    /// @dev Only a round held back by the deviation check (`Status.Deviation`) can be accepted, so the
    ///      accepted price is inside the bounds, fresh and complete. Like `update`, folds the return into
    ///      the EWMA volatility.
    function acceptPrice(bytes32 asset) external {
        _checkRole(ConstantsLib.GUARDIAN_ROLE, true);
        (Quote memory quote, LastGood memory last) = _quote(asset, _knownFeed(asset));
        if (quote.status != Status.Deviation) revert ChainlinkOracleAdapterNothingToAccept(asset, quote.status);

        _record(asset, quote, last.flags);
        emit PriceAccepted(asset, quote.roundId, quote.priceWad, msg.sender);
        if (last.flags & VOLATILITY_TRACKED != 0) _foldReturn(asset, quote, last);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IChainlinkOracleAdapter
    /// @dev Reverts only with `ChainlinkOracleAdapterInsufficientGas`, when the caller starved a feed call.
    function price(bytes32 asset) external view returns (uint256 priceWad, Status status, uint256 updatedAt) {
        FeedParams memory params = _feedParams[asset];
        if (params.feed == address(0)) return (0, Status.Invalid, 0);
        (Quote memory quote, ) = _quote(asset, params);
        return (quote.priceWad, quote.status, quote.updatedAt);
    }

    /// @inheritdoc IChainlinkOracleAdapter
    function priceAndTime(
        bytes32 asset
    ) external view returns (uint256 priceWad, Status status, uint256 updatedAt, uint256 previousUpdatedAt) {
        FeedParams memory params = _feedParams[asset];
        if (params.feed == address(0)) return (0, Status.Invalid, 0, 0);
        (Quote memory quote, ) = _quote(asset, params);
        // A new round's grading read the previous round already; a recorded one's did not.
        if (quote.previousRead) previousUpdatedAt = quote.previousUpdatedAt;
        else if (quote.roundId != 0)
            (, , , , previousUpdatedAt) = FeedReader.readRound(params.feed, false, quote.roundId - 1);
        return (quote.priceWad, quote.status, quote.updatedAt, previousUpdatedAt);
    }

    /// @inheritdoc IChainlinkOracleAdapter
    function lastGoodPrice(bytes32 asset) external view returns (uint256 priceWad, uint256 updatedAt, uint80 roundId) {
        LastGood memory last = _lastGood[asset];
        return (last.priceWad, last.updatedAt, last.roundId);
    }

    /// @inheritdoc IChainlinkOracleAdapter
    function feedConfig(bytes32 asset) external view returns (FeedConfig memory) {
        FeedParams memory params = _feedParams[asset];
        PriceBounds memory bounds = _bounds[asset];
        return
            FeedConfig({
                feed: params.feed,
                decimals: params.decimals,
                heartbeat: params.heartbeat,
                maxDeviationWad: params.maxDeviationWad,
                minPriceWad: bounds.minPriceWad,
                maxPriceWad: bounds.maxPriceWad
            });
    }

    /// @inheritdoc IChainlinkOracleAdapter
    function sequencerFeed() external view returns (address feed, uint32 gracePeriod) {
        return (_sequencerFeed, _sequencerGracePeriod);
    }

    /// @inheritdoc IChainlinkOracleAdapter
    /// @dev Feed: `σ = answer · 1e16 / 10**decimals` (answer in percent), rounded up. EWMA: `σ = √var`,
    ///      rounded up. Reverts only with `ChainlinkOracleAdapterInsufficientGas`, when the caller starved
    ///      the volatility feed call.
    function volatility(bytes32 asset) external view returns (uint256 volatilityWad, VolatilitySource source) {
        VolatilityState memory state = _volatilityState[asset];
        if (state.ewmaWindow == 0) return (0, VolatilitySource.None);

        VolatilityParams memory params = _volatilityParams[asset];
        if (params.feed != address(0)) {
            volatilityWad = _feedVolatilityWad(params, state.feedDecimals);
            if (volatilityWad != 0) return (volatilityWad, VolatilitySource.Feed);
        }
        return (VolatilityMath.volatilityWad(state.varianceWadSq), VolatilitySource.Ewma);
    }

    /// @inheritdoc IChainlinkOracleAdapter
    function volatilityConfig(bytes32 asset) external view returns (VolatilityConfig memory) {
        VolatilityParams memory params = _volatilityParams[asset];
        return
            VolatilityConfig({
                initialVolatilityWad: params.initialVolatilityWad,
                ewmaWindow: _volatilityState[asset].ewmaWindow,
                volatilityFeed: params.feed,
                volatilityFeedHeartbeat: params.feedHeartbeat
            });
    }

    // ---------------------------------------------------------------- evaluation

    /// @dev Reads the latest round of a configured asset and grades it in the documented order; also
    ///      returns the recorded last good price it was compared with.
    function _quote(
        bytes32 asset,
        FeedParams memory params
    ) private view returns (Quote memory quote, LastGood memory last) {
        last = _lastGood[asset];
        Status sequencerStatus = _sequencerStatus();
        quote.recordedRoundId = last.roundId;

        (bool read, uint256 roundId, int256 answer, , uint256 updatedAt) = FeedReader.readRound(params.feed, true, 0);
        if (!read || answer <= 0 || uint256(answer) > type(uint128).max) {
            quote.priceWad = last.priceWad;
            quote.status = sequencerStatus == Status.Ok ? Status.Invalid : sequencerStatus;
            return (quote, last);
        }
        uint256 scale = _scale(params.decimals);
        quote.priceWad = uint256(answer) * scale;
        if (sequencerStatus != Status.Ok) {
            quote.status = sequencerStatus;
            return (quote, last);
        }

        // The recorded round at the recorded price is known to be inside the bounds (`IN_BOUNDS`).
        bool knownInBounds = roundId == last.roundId && quote.priceWad == last.priceWad && last.flags & IN_BOUNDS != 0;
        PriceBounds memory bounds;
        if (!knownInBounds) bounds = _bounds[asset];
        if (
            roundId > type(uint80).max ||
            updatedAt == 0 ||
            updatedAt > block.timestamp ||
            (!knownInBounds && (quote.priceWad < bounds.minPriceWad || quote.priceWad > bounds.maxPriceWad))
        ) {
            quote.status = Status.Invalid;
            return (quote, last);
        }
        quote.roundId = uint80(roundId);
        quote.updatedAt = updatedAt;
        if (block.timestamp - updatedAt > params.heartbeat) {
            quote.status = Status.Stale;
            return (quote, last);
        }
        if (quote.roundId == last.roundId) return (quote, last); // recorded or accepted: Ok
        _gradeDeviation(quote, params, scale, bounds, last.priceWad);
    }

    /// @dev Grades a new round `Deviation` when it moved beyond the bound from the previous round (or, when
    ///      that cannot serve as reference, from the last good price); records the previous round's
    ///      `updatedAt` in `quote`.
    function _gradeDeviation(
        Quote memory quote,
        FeedParams memory params,
        uint256 scale,
        PriceBounds memory bounds,
        uint256 lastPriceWad
    ) private view {
        uint256 referenceWad;
        (referenceWad, quote.previousUpdatedAt) = FeedReader.previousRoundWad(
            params.feed,
            quote.roundId,
            scale,
            bounds.minPriceWad,
            bounds.maxPriceWad
        );
        quote.previousRead = true;
        if (referenceWad == 0) referenceWad = lastPriceWad;
        if (quote.priceWad.deviates(referenceWad, params.maxDeviationWad)) quote.status = Status.Deviation;
    }

    /// @dev The sequencer's status (`FeedReader.sequencerStatus`; `Ok` when no sequencer feed is set).
    function _sequencerStatus() private view returns (Status) {
        if (_sequencerFeed == address(0)) return Status.Ok;
        return FeedReader.sequencerStatus(_sequencerFeed, _sequencerGracePeriod);
    }

    // ---------------------------------------------------------------- volatility

    /// @dev Folds the return from the previous last good price `last` to the newly recorded `quote` into the
    ///      EWMA of an asset with a volatility configuration; no sample without a previous price or unless
    ///      `dt > 0`.
    function _foldReturn(bytes32 asset, Quote memory quote, LastGood memory last) private {
        if (last.priceWad == 0 || quote.updatedAt <= last.updatedAt) return;
        VolatilityState memory state = _volatilityState[asset];
        uint256 varianceWadSq = VolatilityMath.ewmaStep(
            state.varianceWadSq,
            last.priceWad,
            quote.priceWad,
            quote.updatedAt - last.updatedAt,
            state.ewmaWindow
        );

        // Lossless: see `VolatilityState`.
        _volatilityState[asset] = VolatilityState({
            ewmaWindow: state.ewmaWindow,
            feedDecimals: state.feedDecimals,
            varianceWadSq: uint216(varianceWadSq)
        });
        emit VolatilityUpdated(asset, VolatilityMath.volatilityWad(varianceWadSq));
    }

    /// @dev The volatility feed's latest answer in WAD, or 0 when it may not be used (unreadable,
    ///      ≤ 0, 2**128 feed units or more, incomplete, in the future, or older than its heartbeat).
    function _feedVolatilityWad(VolatilityParams memory params, uint8 feedDecimals) private view returns (uint256) {
        (bool read, , int256 answer, , uint256 updatedAt) = FeedReader.readRound(params.feed, true, 0);
        if (!read || answer <= 0 || uint256(answer) > type(uint128).max) return 0;
        if (updatedAt == 0 || updatedAt > block.timestamp || block.timestamp - updatedAt > params.feedHeartbeat) {
            return 0;
        }
        return FixedPointMathLib.mulDivUp(uint256(answer), WAD_PER_PERCENT, 10 ** feedDecimals);
    }

    /// @dev Factor from feed units to WAD; exact because `decimals ≤ 18` is enforced by `setFeed`.
    function _scale(uint8 feedDecimals) private pure returns (uint256) {
        return 10 ** (ConstantsLib.WAD_DECIMALS - feedDecimals);
    }

    // ---------------------------------------------------------------- storage helpers

    /// @dev Records `quote` (inside the bounds: it was graded `Ok` or `Deviation`) as the last good price,
    ///      keeping the volatility flag of `flags`.
    function _record(bytes32 asset, Quote memory quote, uint8 flags) private {
        _lastGood[asset] = LastGood({
            priceWad: uint128(quote.priceWad),
            updatedAt: uint40(quote.updatedAt),
            roundId: quote.roundId,
            flags: (flags & VOLATILITY_TRACKED) | IN_BOUNDS
        });
    }

    function _store(
        bytes32 asset,
        address feed,
        uint8 feedDecimals,
        uint32 heartbeat,
        uint256 minPriceWad,
        uint256 maxPriceWad,
        uint256 maxDeviationWad
    ) private {
        // Casts are lossless: `_checkRiskParams` bounded every value.
        _feedParams[asset] = FeedParams({
            feed: feed,
            decimals: feedDecimals,
            heartbeat: uint24(heartbeat),
            maxDeviationWad: uint64(maxDeviationWad)
        });
        _bounds[asset] = PriceBounds({minPriceWad: uint128(minPriceWad), maxPriceWad: uint128(maxPriceWad)});
        LastGood storage last = _lastGood[asset];
        uint256 lastPriceWad = last.priceWad;
        uint8 flags = last.flags;
        last.flags =
            lastPriceWad >= minPriceWad && lastPriceWad <= maxPriceWad ? flags | IN_BOUNDS : flags & ~IN_BOUNDS;
        emit FeedConfigured(asset, feed, feedDecimals, heartbeat, minPriceWad, maxPriceWad, maxDeviationWad);
    }

    function _knownFeed(bytes32 asset) private view returns (FeedParams memory params) {
        params = _feedParams[asset];
        if (params.feed == address(0)) revert ChainlinkOracleAdapterUnknownAsset(asset);
    }

    // ---------------------------------------------------------------- checks

    function _checkRiskParams(
        bytes32 asset,
        uint256 heartbeat,
        uint256 minPriceWad,
        uint256 maxPriceWad,
        uint256 maxDeviationWad
    ) private view {
        if (heartbeat < MIN_HEARTBEAT || heartbeat > MAX_HEARTBEAT) {
            revert ChainlinkOracleAdapterInvalidHeartbeat(heartbeat);
        }
        if (minPriceWad == 0 || minPriceWad >= maxPriceWad || maxPriceWad > type(uint128).max) {
            revert ChainlinkOracleAdapterInvalidBounds(minPriceWad, maxPriceWad);
        }
        if (maxDeviationWad < MIN_DEVIATION || maxDeviationWad > MAX_DEVIATION) {
            revert ChainlinkOracleAdapterInvalidDeviation(maxDeviationWad);
        }
        _checkDeviationBelowMargin(asset, maxDeviationWad);
    }

    /// @dev Reverts unless a single round graded `Ok` (a move of at most `maxDeviationWad`) stays within the
    ///      maintenance margin of every market the risk consumer lists on `asset`.
    function _checkDeviationBelowMargin(bytes32 asset, uint256 maxDeviationWad) private view {
        address consumer = _riskConsumer;
        if (consumer == address(0)) return;
        uint256 minMmr = IOracleRiskConsumer(consumer).minMaintenanceMarginWad(asset);
        if (maxDeviationWad > minMmr) {
            revert ChainlinkOracleAdapterDeviationAboveMargin(asset, maxDeviationWad, minMmr);
        }
    }

    /// @dev Reverts unless the caller holds `role` (or, when `orAdmin`, the admin role); the error names
    ///      `role`.
    function _checkRole(bytes32 role, bool orAdmin) private view {
        if (!RoleCheck.has(IPauseGuardian(guardian), role, msg.sender, orAdmin)) {
            revert ChainlinkOracleAdapterUnauthorized(msg.sender, role);
        }
    }
}
