// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {AccountSnapshot, CloseStep, Plan} from "../interfaces/RebalanceTypes.sol";
import {CloseMath} from "./CloseMath.sol";
import {CloseOutRule} from "./CloseOutRule.sol";
import {MarginMath} from "./MarginMath.sol";
import {WadMath} from "./WadMath.sol";

/// @title RebalanceMath
/// @notice The cost-aware rebalance planner shared by the strategies, and an exact simulation of how the
///         engine executes a plan.
/// @dev Notation (all WAD unless said otherwise): equity `E`, maintenance requirement `MM`, initial
///      requirement `IM`, target health `h*`, token scale `scale = 10**(18 − decimals)`, keeper reward
///      `R = keeperRewardTokens·scale` (paid from margin after the plan executes, so it is a cost the plan
///      must cover).
///
///      Restoring `h*` means reaching `E − R ≥ h*·MM`; the **gap** is `G = h*·MM − (E − R)`.
///      - A top-up of `T` tokens raises `E` by `T·scale` and costs nothing but gas: `T = ⌈G / scale⌉`.
///      - Closing notional `n` in market `i` at the oracle price leaves `E` unchanged except for the fee
///        (realised PnL only moves from unrealised to margin) and lowers `MM` by `n·mmr_i`, so it lowers
///        the gap by `n·(h*·mmr_i − fee_i)` at a cost of `n·fee_i`.
///
///      Minimising the total fee subject to closing the gap is a linear program with one constraint and
///      box bounds `0 ≤ n_i ≤ min(notional_i, room_i)`: a fractional knapsack. Greedy by relief per unit
///      of cost, `(h*·mmr_i − fee_i) / fee_i` descending (fee-free markets first), is optimal for it.
///      Markets with `h*·mmr_i ≤ fee_i` never help and are skipped. Top-up is free, so it comes first
///      unless the caller prefers deleverage (turbulence: capital preservation), in which case the closes
///      are planned first and the top-up covers only what they could not reach. Execution order is fixed
///      by `Plan` (top-up, then closes); equity effects are additive, so planning the closes before the
///      top-up gives the same end state, and every per-step condition checked without the top-up still
///      holds with it (more margin, higher health).
///
///      Margin: a step may not realise a net loss (loss plus fee) above its margin, and the margin must
///      pay the keeper: `Σ k_i·c_i ≤ margin − R` (net cost per unit of size `k_i`, < 0 for a profit above
///      the fee), binding when the margin is small (e.g. withdrawn against unrealised profit). Passes:
///      (1) cost order, each close capped at what the margin pays at its step; (2) if a gap remains, cost
///      order again, the profits of (1) paying for what it capped (second steps); (3) if still short of
///      `h*` or of the reward, from scratch in margin order: net gains first (most per unit of relief
///      first, sized at least for what the reward lacks), then by relief per unit of net cost `P_i·r_i /
///      k_i`, which maximises the relief under both constraints: it reaches `h*` whenever some order and
///      sizing of closes does; kept if it ends closer. `preferDeleverage`: a short plan is redone top-up first.
///
///      Rounding: the planner tracks the account exactly as the engine changes it (token rounding of PnL
///      and fees, maintenance rounded up), sizes each close for the gap left plus `scale + slack` and the
///      last top-up exactly: a plan ends at or just above `h*`, or below it only when no plan reaches it.
library RebalanceMath {
    using WadMath for uint256;

    /// @notice Extra gap (WAD, on top of one token unit) each close is sized for, covering the wei-level
    ///         rounding of its fee, realised PnL and maintenance term.
    uint256 internal constant CLOSE_ROUNDING_SLACK_WAD = 16;

    /// @notice Thrown when a simulated plan tops up more than the reserve holds.
    /// @param topUpTokens The plan's top-up.
    /// @param reserveTokens The account's reserve.
    error RebalanceMathTopUpExceedsReserve(uint256 topUpTokens, uint256 reserveTokens);

    /// @notice Thrown when a simulated close names no position, has the wrong sign, or exceeds the position.
    /// @param index The close's position index.
    /// @param sizeWad The close's size.
    error RebalanceMathInvalidClose(uint256 index, int256 sizeWad);

    /// @notice Thrown when a simulated close realises a loss (plus fee) larger than the margin, which the
    ///         engine refuses.
    /// @param lossTokens The realised loss plus fee (token units).
    /// @param marginTokens The margin at that step.
    error RebalanceMathLossExceedsMargin(uint256 lossTokens, uint256 marginTokens);

    /// @notice Thrown when the margin left after a simulated plan cannot pay its sweep and keeper reward.
    /// @param neededTokens Sweep plus keeper reward.
    /// @param marginTokens The margin left.
    error RebalanceMathInsufficientMargin(uint256 neededTokens, uint256 marginTokens);

    /// @dev The account as a plan changes it (margin, equity, maintenance, position sizes), with the
    ///      planning constants (token scale, keeper reward, target health, reward-first sizing).
    struct Account {
        uint256 marginTokens;
        int256 equityWad;
        uint256 maintenanceWad;
        int256[] sizesWad;
        uint256 scale;
        uint256 rewardWad;
        uint256 targetHealthWad;
        bool rewardFirst;
    }

    // ------------------------------------------------------------------------------------- planning

    /// @notice Closes every position of an account too small to rebalance economically instead of leaving
    ///         it to liquidation: when deleverage is allowed, equity is positive but at most
    ///         `CLOSE_OUT_MAX_REWARDS` keeper rewards, and every market has room; else empty. The engine
    ///         accepts it although it ends above the target, paying the keeper at most the margin left.
    /// @param s The account snapshot.
    /// @param targetHealthWad The health the strategy aimed for (reported as the plan's target).
    function closeOut(AccountSnapshot memory s, uint256 targetHealthWad) internal pure returns (Plan memory plan) {
        uint256 n = s.positions.length;
        if (!s.policy.allowDeleverage || n == 0 || s.equityWad <= 0) return plan;
        if (!CloseOutRule.eligible(s.equityWad, s.keeperRewardTokens, s.scale)) return plan;
        CloseStep[] memory closes = new CloseStep[](n);
        for (uint256 i; i < n; ++i) {
            MarginMath.PositionData memory p = s.positions[i];
            if (MarginMath.notionalWad(p.sizeWad, p.priceWad) > s.deleverageRoomWad[i]) return plan;
            closes[i] = CloseStep(i, p.sizeWad);
        }
        plan.targetHealthWad = targetHealthWad;
        plan.closes = closes;
    }

    /// @notice The cheapest plan that restores `targetHealthWad` after paying the keeper reward (when out of
    ///         reach, the one that comes closest), or an empty plan when there is nothing (worth) doing.
    /// @dev See the library notes for the math. Steps:
    ///      1. `G = h*·MM − (E − R)` (`h*·MM` rounded up). Empty without positions, when `G ≤ 0`, or when
    ///         the plan is **dust**: `G < R`, it restores less equity than its own gas cost (the reward).
    ///      2. Unless `preferDeleverage`: if `allowTopUp`, `T = min(reserveTokens, ⌈G / scale⌉)`.
    ///      3. If `allowDeleverage` and a gap remains, the deleverage passes: closes of notional
    ///         `⌈(G + scale + slack) / (h*·mmr_i − fee_i)⌉`, capped at the position, the room left (closed
    ///         notional rounded up) and the margin; a close that would lower health at its step (only
    ///         when `health·mmr_i < fee_i`, deep below 1) is skipped.
    ///      4. With `preferDeleverage`: if `allowTopUp`, `T = min(reserveTokens, ⌈G_left / scale⌉)`.
    ///      5. Empty when no step was possible, when the margin left could not pay the keeper reward, or
    ///         when the plan would not raise health net of the reward. Otherwise `targetHealthWad = h*`.
    /// @param s The account snapshot.
    /// @param targetHealthWad The health to restore, `h*` (WAD).
    /// @param preferDeleverage Plan closes before the top-up (turbulence).
    function planToTarget(
        AccountSnapshot memory s,
        uint256 targetHealthWad,
        bool preferDeleverage
    ) internal pure returns (Plan memory plan) {
        if (s.maintenanceWad == 0) return plan;
        uint256 rewardWad = s.keeperRewardTokens.toWad(s.scale);
        int256 gapWad = gap(s.equityWad, s.maintenanceWad, targetHealthWad, rewardWad);
        if (gapWad <= 0) return plan;
        if (uint256(gapWad) < rewardWad) return closeOut(s, targetHealthWad);

        Account memory a = _attempt(s, plan, targetHealthWad, preferDeleverage, gapWad);
        if (preferDeleverage && s.policy.allowTopUp && s.reserveTokens != 0 && _short(a)) {
            (plan.topUpTokens, plan.closes) = (0, new CloseStep[](0));
            a = _attempt(s, plan, targetHealthWad, false, gapWad);
        }

        if (
            (plan.topUpTokens == 0 && plan.closes.length == 0) ||
            a.marginTokens < s.keeperRewardTokens ||
            MarginMath.health(a.equityWad - int256(rewardWad), a.maintenanceWad) <= s.healthWad
        ) return closeOut(s, targetHealthWad);
        plan.targetHealthWad = targetHealthWad;
    }

    /// @notice The sweep plan: margin beyond what `targetHealthWad` and the initial requirement need moves
    ///         back to reserve, or an empty plan.
    /// @dev Applies only when `sweepHealthWad != 0` and `healthWad ≥ sweepHealthWad`. Sweeps
    ///
    ///          W = ⌊min(E − R − h*·MM, E − R − IM, (marginTokens − rewardTokens)·scale) / scale⌋
    ///
    ///      tokens (`h*·MM` rounded up): after the sweep and the keeper reward, equity stays at or above both
    ///      `h*·MM` and `IM`, and the margin can still pay the reward (equity may include unrealised profit
    ///      that cannot be withdrawn). Empty when `W == 0` or `W·scale < R` (dust: the sweep is worth less
    ///      than its gas cost). Health after a sweep may stay well above `h*` when the initial requirement
    ///      binds; the sweep plan's `targetHealthWad` is the floor `h*`.
    /// @param s The account snapshot.
    /// @param targetHealthWad The health the sweep must not go below, `h*` (WAD).
    function planSweep(AccountSnapshot memory s, uint256 targetHealthWad) internal pure returns (Plan memory plan) {
        if (s.policy.sweepHealthWad == 0 || s.healthWad < s.policy.sweepHealthWad) return plan;
        if (s.marginTokens <= s.keeperRewardTokens) return plan;
        uint256 rewardWad = s.keeperRewardTokens.toWad(s.scale);
        int256 afterReward = s.equityWad - int256(rewardWad);
        int256 aboveTarget = afterReward - int256(s.maintenanceWad.mulWadUp(targetHealthWad));
        int256 aboveInitial = afterReward - int256(s.initialWad);
        if (aboveTarget <= 0 || aboveInitial <= 0) return plan;
        uint256 freeWad = Math.min(
            Math.min(uint256(aboveTarget), uint256(aboveInitial)),
            (s.marginTokens - s.keeperRewardTokens).toWad(s.scale)
        );
        uint256 sweepTokens = freeWad.toTokenDown(s.scale);
        if (sweepTokens == 0 || sweepTokens.toWad(s.scale) < rewardWad) return plan;
        plan.targetHealthWad = targetHealthWad;
        plan.sweepTokens = sweepTokens;
    }

    /// @notice The gap `G = h*·MM − (E − R)` (WAD, signed; `h*·MM` rounded up): the equity to add (or `h*`
    ///         times the requirement to remove) for health `h*` after the reward. `G ≤ 0` ⇔ `⌊(E − R)/MM⌋ ≥ h*`.
    /// @param equityWad Equity `E`.
    /// @param maintenanceWad Maintenance requirement `MM`.
    /// @param targetHealthWad Target health `h*`.
    /// @param rewardWad Keeper reward `R`.
    function gap(
        int256 equityWad,
        uint256 maintenanceWad,
        uint256 targetHealthWad,
        uint256 rewardWad
    ) internal pure returns (int256) {
        return int256(maintenanceWad.mulWadUp(targetHealthWad)) - (equityWad - int256(rewardWad));
    }

    /// @notice The reserve top-up that closes `gapWad`: `min(reserve, ⌈gap / scale⌉)` tokens, 0 without a gap.
    ///         The one statement of the top-up, used by the planner and by liquidation's rescue.
    function topUpFor(int256 gapWad, uint256 reserveTokens, uint256 scale) internal pure returns (uint256) {
        if (gapWad <= 0) return 0;
        return Math.min(reserveTokens, uint256(gapWad).toTokenUp(scale));
    }

    /// @notice Indices of the positions deleverage may close at target `targetHealthWad`, cheapest relief
    ///         first.
    /// @dev Eligible: non-zero size and relief `r_i = h*·mmr_i − fee_i > 0` (`h*·mmr_i` rounded down). Order:
    ///      ascending `fee_i / r_i` (fee-free first; ties keep index order) as `fee_a·r_b < fee_b·r_a`;
    ///      insertion sort (at most `MAX_MARKETS_PER_ACCOUNT` entries).
    /// @param positions The positions.
    /// @param targetHealthWad Target health `h*`.
    function costOrder(
        MarginMath.PositionData[] memory positions,
        uint256 targetHealthWad
    ) internal pure returns (uint256[] memory order) {
        uint256 n = positions.length;
        order = new uint256[](n);
        uint256[] memory relief = new uint256[](n);
        uint256 count;
        for (uint256 i; i < n; ++i) {
            MarginMath.PositionData memory p = positions[i];
            uint256 gross = targetHealthWad.mulWadDown(p.mmrWad);
            if (p.sizeWad == 0 || gross <= p.feeWad) continue;
            uint256 r = gross - p.feeWad;
            uint256 j = count;
            while (j != 0 && _cheaper(p.feeWad, r, positions[order[j - 1]].feeWad, relief[j - 1])) {
                order[j] = order[j - 1];
                relief[j] = relief[j - 1];
                --j;
            }
            order[j] = i;
            relief[j] = r;
            ++count;
        }
        uint256[] memory eligible = new uint256[](count);
        for (uint256 k; k < count; ++k) eligible[k] = order[k];
        order = eligible;
    }

    // ------------------------------------------------------------------------------------ simulation

    /// @notice Health after each step of `plan`, executed as the engine does: `[after top-up, after close 1,
    ///         …, after close k, final]`, where the final entry also moves the sweep to reserve and pays the
    ///         keeper reward from margin. An empty plan executes nothing and pays no reward.
    /// @dev A close of `c` realises `pnl(c)` (gain rounded down, loss up) and pays `⌈⌈|c|·P⌉·fee⌉`; the net
    ///      moves margin by whole tokens (gain down, loss up) and may not exceed it (reverts), step by step:
    ///      at least as strict as the engine, which settles the net of all closes once.
    /// @param s The account snapshot.
    /// @param plan The plan.
    function healthPath(AccountSnapshot memory s, Plan memory plan) internal pure returns (uint256[] memory path) {
        (, path) = _run(s, plan);
    }

    /// @notice Health after `plan` executes and the keeper is paid (the last entry of `healthPath`).
    /// @param s The account snapshot.
    /// @param plan The plan.
    function healthAfter(AccountSnapshot memory s, Plan memory plan) internal pure returns (uint256) {
        uint256[] memory path = healthPath(s, plan);
        return path[path.length - 1];
    }

    /// @notice The snapshot of the account after `plan` executes (see `healthPath`), at the same prices: new
    ///         margin, reserve, equity, requirements, health and sizes (closed positions stay, with size 0),
    ///         deleverage room reduced by the closed notional (rounded up; uncapped rooms stay uncapped).
    /// @dev A fresh snapshot: `s` is not modified. Market data arrays other than the room are shared with `s`.
    /// @param s The account snapshot.
    /// @param plan The plan.
    function execute(AccountSnapshot memory s, Plan memory plan) internal pure returns (AccountSnapshot memory next) {
        (Account memory a, uint256[] memory path) = _run(s, plan);
        uint256 n = s.positions.length;
        next.account = s.account;
        next.marginTokens = a.marginTokens;
        next.reserveTokens = s.reserveTokens - plan.topUpTokens + plan.sweepTokens;
        next.equityWad = a.equityWad;
        next.maintenanceWad = a.maintenanceWad;
        next.healthWad = path[path.length - 1];
        next.keeperRewardTokens = s.keeperRewardTokens;
        next.scale = s.scale;
        next.policy = s.policy;
        next.volatilityWad = s.volatilityWad;
        next.positions = new MarginMath.PositionData[](n);
        next.deleverageRoomWad = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            MarginMath.PositionData memory p = s.positions[i];
            next.positions[i] = MarginMath.PositionData(
                p.marketId,
                a.sizesWad[i],
                p.entryPriceWad,
                p.priceWad,
                p.imrWad,
                p.mmrWad,
                p.feeWad,
                p.penaltyWad
            );
            next.deleverageRoomWad[i] = s.deleverageRoomWad[i];
        }
        for (uint256 j; j < plan.closes.length; ++j) {
            CloseStep memory step = plan.closes[j];
            uint256 room = next.deleverageRoomWad[step.index];
            if (room == type(uint256).max) continue;
            uint256 closed = MarginMath.notionalWad(step.sizeWad, s.positions[step.index].priceWad);
            next.deleverageRoomWad[step.index] = room > closed ? room - closed : 0;
        }
        next.initialWad = MarginMath.initialWad(next.positions);
    }

    /// @dev Executes `plan` on `s` (see `healthPath`): the account afterwards and the health after each step.
    function _run(
        AccountSnapshot memory s,
        Plan memory plan
    ) private pure returns (Account memory a, uint256[] memory path) {
        uint256 k = plan.closes.length;
        path = new uint256[](k + 2);
        if (plan.topUpTokens > s.reserveTokens) {
            revert RebalanceMathTopUpExceedsReserve(plan.topUpTokens, s.reserveTokens);
        }
        a = _load(s, 0);
        a.marginTokens += plan.topUpTokens;
        a.equityWad += int256(plan.topUpTokens.toWad(s.scale));
        path[0] = MarginMath.health(a.equityWad, a.maintenanceWad);

        for (uint256 j; j < k; ++j) {
            CloseStep memory step = plan.closes[j];
            if (step.index >= a.sizesWad.length) revert RebalanceMathInvalidClose(step.index, step.sizeWad);
            int256 size = a.sizesWad[step.index];
            if (step.sizeWad == 0 || (step.sizeWad > 0) != (size > 0) || WadMath.abs(step.sizeWad) > WadMath.abs(size))
                revert RebalanceMathInvalidClose(step.index, step.sizeWad);
            CloseMath.Effect memory e = CloseMath.close(
                s.positions[step.index],
                size,
                step.sizeWad,
                a.equityWad,
                a.maintenanceWad,
                a.scale
            );
            if (e.netTokens < 0 && uint256(-e.netTokens) > a.marginTokens) {
                revert RebalanceMathLossExceedsMargin(uint256(-e.netTokens), a.marginTokens);
            }
            _commit(a, step, e);
            path[j + 1] = MarginMath.health(a.equityWad, a.maintenanceWad);
        }

        uint256 outTokens;
        if (plan.sweepTokens != 0) {
            outTokens = plan.sweepTokens + s.keeperRewardTokens;
        } else if (plan.topUpTokens != 0 || k != 0) {
            // A close-out pays the keeper at most what the margin has left (CloseOutRule).
            (outTokens, ) = CloseOutRule.keeperReward(
                a.marginTokens,
                s.keeperRewardTokens,
                k != 0 && CloseOutRule.allClosed(a.sizesWad)
            );
        }
        if (outTokens > a.marginTokens) revert RebalanceMathInsufficientMargin(outTokens, a.marginTokens);
        a.marginTokens -= outTokens;
        a.equityWad -= int256(outTokens.toWad(s.scale));
        path[k + 1] = MarginMath.health(a.equityWad, a.maintenanceWad);
    }

    // ------------------------------------------------------------------------------------- private

    /// @dev Steps 2–4 of `planToTarget` into an empty `plan` (top-up, closes); returns the account after.
    function _attempt(
        AccountSnapshot memory s,
        Plan memory plan,
        uint256 targetHealthWad,
        bool closesFirst,
        int256 gapWad
    ) private pure returns (Account memory) {
        Account memory a = _load(s, targetHealthWad);
        if (s.policy.allowTopUp && !closesFirst) {
            plan.topUpTokens = _topUp(a, s.reserveTokens, gapWad);
            gapWad -= int256(plan.topUpTokens * s.scale); // the gap is linear in equity
        }
        if (s.policy.allowDeleverage && gapWad > 0) (plan.closes, a) = _deleverage(s, a, plan.topUpTokens);
        if (s.policy.allowTopUp && closesFirst) {
            gapWad = _gapLeft(a);
            if (gapWad > 0) plan.topUpTokens = _topUp(a, s.reserveTokens, gapWad);
        }
        return a;
    }

    /// @dev The gap of `a`.
    function _gapLeft(Account memory a) private pure returns (int256) {
        return gap(a.equityWad, a.maintenanceWad, a.targetHealthWad, a.rewardWad);
    }

    /// @dev Tops up `topUpFor(gapWad, reserveTokens, scale)` tokens into `a`.
    function _topUp(Account memory a, uint256 reserveTokens, int256 gapWad) private pure returns (uint256 topUpTokens) {
        topUpTokens = topUpFor(gapWad, reserveTokens, a.scale);
        a.marginTokens += topUpTokens;
        a.equityWad += int256(topUpTokens.toWad(a.scale));
    }

    /// @dev The deleverage passes (library notes) from `a` (after `topUpTokens`): closes, account after.
    function _deleverage(
        AccountSnapshot memory s,
        Account memory a,
        uint256 topUpTokens
    ) private pure returns (CloseStep[] memory closes, Account memory) {
        uint256[] memory order = costOrder(s.positions, a.targetHealthWad);
        CloseStep[] memory steps = new CloseStep[](2 * order.length);
        uint256 count = _pass(s, a, order, steps, 0);
        int256 gapWad = _gapLeft(a);
        if (gapWad > 0) (count, gapWad) = (_pass(s, a, order, steps, count), _gapLeft(a));
        if (gapWad > 0 || _shortfall(a) != 0) {
            Account memory b = _load(s, a.targetHealthWad);
            b.marginTokens += topUpTokens;
            b.equityWad += int256(topUpTokens.toWad(s.scale));
            b.rewardFirst = true;
            CloseStep[] memory marginSteps = new CloseStep[](order.length);
            uint256 marginCount = _pass(s, b, _marginOrder(s, b, order), marginSteps, 0);
            bool unpaid = _shortfall(a) != 0;
            if (unpaid != (_shortfall(b) != 0) ? unpaid : _gapLeft(b) < _gapLeft(a)) {
                (a, steps, count) = (b, marginSteps, marginCount);
            }
        }
        closes = new CloseStep[](count);
        for (uint256 j; j < count; ++j) closes[j] = steps[j];
        return (closes, a);
    }

    /// @dev A greedy pass over `order` on `a` (rooms less earlier steps'), appended to `steps` at `count`.
    function _pass(
        AccountSnapshot memory s,
        Account memory a,
        uint256[] memory order,
        CloseStep[] memory steps,
        uint256 count
    ) private pure returns (uint256) {
        for (uint256 k; k < order.length; ++k) {
            int256 gapWad = _gapLeft(a);
            if (gapWad <= 0 && (!a.rewardFirst || _shortfall(a) == 0)) break;
            uint256 i = order[k];
            uint256 room = s.deleverageRoomWad[i];
            for (uint256 j; j < count && room != type(uint256).max; ++j) {
                if (steps[j].index == i) room -= MarginMath.notionalWad(steps[j].sizeWad, s.positions[i].priceWad);
            }
            CloseStep memory step = _close(a, s.positions[i], i, gapWad > 0 ? uint256(gapWad) : 0, room);
            if (step.sizeWad != 0) steps[count++] = step;
        }
        return count;
    }

    /// @dev `order` (cost order) in margin order (library notes; ties keep cost order); insertion sort.
    function _marginOrder(
        AccountSnapshot memory s,
        Account memory a,
        uint256[] memory order
    ) private pure returns (uint256[] memory out) {
        uint256 n = order.length;
        uint256[] memory score = new uint256[](n);
        out = new uint256[](n);
        for (uint256 k; k < n; ++k) {
            MarginMath.PositionData memory p = s.positions[order[k]];
            int256 net = _netCostPerSize(p, a.sizesWad[order[k]]);
            uint256 relief = p.priceWad.mulWadDown(CloseMath.healthRelief(p, a.targetHealthWad)) + 1;
            // Net cost: relief per unit of it (< 2**200); else first, the most gain per unit of relief first.
            score[k] = net > 0 ? relief.divWadDown(uint256(net)) : (1 << 200) + uint256(-net).divWadDown(relief);
            uint256 j = k;
            while (j != 0 && score[k] > score[out[j - 1]]) {
                out[j] = out[j - 1];
                --j;
            }
            out[j] = k;
        }
        for (uint256 k; k < n; ++k) out[k] = order[out[k]];
    }

    /// @dev Sizes the close of position `i` for `gapWad` and applies it to `a`; size 0 if none or it would
    ///      lower health at its step.
    function _close(
        Account memory a,
        MarginMath.PositionData memory p,
        uint256 i,
        uint256 gapWad,
        uint256 roomWad
    ) private pure returns (CloseStep memory step) {
        step.index = i;
        int256 size = a.sizesWad[i];
        uint256 closeAbs = _closeSize(a, p, i, gapWad, roomWad);
        if (closeAbs == 0) return step;
        int256 closeWad = size > 0 ? int256(closeAbs) : -int256(closeAbs);
        CloseMath.Effect memory e = CloseMath.close(p, size, closeWad, a.equityWad, a.maintenanceWad, a.scale);
        if (
            MarginMath.health(e.equityAfterWad, e.maintenanceAfterWad) <
            MarginMath.health(a.equityWad, a.maintenanceWad)
        ) {
            return step;
        }
        step.sizeWad = closeWad;
        _commit(a, step, e);
    }

    /// @dev Size (magnitude) to close in position `i` for `gapWad` (`planToTarget`; ⌈c·P⌉ ≤ room ⇔ c ≤ ⌊room/P⌋).
    function _closeSize(
        Account memory a,
        MarginMath.PositionData memory p,
        uint256 i,
        uint256 gapWad,
        uint256 roomWad
    ) private pure returns (uint256 closeAbs) {
        uint256 sizeAbs = WadMath.abs(a.sizesWad[i]);
        uint256 reliefWad = CloseMath.healthRelief(p, a.targetHealthWad);
        uint256 notionalWad = (gapWad + a.scale + CLOSE_ROUNDING_SLACK_WAD).divWadUp(reliefWad);
        closeAbs = notionalWad.divWadUp(p.priceWad);
        uint256 shortWad = _shortfall(a);
        if (shortWad != 0 && a.rewardFirst) {
            int256 net = _netCostPerSize(p, a.sizesWad[i]);
            if (net >= 0 && gapWad == 0) return 0;
            if (net < 0) closeAbs = Math.max(closeAbs, (shortWad + a.scale + 4).divWadUp(uint256(-net)));
        }
        closeAbs = Math.min(closeAbs, sizeAbs);

        if (roomWad != type(uint256).max) closeAbs = Math.min(closeAbs, roomWad.divWadDown(p.priceWad));

        closeAbs = Math.min(closeAbs, _payableSize(a, p, a.sizesWad[i]));
    }

    /// @dev Largest close of a position of size `sizeWad` the margin pays, keeping the reward: with `k =
    ///      _netCostPerSize`, closing `c` loses ≤ `c·k + 3` wei: `c ≤ (margin − R − 4) / k`; none if k < 0 (k = 0:
    ///      a non-zero payable covers the ≤ 3 wei, one token unit, rounding alone may lose).
    function _payableSize(
        Account memory a,
        MarginMath.PositionData memory p,
        int256 sizeWad
    ) private pure returns (uint256) {
        int256 net = _netCostPerSize(p, sizeWad);
        if (net < 0) return type(uint256).max;
        uint256 payableWad = a.marginTokens.toWad(a.scale);
        payableWad = payableWad > a.rewardWad + 4 ? payableWad - a.rewardWad - 4 : 0;
        if (net == 0) return payableWad == 0 ? 0 : type(uint256).max;
        return payableWad.divWadDown(uint256(net));
    }

    /// @dev Net cost per unit of size of closing a position of sign `sizeWad`: fee `P·fee` (rounded up)
    ///      plus the loss or minus the gain per unit (negative: a net gain).
    function _netCostPerSize(MarginMath.PositionData memory p, int256 sizeWad) private pure returns (int256) {
        int256 move = int256(p.priceWad) - int256(p.entryPriceWad);
        return int256(p.priceWad.mulWadUp(p.feeWad)) - (sizeWad > 0 ? move : -move);
    }

    /// @dev What the margin of `a` lacks to pay the keeper reward (WAD), 0 if nothing.
    function _shortfall(Account memory a) private pure returns (uint256) {
        uint256 marginWad = a.marginTokens.toWad(a.scale);
        return a.rewardWad > marginWad ? a.rewardWad - marginWad : 0;
    }

    /// @dev Whether `a` is short of the target or cannot pay the keeper reward.
    function _short(Account memory a) private pure returns (bool) {
        return _gapLeft(a) > 0 || _shortfall(a) != 0;
    }

    /// @dev Writes a close, with its effect `e`, into `a`.
    function _commit(Account memory a, CloseStep memory step, CloseMath.Effect memory e) private pure {
        a.marginTokens = uint256(int256(a.marginTokens) + e.netTokens);
        a.equityWad = e.equityAfterWad;
        a.maintenanceWad = e.maintenanceAfterWad;
        a.sizesWad[step.index] -= step.sizeWad;
    }

    /// @dev The snapshot as a mutable account (sizes copied: the snapshot is never modified).
    function _load(AccountSnapshot memory s, uint256 target) private pure returns (Account memory a) {
        uint256 n = s.positions.length;
        a.scale = s.scale;
        a.rewardWad = s.keeperRewardTokens.toWad(s.scale);
        a.targetHealthWad = target;
        a.marginTokens = s.marginTokens;
        a.equityWad = s.equityWad;
        a.maintenanceWad = s.maintenanceWad;
        a.sizesWad = new int256[](n);
        for (uint256 i; i < n; ++i) a.sizesWad[i] = s.positions[i].sizeWad;
    }

    /// @dev Whether relief `ra` at fee `fa` is strictly cheaper per unit than relief `rb` at fee `fb`.
    function _cheaper(uint256 fa, uint256 ra, uint256 fb, uint256 rb) private pure returns (bool) {
        return fa * rb < fb * ra;
    }
}
