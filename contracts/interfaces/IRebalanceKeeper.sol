// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

// solhint-disable-next-line max-line-length
import {AutomationCompatibleInterface} from "@chainlink/contracts/src/v0.8/automation/interfaces/AutomationCompatibleInterface.sol";

/// @title IRebalanceKeeper
/// @notice Keeper entry point in the Chainlink Automation shape, usable by any executor (Chainlink
///         Automation or a CRE forwarder, Gelato, or Ballast's own `hardhat keeper` service).
/// @dev `checkData` is `abi.encode(uint256 start, uint256 count)`: a page of the engine's active
///      accounts. `performData` is `abi.encode(address[] rebalance, address[] liquidate, address[]
///      capped)`. `performUpkeep` re-checks every account on-chain through the engine's own checks and
///      skips, never reverts on, accounts that no longer qualify; it forwards every reward the engine
///      paid (rebalance rewards, credited as vault margin, and liquidation rewards) to its caller. Executors may be restricted to an
///      allow-list (e.g. a Chainlink forwarder); by default anyone may perform.
interface IRebalanceKeeper is AutomationCompatibleInterface {
    /// @notice Why `performUpkeep` skipped an account.
    enum SkipReason {
        RebalanceFailed,
        LiquidationFailed
    }

    /// @notice Emitted when the executor allow-list was switched on or off.
    /// @param enabled Whether only allowed executors may perform.
    event ExecutorAllowListEnabled(bool enabled);
    /// @notice Emitted when an executor was allowed or removed.
    /// @param executor The executor (e.g. a Chainlink forwarder).
    /// @param allowed Whether it may perform.
    event ExecutorSet(address indexed executor, bool allowed);
    /// @notice Emitted when `performUpkeep` skipped an account that no longer qualified.
    /// @param account The account.
    /// @param reason Which action failed.
    /// @param errorSelector The first 4 bytes of the engine's revert data (its custom error).
    event AccountSkipped(address indexed account, SkipReason reason, bytes4 errorSelector);
    /// @notice Emitted for an account that needs deleverage the market's systemic cap blocks for now.
    /// @param account The account.
    event DeleverageDeferred(address indexed account);
    /// @notice Emitted at the end of every `performUpkeep`.
    /// @param executor The caller, who received the rewards.
    /// @param rebalanced Accounts rebalanced.
    /// @param liquidated Accounts liquidated.
    /// @param skipped Accounts skipped.
    /// @param rewardTokens Rewards forwarded to the executor (token units).
    event UpkeepPerformed(
        address indexed executor,
        uint256 rebalanced,
        uint256 liquidated,
        uint256 skipped,
        uint256 rewardTokens
    );

    /// @notice Thrown when the allow-list is on and the caller is not on it.
    /// @param caller The caller.
    error RebalanceKeeperUnauthorizedExecutor(address caller);
    /// @notice Thrown when a caller lacks the admin role.
    /// @param caller The caller.
    error RebalanceKeeperUnauthorized(address caller);
    /// @notice Thrown when an address argument is zero.
    error RebalanceKeeperZeroAddress();
    /// @notice Thrown when `count` in `checkData` is 0 or above `MAX_PAGE`.
    /// @param count The count given.
    error RebalanceKeeperInvalidPage(uint256 count);
    /// @notice Thrown when `performData` lists more than `MAX_BATCH` accounts.
    /// @param accounts The number listed.
    error RebalanceKeeperBatchTooLarge(uint256 accounts);

    /// @notice Scans a page of active accounts (view: simulate with `eth_call`). An account whose
    ///         `MarginEngine.keeperAction` reverts (e.g. its strategy returns malformed data) is left out.
    /// @param checkData `abi.encode(uint256 start, uint256 count)`.
    /// @return upkeepNeeded Whether any account can be rebalanced or liquidated now.
    /// @return performData `abi.encode(address[] rebalance, address[] liquidate, address[] capped)`.
    function checkUpkeep(
        bytes calldata checkData
    ) external view override returns (bool upkeepNeeded, bytes memory performData);

    /// @notice Rebalances and liquidates the accounts in `performData`, skipping those that no longer
    ///         qualify, emits `DeleverageDeferred` for the capped ones, and forwards the rewards to the
    ///         caller.
    /// @param performData As returned by `checkUpkeep`.
    function performUpkeep(bytes calldata performData) external override;

    /// @notice Allows or removes an executor. Admin only.
    /// @param executor The executor.
    /// @param allowed Whether it may perform while the allow-list is on.
    function setExecutor(address executor, bool allowed) external;

    /// @notice Switches the executor allow-list on or off. Admin only.
    /// @param enabled Whether only allowed executors may perform.
    function setAllowListEnabled(bool enabled) external;

    /// @notice Whether `executor` is allowed.
    function isExecutor(address executor) external view returns (bool);

    /// @notice Whether the allow-list is on.
    function allowListEnabled() external view returns (bool);

    /// @notice The margin engine.
    function engine() external view returns (address);
}
