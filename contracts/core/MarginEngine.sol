// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IMarginEngine} from "../interfaces/IMarginEngine.sol";
import {ICollateralVault} from "../interfaces/ICollateralVault.sol";
import {ILiquidityPool} from "../interfaces/ILiquidityPool.sol";
import {IChainlinkOracleAdapter} from "../interfaces/IChainlinkOracleAdapter.sol";
import {IPauseGuardian} from "../interfaces/IPauseGuardian.sol";
import {ConstantsLib} from "../libraries/ConstantsLib.sol";
import {WadMath} from "../libraries/WadMath.sol";
import {MarginMath} from "../libraries/MarginMath.sol";
import {LiquidationMath} from "../libraries/LiquidationMath.sol";
import {EngineLib} from "../libraries/EngineLib.sol";
import {TradeLogic} from "../libraries/TradeLogic.sol";
import {LiquidationLogic} from "../libraries/LiquidationLogic.sol";
import {RebalanceLogic} from "../libraries/RebalanceLogic.sol";
import {RebalancePreview} from "../libraries/RebalancePreview.sol";
import {OrderLogic} from "../libraries/OrderLogic.sol";
import {IMarginEngineOrders} from "../interfaces/IMarginEngineOrders.sol";
import {AccountSnapshot, Plan, Policy} from "../interfaces/RebalanceTypes.sol";
import {IRebalanceStrategy} from "../interfaces/IRebalanceStrategy.sol";
import {IOracleRiskConsumer} from "../interfaces/IOracleRiskConsumer.sol";
import {RoleCheck} from "../governance/RoleCheck.sol";
import {DeleverageCapLogic} from "../libraries/DeleverageCapLogic.sol";

