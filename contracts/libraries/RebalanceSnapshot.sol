// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccountSnapshot, Plan, Policy} from "../interfaces/RebalanceTypes.sol";
import {IRebalanceStrategy} from "../interfaces/IRebalanceStrategy.sol";
import {DeleverageCapLogic} from "./DeleverageCapLogic.sol";
import {EngineLib} from "./EngineLib.sol";
import {MarginMath} from "./MarginMath.sol";
import {ThresholdPlanner} from "./ThresholdPlanner.sol";

/// @title RebalanceSnapshot
/// @notice What a strategy sees of an account (`take`), and who plans for it (`plan`): run in the
///         engine's context by `RebalanceLogic` (execution) and `RebalancePreview` (views).
library RebalanceSnapshot {
    /// @notice `account`'s snapshot: balances, positions at their oracle prices (with the `updatedAt` of
    ///         each price round, in position order), health, policy, keeper reward, volatilities (when the
    ///         strategy reads them) and each market's deleverage room. When `requireOk`, reverts unless
    ///         every price is `Ok`; otherwise `pricesOk` says whether they all were.
    function take(
        EngineLib.Layout storage s,
        EngineLib.Wiring memory w,
        address account,
        uint256 bitmap,
        Policy memory policy,
        uint256 strategyFlags,
        bool requireOk
    ) internal view returns (AccountSnapshot memory snap, bool pricesOk, uint256[] memory roundTimes) {
        if (policy.allowTopUp) {
            (snap.marginTokens, snap.reserveTokens) = w.vault.balancesOf(account);
        } else {
            snap.marginTokens = w.vault.marginOf(account);
        }
        (snap.positions, pricesOk, roundTimes) = EngineLib.loadPositions(
            s,
            w,
            account,
            bitmap,
            requireOk,
            EngineLib.noKnownPrice()
        );
        snap.account = account;
        snap.scale = w.scale;
        snap.policy = policy;
        (snap.equityWad, snap.maintenanceWad, snap.initialWad) = MarginMath.requirements(
            snap.marginTokens * w.scale,
            snap.positions
        );
        snap.healthWad = MarginMath.health(snap.equityWad, snap.maintenanceWad);
        uint256 reward = strategyFlags >> EngineLib.FLAGS_REWARD_SHIFT;
        snap.keeperRewardTokens = reward < policy.maxKeeperRewardTokens ? reward : policy.maxKeeperRewardTokens;
        _marketData(s, w, snap, strategyFlags & EngineLib.STRATEGY_USES_VOLATILITY != 0);
    }

    /// @notice Whether the policy's strategy is the engine's built-in threshold planner (the engine's own
    ///         address; run in the engine's context, `address(this)` is the engine).
    function isBuiltin(Policy memory policy) internal view returns (bool) {
        return policy.strategy == address(this);
    }

    /// @notice The built-in threshold plan for `snap` (`ThresholdPlanner`, no call), or the external
    ///         strategy's (reverting when it reverts).
    function plan(AccountSnapshot memory snap) internal view returns (Plan memory) {
        if (isBuiltin(snap.policy)) return ThresholdPlanner.plan(snap);
        return IRebalanceStrategy(snap.policy.strategy).plan(snap);
    }

    /// @dev Fills the snapshot's per-position volatility (when the strategy reads it) and deleverage room.
    function _marketData(
        EngineLib.Layout storage s,
        EngineLib.Wiring memory w,
        AccountSnapshot memory snap,
        bool readVolatility
    ) private view {
        uint256 n = snap.positions.length;
        snap.volatilityWad = new uint256[](n);
        snap.deleverageRoomWad = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            if (readVolatility) {
                (snap.volatilityWad[i], ) = w.oracle.volatility(
                    EngineLib.marketAsset(s, snap.positions[i].marketId, s.marketWords[snap.positions[i].marketId])
                );
            }
            snap.deleverageRoomWad[i] = DeleverageCapLogic.roomFor(s, snap, i);
        }
    }
}
