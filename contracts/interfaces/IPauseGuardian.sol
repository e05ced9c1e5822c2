// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

/// @title IPauseGuardian
/// @notice Ballast's access-control list and emergency brake. Every other contract asks it who holds
///         which role and whether an action is paused.
/// @dev Roles: `DEFAULT_ADMIN_ROLE` (admin, ideally a timelock) grants roles, wires contracts and
///      unpauses; `GUARDIAN_ROLE` can only pause; `RISK_ADMIN_ROLE` moves risk parameters inside the
///      hard bounds each contract enforces. Pause flags are global, per market and per action; an
///      action in a market is paused when any of the three applies. Market id 0 means "no market"
///      (account-level actions such as margin withdrawals), for which only the global and action
///      flags count. Reserve withdrawals and margin deposits are never paused: they reduce risk.
interface IPauseGuardian is IAccessControl {
    /// @notice Actions that can be paused one by one.
    /// @dev `Deposit` covers LP deposits into the pool; `Withdraw` covers margin withdrawals and LP
    ///      redemptions.
    enum Action {
        Open,
        Close,
        Deposit,
        Withdraw,
        Rebalance,
        Liquidate
    }

    /// @notice Emitted when everything was paused.
    /// @param by The account that paused.
    event GlobalPaused(address indexed by);
    /// @notice Emitted when the global pause was lifted.
    /// @param by The admin that unpaused.
    event GlobalUnpaused(address indexed by);
    /// @notice Emitted when every action in one market was paused.
    /// @param marketId The market.
    /// @param by The account that paused.
    event MarketPaused(uint256 indexed marketId, address indexed by);
    /// @notice Emitted when a market's pause was lifted.
    /// @param marketId The market.
    /// @param by The admin that unpaused.
    event MarketUnpaused(uint256 indexed marketId, address indexed by);
    /// @notice Emitted when one action was paused in every market.
    /// @param action The action.
    /// @param by The account that paused.
    event ActionPaused(Action indexed action, address indexed by);
    /// @notice Emitted when an action's pause was lifted.
    /// @param action The action.
    /// @param by The admin that unpaused.
    event ActionUnpaused(Action indexed action, address indexed by);

    /// @notice Thrown when a constructor address argument is zero.
    error PauseGuardianZeroAddress();
    /// @notice Thrown when a pause or unpause call would not change the flag.
    error PauseGuardianNoChange();
    /// @notice Thrown when a caller holds neither the guardian nor the admin role.
    /// @param caller The caller.
    error PauseGuardianNotGuardian(address caller);
    /// @notice Thrown when market id 0 (reserved for account-level actions) is paused.
    error PauseGuardianInvalidMarket(uint256 marketId);

    /// @notice Role that may pause (and only pause).
    function GUARDIAN_ROLE() external view returns (bytes32);

    /// @notice Role that may move risk parameters inside hard bounds.
    function RISK_ADMIN_ROLE() external view returns (bytes32);

    /// @notice Pauses every pausable action in every market. Guardian or admin.
    function pauseAll() external;

    /// @notice Lifts the global pause. Admin only.
    function unpauseAll() external;

    /// @notice Pauses every pausable action in `marketId`. Guardian or admin.
    /// @param marketId A market id (not 0).
    function pauseMarket(uint256 marketId) external;

    /// @notice Lifts the pause of `marketId`. Admin only.
    /// @param marketId A market id.
    function unpauseMarket(uint256 marketId) external;

    /// @notice Pauses `action` in every market. Guardian or admin.
    /// @param action The action.
    function pauseAction(Action action) external;

    /// @notice Lifts the pause of `action`. Admin only.
    /// @param action The action.
    function unpauseAction(Action action) external;

    /// @notice Whether `action` in `marketId` is paused (global, market or action flag).
    /// @param marketId A market id, or 0 for account-level actions.
    /// @param action The action.
    function isPaused(uint256 marketId, Action action) external view returns (bool);

    /// @notice Whether `action` is paused for an account holding the markets in `marketBitmap` (bit `i`
    ///         set for market `i`): globally, for the action, or in any of those markets.
    /// @param marketBitmap The markets.
    /// @param action The action.
    /// @return paused Whether it is paused.
    /// @return marketId The first paused market of the bitmap, or 0 when a global or action flag applies.
    function isPausedAny(uint256 marketBitmap, Action action) external view returns (bool paused, uint256 marketId);

    /// @notice Whether the global pause is on.
    function globalPaused() external view returns (bool);

    /// @notice Whether `marketId` is paused on its own.
    function marketPaused(uint256 marketId) external view returns (bool);

    /// @notice Whether `action` is paused on its own.
    function actionPaused(Action action) external view returns (bool);
}
