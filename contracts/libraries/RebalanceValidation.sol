// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IMarginEngine} from "../interfaces/IMarginEngine.sol";
import {AccountSnapshot, CloseStep, Plan, Policy} from "../interfaces/RebalanceTypes.sol";
import {CloseMath} from "./CloseMath.sol";
import {CloseOutRule} from "./CloseOutRule.sol";
import {ConstantsLib} from "./ConstantsLib.sol";
import {MarginMath} from "./MarginMath.sol";
import {WadMath} from "./WadMath.sol";

/// @title RebalanceValidation
/// @notice The engine's acceptance rule for a rebalance plan, as a pure function of the snapshot and the
///         plan (`check`), shared by execution (`RebalanceLogic`) and previews (`RebalancePreview`).
/// @dev Validation simulates the plan step by step on the snapshot, exactly as it will execute:
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
library RebalanceValidation {
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
            r.capped = anyCapped(snap, sim.sizes, sim.closedNotional);
        }
        ok = true;
    }

    /// @dev The first market `plan` closes in whose price round (`roundTimes`, the `updatedAt` of each
    ///      position's round) is not after `actedAt` (0: none) with that round's `updatedAt`, and whether
    ///      every market of the account has a round after `actedAt`.
    function closeAtOwnerRound(
        AccountSnapshot memory snap,
        Plan memory plan,
        uint256[] memory roundTimes,
        uint256 actedAt
    ) internal pure returns (uint256 staleMarketId, uint256 updatedAt, bool allAfter) {
        allAfter = true;
        for (uint256 i; i < roundTimes.length; ++i) {
            if (roundTimes[i] <= actedAt) allAfter = false;
        }
        for (uint256 i; i < plan.closes.length; ++i) {
            uint256 index = plan.closes[i].index;
            if (roundTimes[index] <= actedAt) return (snap.positions[index].marketId, roundTimes[index], false);
        }
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
    function anyCapped(
        AccountSnapshot memory snap,
        int256[] memory sizes,
        uint256[] memory closedNotional
    ) internal pure returns (bool) {
        for (uint256 i; i < sizes.length; ++i) {
            if (sizes[i] == 0) continue;
            uint256 room = snap.deleverageRoomWad[i];
            if (room != type(uint256).max && room - closedNotional[i] <= _unitNotional(snap.positions[i])) return true;
        }
        return false;
    }

    function positionSizes(AccountSnapshot memory snap) internal pure returns (int256[] memory sizes) {
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

    function isEmpty(Plan memory plan) internal pure returns (bool) {
        return plan.topUpTokens == 0 && plan.sweepTokens == 0 && plan.closes.length == 0;
    }
}