/// @title MarginEngine
/// @notice Markets, cross-margined positions, health, liquidation and rebalancing (see `IMarginEngine`).
/// @dev Storage lives in one `EngineLib.Layout`; trading, orders, liquidation and rebalancing run in
///      linked external libraries (`TradeLogic`, `OrderLogic`, `LiquidationLogic`, `RebalanceLogic`) that
///      receive it, which keeps this contract under the 24 KiB code-size limit. Entry points follow one
///      order: checks → oracle reads → compute → write state → emit → calls to the vault and pool
///      (trusted, immutable wiring). Margin lives in the vault in token units; it is
///      converted to WAD exactly (`scale = 10**(18 − decimals)`) and back with the rounding against the
///      account.
contract MarginEngine is IMarginEngine, ReentrancyGuardTransient {
    using WadMath for uint256;
    using SafeCast for uint256;
    using SafeCast for int256;

    /// @notice Hard bounds on market and liquidation parameters.
    uint256 public constant MIN_MMR = 0.001e18;
    uint256 public constant MAX_IMR = 1e18;
    uint256 public constant MAX_FEE = 0.01e18;
    uint256 public constant MAX_PENALTY = 0.2e18;
    uint256 public constant MAX_TARGET_HEALTH = 3e18;

    ICollateralVault private immutable _vault;
    ILiquidityPool private immutable _pool;
    IChainlinkOracleAdapter private immutable _oracle;
    IPauseGuardian private immutable _guardian;
    /// @dev 10**(18 − token decimals).
    uint256 private immutable _scale;

    /// @notice Policy bounds.
    uint256 public constant MIN_POLICY_GAP = 0.05e18;
    /// @notice Highest trigger and target a policy may set: a policy cannot demand deleverage of an
    ///         account far from liquidation (a sweep may still start up to `MAX_POLICY_HEALTH`).
    uint256 public constant MAX_POLICY_TRIGGER = 3e18;
    uint256 public constant MAX_POLICY_TARGET = 4e18;
    uint256 public constant MAX_POLICY_HEALTH = 10e18;
    /// @notice Largest keeper reward per rebalance, in value (WAD USD).
    uint256 public constant MAX_KEEPER_REWARD_WAD = 100e18;
    /// @notice Bounds on a deleverage cap's window.
    uint256 public constant MIN_CAP_WINDOW = 5 minutes;
    uint256 public constant MAX_CAP_WINDOW = 7 days;

    EngineLib.Layout private _s;

    /// @param vault_ The collateral vault.
    /// @param pool_ The liquidity pool.
    /// @param oracle_ The oracle adapter.
    /// @param guardian_ The access-control list and pause switchboard.
    /// @param liquidationParams_ Initial liquidation parameters.
    /// @param reserveFactorWad_ Initial share of open notional the pool must cover.
    constructor(
        address vault_,
        address pool_,
        address oracle_,
        address guardian_,
        LiquidationParams memory liquidationParams_,
        uint256 reserveFactorWad_
    ) {
        if (vault_ == address(0) || pool_ == address(0) || oracle_ == address(0) || guardian_ == address(0)) {
            revert MarginEngineZeroAddress();
        }
        _vault = ICollateralVault(vault_);
        _pool = ILiquidityPool(pool_);
        _oracle = IChainlinkOracleAdapter(oracle_);
        _guardian = IPauseGuardian(guardian_);
        _scale = 10 ** (ConstantsLib.WAD_DECIMALS - IERC20Metadata(ICollateralVault(vault_).token()).decimals());
        _setLiquidationParams(liquidationParams_);
        _setReserveFactor(reserveFactorWad_);
        // The built-in threshold planner: a policy naming the engine is planned here, without a call.
        EngineLib.setStrategyFlags(_s, address(this), EngineLib.STRATEGY_APPROVED);
        emit StrategyApproval(address(this), true);
    }

    // ---------------------------------------------------------------- governance

    /// @inheritdoc IMarginEngine
    function listMarket(MarketConfig calldata config) external returns (uint256 marketId) {
        _checkRole(ConstantsLib.ADMIN_ROLE, false);
        if (_s.listedAssets[config.asset] || _oracle.feedConfig(config.asset).feed == address(0)) {
            revert MarginEngineInvalidAsset(config.asset);
        }
        if (_s.marketCount == ConstantsLib.MAX_MARKETS) revert MarginEngineTooManyMarketsListed();
        _validateMarketConfig(config);
        _checkMarginAboveDeviation(config);
        marketId = ++_s.marketCount;
        _s.listedAssets[config.asset] = true;
        EngineLib.storeMarket(_s, marketId, config);
        emit MarketListed(marketId, config.asset, config);
    }

    /// @inheritdoc IMarginEngine
    function setMarketConfig(uint256 marketId, MarketConfig calldata config) external {
        _checkRole(ConstantsLib.RISK_ADMIN_ROLE, true);
        MarketConfig storage market = _market(marketId);
        if (config.asset != market.asset) revert MarginEngineInvalidAsset(config.asset);
        _validateMarketConfig(config);
        _checkMarginAboveDeviation(config);
        EngineLib.storeMarket(_s, marketId, config);
        emit MarketConfigUpdated(marketId, config);
    }

    /// @inheritdoc IMarginEngine
    function setLiquidationParams(LiquidationParams calldata params) external {
        _checkRole(ConstantsLib.RISK_ADMIN_ROLE, true);
        _setLiquidationParams(params);
    }

    /// @inheritdoc IMarginEngine
    function setLiquidityReserveFactor(uint256 reserveFactorWad) external {
        _checkRole(ConstantsLib.RISK_ADMIN_ROLE, true);
        _setReserveFactor(reserveFactorWad);
    }

    // ---------------------------------------------------------------- trading

    /// @inheritdoc IMarginEngineOrders
    function submitOrder(
        uint256 marketId,
        int256 sizeDeltaWad,
        uint256 acceptablePriceWad,
        uint256 expiry
    ) external returns (uint256 orderId) {
        return OrderLogic.submit(_s, msg.sender, marketId, sizeDeltaWad, acceptablePriceWad, expiry);
    }

    /// @inheritdoc IMarginEngineOrders
    function cancelOrder(uint256 orderId) external {
        OrderLogic.cancel(_s, _wiring(), orderId, msg.sender);
    }

    /// @inheritdoc IMarginEngineOrders
    function executeOrder(uint256 orderId) external nonReentrant {
        EngineLib.Wiring memory w = _wiring();
        (address account, int256 delta, EngineLib.KnownPrice memory fill) = OrderLogic.take(_s, w, orderId, msg.sender);
        TradeLogic.modify(_s, w, account, delta, fill);
    }

    /// @inheritdoc IMarginEngineOrders
    function pendingOrder(uint256 orderId) external view returns (Order memory) {
        return _s.orders[orderId];
    }

    /// @inheritdoc IMarginEngineOrders
    function orderCount() external view returns (uint256) {
        return _s.orderCount;
    }

    /// @inheritdoc IMarginEngine
    function withdrawMargin(uint256 amountTokens, address to) external nonReentrant {
        // Only a rebalance reads the record, and a later `setPolicy` records again.
        if (_s.policyWords[msg.sender] != 0) _s.ownerActionAt[msg.sender] = block.timestamp;
        TradeLogic.withdrawMargin(_s, _wiring(), msg.sender, amountTokens, to);
    }

    // ---------------------------------------------------------------- liquidation

    /// @inheritdoc IMarginEngine
    function liquidate(address account) external nonReentrant {
        LiquidationLogic.liquidate(_s, _wiring(), account, msg.sender);
    }

    // ---------------------------------------------------------------- rebalancing

    /// @inheritdoc IMarginEngine
    function setPolicy(Policy calldata policy) external {
        bool valid =
            policy.triggerHealthWad > ConstantsLib.WAD &&
                policy.triggerHealthWad <= MAX_POLICY_TRIGGER &&
                policy.targetHealthWad >= uint256(policy.triggerHealthWad) + MIN_POLICY_GAP &&
                policy.targetHealthWad <= MAX_POLICY_TARGET &&
                (policy.sweepHealthWad == 0 ||
                    (policy.sweepHealthWad >= uint256(policy.targetHealthWad) + MIN_POLICY_GAP &&
                        policy.sweepHealthWad <= MAX_POLICY_HEALTH)) &&
                (policy.allowTopUp || policy.allowDeleverage);
        if (!valid) revert MarginEngineInvalidPolicy(policy);
        if (_s.strategyFlags[policy.strategy] & EngineLib.STRATEGY_APPROVED == 0) {
            revert MarginEngineStrategyNotApproved(policy.strategy);
        }
        EngineLib.storePolicy(_s, msg.sender, policy);
        _s.ownerActionAt[msg.sender] = block.timestamp;
        emit PolicyUpdated(msg.sender, policy);
    }

    /// @inheritdoc IMarginEngine
    function clearPolicy() external {
        if (_s.policyWords[msg.sender] == 0) revert MarginEngineNoPolicy(msg.sender);
        EngineLib.clearPolicy(_s, msg.sender);
        emit PolicyCleared(msg.sender);
    }

    /// @inheritdoc IMarginEngine
    function setStrategyApproval(address strategy, bool approved) external {
        _checkRole(ConstantsLib.ADMIN_ROLE, false);
        if (strategy == address(0)) revert MarginEngineZeroAddress();
        EngineLib.setStrategyFlags(
            _s,
            strategy,
            approved
                ? EngineLib.STRATEGY_APPROVED |
                    (
                        strategy != address(this) && IRebalanceStrategy(strategy).usesVolatility()
                            ? EngineLib.STRATEGY_USES_VOLATILITY
                            : 0
                    )
                : 0
        );
        emit StrategyApproval(strategy, approved);
    }

    /// @inheritdoc IMarginEngine
    function setKeeperReward(uint256 rewardTokens) external {
        _checkRole(ConstantsLib.RISK_ADMIN_ROLE, true);
        if (rewardTokens * _scale > MAX_KEEPER_REWARD_WAD) revert MarginEngineInvalidKeeperReward(rewardTokens);
        EngineLib.setKeeperReward(_s, rewardTokens);
        emit KeeperRewardUpdated(rewardTokens);
    }

    /// @inheritdoc IMarginEngine
    function setDeleverageCap(uint256 marketId, uint256 maxNotionalWad, uint256 windowSeconds) external {
        _checkRole(ConstantsLib.RISK_ADMIN_ROLE, true);
        _market(marketId);
        if (maxNotionalWad != 0 && (windowSeconds < MIN_CAP_WINDOW || windowSeconds > MAX_CAP_WINDOW)) {
            revert MarginEngineInvalidDeleverageCap(windowSeconds);
        }
        DeleverageCap storage cap = _s.deleverageCaps[marketId];
        cap.maxNotionalWad = maxNotionalWad.toUint128();
        cap.windowSeconds = uint32(windowSeconds);
        EngineLib.setCapped(_s, marketId, maxNotionalWad != 0);
        emit DeleverageCapUpdated(marketId, maxNotionalWad, windowSeconds);
    }

    /// @inheritdoc IMarginEngine
    function rebalance(address account) external nonReentrant returns (uint256 healthAfterWad) {
        return RebalanceLogic.rebalance(_s, _wiring(), account, msg.sender);
    }

    /// @inheritdoc IMarginEngine
    function accountSnapshot(address account) external view returns (AccountSnapshot memory snapshot, bool pricesOk) {
        return RebalancePreview.accountSnapshot(_s, _wiring(), account);
    }

    /// @inheritdoc IMarginEngine
    function keeperAction(
        address account
    ) external view returns (KeeperAction action, Plan memory plan, bool deleverageCapped) {
        return RebalancePreview.keeperAction(_s, _wiring(), account);
    }

    /// @inheritdoc IMarginEngine
    function policyOf(address account) external view returns (Policy memory policy) {
        (policy, ) = EngineLib.loadPolicy(_s, account);
    }

    /// @inheritdoc IMarginEngine
    function isStrategyApproved(address strategy) external view returns (bool) {
        return _s.strategyFlags[strategy] & EngineLib.STRATEGY_APPROVED != 0;
    }

    /// @inheritdoc IMarginEngine
    function builtinStrategy() external view returns (address) {
        return address(this);
    }

    /// @inheritdoc IMarginEngine
    function keeperReward() external view returns (uint256) {
        return _s.keeperRewardTokens;
    }

    /// @inheritdoc IMarginEngine
    function deleverageCap(uint256 marketId) external view returns (DeleverageCap memory) {
        return _s.deleverageCaps[marketId];
    }

    /// @inheritdoc IMarginEngine
    function deleverageRoom(uint256 marketId) external view returns (uint256) {
        return DeleverageCapLogic.room(_s, marketId);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IOracleRiskConsumer
    /// @dev An asset has at most one market (`listMarket` refuses a second), so its margin is the smallest.
    function minMaintenanceMarginWad(bytes32 asset) external view returns (uint256) {
        uint256 count = _s.marketCount;
        for (uint256 id = 1; id <= count; ++id) {
            if (_s.markets[id].asset == asset) return _s.markets[id].mmrWad;
        }
        return type(uint256).max;
    }

    /// @inheritdoc IMarginEngine
    function marketCount() external view returns (uint256) {
        return _s.marketCount;
    }

    /// @inheritdoc IMarginEngine
    function marketConfig(uint256 marketId) external view returns (MarketConfig memory) {
        return _market(marketId);
    }

    /// @inheritdoc IMarginEngine
    function marketState(uint256 marketId) external view returns (MarketState memory) {
        _market(marketId);
        return _s.marketStates[marketId];
    }

    /// @inheritdoc IMarginEngine
    function liquidationParams() external view returns (LiquidationParams memory) {
        return _s.liquidationParams;
    }

    /// @inheritdoc IMarginEngine
    function liquidityReserveFactor() external view returns (uint256) {
        return _s.reserveFactorWad;
    }

    /// @inheritdoc IMarginEngine
    function position(address account, uint256 marketId) external view returns (Position memory) {
        return _s.positions[account][marketId];
    }

    /// @inheritdoc IMarginEngine
    function accountMarkets(address account) public view returns (uint256[] memory ids) {
        uint256 bitmap = _s.marketBitmap[account];
        ids = new uint256[](EngineLib.popcount(bitmap));
        uint256 n;
        while (bitmap != 0) {
            uint256 id = EngineLib.lowestBit(bitmap);
            ids[n++] = id;
            bitmap &= bitmap - 1;
        }
    }

    /// @inheritdoc IMarginEngine
    function marginWad(address account) external view returns (uint256) {
        return _vault.marginOf(account).toWad(_scale);
    }

    /// @inheritdoc IMarginEngine
    function equity(address account) public view returns (int256) {
        (uint256 marginTokens, MarginMath.PositionData[] memory positions) = _load(
            account,
            _s.marketBitmap[account],
            false
        );
        return MarginMath.equityWad(marginTokens.toWad(_scale), positions);
    }

    /// @inheritdoc IMarginEngine
    function maintenanceRequirement(address account) external view returns (uint256) {
        (, MarginMath.PositionData[] memory positions) = _load(account, _s.marketBitmap[account], false);
        return MarginMath.maintenanceWad(positions);
    }

    /// @inheritdoc IMarginEngine
    function initialRequirement(address account) external view returns (uint256) {
        (, MarginMath.PositionData[] memory positions) = _load(account, _s.marketBitmap[account], false);
        return MarginMath.initialWad(positions);
    }

    /// @inheritdoc IMarginEngine
    function health(address account) external view returns (uint256) {
        (uint256 marginTokens, MarginMath.PositionData[] memory positions) = _load(
            account,
            _s.marketBitmap[account],
            false
        );
        return MarginMath.healthOf(marginTokens.toWad(_scale), positions);
    }

    /// @inheritdoc IMarginEngine
    function liquidationPrice(address account, uint256 marketId) external view returns (uint256) {
        if (_s.positions[account][marketId].sizeWad == 0) revert MarginEngineNoPosition(account, marketId);
        (uint256 marginTokens, MarginMath.PositionData[] memory positions) = _load(
            account,
            _s.marketBitmap[account],
            false
        );
        return
            LiquidationMath.liquidationPrice(
                MarginMath.equityWad(marginTokens.toWad(_scale), positions),
                MarginMath.maintenanceWad(positions),
                positions,
                marketId
            );
    }

    /// @inheritdoc IMarginEngine
    function requiredLiquidity() public view returns (uint256) {
        return EngineLib.requiredLiquidity(_s, _scale);
    }

    /// @inheritdoc IMarginEngine
    /// @dev Per market with open interest: `longOI·P (down) − longEntry + shortEntry − shortOI·P (up)`.
    function traderPnl() external view returns (int256 pnlWad, bool pricesOk) {
        pricesOk = true;
        uint256 count = _s.marketCount;
        for (uint256 marketId = 1; marketId <= count; ++marketId) {
            MarketState memory state = _s.marketStates[marketId];
            if (state.longOpenInterestWad == 0 && state.shortOpenInterestWad == 0) continue;
            bytes32 asset = _s.markets[marketId].asset;
            (uint256 priceWad, IChainlinkOracleAdapter.Status status, ) = _oracle.price(asset);
            if (status != IChainlinkOracleAdapter.Status.Ok) {
                pricesOk = false;
                (priceWad, , ) = _oracle.lastGoodPrice(asset);
                if (priceWad == 0) continue; // never recorded: marked at entry (no PnL)
            }
            pnlWad +=
                int256(uint256(state.longOpenInterestWad).mulWadDown(priceWad)) -
                int256(uint256(state.longEntryNotionalWad)) +
                int256(uint256(state.shortEntryNotionalWad)) -
                int256(uint256(state.shortOpenInterestWad).mulWadUp(priceWad));
        }
    }

    /// @inheritdoc IMarginEngine
    function totalEntryNotional() external view returns (uint256) {
        return _s.totalEntryNotionalWad;
    }

    /// @inheritdoc IMarginEngine
    function activeAccountCount() external view returns (uint256) {
        return _s.active.length;
    }

    /// @inheritdoc IMarginEngine
    function activeAccounts(uint256 start, uint256 count) external view returns (address[] memory page) {
        uint256 length = _s.active.length;
        if (start >= length) return new address[](0);
        uint256 end = start + count > length ? length : start + count;
        page = new address[](end - start);
        for (uint256 i = start; i < end; ++i) {
            page[i - start] = _s.active[i];
        }
    }

    /// @inheritdoc IMarginEngine
    function vault() external view returns (address) {
        return address(_vault);
    }

    /// @inheritdoc IMarginEngine
    function pool() external view returns (address) {
        return address(_pool);
    }

    /// @inheritdoc IMarginEngine
    function oracle() external view returns (address) {
        return address(_oracle);
    }

    /// @inheritdoc IMarginEngine
    function guardian() external view returns (address) {
        return address(_guardian);
    }

    // ---------------------------------------------------------------- internal: account loading

    /// @dev The immutable wiring, for `EngineLib` and the logic libraries.
    function _wiring() private view returns (EngineLib.Wiring memory) {
        return EngineLib.Wiring(_vault, _pool, _oracle, _guardian, _scale);
    }

    /// @dev Loads `account`'s margin and the positions of every market in `bitmap`, with oracle prices
    ///      (see `EngineLib.load`).
    function _load(
        address account,
        uint256 bitmap,
        bool requireOk
    ) private view returns (uint256 marginTokens, MarginMath.PositionData[] memory positions) {
        (marginTokens, positions, ) = EngineLib.load(_s, _wiring(), account, bitmap, requireOk);
    }

    // ---------------------------------------------------------------- internal: bookkeeping

    function _market(uint256 marketId) private view returns (MarketConfig storage) {
        return EngineLib.market(_s, marketId);
    }

    /// @dev Reverts unless the caller holds `role` (or, when `orAdmin`, the admin role).
    function _checkRole(bytes32 role, bool orAdmin) private view {
        if (!RoleCheck.has(_guardian, role, msg.sender, orAdmin)) revert MarginEngineUnauthorized(msg.sender, role);
    }

    function _validateMarketConfig(MarketConfig calldata c) private pure {
        bool valid =
            c.mmrWad >= MIN_MMR &&
                c.imrWad > c.mmrWad &&
                c.imrWad <= MAX_IMR &&
                c.feeWad <= MAX_FEE &&
                c.liquidationPenaltyWad <= MAX_PENALTY &&
                uint256(c.feeWad) + c.liquidationPenaltyWad < c.mmrWad &&
                c.maxOpenInterestWad != 0 &&
                c.maxOpenInterestWad < 2 ** 127;
        if (!valid) revert MarginEngineInvalidMarketConfig(c);
    }

    /// @dev A single round graded `Ok` must not take an account that is not liquidatable (equity at least
    ///      its maintenance margin) below zero equity: the maintenance margin must be at least the adapter's
    ///      deviation bound.
    function _checkMarginAboveDeviation(MarketConfig calldata c) private view {
        uint256 maxDeviationWad = _oracle.feedConfig(c.asset).maxDeviationWad;
        if (c.mmrWad < maxDeviationWad) {
            revert MarginEngineMarginBelowOracleDeviation(c.asset, c.mmrWad, maxDeviationWad);
        }
    }

    function _setLiquidationParams(LiquidationParams memory params) private {
        bool valid =
            params.targetHealthWad > ConstantsLib.WAD &&
                params.targetHealthWad <= MAX_TARGET_HEALTH &&
                params.liquidatorShareWad <= ConstantsLib.WAD &&
                params.maxLiquidatorRewardTokens != 0;
        if (!valid) revert MarginEngineInvalidLiquidationParams(params);
        _s.liquidationParams = params;
        emit LiquidationParamsUpdated(params);
    }

    function _setReserveFactor(uint256 reserveFactorWad) private {
        if (reserveFactorWad == 0 || reserveFactorWad > ConstantsLib.WAD) {
            revert MarginEngineInvalidReserveFactor(reserveFactorWad);
        }
        _s.reserveFactorWad = reserveFactorWad;
        emit LiquidityReserveFactorUpdated(reserveFactorWad);
    }
}
