// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {ConstantsLib} from "./ConstantsLib.sol";
import {WadMath} from "./WadMath.sol";

/// @title MarginMath
/// @notice Equity, requirements and health of a cross-margined account.
/// @dev Every rounding goes against the account: losses and requirements round up, gains round down.
library MarginMath {
    using WadMath for uint256;

    /// @notice One position of an account, with the market data needed to value it.
    /// @param marketId The market.
    /// @param sizeWad Signed size (WAD base units).
    /// @param entryPriceWad Average entry price (WAD).
    /// @param priceWad Oracle price (WAD).
    /// @param imrWad Initial margin ratio (WAD).
    /// @param mmrWad Maintenance margin ratio (WAD).
    /// @param feeWad Trading fee rate (WAD).
    /// @param penaltyWad Liquidation penalty rate (WAD).
    struct PositionData {
        uint256 marketId;
        int256 sizeWad;
        uint256 entryPriceWad;
        uint256 priceWad;
        uint256 imrWad;
        uint256 mmrWad;
        uint256 feeWad;
        uint256 penaltyWad;
    }

    /// @notice Unrealised PnL of `sizeWad` bought at `entryPriceWad` and valued at `priceWad`.
    /// @dev `size · (price − entry) / WAD`; a gain rounds down, a loss rounds up (away from zero).
    function pnlWad(int256 sizeWad, uint256 entryPriceWad, uint256 priceWad) internal pure returns (int256) {
        if (sizeWad == 0 || priceWad == entryPriceWad) return 0;
        bool priceUp = priceWad > entryPriceWad;
        uint256 diff = priceUp ? priceWad - entryPriceWad : entryPriceWad - priceWad;
        bool gain = (sizeWad > 0) == priceUp;
        uint256 size = WadMath.abs(sizeWad);
        if (gain) return int256(size.mulWadDown(diff));
        return -int256(size.mulWadUp(diff));
    }

    /// @notice Notional `|size| · price` (WAD), rounded up.
    function notionalWad(int256 sizeWad, uint256 priceWad) internal pure returns (uint256) {
        return WadMath.abs(sizeWad).mulWadUp(priceWad);
    }

    /// @notice Equity of an account: margin plus the unrealised PnL of every position.
    function equityWad(uint256 marginWad, PositionData[] memory positions) internal pure returns (int256 equity) {
        equity = int256(marginWad);
        for (uint256 i; i < positions.length; ++i) {
            PositionData memory p = positions[i];
            equity += pnlWad(p.sizeWad, p.entryPriceWad, p.priceWad);
        }
    }

    /// @notice Maintenance requirement `Σ |size|·P·mmr` (WAD), rounded up.
    function maintenanceWad(PositionData[] memory positions) internal pure returns (uint256 requirement) {
        for (uint256 i; i < positions.length; ++i) {
            requirement += notionalWad(positions[i].sizeWad, positions[i].priceWad).mulWadUp(positions[i].mmrWad);
        }
    }

    /// @notice Initial requirement `Σ |size|·P·imr` (WAD), rounded up.
    function initialWad(PositionData[] memory positions) internal pure returns (uint256 requirement) {
        for (uint256 i; i < positions.length; ++i) {
            requirement += notionalWad(positions[i].sizeWad, positions[i].priceWad).mulWadUp(positions[i].imrWad);
        }
    }

    /// @notice `equityWad`, `maintenanceWad` and `initialWad` in one pass (each notional computed once;
    ///         same results).
    function requirements(
        uint256 marginWad,
        PositionData[] memory positions
    ) internal pure returns (int256 equity, uint256 maintenance, uint256 initial) {
        equity = int256(marginWad);
        for (uint256 i; i < positions.length; ++i) {
            PositionData memory p = positions[i];
            equity += pnlWad(p.sizeWad, p.entryPriceWad, p.priceWad);
            uint256 notional = notionalWad(p.sizeWad, p.priceWad);
            maintenance += notional.mulWadUp(p.mmrWad);
            initial += notional.mulWadUp(p.imrWad);
        }
    }

    /// @notice Health of `positions` with `marginWad` of margin, from one pass (`requirements`).
    function healthOf(uint256 marginWad, PositionData[] memory positions) internal pure returns (uint256) {
        (int256 equity, uint256 maintenance, ) = requirements(marginWad, positions);
        return health(equity, maintenance);
    }

    /// @notice Health `equity / maintenance` (WAD), rounded down; no requirement means infinite health,
    ///         non-positive equity means 0.
    function health(int256 equity, uint256 maintenance) internal pure returns (uint256) {
        if (maintenance == 0) return ConstantsLib.INFINITE_HEALTH;
        if (equity <= 0) return 0;
        return uint256(equity).divWadDown(maintenance);
    }

    /// @notice Size-weighted average entry price after adding `addWad` (same sign as `sizeWad`, or
    ///         `sizeWad == 0`) at `priceWad`.
    /// @dev Rounds against the trader: up for a long, down for a short.
    function averageEntryWad(
        int256 sizeWad,
        uint256 entryPriceWad,
        int256 addWad,
        uint256 priceWad
    ) internal pure returns (uint256) {
        uint256 oldSize = WadMath.abs(sizeWad);
        uint256 addSize = WadMath.abs(addWad);
        uint256 total = oldSize + addSize;
        uint256 weighted = oldSize * entryPriceWad + addSize * priceWad;
        return addWad > 0 ? Math.ceilDiv(weighted, total) : weighted / total;
    }
}
