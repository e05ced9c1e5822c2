// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IMarginEngine} from "../interfaces/IMarginEngine.sol";
import {IPauseGuardian} from "../interfaces/IPauseGuardian.sol";
import {AccountSnapshot, CloseStep, Plan, Policy} from "../interfaces/RebalanceTypes.sol";
import {CloseMath} from "./CloseMath.sol";
import {DeleverageCapLogic} from "./DeleverageCapLogic.sol";
import {ConstantsLib} from "./ConstantsLib.sol";
import {EngineLib} from "./EngineLib.sol";
import {MarginMath} from "./MarginMath.sol";
import {RebalanceSnapshot} from "./RebalanceSnapshot.sol";
import {RebalanceValidation} from "./RebalanceValidation.sol";
import {WadMath} from "./WadMath.sol";

/// @title RebalanceLogic
/// @notice `MarginEngine.rebalance`, run in the engine's context (external library, linked at deploy):
///         snapshot (`RebalanceSnapshot`), plan (the built-in `ThresholdPlanner` or the policy's strategy),
///         validation (`RebalanceValidation.check`), then execution of exactly what validation computed.
library RebalanceLogic {
    using WadMath for uint256;

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
        (AccountSnapshot memory snap, , uint256[] memory roundTimes) = RebalanceSnapshot.take(
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

        Plan memory plan = RebalanceSnapshot.plan(snap);
        if (RebalanceValidation.isEmpty(plan))
            revert IMarginEngine.MarginEngineNothingToRebalance(account, snap.healthWad);
        // A sweep takes margin out of risk into the withdrawable reserve: it obeys the Withdraw pause.
        if (plan.sweepTokens != 0) EngineLib.requireNotPausedIn(w, bitmap, IPauseGuardian.Action.Withdraw);
        (bool ok, IMarginEngine.PlanError err, RebalanceValidation.Result memory r) = RebalanceValidation.check(
            snap,
            plan
        );
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
        (uint256 staleMarketId, uint256 updatedAt, bool allAfter) = RebalanceValidation.closeAtOwnerRound(
            snap,
            plan,
            roundTimes,
            actedAt
        );
        if (staleMarketId != 0) {
            revert IMarginEngine.MarginEngineRoundNotAfterOwnerAction(snap.account, staleMarketId, updatedAt, actedAt);
        }
        if (allAfter) delete s.ownerActionAt[snap.account];
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
        RebalanceValidation.Result memory r,
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
}
