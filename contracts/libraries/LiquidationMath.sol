// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IMarginEngine} from "../interfaces/IMarginEngine.sol";
import {CloseMath} from "./CloseMath.sol";
import {ConstantsLib} from "./ConstantsLib.sol";
import {WadMath} from "./WadMath.sol";
import {MarginMath} from "./MarginMath.sol";

/// @title LiquidationMath
/// @notice How much of an account a liquidation closes, and who is paid what.
/// @dev Every position is closed by the same fraction `f`. Closing `f` lowers the maintenance
///      requirement to `(1 − f)·MM` and equity to `E − f·C`, where `C = Σ notional·(fee + penalty)` is
///      the cost of closing everything. The smallest `f` that restores the target health `h_t` solves
///      `E − f·C ≥ h_t·(1 − f)·MM`:
///
///          f = (h_t·MM − E) / (h_t·MM − C),   rounded up, capped at 1,
///
///      and `f = 1` when `E ≤ 0` or `h_t·MM ≤ C`. If the account's margin cannot pay the realised loss,
///      fee and penalty of a partial close (its remaining equity is unrealised profit elsewhere), the
///      whole account is closed instead. Payments come out of margin plus realised profit in this order:
///      realised loss (to LPs), trading fee (to LPs), liquidator reward, insurance share of the penalty.
///      A realised loss left unpaid is bad debt. The reward therefore comes only out of equity left after
///      the account has paid what it owes LPs: liquidating an underwater account pays no reward, so an
///      owner cannot turn its own bad debt into a reward. (`LiquidationLogic` sets the share to zero when
///      the liquidator is the account itself.)
library LiquidationMath {
    using WadMath for uint256;

    /// @notice What a liquidation does.
    /// @param closeSizesWad Size closed per position (same order and sign as the positions).
    /// @param marginAfterTokens Margin left to the account (token units).
    /// @param traderDeltaTokens Net flow between LPs and the account: + LPs pay, − the account pays.
    /// @param insuranceTokens Penalty share paid to the insurance buffer.
    /// @param rewardTokens Reward paid to the liquidator.
    /// @param penaltyPaidTokens Penalty actually paid (reward plus insurance share).
    /// @param badDebtTokens Realised loss the account could not pay.
    struct Outcome {
        int256[] closeSizesWad;
        uint256 marginAfterTokens;
        int256 traderDeltaTokens;
        uint256 insuranceTokens;
        uint256 rewardTokens;
        uint256 penaltyPaidTokens;
        uint256 badDebtTokens;
    }

    /// @notice Plans the liquidation of an account with `marginTokens` of margin, `equityWad` of equity
    ///         and `positions`.
    /// @param params Target health, liquidator share and reward cap.
    /// @param scale `10**(18 − token decimals)`.
    function plan(
        uint256 marginTokens,
        int256 equityWad,
        MarginMath.PositionData[] memory positions,
        IMarginEngine.LiquidationParams memory params,
        uint256 scale
    ) internal pure returns (Outcome memory out) {
        uint256 fractionWad = closeFraction(equityWad, positions, params.targetHealthWad);
        uint256 shareWad = params.liquidatorShareWad;
        bool fullyPaid;
        (out, fullyPaid) = _settle(
            marginTokens,
            positions,
            fractionWad,
            shareWad,
            params.maxLiquidatorRewardTokens,
            scale
        );
        if (!fullyPaid && fractionWad < ConstantsLib.WAD) {
            (out, ) = _settle(
                marginTokens,
                positions,
                ConstantsLib.WAD,
                shareWad,
                params.maxLiquidatorRewardTokens,
                scale
            );
        }
    }

    /// @notice The fraction (WAD) of every position a liquidation closes; see the library's notes.
    function closeFraction(
        int256 equityWad,
        MarginMath.PositionData[] memory positions,
        uint256 targetHealthWad
    ) internal pure returns (uint256) {
        if (equityWad <= 0) return ConstantsLib.WAD;
        uint256 closeCost;
        for (uint256 i; i < positions.length; ++i) {
            MarginMath.PositionData memory p = positions[i];
            closeCost += MarginMath.notionalWad(p.sizeWad, p.priceWad).mulWadUp(p.feeWad + p.penaltyWad);
        }
        uint256 target = MarginMath.maintenanceWad(positions).mulWadUp(targetHealthWad);
        if (target <= closeCost || uint256(equityWad) >= target) {
            return target <= closeCost ? ConstantsLib.WAD : 0;
        }
        uint256 fraction = (target - uint256(equityWad)).divWadUp(target - closeCost);
        return fraction > ConstantsLib.WAD ? ConstantsLib.WAD : fraction;
    }

    /// @notice Price of `marketId`'s asset at which the account reaches health 1, other prices fixed
    ///         (WAD; 0 when no positive price does).
    /// @dev Equity and requirement are linear in the price `P` of one market: `E(P) = E₀ + s·(P − P₀)`,
    ///      `MM(P) = MM₀ + |s|·mmr·(P − P₀)`. Setting them equal gives
    ///      `P = P₀ − (E₀ − MM₀) / (s − |s|·mmr)`.
    function liquidationPrice(
        int256 equityWad,
        uint256 maintenanceWad,
        MarginMath.PositionData[] memory positions,
        uint256 marketId
    ) internal pure returns (uint256) {
        for (uint256 i; i < positions.length; ++i) {
            MarginMath.PositionData memory p = positions[i];
            if (p.marketId != marketId) continue;
            int256 gap = equityWad - int256(maintenanceWad);
            uint256 size = WadMath.abs(p.sizeWad);
            bool long = p.sizeWad > 0;
            // Price move per unit of gap: long s·(1 − mmr), short |s|·(1 + mmr).
            uint256 slope = size.mulWadDown(long ? ConstantsLib.WAD - p.mmrWad : ConstantsLib.WAD + p.mmrWad);
            if (slope == 0) return 0;
            uint256 move = WadMath.abs(gap).divWadDown(slope);
            // A long is liquidated below the price, a short above; a negative gap means already past it.
            bool down = long == (gap >= 0);
            if (down) return move >= p.priceWad ? 0 : p.priceWad - move;
            return p.priceWad + move;
        }
        return 0;
    }

    /// @dev Token amounts a close owes or earns.
    struct Amounts {
        uint256 profit;
        uint256 loss;
        uint256 fee;
        uint256 penalty;
        uint256 reward;
    }

    function _settle(
        uint256 marginTokens,
        MarginMath.PositionData[] memory positions,
        uint256 fractionWad,
        uint256 liquidatorShareWad,
        uint256 maxRewardTokens,
        uint256 scale
    ) private pure returns (Outcome memory out, bool fullyPaid) {
        Amounts memory a;
        (out.closeSizesWad, a) = _close(positions, fractionWad, scale);
        a.reward = a.penalty.mulWadDown(liquidatorShareWad);
        if (a.reward > maxRewardTokens) a.reward = maxRewardTokens;

        // What the account owes LPs comes first; the reward only out of what is left.
        uint256 available = marginTokens + a.profit;
        uint256 lossPaid = _take(available, a.loss);
        available -= lossPaid;
        uint256 feePaid = _take(available, a.fee);
        available -= feePaid;
        out.rewardTokens = _take(available, a.reward);
        available -= out.rewardTokens;
        out.insuranceTokens = _take(available, a.penalty - a.reward);
        available -= out.insuranceTokens;

        out.marginAfterTokens = available;
        out.traderDeltaTokens = int256(a.profit) - int256(lossPaid) - int256(feePaid);
        out.penaltyPaidTokens = out.rewardTokens + out.insuranceTokens;
        out.badDebtTokens = a.loss - lossPaid;
        fullyPaid = lossPaid == a.loss && feePaid == a.fee && out.penaltyPaidTokens == a.penalty;
    }

    /// @dev Sizes closed by `fractionWad` of every position (magnitude rounded up), and the realised
    ///      PnL, fee and penalty in token units (gain rounded down, the rest up).
    function _close(
        MarginMath.PositionData[] memory positions,
        uint256 fractionWad,
        uint256 scale
    ) private pure returns (int256[] memory closeSizes, Amounts memory a) {
        closeSizes = new int256[](positions.length);
        int256 pnl;
        uint256 fee;
        uint256 penalty;
        for (uint256 i; i < positions.length; ++i) {
            MarginMath.PositionData memory p = positions[i];
            int256 closeSize = p.sizeWad;
            if (fractionWad < ConstantsLib.WAD) {
                uint256 magnitude = WadMath.abs(p.sizeWad).mulWadUp(fractionWad);
                closeSize = p.sizeWad > 0 ? int256(magnitude) : -int256(magnitude);
            }
            closeSizes[i] = closeSize;
            pnl += MarginMath.pnlWad(closeSize, p.entryPriceWad, p.priceWad);
            (uint256 notional, uint256 closeFee) = CloseMath.feeOn(closeSize, p.priceWad, p.feeWad);
            fee += closeFee;
            penalty += notional.mulWadUp(p.penaltyWad);
        }
        a.profit = pnl > 0 ? uint256(pnl).toTokenDown(scale) : 0;
        a.loss = pnl < 0 ? uint256(-pnl).toTokenUp(scale) : 0;
        a.fee = fee.toTokenUp(scale);
        a.penalty = penalty.toTokenUp(scale);
    }

    function _take(uint256 available, uint256 wanted) private pure returns (uint256) {
        return wanted < available ? wanted : available;
    }
}
