// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
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

/// @title MarginEngine
/// @notice Markets, cross-margined positions, health and liquidation (see `IMarginEngine`).
/// @dev Entry points follow one order: checks → oracle reads → compute → write state → emit → calls to
///      the vault and pool (trusted, immutable wiring). Margin lives in the vault in token units; it is
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

    uint256 private _marketCount;
    mapping(uint256 marketId => MarketConfig) private _markets;
    mapping(uint256 marketId => MarketState) private _marketStates;
    mapping(bytes32 asset => bool) private _listedAssets;

    mapping(address account => mapping(uint256 marketId => Position)) private _positions;
    /// @dev Bit `i` set when the account holds a position in market `i`.
    mapping(address account => uint256) private _marketBitmap;

    address[] private _active;
    /// @dev Index in `_active` plus one (0: not active).
    mapping(address account => uint256) private _activeIndex;

    LiquidationParams private _liquidationParams;
    uint256 private _reserveFactorWad;
    uint256 private _totalEntryNotionalWad;

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
    }

    // ---------------------------------------------------------------- governance

    /// @inheritdoc IMarginEngine
    function listMarket(MarketConfig calldata config) external returns (uint256 marketId) {
        _checkRole(ConstantsLib.ADMIN_ROLE, false);
        if (_listedAssets[config.asset] || _oracle.feedConfig(config.asset).feed == address(0)) {
            revert MarginEngineInvalidAsset(config.asset);
        }
        if (_marketCount == ConstantsLib.MAX_MARKETS) revert MarginEngineTooManyMarketsListed();
        _validateMarketConfig(config);
        marketId = ++_marketCount;
        _listedAssets[config.asset] = true;
        _markets[marketId] = config;
        emit MarketListed(marketId, config.asset, config);
    }

    /// @inheritdoc IMarginEngine
    function setMarketConfig(uint256 marketId, MarketConfig calldata config) external {
        _checkRole(ConstantsLib.RISK_ADMIN_ROLE, true);
        MarketConfig storage market = _market(marketId);
        if (config.asset != market.asset) revert MarginEngineInvalidAsset(config.asset);
        _validateMarketConfig(config);
        _markets[marketId] = config;
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

    /// @inheritdoc IMarginEngine
    function modifyPosition(uint256 marketId, int256 sizeDeltaWad) external nonReentrant {
        if (sizeDeltaWad == 0) revert MarginEngineZeroAmount();
        _modify(msg.sender, marketId, sizeDeltaWad);
    }

    /// @inheritdoc IMarginEngine
    function closePosition(uint256 marketId) external nonReentrant {
        int256 size = _positions[msg.sender][marketId].sizeWad;
        if (size == 0) revert MarginEngineNoPosition(msg.sender, marketId);
        _modify(msg.sender, marketId, -size);
    }

    /// @inheritdoc IMarginEngine
    function withdrawMargin(uint256 amountTokens, address to) external nonReentrant {
        if (amountTokens == 0) revert MarginEngineZeroAmount();
        if (to == address(0)) revert MarginEngineZeroAddress();
        _requireNotPaused(ConstantsLib.NO_MARKET, IPauseGuardian.Action.Withdraw);
        uint256 bitmap = _marketBitmap[msg.sender];
        if (bitmap != 0) {
            (uint256 marginTokens, MarginMath.PositionData[] memory positions) = _load(msg.sender, bitmap, true);
            if (amountTokens > marginTokens) {
                revert ICollateralVault.CollateralVaultInsufficientMargin(msg.sender, amountTokens, marginTokens);
            }
            int256 equityAfter = MarginMath.equityWad((marginTokens - amountTokens).toWad(_scale), positions);
            uint256 initial = MarginMath.initialWad(positions);
            if (equityAfter < int256(initial)) revert MarginEngineInsufficientMargin(equityAfter, initial);
        }
        emit MarginWithdrawn(msg.sender, to, amountTokens);
        _vault.transferMargin(msg.sender, to, amountTokens);
    }

    // ---------------------------------------------------------------- liquidation

    /// @inheritdoc IMarginEngine
    function liquidate(address account) external nonReentrant {
        uint256 bitmap = _marketBitmap[account];
        _requireNotPaused(ConstantsLib.NO_MARKET, IPauseGuardian.Action.Liquidate);
        (uint256 marginTokens, MarginMath.PositionData[] memory positions) = _load(account, bitmap, true);
        for (uint256 i; i < positions.length; ++i) {
            _requireNotPaused(positions[i].marketId, IPauseGuardian.Action.Liquidate);
        }
        int256 equityBefore = MarginMath.equityWad(marginTokens.toWad(_scale), positions);
        uint256 healthBefore = MarginMath.health(equityBefore, MarginMath.maintenanceWad(positions));
        if (healthBefore >= ConstantsLib.WAD) revert MarginEngineNotLiquidatable(account, healthBefore);

        LiquidationParams memory params = _liquidationParams;
        LiquidationMath.Outcome memory out = LiquidationMath.plan(
            marginTokens,
            equityBefore,
            positions,
            params.targetHealthWad,
            params.liquidatorShareWad,
            params.maxLiquidatorRewardTokens,
            _scale
        );

        uint256 closedNotional;
        for (uint256 i; i < positions.length; ++i) {
            MarginMath.PositionData memory p = positions[i];
            int256 closeSize = out.closeSizesWad[i];
            closedNotional += MarginMath.notionalWad(closeSize, p.priceWad);
            _applyPositionChange(
                account,
                p.marketId,
                p.sizeWad,
                p.entryPriceWad,
                p.sizeWad - closeSize,
                p.entryPriceWad
            );
            emit PositionModified(
                account,
                p.marketId,
                -closeSize,
                p.sizeWad - closeSize,
                p.priceWad,
                p.sizeWad == closeSize ? 0 : p.entryPriceWad,
                MarginMath.pnlWad(closeSize, p.entryPriceWad, p.priceWad),
                0
            );
            positions[i].sizeWad = p.sizeWad - closeSize;
        }
        uint256 healthAfter = MarginMath.health(
            MarginMath.equityWad(out.marginAfterTokens.toWad(_scale), positions),
            MarginMath.maintenanceWad(positions)
        );
        emit Liquidated(
            account,
            msg.sender,
            healthBefore,
            healthAfter,
            closedNotional,
            out.penaltyPaidTokens,
            out.rewardTokens,
            out.badDebtTokens
        );

        _settle(account, out.traderDeltaTokens, out.insuranceTokens);
        if (out.rewardTokens != 0) _vault.transferMargin(account, msg.sender, out.rewardTokens);
        if (out.badDebtTokens != 0) _pool.recordBadDebt(account, out.badDebtTokens);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IMarginEngine
    function marketCount() external view returns (uint256) {
        return _marketCount;
    }

    /// @inheritdoc IMarginEngine
    function marketConfig(uint256 marketId) external view returns (MarketConfig memory) {
        return _market(marketId);
    }

    /// @inheritdoc IMarginEngine
    function marketState(uint256 marketId) external view returns (MarketState memory) {
        _market(marketId);
        return _marketStates[marketId];
    }

    /// @inheritdoc IMarginEngine
    function liquidationParams() external view returns (LiquidationParams memory) {
        return _liquidationParams;
    }

    /// @inheritdoc IMarginEngine
    function liquidityReserveFactor() external view returns (uint256) {
        return _reserveFactorWad;
    }

    /// @inheritdoc IMarginEngine
    function position(address account, uint256 marketId) external view returns (Position memory) {
        return _positions[account][marketId];
    }

    /// @inheritdoc IMarginEngine
    function accountMarkets(address account) public view returns (uint256[] memory ids) {
        uint256 bitmap = _marketBitmap[account];
        ids = new uint256[](_popcount(bitmap));
        uint256 n;
        while (bitmap != 0) {
            uint256 id = _lowestBit(bitmap);
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
            _marketBitmap[account],
            false
        );
        return MarginMath.equityWad(marginTokens.toWad(_scale), positions);
    }

    /// @inheritdoc IMarginEngine
    function maintenanceRequirement(address account) external view returns (uint256) {
        (, MarginMath.PositionData[] memory positions) = _load(account, _marketBitmap[account], false);
        return MarginMath.maintenanceWad(positions);
    }

    /// @inheritdoc IMarginEngine
    function initialRequirement(address account) external view returns (uint256) {
        (, MarginMath.PositionData[] memory positions) = _load(account, _marketBitmap[account], false);
        return MarginMath.initialWad(positions);
    }

    /// @inheritdoc IMarginEngine
    function health(address account) external view returns (uint256) {
        (uint256 marginTokens, MarginMath.PositionData[] memory positions) = _load(
            account,
            _marketBitmap[account],
            false
        );
        return
            MarginMath.health(
                MarginMath.equityWad(marginTokens.toWad(_scale), positions),
                MarginMath.maintenanceWad(positions)
            );
    }

    /// @inheritdoc IMarginEngine
    function liquidationPrice(address account, uint256 marketId) external view returns (uint256) {
        if (_positions[account][marketId].sizeWad == 0) revert MarginEngineNoPosition(account, marketId);
        (uint256 marginTokens, MarginMath.PositionData[] memory positions) = _load(
            account,
            _marketBitmap[account],
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
        return _totalEntryNotionalWad.mulWadUp(_reserveFactorWad).toTokenUp(_scale);
    }

    /// @inheritdoc IMarginEngine
    function totalEntryNotional() external view returns (uint256) {
        return _totalEntryNotionalWad;
    }

    /// @inheritdoc IMarginEngine
    function activeAccountCount() external view returns (uint256) {
        return _active.length;
    }

    /// @inheritdoc IMarginEngine
    function activeAccounts(uint256 start, uint256 count) external view returns (address[] memory page) {
        uint256 length = _active.length;
        if (start >= length) return new address[](0);
        uint256 end = start + count > length ? length : start + count;
        page = new address[](end - start);
        for (uint256 i = start; i < end; ++i) {
            page[i - start] = _active[i];
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

    // ---------------------------------------------------------------- internal: trading

    /// @dev Working state of one trade (kept in memory to bound stack use).
    struct Trade {
        uint256 marketId;
        int256 oldSize;
        uint256 oldEntry;
        int256 newSize;
        uint256 newEntry;
        uint256 priceWad;
        bool reduces;
        bool adds;
        int256 realizedPnlWad;
        uint256 feeWad;
        int256 traderDeltaTokens;
    }

    /// @dev Opens, changes or closes `account`'s position in `marketId` by `delta` at the oracle price.
    function _modify(address account, uint256 marketId, int256 delta) private {
        MarketConfig memory market = _market(marketId);
        Trade memory t = _splitTrade(account, marketId, delta);

        uint256 bitmap = _marketBitmap[account] | (1 << marketId);
        if (t.oldSize == 0 && _popcount(bitmap) > ConstantsLib.MAX_MARKETS_PER_ACCOUNT) {
            revert MarginEngineTooManyMarkets(account);
        }
        (uint256 marginTokens, MarginMath.PositionData[] memory positions) = _load(account, bitmap, true);
        uint256 index = _indexOf(positions, marketId);
        t.priceWad = positions[index].priceWad;

        uint256 healthBefore;
        if (!t.adds) {
            healthBefore = MarginMath.health(
                MarginMath.equityWad(marginTokens.toWad(_scale), positions),
                MarginMath.maintenanceWad(positions)
            );
        }
        _priceTrade(t, delta, market.feeWad);
        if (t.traderDeltaTokens < 0 && uint256(-t.traderDeltaTokens) > marginTokens) {
            revert MarginEngineLossExceedsMargin(uint256(-t.traderDeltaTokens), marginTokens);
        }

        positions[index].sizeWad = t.newSize;
        positions[index].entryPriceWad = t.newEntry;
        uint256 marginAfter = uint256(int256(marginTokens) + t.traderDeltaTokens);
        int256 equityAfter = MarginMath.equityWad(marginAfter.toWad(_scale), positions);
        if (t.adds) {
            uint256 initial = MarginMath.initialWad(positions);
            if (equityAfter < int256(initial)) revert MarginEngineInsufficientMargin(equityAfter, initial);
        } else {
            uint256 healthAfter = MarginMath.health(equityAfter, MarginMath.maintenanceWad(positions));
            if (healthAfter < ConstantsLib.WAD && healthAfter < healthBefore) {
                revert MarginEngineHealthWorsened(healthBefore, healthAfter);
            }
        }

        _applyPositionChange(account, marketId, t.oldSize, t.oldEntry, t.newSize, t.newEntry);
        if (t.adds) _checkCapacity(marketId, market.maxOpenInterestWad, t.traderDeltaTokens);

        _emitTrade(account, t, delta);
        _settle(account, t.traderDeltaTokens, 0);
    }

    function _emitTrade(address account, Trade memory t, int256 delta) private {
        emit PositionModified(
            account,
            t.marketId,
            delta,
            t.newSize,
            t.priceWad,
            t.newEntry,
            t.realizedPnlWad,
            t.feeWad.toTokenUp(_scale)
        );
    }

    /// @dev Splits a trade into the part that reduces the old position and the part that adds risk,
    ///      and checks the matching pause flags.
    function _splitTrade(address account, uint256 marketId, int256 delta) private view returns (Trade memory t) {
        Position memory pos = _positions[account][marketId];
        t.marketId = marketId;
        t.oldSize = pos.sizeWad;
        t.oldEntry = pos.entryPriceWad;
        t.newSize = t.oldSize + delta;
        if (WadMath.abs(t.newSize) >= 2 ** 127) revert MarginEngineSizeOutOfRange(t.newSize);
        t.reduces = t.oldSize != 0 && (t.oldSize > 0) != (delta > 0);
        t.adds = !t.reduces || (t.newSize != 0 && (t.newSize > 0) != (t.oldSize > 0));
        if (t.adds) _requireNotPaused(marketId, IPauseGuardian.Action.Open);
        if (t.reduces) _requireNotPaused(marketId, IPauseGuardian.Action.Close);
    }

    /// @dev Realised PnL on the reduced part, the new entry price, the fee on the whole traded
    ///      notional, and the net token flow to the account (gain rounded down, loss and fee up).
    function _priceTrade(Trade memory t, int256 delta, uint256 feeRateWad) private view {
        if (t.reduces) {
            int256 closed = WadMath.abs(delta) >= WadMath.abs(t.oldSize) ? t.oldSize : -delta;
            t.realizedPnlWad = MarginMath.pnlWad(closed, t.oldEntry, t.priceWad);
            t.newEntry = t.newSize == 0 ? 0 : (t.adds ? t.priceWad : t.oldEntry);
        } else {
            t.newEntry = MarginMath.averageEntryWad(t.oldSize, t.oldEntry, delta, t.priceWad);
        }
        t.feeWad = MarginMath.notionalWad(delta, t.priceWad).mulWadUp(feeRateWad);
        int256 netWad = t.realizedPnlWad - int256(t.feeWad);
        t.traderDeltaTokens =
            netWad >= 0 ? int256(uint256(netWad).toTokenDown(_scale)) : -int256(uint256(-netWad).toTokenUp(_scale));
    }

    /// @dev Writes a position change: position, open interest, entry notional, market bitmap and the
    ///      active-account list.
    function _applyPositionChange(
        address account,
        uint256 marketId,
        int256 oldSize,
        uint256 oldEntry,
        int256 newSize,
        uint256 newEntry
    ) private {
        MarketState storage state = _marketStates[marketId];
        if (oldSize > 0) state.longOpenInterestWad -= uint256(oldSize).toUint128();
        else if (oldSize < 0) state.shortOpenInterestWad -= uint256(-oldSize).toUint128();
        if (newSize > 0) state.longOpenInterestWad += uint256(newSize).toUint128();
        else if (newSize < 0) state.shortOpenInterestWad += uint256(-newSize).toUint128();

        _totalEntryNotionalWad =
            _totalEntryNotionalWad +
            MarginMath.notionalWad(newSize, newEntry) -
            MarginMath.notionalWad(oldSize, oldEntry);

        if (newSize == 0) {
            delete _positions[account][marketId];
            uint256 bitmap = _marketBitmap[account] & ~(1 << marketId);
            _marketBitmap[account] = bitmap;
            if (bitmap == 0) _deactivate(account);
        } else {
            _positions[account][marketId] = Position(newSize.toInt128(), newEntry.toUint128());
            if (oldSize == 0) {
                uint256 bitmap = _marketBitmap[account];
                if (bitmap == 0) _activate(account);
                _marketBitmap[account] = bitmap | (1 << marketId);
            }
        }
    }

    /// @dev Checks the open-interest caps of `marketId` and that the pool can back all open notional
    ///      once `traderDeltaTokens` has been settled.
    function _checkCapacity(uint256 marketId, uint256 capWad, int256 traderDeltaTokens) private view {
        MarketState memory state = _marketStates[marketId];
        if (state.longOpenInterestWad > capWad) {
            revert MarginEngineOpenInterestCapExceeded(marketId, state.longOpenInterestWad, capWad);
        }
        if (state.shortOpenInterestWad > capWad) {
            revert MarginEngineOpenInterestCapExceeded(marketId, state.shortOpenInterestWad, capWad);
        }
        uint256 assets = _pool.totalAssets();
        assets =
            traderDeltaTokens >= 0
                ? assets - _min(assets, uint256(traderDeltaTokens))
                : assets + uint256(-traderDeltaTokens);
        uint256 required = requiredLiquidity();
        if (required > assets) revert MarginEngineInsufficientPoolLiquidity(required, assets);
    }

    /// @dev Moves tokens between the account's margin and the pool: `traderDeltaTokens > 0` is paid by LPs
    ///      to the account, `< 0` by the account to LPs; `insuranceTokens` go from the account to the
    ///      insurance buffer.
    function _settle(address account, int256 traderDeltaTokens, uint256 insuranceTokens) private {
        if (traderDeltaTokens > 0) {
            _pool.payTrader(address(_vault), uint256(traderDeltaTokens));
            _vault.creditMargin(account, uint256(traderDeltaTokens));
            if (insuranceTokens != 0) {
                _vault.transferMargin(account, address(_pool), insuranceTokens);
                _pool.recordIncome(insuranceTokens, insuranceTokens);
            }
        } else {
            uint256 total = uint256(-traderDeltaTokens) + insuranceTokens;
            if (total != 0) {
                _vault.transferMargin(account, address(_pool), total);
                _pool.recordIncome(total, insuranceTokens);
            }
        }
    }

    // ---------------------------------------------------------------- internal: account loading

    /// @dev Loads `account`'s margin and the positions of every market in `bitmap` (a market in the
    ///      bitmap without a position loads with size 0), with oracle prices. When `requireOk`, reverts
    ///      unless every price is `Ok`.
    function _load(
        address account,
        uint256 bitmap,
        bool requireOk
    ) internal view returns (uint256 marginTokens, MarginMath.PositionData[] memory positions) {
        marginTokens = _vault.marginOf(account);
        positions = new MarginMath.PositionData[](_popcount(bitmap));
        uint256 n;
        while (bitmap != 0) {
            uint256 marketId = _lowestBit(bitmap);
            bitmap &= bitmap - 1;
            MarketConfig memory market = _markets[marketId];
            Position memory pos = _positions[account][marketId];
            (uint256 priceWad, IChainlinkOracleAdapter.Status status) = _oracle.price(market.asset);
            if (requireOk && status != IChainlinkOracleAdapter.Status.Ok) {
                revert MarginEngineBadPrice(market.asset, status);
            }
            positions[n++] = MarginMath.PositionData({
                marketId: marketId,
                sizeWad: pos.sizeWad,
                entryPriceWad: pos.entryPriceWad,
                priceWad: priceWad,
                imrWad: market.imrWad,
                mmrWad: market.mmrWad,
                feeWad: market.feeWad,
                penaltyWad: market.liquidationPenaltyWad
            });
        }
    }

    function _indexOf(MarginMath.PositionData[] memory positions, uint256 marketId) private pure returns (uint256) {
        for (uint256 i; i < positions.length; ++i) {
            if (positions[i].marketId == marketId) return i;
        }
        revert MarginEngineUnknownMarket(marketId);
    }

    // ---------------------------------------------------------------- internal: bookkeeping

    function _activate(address account) private {
        _active.push(account);
        _activeIndex[account] = _active.length;
    }

    function _deactivate(address account) private {
        uint256 index = _activeIndex[account];
        uint256 last = _active.length;
        if (index != last) {
            address moved = _active[last - 1];
            _active[index - 1] = moved;
            _activeIndex[moved] = index;
        }
        _active.pop();
        delete _activeIndex[account];
    }

    function _market(uint256 marketId) private view returns (MarketConfig storage market) {
        if (marketId == 0 || marketId > _marketCount) revert MarginEngineUnknownMarket(marketId);
        return _markets[marketId];
    }

    function _requireNotPaused(uint256 marketId, IPauseGuardian.Action action) private view {
        if (_guardian.isPaused(marketId, action)) revert MarginEnginePaused(marketId, action);
    }

    /// @dev Reverts unless the caller holds `role` (or, when `orAdmin`, the admin role).
    function _checkRole(bytes32 role, bool orAdmin) private view {
        if (_guardian.hasRole(role, msg.sender)) return;
        if (orAdmin && _guardian.hasRole(ConstantsLib.ADMIN_ROLE, msg.sender)) return;
        revert MarginEngineUnauthorized(msg.sender, role);
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

    function _setLiquidationParams(LiquidationParams memory params) private {
        bool valid =
            params.targetHealthWad > ConstantsLib.WAD &&
                params.targetHealthWad <= MAX_TARGET_HEALTH &&
                params.liquidatorShareWad <= ConstantsLib.WAD &&
                params.maxLiquidatorRewardTokens != 0;
        if (!valid) revert MarginEngineInvalidLiquidationParams(params);
        _liquidationParams = params;
        emit LiquidationParamsUpdated(params);
    }

    function _setReserveFactor(uint256 reserveFactorWad) private {
        if (reserveFactorWad == 0 || reserveFactorWad > ConstantsLib.WAD) {
            revert MarginEngineInvalidReserveFactor(reserveFactorWad);
        }
        _reserveFactorWad = reserveFactorWad;
        emit LiquidityReserveFactorUpdated(reserveFactorWad);
    }

    function _popcount(uint256 x) private pure returns (uint256 n) {
        while (x != 0) {
            x &= x - 1;
            ++n;
        }
    }

    /// @dev Index of the lowest set bit of a non-zero `x`.
    function _lowestBit(uint256 x) private pure returns (uint256) {
        unchecked {
            return Math.log2(x & (~x + 1));
        }
    }

    function _min(uint256 a, uint256 b) private pure returns (uint256) {
        return a < b ? a : b;
    }
}
