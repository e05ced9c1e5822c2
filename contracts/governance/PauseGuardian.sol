// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IPauseGuardian} from "../interfaces/IPauseGuardian.sol";
import {ConstantsLib} from "../libraries/ConstantsLib.sol";

/// @title PauseGuardian
/// @notice Ballast's roles and pause flags (see `IPauseGuardian`).
contract PauseGuardian is AccessControl, IPauseGuardian {
    /// @inheritdoc IPauseGuardian
    bytes32 public constant GUARDIAN_ROLE = ConstantsLib.GUARDIAN_ROLE;
    /// @inheritdoc IPauseGuardian
    bytes32 public constant RISK_ADMIN_ROLE = ConstantsLib.RISK_ADMIN_ROLE;

    bool private _globalPaused;
    mapping(uint256 marketId => bool) private _marketPaused;
    mapping(Action action => bool) private _actionPaused;

    /// @param admin Holder of `DEFAULT_ADMIN_ROLE` (ideally a timelock).
    /// @param guardian Holder of `GUARDIAN_ROLE`.
    /// @param riskAdmin Holder of `RISK_ADMIN_ROLE`.
    constructor(address admin, address guardian, address riskAdmin) {
        if (admin == address(0) || guardian == address(0) || riskAdmin == address(0)) {
            revert PauseGuardianZeroAddress();
        }
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(GUARDIAN_ROLE, guardian);
        _grantRole(RISK_ADMIN_ROLE, riskAdmin);
    }

    modifier onlyGuardianOrAdmin() {
        if (!hasRole(GUARDIAN_ROLE, msg.sender) && !hasRole(DEFAULT_ADMIN_ROLE, msg.sender)) {
            revert PauseGuardianNotGuardian(msg.sender);
        }
        _;
    }

    /// @inheritdoc IPauseGuardian
    function pauseAll() external onlyGuardianOrAdmin {
        if (_globalPaused) revert PauseGuardianNoChange();
        _globalPaused = true;
        emit GlobalPaused(msg.sender);
    }

    /// @inheritdoc IPauseGuardian
    function unpauseAll() external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (!_globalPaused) revert PauseGuardianNoChange();
        _globalPaused = false;
        emit GlobalUnpaused(msg.sender);
    }

    /// @inheritdoc IPauseGuardian
    function pauseMarket(uint256 marketId) external onlyGuardianOrAdmin {
        if (marketId == 0) revert PauseGuardianInvalidMarket(marketId);
        if (_marketPaused[marketId]) revert PauseGuardianNoChange();
        _marketPaused[marketId] = true;
        emit MarketPaused(marketId, msg.sender);
    }

    /// @inheritdoc IPauseGuardian
    function unpauseMarket(uint256 marketId) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (!_marketPaused[marketId]) revert PauseGuardianNoChange();
        _marketPaused[marketId] = false;
        emit MarketUnpaused(marketId, msg.sender);
    }

    /// @inheritdoc IPauseGuardian
    function pauseAction(Action action) external onlyGuardianOrAdmin {
        if (_actionPaused[action]) revert PauseGuardianNoChange();
        _actionPaused[action] = true;
        emit ActionPaused(action, msg.sender);
    }

    /// @inheritdoc IPauseGuardian
    function unpauseAction(Action action) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (!_actionPaused[action]) revert PauseGuardianNoChange();
        _actionPaused[action] = false;
        emit ActionUnpaused(action, msg.sender);
    }

    /// @inheritdoc IPauseGuardian
    function isPaused(uint256 marketId, Action action) external view returns (bool) {
        return _globalPaused || _actionPaused[action] || (marketId != 0 && _marketPaused[marketId]);
    }

    /// @inheritdoc IPauseGuardian
    function globalPaused() external view returns (bool) {
        return _globalPaused;
    }

    /// @inheritdoc IPauseGuardian
    function marketPaused(uint256 marketId) external view returns (bool) {
        return _marketPaused[marketId];
    }

    /// @inheritdoc IPauseGuardian
    function actionPaused(Action action) external view returns (bool) {
        return _actionPaused[action];
    }
}
