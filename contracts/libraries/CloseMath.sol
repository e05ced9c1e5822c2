// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {MarginMath} from "./MarginMath.sol";
import {WadMath} from "./WadMath.sol";

/// @title CloseMath
/// @notice What closing part of a position does to an account: the one statement of the rule that a
///         reducing trade, a rebalance's validation and execution, the rebalance planner and a liquidation
///         apply.
/// @dev Closing `c` of a position of size `s` (same sign, `|c| ≤ |s|`) at the oracle price `P`, entry `e`:
///      - notional `n = ⌈|c|·P⌉` and fee `⌈n·fee⌉` (`feeOn`);
///      - realised PnL `pnl(c)` (`MarginMath.pnlWad`: a gain rounded down, a loss up);
///      - the net `pnl(c) − fee` settles into margin in token units, a gain rounded down and a loss up
///        (`toTokens`); every close settles on its own, so a plan of several closes settles the sum of
///        their settled nets;
///      - equity becomes `E + net·scale + pnl(s − c) − pnl(s)` (the unrealised PnL of the closed part moves
///        into margin, less the fee and the token rounding), which is exactly the equity recomputed from
///        the new margin and sizes;
///      - maintenance becomes `MM + ⌈⌈|s − c|·P⌉·mmr⌉ − ⌈⌈|s|·P⌉·mmr⌉`, exactly the requirement recomputed.
///      Per unit of notional closed, health `h` is relieved by `h·mmr − fee` (`healthRelief`): the closed
///      part's requirement falls by `mmr`, equity by the fee.
library CloseMath {
    using WadMath for uint256;

    /// @notice What a close does.
    /// @param notionalWad `⌈|c|·P⌉`.
    /// @param feeWad `⌈notional·fee⌉`.
    /// @param realisedPnlWad `pnl(c)`.
    /// @param netTokens `pnl(c) − fee`, settled in token units (`toTokens`).
    /// @param equityAfterWad The account's equity after the close.
    /// @param maintenanceAfterWad The account's maintenance requirement after the close.
    struct Effect {
        uint256 notionalWad;
        uint256 feeWad;
        int256 realisedPnlWad;
        int256 netTokens;
        int256 equityAfterWad;
        uint256 maintenanceAfterWad;
    }

    /// @notice The effect of closing `closeWad` of position `p` whose size is now `sizeWad`, on an account
    ///         with equity `equityWad` and maintenance requirement `maintenanceWad` (library notes).
    /// @dev Does not check the close's sign or size; callers do.
    function close(
        MarginMath.PositionData memory p,
        int256 sizeWad,
        int256 closeWad,
        int256 equityWad,
        uint256 maintenanceWad,
        uint256 scale
    ) internal pure returns (Effect memory e) {
        int256 remaining = sizeWad - closeWad;
        (e.notionalWad, e.feeWad) = feeOn(closeWad, p.priceWad, p.feeWad);
        e.realisedPnlWad = MarginMath.pnlWad(closeWad, p.entryPriceWad, p.priceWad);
        e.netTokens = toTokens(e.realisedPnlWad - int256(e.feeWad), scale);
        e.equityAfterWad =
            equityWad +
            e.netTokens * int256(scale) +
            MarginMath.pnlWad(remaining, p.entryPriceWad, p.priceWad) -
            MarginMath.pnlWad(sizeWad, p.entryPriceWad, p.priceWad);
        e.maintenanceAfterWad =
            maintenanceWad +
            MarginMath.notionalWad(remaining, p.priceWad).mulWadUp(p.mmrWad) -
            MarginMath.notionalWad(sizeWad, p.priceWad).mulWadUp(p.mmrWad);
    }

    /// @notice Notional `⌈|size|·P⌉` and the fee `⌈notional·rate⌉` on trading `sizeWad` at `priceWad` (WAD).
    ///         A close pays it on the size closed; a trade on the whole size traded.
    function feeOn(
        int256 sizeWad,
        uint256 priceWad,
        uint256 feeRateWad
    ) internal pure returns (uint256 notionalWad, uint256 feeWad) {
        notionalWad = MarginMath.notionalWad(sizeWad, priceWad);
        feeWad = notionalWad.mulWadUp(feeRateWad);
    }

    /// @notice A net realised amount (WAD) settled in token units, rounded against the account: a gain
    ///         rounds down, a loss up.
    function toTokens(int256 netWad, uint256 scale) internal pure returns (int256) {
        return netWad >= 0 ? int256(uint256(netWad) / scale) : -int256(Math.ceilDiv(uint256(-netWad), scale));
    }

    /// @notice Health relief per unit of notional closed at health `healthWad` (`h·mmr − fee`, rounded
    ///         down; the caller ensures `h·mmr ≥ fee`).
    function healthRelief(MarginMath.PositionData memory p, uint256 healthWad) internal pure returns (uint256) {
        return healthWad.mulWadDown(p.mmrWad) - p.feeWad;
    }
}
