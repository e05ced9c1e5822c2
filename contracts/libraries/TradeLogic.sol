// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IMarginEngine} from "../interfaces/IMarginEngine.sol";
import {ICollateralVault} from "../interfaces/ICollateralVault.sol";
import {IPauseGuardian} from "../interfaces/IPauseGuardian.sol";
import {CloseMath} from "./CloseMath.sol";
import {ConstantsLib} from "./ConstantsLib.sol";
import {EngineLib} from "./EngineLib.sol";
import {MarginMath} from "./MarginMath.sol";
import {WadMath} from "./WadMath.sol";

/// @title TradeLogic
/// @notice The trade of `MarginEngine.executeOrder` (after `OrderLogic.take`) and `withdrawMargin`, run in
///         the engine's context (external library, linked at deploy).
/// @dev A trade splits into the part that reduces the old position and the part that adds risk.
///      Adding needs `E ≥ IM` afterwards and the `Open` action unpaused; reducing needs `Close`
///      unpaused and must not leave the account both liquidatable and less healthy. Losses and the fee
///      must be covered by margin. Realised PnL and the fee settle as one net token flow, rounded
///      against the account.
library TradeLogic {
    using WadMath for uint256;

    /// @notice Withdraws `account`'s margin to `to` (see `IMarginEngine.withdrawMargin`).
    function withdrawMargin(
        EngineLib.Layout storage s,
        EngineLib.Wiring memory w,
        address account,
        uint256 amountTokens,
        address to
    ) external {
        if (amountTokens == 0) revert IMarginEngine.MarginEngineZeroAmount();
        if (to == address(0)) revert IMarginEngine.MarginEngineZeroAddress();
        EngineLib.requireNotPaused(w, ConstantsLib.NO_MARKET, IPauseGuardian.Action.Withdraw);
        uint256 bitmap = s.marketBitmap[account];
        if (bitmap != 0) {
            (uint256 marginTokens, MarginMath.PositionData[] memory positions, ) = EngineLib.load(
                s,
                w,
                account,
                bitmap,
                true
            );
            if (amountTokens > marginTokens) {
                revert ICollateralVault.CollateralVaultInsufficientMargin(account, amountTokens, marginTokens);
            }
            (int256 equityAfter, , uint256 initial) = MarginMath.requirements(
                (marginTokens - amountTokens).toWad(w.scale),
                positions
            );
            if (equityAfter < int256(initial))
                revert IMarginEngine.MarginEngineInsufficientMargin(equityAfter, initial);
        }
        emit IMarginEngine.MarginWithdrawn(account, to, amountTokens);
        w.vault.transferMargin(account, to, amountTokens);
    }

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

    /// @dev Opens, changes or closes `account`'s position in `fill.marketId` by `delta` at `fill.priceWad`,
    ///      the market's `Ok` oracle price the order was checked against (the other markets' prices are read
    ///      here).
    function modify(
        EngineLib.Layout storage s,
        EngineLib.Wiring memory w,
        address account,
        int256 delta,
        EngineLib.KnownPrice memory fill
    ) external {
        uint256 marketId = fill.marketId;
        Trade memory t = _splitTrade(s, w, account, marketId, delta);
        uint256 bitmap = s.marketBitmap[account] | (1 << marketId);
        if (t.oldSize == 0 && EngineLib.popcount(bitmap) > ConstantsLib.MAX_MARKETS_PER_ACCOUNT) {
            revert IMarginEngine.MarginEngineTooManyMarkets(account);
        }
        uint256 marginTokens = w.vault.marginOf(account);
        (MarginMath.PositionData[] memory positions, , ) = EngineLib.loadPositions(s, w, account, bitmap, true, fill);
        uint256 index = _indexOf(positions, marketId);
        t.priceWad = positions[index].priceWad;
        uint256 healthBefore = t.adds ? 0 : MarginMath.healthOf(marginTokens * w.scale, positions);
        _priceTrade(t, delta, positions[index].feeWad, w.scale);
        if (t.traderDeltaTokens < 0 && uint256(-t.traderDeltaTokens) > marginTokens) {
            revert IMarginEngine.MarginEngineLossExceedsMargin(uint256(-t.traderDeltaTokens), marginTokens);
        }
        positions[index].sizeWad = t.newSize;
        positions[index].entryPriceWad = t.newEntry;
        _checkMargin(t.adds, uint256(int256(marginTokens) + t.traderDeltaTokens), positions, healthBefore, w.scale);

        EngineLib.applyPositionChange(s, account, marketId, t.oldSize, t.oldEntry, t.newSize, t.newEntry);
        if (t.adds) _checkCapacity(s, w, marketId, t.traderDeltaTokens);
        _emitTrade(account, t, delta, w.scale);
        EngineLib.settle(w, account, t.traderDeltaTokens, 0);
    }

    /// @dev After a trade: adding risk needs `E ≥ IM`; a pure reduce must not leave the account both
    ///      liquidatable and less healthy than before.
    function _checkMargin(
        bool adds,
        uint256 marginAfterTokens,
        MarginMath.PositionData[] memory positions,
        uint256 healthBefore,
        uint256 scale
    ) private pure {
        (int256 equityAfter, uint256 maintenance, uint256 initial) = MarginMath.requirements(
            marginAfterTokens * scale,
            positions
        );
        if (adds) {
            if (equityAfter < int256(initial))
                revert IMarginEngine.MarginEngineInsufficientMargin(equityAfter, initial);
        } else {
            uint256 healthAfter = MarginMath.health(equityAfter, maintenance);
            if (healthAfter < ConstantsLib.WAD && healthAfter < healthBefore) {
                revert IMarginEngine.MarginEngineHealthWorsened(healthBefore, healthAfter);
            }
        }
    }

    function _emitTrade(address account, Trade memory t, int256 delta, uint256 scale) private {
        emit IMarginEngine.PositionModified(
            account,
            t.marketId,
            delta,
            t.newSize,
            t.priceWad,
            t.newEntry,
            t.realizedPnlWad,
            t.feeWad.toTokenUp(scale)
        );
    }

    /// @dev Splits a trade into the part that reduces the old position and the part that adds risk,
    ///      and checks the matching pause flags.
    function _splitTrade(
        EngineLib.Layout storage s,
        EngineLib.Wiring memory w,
        address account,
        uint256 marketId,
        int256 delta
    ) private view returns (Trade memory t) {
        EngineLib.market(s, marketId);
        IMarginEngine.Position memory pos = s.positions[account][marketId];
        t.marketId = marketId;
        t.oldSize = pos.sizeWad;
        t.oldEntry = pos.entryPriceWad;
        t.newSize = t.oldSize + delta;
        if (WadMath.abs(t.newSize) >= 2 ** 127) revert IMarginEngine.MarginEngineSizeOutOfRange(t.newSize);
        t.reduces = t.oldSize != 0 && (t.oldSize > 0) != (delta > 0);
        t.adds = !t.reduces || (t.newSize != 0 && (t.newSize > 0) != (t.oldSize > 0));
        if (t.adds) EngineLib.requireNotPaused(w, marketId, IPauseGuardian.Action.Open);
        if (t.reduces) EngineLib.requireNotPaused(w, marketId, IPauseGuardian.Action.Close);
    }

    /// @dev Realised PnL on the reduced part, the new entry price, the fee on the whole traded
    ///      notional (`CloseMath.feeOn`), and the net settled in token units (`CloseMath.toTokens`). A trade
    ///      that only reduces is exactly the close `CloseMath.close` states; one that flips also pays the
    ///      fee on the part it opens.
    function _priceTrade(Trade memory t, int256 delta, uint256 feeRateWad, uint256 scale) private pure {
        if (t.reduces) {
            int256 closed = WadMath.abs(delta) >= WadMath.abs(t.oldSize) ? t.oldSize : -delta;
            t.realizedPnlWad = MarginMath.pnlWad(closed, t.oldEntry, t.priceWad);
            t.newEntry = t.newSize == 0 ? 0 : (t.adds ? t.priceWad : t.oldEntry);
        } else {
            t.newEntry = MarginMath.averageEntryWad(t.oldSize, t.oldEntry, delta, t.priceWad);
        }
        (, t.feeWad) = CloseMath.feeOn(delta, t.priceWad, feeRateWad);
        t.traderDeltaTokens = CloseMath.toTokens(t.realizedPnlWad - int256(t.feeWad), scale);
    }

    /// @dev Checks the open-interest caps of `marketId` and that the pool's cash (`cashAssets`, open PnL
    ///      not marked, so no other market's price is read) can back all open notional once
    ///      `traderDeltaTokens` has been settled.
    function _checkCapacity(
        EngineLib.Layout storage s,
        EngineLib.Wiring memory w,
        uint256 marketId,
        int256 traderDeltaTokens
    ) private view {
        uint256 capWad = s.markets[marketId].maxOpenInterestWad;
        IMarginEngine.MarketState memory state = s.marketStates[marketId];
        if (state.longOpenInterestWad > capWad) {
            revert IMarginEngine.MarginEngineOpenInterestCapExceeded(marketId, state.longOpenInterestWad, capWad);
        }
        if (state.shortOpenInterestWad > capWad) {
            revert IMarginEngine.MarginEngineOpenInterestCapExceeded(marketId, state.shortOpenInterestWad, capWad);
        }
        uint256 assets = w.pool.cashAssets();
        assets =
            traderDeltaTokens >= 0
                ? assets - Math.min(assets, uint256(traderDeltaTokens))
                : assets + uint256(-traderDeltaTokens);
        uint256 required = EngineLib.requiredLiquidity(s, w.scale);
        if (required > assets) revert IMarginEngine.MarginEngineInsufficientPoolLiquidity(required, assets);
    }

    function _indexOf(MarginMath.PositionData[] memory positions, uint256 marketId) private pure returns (uint256) {
        for (uint256 i; i < positions.length; ++i) {
            if (positions[i].marketId == marketId) return i;
        }
        revert IMarginEngine.MarginEngineUnknownMarket(marketId);
    }
}
