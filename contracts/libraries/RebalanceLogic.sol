// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IMarginEngine} from "../interfaces/IMarginEngine.sol";
import {IPauseGuardian} from "../interfaces/IPauseGuardian.sol";
import {IRebalanceStrategy} from "../interfaces/IRebalanceStrategy.sol";
import {AccountSnapshot, CloseStep, Plan, Policy} from "../interfaces/RebalanceTypes.sol";
import {CloseMath} from "./CloseMath.sol";
import {CloseOutRule} from "./CloseOutRule.sol";
import {DeleverageCapLogic} from "./DeleverageCapLogic.sol";
import {ConstantsLib} from "./ConstantsLib.sol";
import {EngineLib} from "./EngineLib.sol";
import {MarginMath} from "./MarginMath.sol";
import {WadMath} from "./WadMath.sol";

/// @title RebalanceLogic
/// @notice `MarginEngine.rebalance` and its previews, run in the engine's context (external library,
///         linked at deploy).
/// @dev The strategy plans; this library validates and executes. Validation simulates the plan step by
///      step on the snapshot, exactly as it will execute:
///      1. top-up: equity rises by the amount (health rises);
///      2. each close, in plan order, as `CloseMath.close` states it: its realised PnL less its fee settles
///         into margin in token units, and the maintenance requirement falls by the closed part's; the
///         margin must pay a net loss and health must not fall at any step;
///      3. the keeper reward leaves margin.
///      Execution applies the effects validation computed (`Result.closes`); nothing is computed twice.
///      The final health must exceed the initial one, stay within `OVERSHOOT_TOLERANCE` above the plan's
///      target (which must be at least the policy's), and reach the target (less `ROUNDING_TOLERANCE`)
///      unless every allowed means is exhausted (all reserve used when top-ups are allowed; every
///      position closed or its market at its cap when deleverage is allowed).
///      Close-out: a plan that closes every position ends above any target; it is accepted only for an
///      account too small to rebalance economically (equity at most `CLOSE_OUT_MAX_REWARDS` keeper
///      rewards), which would otherwise drift into liquidation, and pays the keeper at most what the
///      margin has left.
library RebalanceLogic {
    using WadMath for uint256;

    /// @notice Largest health a plan may end above its target.
    uint256 internal constant OVERSHOOT_TOLERANCE = 0.02e18;
    /// @notice Shortfall under the target attributed to token rounding, not to the plan.
    uint256 internal constant ROUNDING_TOLERANCE = 1e13;
    /// @notice Highest target health a plan may aim for.
    uint256 internal constant MAX_PLAN_TARGET = 20e18;

    /// @dev What a validated plan does; `closes[k]` is the effect of the plan's `k`-th close.
    struct Result {
        uint256 healthAfterWad;
        uint256 deleveragedNotionalWad;
        int256 traderDeltaTokens;
        uint256 rewardTokens;
        bool capped;
        CloseMath.Effect[] closes;
    }

    /// @dev Working state of a simulation (kept in memory to bound stack use): the account after the
    ///      top-up and the closes so far.
    struct Sim {
        int256 equityWad;
        uint256 maintenanceWad;
        uint256 healthWad;
        uint256 marginTokens;
        int256[] sizes;
        uint256[] closedNotional;
        CloseMath.Effect[] closes;
    }

    /// @notice Rebalances `account` for `keeper` (see `IMarginEngine.rebalance`).
    function rebalance(
        EngineLib.Layout storage s,
        EngineLib.Wiring memory w,
        address account,
        address keeper
    ) external returns (uint256) {
        (Policy memory policy, uint256 flags) = EngineLib.loadPolicy(s, account);
        if (policy.strategy == address(0)) revert IMarginEngine.MarginEngineNoPolicy(account);
        if (flags & EngineLib.STRATEGY_APPROVED == 0)
            revert IMarginEngine.MarginEngineStrategyNotApproved(policy.strategy);
        uint256 bitmap = s.marketBitmap[account];
        if (bitmap == 0) revert IMarginEngine.MarginEngineNothingToRebalance(account, ConstantsLib.INFINITE_HEALTH);
        EngineLib.requireNotPausedIn(w, bitmap, IPauseGuardian.Action.Rebalance);
        (AccountSnapshot memory snap, , uint256[] memory roundTimes) = _snapshot(
            s,
            w,
            account,
            bitmap,
            policy,
            flags,
            true
        );
        // An owner rebalancing itself earns no reward (it would only move back into the same margin).
        if (keeper == account) snap.keeperRewardTokens = 0;

        Plan memory plan = IRebalanceStrategy(policy.strategy).plan(snap);
        if (_isEmpty(plan)) revert IMarginEngine.MarginEngineNothingToRebalance(account, snap.healthWad);
        // A sweep takes margin out of risk into the withdrawable reserve: it obeys the Withdraw pause.
        if (plan.sweepTokens != 0) EngineLib.requireNotPausedIn(w, bitmap, IPauseGuardian.Action.Withdraw);
        (bool ok, IMarginEngine.PlanError err, Result memory r) = check(snap, plan);
        if (!ok) revert IMarginEngine.MarginEngineInvalidPlan(err);

        _execute(s, w, snap, plan, keeper, r, roundTimes);
        emit IMarginEngine.Rebalanced(
            account,
            keeper,
            snap.healthWad,
            r.healthAfterWad,
            plan.topUpTokens,
            r.deleveragedNotionalWad,
            plan.sweepTokens,
            r.rewardTokens
        );
        return r.healthAfterWad;
    }

    /// @notice The snapshot a strategy would receive for `account` now (prices whatever their status).
    function accountSnapshot(
        EngineLib.Layout storage s,
        EngineLib.Wiring memory w,
        address account
    ) external view returns (AccountSnapshot memory snap, bool pricesOk) {
        (Policy memory policy, uint256 flags) = EngineLib.loadPolicy(s, account);
        (snap, pricesOk, ) = _snapshot(s, w, account, s.marketBitmap[account], policy, flags, false);
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
        (AccountSnapshot memory snap, bool pricesOk, uint256[] memory roundTimes) = _snapshot(
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
        try IRebalanceStrategy(policy.strategy).plan(snap) returns (Plan memory p) {
            plan = p;
        } catch {
            return (action, plan, false);
        }
        if (_isEmpty(plan)) {
            capped =
                policy.allowDeleverage &&
                snap.healthWad < policy.triggerHealthWad &&
                _anyCapped(snap, _sizes(snap), new uint256[](snap.positions.length));
            return (action, plan, capped);
        }
        if (plan.sweepTokens != 0 && _paused(w, bitmap, IPauseGuardian.Action.Withdraw)) return (action, plan, false);
        (bool ok, , Result memory r) = check(snap, plan);
        if (!ok) return (action, plan, false);
        uint256 actedAt = s.ownerActionAt[account];
        if (actedAt != 0 && plan.closes.length != 0) {
            (uint256 staleMarketId, , ) = _closeAtOwnerRound(snap, plan, roundTimes, actedAt);
            if (staleMarketId != 0) return (action, plan, false);
        }
        return (IMarginEngine.KeeperAction.Rebalance, plan, r.capped);
    }

    /// @notice Validates `plan` against `snap` without reverting (see the library's notes).
    /// @return ok Whether the engine accepts it.
    /// @return err Why not, when `!ok`.
    /// @return r What it does, when `ok`.
    function check(
        AccountSnapshot memory snap,
        Plan memory plan
    ) internal pure returns (bool ok, IMarginEngine.PlanError err, Result memory r) {
        if (plan.sweepTokens != 0) return _checkSweep(snap, plan);
        (ok, err) = _checkPermissions(snap, plan);
        if (!ok) return (false, err, r);

        Sim memory sim = _startSim(snap, plan);
        for (uint256 i; i < plan.closes.length; ++i) {
            (bool stepOk, IMarginEngine.PlanError stepErr) = _simulateClose(snap, sim, plan.closes[i], i);
            if (!stepOk) return (false, stepErr, r);
        }
        r.closes = sim.closes;
        if (plan.closes.length != 0) r.deleveragedNotionalWad = _sum(sim.closedNotional);
        uint256 marginBeforeReward = sim.marginTokens;
        r.traderDeltaTokens = int256(marginBeforeReward) - int256(snap.marginTokens + plan.topUpTokens);
        bool closedOut = CloseOutRule.allClosed(sim.sizes);
        bool affordable;
        (r.rewardTokens, affordable) = CloseOutRule.keeperReward(
            marginBeforeReward,
            snap.keeperRewardTokens,
            closedOut
        );
        if (!affordable) return (false, IMarginEngine.PlanError.NoImprovement, r);
        r.healthAfterWad = MarginMath.health(sim.equityWad - int256(r.rewardTokens * snap.scale), sim.maintenanceWad);

        if (r.healthAfterWad <= snap.healthWad) return (false, IMarginEngine.PlanError.NoImprovement, r);
        if (closedOut) {
            // Closing everything ends above any target; it is allowed only for accounts too small to
            // rebalance economically.
            if (!CloseOutRule.eligible(snap.equityWad, snap.keeperRewardTokens, snap.scale)) {
                return (false, IMarginEngine.PlanError.Overshoot, r);
            }
            return (true, IMarginEngine.PlanError.Overshoot, r);
        }
        if (r.healthAfterWad > plan.targetHealthWad + OVERSHOOT_TOLERANCE) {
            return (false, IMarginEngine.PlanError.Overshoot, r);
        }
        if (r.healthAfterWad + ROUNDING_TOLERANCE < plan.targetHealthWad) {
            uint256 marginLeft = marginBeforeReward - r.rewardTokens;
            if (!_exhausted(snap, plan, sim, marginLeft)) return (false, IMarginEngine.PlanError.Undershoot, r);
            r.capped = _anyCapped(snap, sim.sizes, sim.closedNotional);
        }
        ok = true;
    }

    /// @dev Reverts when `plan` closes in a market whose round is not after the owner's last risk-relevant
    ///      action (it could have set up the reduce at a price it had seen); clears the record once every
    ///      market of the account has a later round. `roundTimes`: the snapshot's price rounds.
    function _checkOwnerRound(
        EngineLib.Layout storage s,
        AccountSnapshot memory snap,
        Plan memory plan,
        uint256[] memory roundTimes
    ) private {
        uint256 actedAt = s.ownerActionAt[snap.account];
        if (actedAt == 0) return;
        (uint256 staleMarketId, uint256 updatedAt, bool allAfter) = _closeAtOwnerRound(snap, plan, roundTimes, actedAt);
        if (staleMarketId != 0) {
            revert IMarginEngine.MarginEngineRoundNotAfterOwnerAction(snap.account, staleMarketId, updatedAt, actedAt);
        }
        if (allAfter) delete s.ownerActionAt[snap.account];
    }

    /// @dev The first market `plan` closes in whose price round (`roundTimes`, the `updatedAt` of each
    ///      position's round) is not after `actedAt` (0: none) with that round's `updatedAt`, and whether
    ///      every market of the account has a round after `actedAt`.
    function _closeAtOwnerRound(
        AccountSnapshot memory snap,
        Plan memory plan,
        uint256[] memory roundTimes,
        uint256 actedAt
    ) private pure returns (uint256 staleMarketId, uint256 updatedAt, bool allAfter) {
        allAfter = true;
        for (uint256 i; i < roundTimes.length; ++i) {
            if (roundTimes[i] <= actedAt) allAfter = false;
        }
        for (uint256 i; i < plan.closes.length; ++i) {
            uint256 index = plan.closes[i].index;
            if (roundTimes[index] <= actedAt) return (snap.positions[index].marketId, roundTimes[index], false);
        }
    }

    // ---------------------------------------------------------------- execution

    /// @dev Applies the validated plan: top-up, the closes as `r.closes` computed them, their settled net,
    ///      the sweep and the keeper reward.
    function _execute(
        EngineLib.Layout storage s,
        EngineLib.Wiring memory w,
        AccountSnapshot memory snap,
        Plan memory plan,
        address keeper,
        Result memory r,
        uint256[] memory roundTimes
    ) private {
        address account = snap.account;
        uint256 reward = r.rewardTokens;
        // With a top-up, the reward leaves in the same vault call: validation proved the final margin
        // non-negative, and every later debit is covered by it.
        if (plan.topUpTokens != 0) {
            w.vault.reserveToMarginAndPay(account, plan.topUpTokens, keeper, reward);
            reward = 0;
        }
        for (uint256 i; i < plan.closes.length; ++i) {
            _executeClose(s, snap, plan.closes[i], r.closes[i]);
        }
        if (plan.closes.length != 0) {
            _checkOwnerRound(s, snap, plan, roundTimes); // reverts the closes above when refused
            int256 deltaTokens = r.traderDeltaTokens;
            if (deltaTokens < 0 && reward != 0) {
                // A net loss goes to the pool and the reward to the keeper in one vault call (LP-only
                // income needs no pool call, as in `EngineLib.settle`).
                w.vault.transferMarginAndPay(account, address(w.pool), uint256(-deltaTokens), keeper, reward);
                reward = 0;
            } else {
                EngineLib.settle(w, account, deltaTokens, 0);
            }
        }
        if (plan.sweepTokens != 0) w.vault.marginToReserve(account, plan.sweepTokens);
        if (reward != 0) w.vault.moveMargin(account, keeper, reward);
    }

    /// @dev Closes one step at the oracle price with its validated effect `e`.
    function _executeClose(
        EngineLib.Layout storage s,
        AccountSnapshot memory snap,
        CloseStep memory step,
        CloseMath.Effect memory e
    ) private {
        MarginMath.PositionData memory p = snap.positions[step.index];
        int256 newSize = p.sizeWad - step.sizeWad;
        EngineLib.applyPositionChange(
            s,
            snap.account,
            p.marketId,
            p.sizeWad,
            p.entryPriceWad,
            newSize,
            p.entryPriceWad
        );
        DeleverageCapLogic.use(s, p.marketId, e.notionalWad);
        emit IMarginEngine.PositionModified(
            snap.account,
            p.marketId,
            -step.sizeWad,
            newSize,
            p.priceWad,
            newSize == 0 ? 0 : p.entryPriceWad,
            e.realisedPnlWad,
            e.feeWad.toTokenUp(snap.scale)
        );
        snap.positions[step.index].sizeWad = newSize;
    }

    // ---------------------------------------------------------------- snapshot

    function _snapshot(
        EngineLib.Layout storage s,
        EngineLib.Wiring memory w,
        address account,
        uint256 bitmap,
        Policy memory policy,
        uint256 strategyFlags,
        bool requireOk
    ) private view returns (AccountSnapshot memory snap, bool pricesOk, uint256[] memory roundTimes) {
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
            if (readVolatility) snap.volatilityWad[i] = _volatility(s, w, snap.positions[i].marketId);
            snap.deleverageRoomWad[i] = DeleverageCapLogic.roomFor(s, snap, i);
        }
    }

    function _volatility(
        EngineLib.Layout storage s,
        EngineLib.Wiring memory w,
        uint256 marketId
    ) private view returns (uint256 volatilityWad) {
        (volatilityWad, ) = w.oracle.volatility(EngineLib.marketAsset(s, marketId, s.marketWords[marketId]));
    }

    // ---------------------------------------------------------------- validation helpers

    /// @dev The plan's target and means against the policy (before any simulation).
    function _checkPermissions(
        AccountSnapshot memory snap,
        Plan memory plan
    ) private pure returns (bool, IMarginEngine.PlanError) {
        Policy memory policy = snap.policy;
        if (plan.targetHealthWad < policy.targetHealthWad) return (false, IMarginEngine.PlanError.TargetBelowPolicy);
        if (plan.targetHealthWad > MAX_PLAN_TARGET) return (false, IMarginEngine.PlanError.TargetTooHigh);
        if (plan.topUpTokens != 0) {
            if (!policy.allowTopUp) return (false, IMarginEngine.PlanError.TopUpNotAllowed);
            if (plan.topUpTokens > snap.reserveTokens) return (false, IMarginEngine.PlanError.TopUpExceedsReserve);
        }
        if (plan.closes.length != 0 && !policy.allowDeleverage) {
            return (false, IMarginEngine.PlanError.DeleverageNotAllowed);
        }
        return (true, IMarginEngine.PlanError.TargetBelowPolicy);
    }

    function _checkSweep(
        AccountSnapshot memory snap,
        Plan memory plan
    ) private pure returns (bool, IMarginEngine.PlanError, Result memory r) {
        Policy memory policy = snap.policy;
        if (
            plan.topUpTokens != 0 ||
            plan.closes.length != 0 ||
            policy.sweepHealthWad == 0 ||
            snap.healthWad < policy.sweepHealthWad
        ) {
            return (false, IMarginEngine.PlanError.SweepNotAllowed, r);
        }
        r.rewardTokens = snap.keeperRewardTokens;
        uint256 outflow = plan.sweepTokens + r.rewardTokens;
        if (outflow > snap.marginTokens) return (false, IMarginEngine.PlanError.SweepTooLarge, r);
        int256 equityAfter = snap.equityWad - int256(outflow * snap.scale);
        r.healthAfterWad = MarginMath.health(equityAfter, snap.maintenanceWad);
        if (equityAfter < int256(snap.initialWad) || r.healthAfterWad < policy.targetHealthWad) {
            return (false, IMarginEngine.PlanError.SweepTooLarge, r);
        }
        return (true, IMarginEngine.PlanError.SweepTooLarge, r);
    }

    function _startSim(AccountSnapshot memory snap, Plan memory plan) private pure returns (Sim memory sim) {
        uint256 n = snap.positions.length;
        sim.marginTokens = snap.marginTokens + plan.topUpTokens;
        sim.equityWad = snap.equityWad + int256(plan.topUpTokens * snap.scale);
        sim.maintenanceWad = snap.maintenanceWad;
        sim.healthWad = MarginMath.health(sim.equityWad, sim.maintenanceWad);
        sim.sizes = new int256[](n);
        sim.closedNotional = new uint256[](n);
        sim.closes = new CloseMath.Effect[](plan.closes.length);
        for (uint256 i; i < n; ++i) sim.sizes[i] = snap.positions[i].sizeWad;
    }

    /// @dev Applies the plan's `k`-th close, `step`, to `sim` (`CloseMath.close`), refusing an invalid close,
    ///      one beyond its market's room, a net loss the margin cannot pay, or a step that lowers health.
    function _simulateClose(
        AccountSnapshot memory snap,
        Sim memory sim,
        CloseStep memory step,
        uint256 k
    ) private pure returns (bool, IMarginEngine.PlanError) {
        if (step.index >= snap.positions.length) return (false, IMarginEngine.PlanError.InvalidClose);
        int256 size = sim.sizes[step.index];
        int256 c = step.sizeWad;
        if (c == 0 || (c > 0) != (size > 0) || WadMath.abs(c) > WadMath.abs(size)) {
            return (false, IMarginEngine.PlanError.InvalidClose);
        }
        CloseMath.Effect memory e = CloseMath.close(
            snap.positions[step.index],
            size,
            c,
            sim.equityWad,
            sim.maintenanceWad,
            snap.scale
        );
        sim.closedNotional[step.index] += e.notionalWad;
        if (sim.closedNotional[step.index] > snap.deleverageRoomWad[step.index]) {
            return (false, IMarginEngine.PlanError.DeleverageCapExceeded);
        }
        if (e.netTokens < 0 && uint256(-e.netTokens) > sim.marginTokens) {
            return (false, IMarginEngine.PlanError.LossExceedsMargin);
        }
        sim.marginTokens = uint256(int256(sim.marginTokens) + e.netTokens);
        sim.equityWad = e.equityAfterWad;
        sim.maintenanceWad = e.maintenanceAfterWad;
        sim.sizes[step.index] = size - c;
        sim.closes[k] = e;
        uint256 h = MarginMath.health(sim.equityWad, sim.maintenanceWad);
        if (h < sim.healthWad) return (false, IMarginEngine.PlanError.StepLowersHealth);
        sim.healthWad = h;
        return (true, IMarginEngine.PlanError.InvalidClose);
    }

    /// @dev Whether the plan used every allowed means: all reserve (top-ups allowed) and, for every position
    ///      still open (deleverage allowed), its market's room, or the margin its close would need: a close
    ///      that realises a net loss cannot be paid once the plan has spent the margin (at most one token
    ///      unit of rounding per close left, after the keeper reward).
    function _exhausted(
        AccountSnapshot memory snap,
        Plan memory plan,
        Sim memory sim,
        uint256 marginLeftTokens
    ) private pure returns (bool) {
        if (snap.policy.allowTopUp && plan.topUpTokens < snap.reserveTokens) return false;
        if (!snap.policy.allowDeleverage) return true;
        bool marginSpent = marginLeftTokens <= plan.closes.length + 1;
        for (uint256 i; i < sim.sizes.length; ++i) {
            if (sim.sizes[i] == 0) continue;
            uint256 room = snap.deleverageRoomWad[i];
            // Within the notional of one size unit (1 wei) of the room counts as used up.
            if (room != type(uint256).max && room - sim.closedNotional[i] <= _unitNotional(snap.positions[i])) {
                continue;
            }
            if (marginSpent && _closeLoses(snap.positions[i], sim.sizes[i])) continue;
            return false;
        }
        return true;
    }

    /// @dev Whether closing `size` of `p` at its price realises a net loss (PnL less the fee).
    function _closeLoses(MarginMath.PositionData memory p, int256 size) private pure returns (bool) {
        (, uint256 fee) = CloseMath.feeOn(size, p.priceWad, p.feeWad);
        return MarginMath.pnlWad(size, p.entryPriceWad, p.priceWad) < int256(fee);
    }

    /// @dev Whether a position still open (`sizes`) sits in a market whose room, less what the plan
    ///      closes there, is used up.
    function _anyCapped(
        AccountSnapshot memory snap,
        int256[] memory sizes,
        uint256[] memory closedNotional
    ) private pure returns (bool) {
        for (uint256 i; i < sizes.length; ++i) {
            if (sizes[i] == 0) continue;
            uint256 room = snap.deleverageRoomWad[i];
            if (room != type(uint256).max && room - closedNotional[i] <= _unitNotional(snap.positions[i])) return true;
        }
        return false;
    }

    function _sizes(AccountSnapshot memory snap) private pure returns (int256[] memory sizes) {
        sizes = new int256[](snap.positions.length);
        for (uint256 i; i < sizes.length; ++i) sizes[i] = snap.positions[i].sizeWad;
    }

    /// @dev Notional of one size unit (1 wei of base), rounded up.
    function _unitNotional(MarginMath.PositionData memory p) private pure returns (uint256) {
        return p.priceWad / ConstantsLib.WAD + 1;
    }

    function _sum(uint256[] memory values) private pure returns (uint256 total) {
        for (uint256 i; i < values.length; ++i) total += values[i];
    }

    function _isEmpty(Plan memory plan) private pure returns (bool) {
        return plan.topUpTokens == 0 && plan.sweepTokens == 0 && plan.closes.length == 0;
    }

    function _paused(
        EngineLib.Wiring memory w,
        uint256 bitmap,
        IPauseGuardian.Action action
    ) private view returns (bool paused) {
        (paused, ) = w.guardian.isPausedAny(bitmap, action);
    }
}
