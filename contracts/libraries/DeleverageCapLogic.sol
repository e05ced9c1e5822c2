// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IMarginEngine} from "../interfaces/IMarginEngine.sol";
import {AccountSnapshot} from "../interfaces/RebalanceTypes.sol";
import {CloseMath} from "./CloseMath.sol";
import {ConstantsLib} from "./ConstantsLib.sol";
import {EngineLib} from "./EngineLib.sol";
import {MarginMath} from "./MarginMath.sol";
import {WadMath} from "./WadMath.sol";

/// @title DeleverageCapLogic
/// @notice A market's cap on the notional rebalances may close per window: the room left, the room an
///         account is offered, and using it up.
/// @dev A capped market never refuses the deleverage that stands between an account and liquidation
///      (`protectiveNotional` at `ConstantsLib.CAP_PROTECTED_HEALTH`): refusing it only swaps it for a larger
///      liquidation, and would let anyone who uses up a window's room (with a needless rebalance of its
///      own) push others into liquidation. The cap binds precautionary deleverage above that health.
library DeleverageCapLogic {
    using WadMath for uint256;

    /// @notice Notional (WAD) rebalances may still close in `marketId` in the current window
    ///         (`type(uint256).max` when uncapped).
    function room(EngineLib.Layout storage s, uint256 marketId) internal view returns (uint256) {
        if (!EngineLib.isCapped(s, marketId)) return type(uint256).max;
        IMarginEngine.DeleverageCap memory cap = s.deleverageCaps[marketId];
        if (cap.maxNotionalWad == 0) return type(uint256).max;
        if (block.timestamp >= uint256(cap.windowStart) + cap.windowSeconds) return cap.maxNotionalWad;
        return cap.usedNotionalWad >= cap.maxNotionalWad ? 0 : cap.maxNotionalWad - cap.usedNotionalWad;
    }

    /// @notice The room position `i` of `snap` is offered in its market: `max(room left, what protects the
    ///         account)`.
    function roomFor(
        EngineLib.Layout storage s,
        AccountSnapshot memory snap,
        uint256 i
    ) internal view returns (uint256) {
        uint256 left = room(s, snap.positions[i].marketId);
        if (left == type(uint256).max) return left;
        uint256 need = protectiveNotional(snap, i, ConstantsLib.CAP_PROTECTED_HEALTH);
        return need > left ? need : left;
    }

    /// @notice Records `notionalWad` closed by a rebalance in `marketId`'s window (a new window starts
    ///         once the last one has run its length).
    function use(EngineLib.Layout storage s, uint256 marketId, uint256 notionalWad) internal {
        if (!EngineLib.isCapped(s, marketId)) return;
        IMarginEngine.DeleverageCap storage cap = s.deleverageCaps[marketId];
        if (block.timestamp >= uint256(cap.windowStart) + cap.windowSeconds) {
            cap.windowStart = uint64(block.timestamp);
            cap.usedNotionalWad = 0;
        }
        cap.usedNotionalWad += uint128(notionalWad);
    }

    /// @notice Notional (WAD, rounded up) of position `i` whose close alone lifts the account to
    ///         `protectedHealthWad`, at most the whole position; 0 at or above it.
    /// @dev Closing `x` of notional lowers equity by `x·fee` and maintenance by `x·mmr`, so health reaches
    ///      `H` at `x = (H·MM − E) / (H·mmr − fee)` (`CloseMath.healthRelief`); the denominator is positive
    ///      because `fee < mmr` and `H > 1`.
    function protectiveNotional(
        AccountSnapshot memory snap,
        uint256 i,
        uint256 protectedHealthWad
    ) internal pure returns (uint256) {
        MarginMath.PositionData memory p = snap.positions[i];
        uint256 notional = MarginMath.notionalWad(p.sizeWad, p.priceWad);
        if (snap.healthWad >= protectedHealthWad) return 0;
        int256 gap = int256(snap.maintenanceWad.mulWadUp(protectedHealthWad)) - snap.equityWad;
        uint256 need = uint256(gap).divWadUp(CloseMath.healthRelief(p, protectedHealthWad));
        return need < notional ? need : notional;
    }
}
