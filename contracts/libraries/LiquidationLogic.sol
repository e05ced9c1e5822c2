// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IMarginEngine} from "../interfaces/IMarginEngine.sol";
import {IPauseGuardian} from "../interfaces/IPauseGuardian.sol";
import {Policy} from "../interfaces/RebalanceTypes.sol";
import {ConstantsLib} from "./ConstantsLib.sol";
import {EngineLib} from "./EngineLib.sol";
import {LiquidationMath} from "./LiquidationMath.sol";
import {MarginMath} from "./MarginMath.sol";
import {RebalanceMath} from "./RebalanceMath.sol";
import {WadMath} from "./WadMath.sol";

/// @title LiquidationLogic
/// @notice `MarginEngine.liquidate`, run in the engine's context (external library, linked at deploy).
/// @dev Order: pause and price checks → rescue from reserve (when the policy allows top-ups) → health
///      check → `LiquidationMath.plan` → position writes → events → token moves.
library LiquidationLogic {
    using WadMath for uint256;

    /// @notice Liquidates `account` on behalf of `liquidator` (see `IMarginEngine.liquidate`).
    function liquidate(
        EngineLib.Layout storage s,
        EngineLib.Wiring memory w,
        address account,
        address liquidator
    ) external {
        uint256 marginTokens;
        MarginMath.PositionData[] memory positions;
        {
            uint256 bitmap = s.marketBitmap[account];
            EngineLib.requireNotPausedIn(w, bitmap, IPauseGuardian.Action.Liquidate);
            (marginTokens, positions, ) = EngineLib.load(s, w, account, bitmap, true);
        }
        (int256 equity, uint256 maintenance, ) = MarginMath.requirements(marginTokens * w.scale, positions);
        uint256 healthBefore = MarginMath.health(equity, maintenance);
        if (healthBefore >= ConstantsLib.WAD) revert IMarginEngine.MarginEngineNotLiquidatable(account, healthBefore);

        // Rescue before penalty: the owner's reserve, when its policy allows top-ups.
        {
            bool rescued;
            (marginTokens, equity, rescued) = _rescue(s, w, account, marginTokens, equity, maintenance);
            if (rescued) return;
        }

        LiquidationMath.Outcome memory out = LiquidationMath.plan(
            marginTokens,
            equity,
            positions,
            _params(s, account, liquidator),
            w.scale
        );
        _execute(s, w, account, liquidator, healthBefore, positions, out);
    }

    /// @dev The engine's liquidation parameters; an account liquidating itself earns no reward (the whole
    ///      penalty goes to insurance).
    function _params(
        EngineLib.Layout storage s,
        address account,
        address liquidator
    ) private view returns (IMarginEngine.LiquidationParams memory params) {
        params = s.liquidationParams;
        if (liquidator == account) params.liquidatorShareWad = 0;
    }

    /// @dev Closes the planned sizes, emits `Liquidated`, then moves the tokens.
    function _execute(
        EngineLib.Layout storage s,
        EngineLib.Wiring memory w,
        address account,
        address liquidator,
        uint256 healthBefore,
        MarginMath.PositionData[] memory positions,
        LiquidationMath.Outcome memory out
    ) private {
        uint256 closedNotional = _closePositions(s, account, positions, out.closeSizesWad);
        uint256 healthAfter = MarginMath.healthOf(out.marginAfterTokens * w.scale, positions);
        emit IMarginEngine.Liquidated(
            account,
            liquidator,
            healthBefore,
            healthAfter,
            closedNotional,
            out.penaltyPaidTokens,
            out.rewardTokens,
            out.badDebtTokens
        );
        EngineLib.settle(w, account, out.traderDeltaTokens, out.insuranceTokens);
        if (out.rewardTokens != 0) w.vault.transferMargin(account, liquidator, out.rewardTokens);
        if (out.badDebtTokens != 0) w.pool.recordBadDebt(account, out.badDebtTokens);
    }

    /// @dev Moves the owner's reserve into margin when its policy allows top-ups: enough to reach the
    ///      policy's target health, at most the whole reserve. Returns the new margin and equity, and
    ///      whether health is now at least 1 (nothing left to liquidate).
    function _rescue(
        EngineLib.Layout storage s,
        EngineLib.Wiring memory w,
        address account,
        uint256 marginTokens,
        int256 equity,
        uint256 maintenance
    ) private returns (uint256, int256, bool) {
        (Policy memory policy, ) = EngineLib.loadPolicy(s, account);
        if (policy.strategy == address(0) || !policy.allowTopUp) return (marginTokens, equity, false);
        uint256 reserve = w.vault.reserveOf(account);
        if (reserve == 0) return (marginTokens, equity, false);
        uint256 amount = RebalanceMath.topUpFor(
            RebalanceMath.gap(equity, maintenance, policy.targetHealthWad, 0),
            reserve,
            w.scale
        );
        equity += int256(amount * w.scale);
        uint256 healthAfter = MarginMath.health(equity, maintenance);
        emit IMarginEngine.Rescued(account, amount, healthAfter);
        w.vault.reserveToMargin(account, amount);
        return (marginTokens + amount, equity, healthAfter >= ConstantsLib.WAD);
    }

    /// @dev Closes `closeSizes` of `positions` at their oracle prices, emitting a `PositionModified` per
    ///      market; leaves `positions` holding the remaining sizes. Returns the notional closed.
    function _closePositions(
        EngineLib.Layout storage s,
        address account,
        MarginMath.PositionData[] memory positions,
        int256[] memory closeSizes
    ) private returns (uint256 closedNotional) {
        for (uint256 i; i < positions.length; ++i) {
            MarginMath.PositionData memory p = positions[i];
            int256 closeSize = closeSizes[i];
            int256 newSize = p.sizeWad - closeSize;
            closedNotional += MarginMath.notionalWad(closeSize, p.priceWad);
            EngineLib.applyPositionChange(s, account, p.marketId, p.sizeWad, p.entryPriceWad, newSize, p.entryPriceWad);
            emit IMarginEngine.PositionModified(
                account,
                p.marketId,
                -closeSize,
                newSize,
                p.priceWad,
                newSize == 0 ? 0 : p.entryPriceWad,
                MarginMath.pnlWad(closeSize, p.entryPriceWad, p.priceWad),
                0
            );
            positions[i].sizeWad = newSize;
        }
    }
}
