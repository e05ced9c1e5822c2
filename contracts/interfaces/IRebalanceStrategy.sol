// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccountSnapshot, Plan} from "./RebalanceTypes.sol";

/// @title IRebalanceStrategy
/// @notice Pure planning: given an account snapshot, decide whether to rebalance and how. Strategies hold
///         no funds and change no state; the engine validates every plan before executing it (health
///         must rise to the plan's target or as far as the allowed means reach, never overshoot it by
///         more than a tolerance, and no step may lower health). Only governance-approved strategies
///         can be named in a policy.
interface IRebalanceStrategy {
    /// @notice The plan for `snapshot`, or an empty plan when nothing should be done.
    /// @param snapshot The account, its positions and its policy at `Ok` prices.
    function plan(AccountSnapshot calldata snapshot) external view returns (Plan memory);

    /// @notice Probability (WAD) that the account touches liquidation within the strategy's horizon, as
    ///         the strategy estimates it (0 when the strategy does not estimate it).
    /// @param snapshot The account snapshot.
    function hitProbability(AccountSnapshot calldata snapshot) external view returns (uint256);

    /// @notice Whether `plan` reads `AccountSnapshot.volatilityWad`. When false the engine leaves it zero
    ///         and saves the oracle reads; it asks once, when governance approves the strategy.
    function usesVolatility() external pure returns (bool);

    /// @notice Short human-readable name (e.g. "threshold").
    function name() external pure returns (string memory);
}
