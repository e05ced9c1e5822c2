// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {ICollateralVault} from "../interfaces/ICollateralVault.sol";
import {IPauseGuardian} from "../interfaces/IPauseGuardian.sol";

/// @title CollateralVault
/// @notice Custodies the settlement token for traders: per-account margin and reserve (see
///         `ICollateralVault`).
/// @dev Nothing here reads the pause flags: deposits and reserve withdrawals reduce risk and are never
///      paused, and every engine-only function is gated by the engine's own pause checks.
///      Every function that moves tokens is `nonReentrant`. Outgoing transfers follow checks → effects →
///      event → transfer. Deposits pull the tokens first, because the amount credited is the measured
///      balance delta (the order OpenZeppelin's ERC-4626 `_deposit` uses: any reentrancy through a
///      token hook happens before anything is credited).
///      Tokens sent to the vault without a deposit are not credited to anyone, so the documented
///      invariant `balanceOf(vault) == totalMargin + totalReserve` holds as `>=` in that case.
contract CollateralVault is ReentrancyGuard, ICollateralVault {
    using SafeERC20 for IERC20;

    /// @dev OpenZeppelin AccessControl's `DEFAULT_ADMIN_ROLE`, held in the guardian.
    bytes32 private constant DEFAULT_ADMIN_ROLE = 0x00;

    IERC20 private immutable _token;
    IPauseGuardian private immutable _guardian;

    address private _engine;
    uint256 private _totalMargin;
    uint256 private _totalReserve;
    mapping(address account => uint256 amountTokens) private _margin;
    mapping(address account => uint256 amountTokens) private _reserve;

    /// @param token_ The settlement token (non-zero).
    /// @param guardian_ The `PauseGuardian` holding the roles (non-zero).
    constructor(address token_, address guardian_) {
        if (token_ == address(0) || guardian_ == address(0)) revert CollateralVaultZeroAddress();
        _token = IERC20(token_);
        _guardian = IPauseGuardian(guardian_);
    }

    /// @dev Reverts unless the caller is the wired engine (always reverts while it is unset).
    modifier onlyEngine() {
        if (msg.sender != _engine) revert CollateralVaultUnauthorized(msg.sender);
        _;
    }

    /// @dev Reverts when `amountTokens` is zero.
    modifier nonZero(uint256 amountTokens) {
        if (amountTokens == 0) revert CollateralVaultZeroAmount();
        _;
    }

    /// @inheritdoc ICollateralVault
    function setEngine(address engine_) external {
        if (!_guardian.hasRole(DEFAULT_ADMIN_ROLE, msg.sender)) revert CollateralVaultUnauthorized(msg.sender);
        if (engine_ == address(0)) revert CollateralVaultZeroAddress();
        if (_engine != address(0)) revert CollateralVaultEngineAlreadySet();
        _engine = engine_;
        emit EngineSet(engine_);
    }

    /// @inheritdoc ICollateralVault
    function depositMargin(address account, uint256 amountTokens) external nonReentrant nonZero(amountTokens) {
        if (account == address(0)) revert CollateralVaultZeroAddress();
        _pullExact(amountTokens);
        _margin[account] += amountTokens;
        _totalMargin += amountTokens;
        emit MarginDeposited(account, msg.sender, amountTokens);
    }

    /// @inheritdoc ICollateralVault
    function depositReserve(address account, uint256 amountTokens) external nonReentrant nonZero(amountTokens) {
        if (account == address(0)) revert CollateralVaultZeroAddress();
        _pullExact(amountTokens);
        _reserve[account] += amountTokens;
        _totalReserve += amountTokens;
        emit ReserveDeposited(account, msg.sender, amountTokens);
    }

    /// @inheritdoc ICollateralVault
    function withdrawReserve(uint256 amountTokens, address to) external nonReentrant nonZero(amountTokens) {
        if (to == address(0)) revert CollateralVaultZeroAddress();
        _debitReserve(msg.sender, amountTokens);
        emit ReserveWithdrawn(msg.sender, to, amountTokens);
        _token.safeTransfer(to, amountTokens);
    }

    /// @inheritdoc ICollateralVault
    function transferMargin(
        address account,
        address to,
        uint256 amountTokens
    ) external nonReentrant onlyEngine nonZero(amountTokens) {
        if (to == address(0)) revert CollateralVaultZeroAddress();
        _debitMargin(account, amountTokens);
        emit MarginTransferred(account, to, amountTokens);
        _token.safeTransfer(to, amountTokens);
    }

    /// @inheritdoc ICollateralVault
    /// @dev Trusts the engine that `amountTokens` have already arrived from the pool in the same
    ///      transaction; the vault does not re-measure them.
    function creditMargin(address account, uint256 amountTokens) external onlyEngine nonZero(amountTokens) {
        if (account == address(0)) revert CollateralVaultZeroAddress();
        _margin[account] += amountTokens;
        _totalMargin += amountTokens;
        emit MarginCredited(account, amountTokens);
    }

    /// @inheritdoc ICollateralVault
    function reserveToMargin(address account, uint256 amountTokens) external onlyEngine nonZero(amountTokens) {
        _debitReserve(account, amountTokens);
        _margin[account] += amountTokens;
        _totalMargin += amountTokens;
        emit ReserveMovedToMargin(account, amountTokens);
    }

    /// @inheritdoc ICollateralVault
    function marginToReserve(address account, uint256 amountTokens) external onlyEngine nonZero(amountTokens) {
        _debitMargin(account, amountTokens);
        _reserve[account] += amountTokens;
        _totalReserve += amountTokens;
        emit MarginMovedToReserve(account, amountTokens);
    }

    /// @inheritdoc ICollateralVault
    function marginOf(address account) external view returns (uint256) {
        return _margin[account];
    }

    /// @inheritdoc ICollateralVault
    function reserveOf(address account) external view returns (uint256) {
        return _reserve[account];
    }

    /// @inheritdoc ICollateralVault
    function totalMargin() external view returns (uint256) {
        return _totalMargin;
    }

    /// @inheritdoc ICollateralVault
    function totalReserve() external view returns (uint256) {
        return _totalReserve;
    }

    /// @inheritdoc ICollateralVault
    function token() external view returns (address) {
        return address(_token);
    }

    /// @inheritdoc ICollateralVault
    function engine() external view returns (address) {
        return _engine;
    }

    /// @inheritdoc ICollateralVault
    function guardian() external view returns (address) {
        return address(_guardian);
    }

    /// @dev Pulls `amountTokens` from the caller and reverts unless exactly that amount arrived.
    function _pullExact(uint256 amountTokens) private {
        uint256 balanceBefore = _token.balanceOf(address(this));
        _token.safeTransferFrom(msg.sender, address(this), amountTokens);
        uint256 receivedTokens = _token.balanceOf(address(this)) - balanceBefore;
        if (receivedTokens != amountTokens) revert CollateralVaultFeeOnTransfer(amountTokens, receivedTokens);
    }

    /// @dev Debits `account`'s margin and the total, reverting when the margin is insufficient.
    function _debitMargin(address account, uint256 amountTokens) private {
        uint256 available = _margin[account];
        if (amountTokens > available) revert CollateralVaultInsufficientMargin(account, amountTokens, available);
        unchecked {
            _margin[account] = available - amountTokens;
        }
        _totalMargin -= amountTokens;
    }

    /// @dev Debits `account`'s reserve and the total, reverting when the reserve is insufficient.
    function _debitReserve(address account, uint256 amountTokens) private {
        uint256 available = _reserve[account];
        if (amountTokens > available) revert CollateralVaultInsufficientReserve(account, amountTokens, available);
        unchecked {
            _reserve[account] = available - amountTokens;
        }
        _totalReserve -= amountTokens;
    }

    // Interim: implemented with the yield-bearing reserve.
    error CollateralVaultNotImplemented();

    function setReserveVaultApproval(address, bool) external pure {
        revert CollateralVaultNotImplemented();
    }

    function selectReserveVault(address) external pure {
        revert CollateralVaultNotImplemented();
    }

    function reserveVaultOf(address) external pure returns (address) {
        return address(0);
    }

    function reserveSharesOf(address) external pure returns (uint256) {
        return 0;
    }

    function isReserveVaultApproved(address) external pure returns (bool) {
        return false;
    }
}
