// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IRebalanceStrategy} from "../interfaces/IRebalanceStrategy.sol";
import {AccountSnapshot, CloseStep, Plan} from "../interfaces/RebalanceTypes.sol";

/// @title ScriptedStrategy
/// @notice Test strategy that returns whatever plan the test scripted, so that tests can hand the engine
///         valid and harmful plans and check its validation. Never approve it on a real deployment.
contract ScriptedStrategy is IRebalanceStrategy {
    uint256 private _target;
    uint256 private _topUp;
    uint256 private _sweep;
    CloseStep[] private _closes;
    bool private _revert;

    /// @notice Thrown by `plan` when scripted to fail.
    error ScriptedStrategyFailed();

    /// @notice Scripts the next plans.
    function setPlan(
        uint256 targetHealthWad,
        uint256 topUpTokens,
        CloseStep[] calldata closes,
        uint256 sweepTokens
    ) external {
        _target = targetHealthWad;
        _topUp = topUpTokens;
        _sweep = sweepTokens;
        delete _closes;
        for (uint256 i; i < closes.length; ++i) _closes.push(closes[i]);
    }

    /// @notice Makes `plan` revert (or not).
    function setRevert(bool shouldRevert) external {
        _revert = shouldRevert;
    }

    /// @inheritdoc IRebalanceStrategy
    function plan(AccountSnapshot calldata) external view returns (Plan memory p) {
        if (_revert) revert ScriptedStrategyFailed();
        p.targetHealthWad = _target;
        p.topUpTokens = _topUp;
        p.sweepTokens = _sweep;
        p.closes = _closes;
    }

    /// @inheritdoc IRebalanceStrategy
    function hitProbability(AccountSnapshot calldata) external pure returns (uint256) {
        return 0;
    }

    /// @inheritdoc IRebalanceStrategy
    function usesVolatility() external pure returns (bool) {
        return false;
    }

    /// @inheritdoc IRebalanceStrategy
    function name() external pure returns (string memory) {
        return "scripted";
    }
}
