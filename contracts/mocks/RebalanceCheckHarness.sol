// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IMarginEngine} from "../interfaces/IMarginEngine.sol";
import {AccountSnapshot, Plan} from "../interfaces/RebalanceTypes.sol";
import {RebalanceValidation} from "../libraries/RebalanceValidation.sol";

/// @title RebalanceCheckHarness
/// @notice Exposes the engine's plan validation, `RebalanceValidation.check`, for tests that hand-build
///         snapshots. Not part of the protocol.
contract RebalanceCheckHarness {
    /// @notice `RebalanceValidation.check(snapshot, plan)`.
    /// @return ok Whether the engine accepts the plan.
    /// @return err Why not, when `!ok`.
    /// @return healthAfterWad Health after the plan and the keeper reward, when `ok`.
    /// @return rewardTokens Keeper reward the plan pays, when `ok`.
    function check(
        AccountSnapshot memory snapshot,
        Plan memory plan
    ) external pure returns (bool ok, IMarginEngine.PlanError err, uint256 healthAfterWad, uint256 rewardTokens) {
        RebalanceValidation.Result memory r;
        (ok, err, r) = RebalanceValidation.check(snapshot, plan);
        return (ok, err, r.healthAfterWad, r.rewardTokens);
    }
}
