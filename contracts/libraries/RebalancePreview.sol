// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IMarginEngine} from "../interfaces/IMarginEngine.sol";
import {IPauseGuardian} from "../interfaces/IPauseGuardian.sol";
import {IRebalanceStrategy} from "../interfaces/IRebalanceStrategy.sol";
import {AccountSnapshot, Plan, Policy} from "../interfaces/RebalanceTypes.sol";
import {ConstantsLib} from "./ConstantsLib.sol";
import {EngineLib} from "./EngineLib.sol";
import {RebalanceSnapshot} from "./RebalanceSnapshot.sol";
import {RebalanceValidation} from "./RebalanceValidation.sol";
import {ThresholdPlanner} from "./ThresholdPlanner.sol";

/// @title RebalancePreview
/// @notice The engine's rebalance views, `accountSnapshot` and `keeperAction`, run in the engine's context
///         (external library, linked at deploy). They take the snapshot, plan and validate exactly as
///         `RebalanceLogic.rebalance` does, and never revert for an account's state.
library RebalancePreview {
    /// @notice The snapshot a strategy would receive for `account` now (prices whatever their status).
    function accountSnapshot(
        EngineLib.Layout storage s,
        EngineLib.Wiring memory w,
        address account
    ) external view returns (AccountSnapshot memory snap, bool pricesOk) {
        (Policy memory policy, uint256 flags) = EngineLib.loadPolicy(s, account);
        (snap, pricesOk, ) = RebalanceSnapshot.take(s, w, account, s.marketBitmap[account], policy, flags, false);
    }

    /// @notice What a keeper should do with `account` now (see `IMarginEngine.keeperAction`).
    function keeperAction(
        EngineLib.Layout storage s,
        EngineLib.Wiring memory w,
        address account
    ) external view returns (IMarginEngine.KeeperAction action, Plan memory plan, bool capped) {
        uint256 bitmap = s.marketBitmap[account];
        if (bitmap == 0) return (action, plan, false);
        (Policy memory policy, uint256 flags) = EngineLib.loadPolicy(s, account);
        (AccountSnapshot memory snap, bool pricesOk, uint256[] memory roundTimes) = RebalanceSnapshot.take(
            s,
            w,
            account,
            bitmap,
            policy,
            flags,
            false
        );
        if (!pricesOk) return (action, plan, false);
        if (snap.healthWad < ConstantsLib.WAD) {
            if (_paused(w, bitmap, IPauseGuardian.Action.Liquidate)) return (action, plan, false);
            return (IMarginEngine.KeeperAction.Liquidate, plan, false);
        }
        if (flags & EngineLib.STRATEGY_APPROVED == 0) return (action, plan, false);
        if (_paused(w, bitmap, IPauseGuardian.Action.Rebalance)) return (action, plan, false);
        bool planned;
        (planned, plan) = _tryPlan(snap);
        if (!planned) return (action, plan, false);
        if (RebalanceValidation.isEmpty(plan)) {
            capped =
                policy.allowDeleverage &&
                snap.healthWad < policy.triggerHealthWad &&
                RebalanceValidation.anyCapped(
                    snap,
                    RebalanceValidation.positionSizes(snap),
                    new uint256[](snap.positions.length)
                );
            return (action, plan, capped);
        }
        if (plan.sweepTokens != 0 && _paused(w, bitmap, IPauseGuardian.Action.Withdraw)) return (action, plan, false);
        (bool ok, , RebalanceValidation.Result memory r) = RebalanceValidation.check(snap, plan);
        if (!ok) return (action, plan, false);
        uint256 actedAt = s.ownerActionAt[account];
        if (actedAt != 0 && plan.closes.length != 0) {
            (uint256 staleMarketId, , ) = RebalanceValidation.closeAtOwnerRound(snap, plan, roundTimes, actedAt);
            if (staleMarketId != 0) return (action, plan, false);
        }
        return (IMarginEngine.KeeperAction.Rebalance, plan, r.capped);
    }

    /// @dev The plan for `snap` (`RebalanceSnapshot.plan`), with `ok` false when an external strategy reverts
    ///      or answers with data that does not decode.
    function _tryPlan(AccountSnapshot memory snap) private view returns (bool ok, Plan memory plan) {
        if (RebalanceSnapshot.isBuiltin(snap.policy)) return (true, ThresholdPlanner.plan(snap));
        try IRebalanceStrategy(snap.policy.strategy).plan(snap) returns (Plan memory p) {
            return (true, p);
        } catch {
            return (false, plan);
        }
    }

    function _paused(
        EngineLib.Wiring memory w,
        uint256 bitmap,
        IPauseGuardian.Action action
    ) private view returns (bool paused) {
        (paused, ) = w.guardian.isPausedAny(bitmap, action);
    }
}
