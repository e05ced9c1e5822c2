// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IRebalanceStrategy} from "../interfaces/IRebalanceStrategy.sol";
import {AccountSnapshot, Plan} from "../interfaces/RebalanceTypes.sol";
import {ThresholdPlanner} from "../libraries/ThresholdPlanner.sol";

/// @title ThresholdStrategy
/// @notice The policy's thresholds, nothing more (`ThresholdPlanner`), as a contract: for integrators and
///         previews, and for policies that name it. The engine plans the same rule itself, without a call,
///         for a policy whose strategy is the engine's address (`IMarginEngine.builtinStrategy`).
/// @dev Stateless and parameter-free.
contract ThresholdStrategy is IRebalanceStrategy {
    /// @inheritdoc IRebalanceStrategy
    function plan(AccountSnapshot calldata snapshot) external pure returns (Plan memory) {
        return ThresholdPlanner.plan(snapshot);
    }

    /// @inheritdoc IRebalanceStrategy
    /// @dev The threshold strategy does not estimate it.
    function hitProbability(AccountSnapshot calldata) external pure returns (uint256) {
        return 0;
    }

    /// @inheritdoc IRebalanceStrategy
    function usesVolatility() external pure returns (bool) {
        return false;
    }

    /// @inheritdoc IRebalanceStrategy
    function name() external pure returns (string memory) {
        return "threshold";
    }
}
