// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IPauseGuardian} from "../interfaces/IPauseGuardian.sol";
import {ConstantsLib} from "../libraries/ConstantsLib.sol";

/// @title PauseGuardian
/// @notice Ballast's roles and pause flags (see `IPauseGuardian`).
contract PauseGuardian is AccessControl, IPauseGuardian {
    /// @inheritdoc IPauseGuardian
    bytes32 public constant GUARDIAN_ROLE = ConstantsLib.GUARDIAN_ROLE;
    /// @inheritdoc IPauseGuardian
    bytes32 public constant RISK_ADMIN_ROLE = ConstantsLib.RISK_ADMIN_ROLE;

    /// @dev Every pause flag in one slot, so that a pause check costs one storage read. Low 128 bits: bit
    ///      `i` set when market `i` is paused (bit 0 is never set; market ids are at most `MAX_MARKETS`,
    ///      127). High 128 bits: bit `128` global pause, bit `129 + action` that action paused.
    uint256 private _flags;

    uint256 private constant GLOBAL_BIT = 1 << 128;
    uint256 private constant MARKETS_MASK = type(uint128).max;

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
        _setFlag(GLOBAL_BIT, true);
        emit GlobalPaused(msg.sender);
    }

    /// @inheritdoc IPauseGuardian
    function unpauseAll() external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setFlag(GLOBAL_BIT, false);
        emit GlobalUnpaused(msg.sender);
    }

    /// @inheritdoc IPauseGuardian
    function pauseMarket(uint256 marketId) external onlyGuardianOrAdmin {
        if (marketId == 0 || marketId > ConstantsLib.MAX_MARKETS) revert PauseGuardianInvalidMarket(marketId);
        uint256 bit = 1 << marketId;
        if (_flags & bit != 0) revert PauseGuardianNoChange();
        _flags |= bit;
        emit MarketPaused(marketId, msg.sender);
    }

    /// @inheritdoc IPauseGuardian
    function unpauseMarket(uint256 marketId) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (!marketPaused(marketId)) revert PauseGuardianNoChange();
        _flags &= ~(1 << marketId);
        emit MarketUnpaused(marketId, msg.sender);
    }

    /// @inheritdoc IPauseGuardian
    function pauseAction(Action action) external onlyGuardianOrAdmin {
        _setFlag(_actionBit(action), true);
        emit ActionPaused(action, msg.sender);
    }

    /// @inheritdoc IPauseGuardian
    function unpauseAction(Action action) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setFlag(_actionBit(action), false);
        emit ActionUnpaused(action, msg.sender);
    }

    /// @inheritdoc IPauseGuardian
    function isPaused(uint256 marketId, Action action) external view returns (bool) {
        uint256 flags = _flags;
        if (flags & (GLOBAL_BIT | _actionBit(action)) != 0) return true;
        return marketId != 0 && marketId <= ConstantsLib.MAX_MARKETS && flags & (1 << marketId) != 0;
    }

    /// @inheritdoc IPauseGuardian
    function isPausedAny(uint256 marketBitmap, Action action) external view returns (bool, uint256) {
        uint256 flags = _flags;
        if (flags & (GLOBAL_BIT | _actionBit(action)) != 0) return (true, 0);
        uint256 paused = flags & MARKETS_MASK & marketBitmap;
        if (paused == 0) return (false, 0);
        return (true, _lowestBit(paused));
    }

    /// @inheritdoc IPauseGuardian
    function globalPaused() external view returns (bool) {
        return _flags & GLOBAL_BIT != 0;
    }

    /// @inheritdoc IPauseGuardian
    function marketPaused(uint256 marketId) public view returns (bool) {
        return marketId <= ConstantsLib.MAX_MARKETS && _flags & (1 << marketId) != 0;
    }

    /// @inheritdoc IPauseGuardian
    function actionPaused(Action action) external view returns (bool) {
        return _flags & _actionBit(action) != 0;
    }

    /// @dev Sets or clears `bit` of the flags, reverting when nothing changes.
    function _setFlag(uint256 bit, bool on) private {
        uint256 flags = _flags;
        if ((flags & bit != 0) == on) revert PauseGuardianNoChange();
        _flags = on ? flags | bit : flags & ~bit;
    }

    function _actionBit(Action action) private pure returns (uint256) {
        return 1 << (129 + uint256(action));
    }

    /// @dev Index of the lowest set bit of a non-zero `x`.
    function _lowestBit(uint256 x) private pure returns (uint256) {
        unchecked {
            return Math.log2(x & (~x + 1));
        }
    }
}
