// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IAccountLens} from "../interfaces/IAccountLens.sol";
import {IMarginEngine} from "../interfaces/IMarginEngine.sol";
import {ICollateralVault} from "../interfaces/ICollateralVault.sol";
import {IChainlinkOracleAdapter} from "../interfaces/IChainlinkOracleAdapter.sol";
import {AccountSnapshot} from "../interfaces/RebalanceTypes.sol";
import {LiquidationMath} from "../libraries/LiquidationMath.sol";
import {MarginMath} from "../libraries/MarginMath.sol";
import {RiskMath} from "../libraries/RiskMath.sol";
import {WadMath} from "../libraries/WadMath.sol";

/// @title AccountLens
/// @notice Read-only account views for people and bots (see `IAccountLens`). Holds no state but its
///         wiring; deploy as many as needed.
contract AccountLens is IAccountLens {
    using WadMath for uint256;

    /// @notice Thrown when the engine is zero or the horizon is zero.
    error AccountLensInvalidConfig();

    IMarginEngine private immutable _engine;
    uint256 private immutable _horizonSeconds;

    /// @param engine_ The margin engine.
    /// @param horizonSeconds_ Horizon of the hit probability (seconds).
    constructor(address engine_, uint256 horizonSeconds_) {
        if (engine_ == address(0) || horizonSeconds_ == 0) revert AccountLensInvalidConfig();
        _engine = IMarginEngine(engine_);
        _horizonSeconds = horizonSeconds_;
    }

    /// @inheritdoc IAccountLens
    function accountView(address account) external view returns (AccountView memory v) {
        (AccountSnapshot memory snap, bool pricesOk) = _engine.accountSnapshot(account);
        v.account = account;
        v.marginTokens = snap.marginTokens;
        v.reserveTokens = snap.policy.allowTopUp ? snap.reserveTokens : _reserveOf(account);
        v.equityWad = snap.equityWad;
        v.maintenanceWad = snap.maintenanceWad;
        v.initialWad = snap.initialWad;
        v.healthWad = snap.healthWad;
        v.distanceToLiquidationWad = snap.equityWad - int256(snap.maintenanceWad);
        _fillVolatility(snap);
        v.hitProbabilityWad = _hitProbability(snap);
        v.pricesOk = pricesOk;
        v.policy = snap.policy;
        (v.action, v.plan, v.deleverageCapped) = _engine.keeperAction(account);
        v.markets = new MarketView[](snap.positions.length);
        for (uint256 i; i < snap.positions.length; ++i) {
            MarginMath.PositionData memory p = snap.positions[i];
            int256 delta = _signed(MarginMath.notionalWad(p.sizeWad, p.priceWad), p.sizeWad);
            v.netDollarDeltaWad += delta;
            v.markets[i] = MarketView({
                marketId: p.marketId,
                asset: _engine.marketConfig(p.marketId).asset,
                sizeWad: p.sizeWad,
                entryPriceWad: p.entryPriceWad,
                priceWad: p.priceWad,
                dollarDeltaWad: delta,
                unrealizedPnlWad: MarginMath.pnlWad(p.sizeWad, p.entryPriceWad, p.priceWad),
                liquidationPriceWad: LiquidationMath.liquidationPrice(
                    snap.equityWad,
                    snap.maintenanceWad,
                    snap.positions,
                    p.marketId
                ),
                volatilityWad: snap.volatilityWad[i]
            });
        }
    }

    /// @inheritdoc IAccountLens
    function hitProbability(address account) external view returns (uint256) {
        (AccountSnapshot memory snap, ) = _engine.accountSnapshot(account);
        _fillVolatility(snap);
        return _hitProbability(snap);
    }

    /// @inheritdoc IAccountLens
    function healthAndSizes(
        address[] calldata accounts,
        uint256 marketId
    ) external view returns (uint256[] memory healthWad, int256[] memory sizeWad) {
        healthWad = new uint256[](accounts.length);
        sizeWad = new int256[](accounts.length);
        for (uint256 i; i < accounts.length; ++i) {
            healthWad[i] = _engine.health(accounts[i]);
            sizeWad[i] = _engine.position(accounts[i], marketId).sizeWad;
        }
    }

    /// @inheritdoc IAccountLens
    function horizonSeconds() external view returns (uint256) {
        return _horizonSeconds;
    }

    /// @inheritdoc IAccountLens
    function engine() external view returns (address) {
        return address(_engine);
    }

    /// @dev The engine leaves volatilities zero when the account's strategy does not read them; the
    ///      lens always reports them, from the oracle adapter.
    function _fillVolatility(AccountSnapshot memory snap) private view {
        IChainlinkOracleAdapter oracle = IChainlinkOracleAdapter(_engine.oracle());
        for (uint256 i; i < snap.positions.length; ++i) {
            (snap.volatilityWad[i], ) = oracle.volatility(_engine.marketConfig(snap.positions[i].marketId).asset);
        }
    }

    function _hitProbability(AccountSnapshot memory snap) private view returns (uint256) {
        if (snap.positions.length == 0) return 0;
        uint256 risk;
        for (uint256 i; i < snap.positions.length; ++i) {
            MarginMath.PositionData memory p = snap.positions[i];
            risk += MarginMath.notionalWad(p.sizeWad, p.priceWad).mulWadUp(snap.volatilityWad[i]);
        }
        return RiskMath.hitProbabilityWad(snap.equityWad - int256(snap.maintenanceWad), risk, _horizonSeconds);
    }

    function _reserveOf(address account) private view returns (uint256) {
        return ICollateralVault(_engine.vault()).reserveOf(account);
    }

    function _signed(uint256 magnitude, int256 sign) private pure returns (int256) {
        return sign < 0 ? -int256(magnitude) : int256(magnitude);
    }
}
