// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IERC4626} from "@openzeppelin/contracts/interfaces/IERC4626.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ICollateralVault} from "../interfaces/ICollateralVault.sol";
import {IPauseGuardian} from "../interfaces/IPauseGuardian.sol";
import {RoleCheck} from "../governance/RoleCheck.sol";

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
///      invariant `balanceOf(vault) == totalHeld` holds as `>=` in that case.
///      One total covers margin and plain reserve together, so moving tokens between the two (a top-up,
///      a sweep) or between accounts (a keeper reward) writes no total: only tokens entering or leaving
///      the vault, or a yield vault, change it.
///
///      Yield-bearing reserves: an account's reserve is either plain tokens (`_balances`, counted in
///      `totalHeld`) or shares of one governance-approved ERC-4626 vault (`_reserveShares`), never
///      both. Deposits into such a vault mint shares to this contract, credited to the account; the
///      account's reserve value is what those shares redeem for (`previewRedeem`, rounded down).
///      Withdrawals ask the vault for exact assets (`withdraw`) and debit the shares `previewWithdraw`
///      quotes (rounded up, against the account), before the call. Approved vaults are trusted to be
///      conforming ERC-4626 vaults whose `withdraw` burns exactly `previewWithdraw(assets)` shares and
///      whose `deposit` mints the shares it returns (as OpenZeppelin's `ERC4626`): governance checks
///      this before approving. Each deposit approves the vault for exactly the amount deposited
///      (`forceApprove`), so no allowance is left behind. The external vault calls of a deposit happen
///      before the account is credited, because the shares minted are known only afterwards; every
///      such function is `nonReentrant`.
contract CollateralVault is ReentrancyGuardTransient, ICollateralVault {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    /// @dev OpenZeppelin AccessControl's `DEFAULT_ADMIN_ROLE`, held in the guardian.
    bytes32 private constant DEFAULT_ADMIN_ROLE = 0x00;

    /// @dev See `_balances`.
    struct Balances {
        uint128 margin;
        uint120 reserve;
        bool inYieldVault;
    }

    IERC20 private immutable _token;
    IPauseGuardian private immutable _guardian;

    address private _engine;
    /// @dev Plain tokens held for accounts: every margin plus every reserve not in an ERC-4626 vault.
    uint256 private _totalHeld;
    /// @dev Margin, plain-token reserve and whether the reserve is held in an ERC-4626 vault (mirrors
    ///      `_reserveVault[account] != address(0)`), in one slot: reading both balances, or moving reserve
    ///      to margin, touches one slot. A margin fits 128 bits and a plain reserve 120 bits (larger credits
    ///      revert).
    mapping(address account => Balances) private _balances;
    mapping(address yieldVault => bool approved) private _reserveVaultApproved;
    mapping(address account => IERC4626 yieldVault) private _reserveVault;
    mapping(address account => uint256 shares) private _reserveShares;

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

    /// @dev Reverts unless the caller holds the admin role.
    function _onlyAdmin() private view {
        if (!RoleCheck.has(_guardian, DEFAULT_ADMIN_ROLE, msg.sender, false)) {
            revert CollateralVaultUnauthorized(msg.sender);
        }
    }

    /// @dev Reverts when `amountTokens` is zero.
    modifier nonZero(uint256 amountTokens) {
        if (amountTokens == 0) revert CollateralVaultZeroAmount();
        _;
    }

    /// @inheritdoc ICollateralVault
    function setEngine(address engine_) external {
        _onlyAdmin();
        if (engine_ == address(0)) revert CollateralVaultZeroAddress();
        if (_engine != address(0)) revert CollateralVaultEngineAlreadySet();
        _engine = engine_;
        emit EngineSet(engine_);
    }

    /// @inheritdoc ICollateralVault
    function depositMargin(address account, uint256 amountTokens) external nonReentrant nonZero(amountTokens) {
        if (account == address(0)) revert CollateralVaultZeroAddress();
        _pullExact(amountTokens);
        uint128 amount = amountTokens.toUint128();
        _balances[account].margin += amount;
        _totalHeld += amountTokens;
        emit MarginDeposited(account, msg.sender, amountTokens);
    }

    /// @inheritdoc ICollateralVault
    function depositReserve(address account, uint256 amountTokens) external nonReentrant nonZero(amountTokens) {
        if (account == address(0)) revert CollateralVaultZeroAddress();
        _pullExact(amountTokens);
        _creditReserve(account, amountTokens, false);
        emit ReserveDeposited(account, msg.sender, amountTokens);
    }

    /// @inheritdoc ICollateralVault
    /// @dev A reserve held in an ERC-4626 vault is paid straight from that vault to `to` (`withdraw`).
    function withdrawReserve(uint256 amountTokens, address to) external nonReentrant nonZero(amountTokens) {
        if (to == address(0)) revert CollateralVaultZeroAddress();
        Balances memory balances = _balances[msg.sender];
        IERC4626 yieldVault = _debitReserve(msg.sender, balances, amountTokens);
        if (address(yieldVault) == address(0)) {
            _balances[msg.sender] = balances;
            _totalHeld -= amountTokens;
        }
        emit ReserveWithdrawn(msg.sender, to, amountTokens);
        if (address(yieldVault) == address(0)) _token.safeTransfer(to, amountTokens);
        else yieldVault.withdraw(amountTokens, to, address(this));
    }

    /// @inheritdoc ICollateralVault
    /// @dev Approving checks that `yieldVault` answers `asset()` with the settlement token; revoking
    ///      checks nothing, so a broken vault can always be revoked. Reserves already inside a revoked
    ///      vault stay there, keep earning, and remain withdrawable and movable by their owners.
    function setReserveVaultApproval(address yieldVault, bool approved) external {
        _onlyAdmin();
        if (yieldVault == address(0)) revert CollateralVaultZeroAddress();
        if (approved && _assetOf(yieldVault) != address(_token)) {
            revert CollateralVaultUnapprovedReserveVault(yieldVault);
        }
        _reserveVaultApproved[yieldVault] = approved;
        emit ReserveVaultApproval(yieldVault, approved);
    }

    /// @inheritdoc ICollateralVault
    /// @dev Selecting the vault the reserve is already in reverts with
    ///      `CollateralVaultReserveVaultAlreadySelected` (a redeem-and-deposit round trip would only lose
    ///      rounding). That check comes first, so an owner in a revoked vault learns it is already there.
    ///      A reserve in the previous vault is redeemed in full (`redeem` of all its shares); the tokens
    ///      received are what moves, and what the event reports. Selecting with an empty reserve only
    ///      records the choice for later deposits. Like every deposit into a vault, it reverts with
    ///      `CollateralVaultZeroAmount` when a non-zero reserve would mint no shares.
    function selectReserveVault(address yieldVault) external nonReentrant {
        IERC4626 previous = _reserveVault[msg.sender];
        if (yieldVault == address(previous)) {
            revert CollateralVaultReserveVaultAlreadySelected(msg.sender, yieldVault);
        }
        if (yieldVault != address(0) && !_reserveVaultApproved[yieldVault]) {
            revert CollateralVaultUnapprovedReserveVault(yieldVault);
        }

        uint256 amountTokens;
        uint256 shares;
        Balances storage balances = _balances[msg.sender];
        if (address(previous) == address(0)) {
            amountTokens = balances.reserve;
            balances.reserve = 0;
        } else {
            shares = _reserveShares[msg.sender];
            _reserveShares[msg.sender] = 0;
        }
        _reserveVault[msg.sender] = IERC4626(yieldVault);
        balances.inYieldVault = yieldVault != address(0);
        if (shares != 0) amountTokens = previous.redeem(shares, address(this), address(this));
        // From a plain reserve the tokens are already counted in the total; redeemed ones are not.
        _creditReserve(msg.sender, amountTokens, address(previous) == address(0));
        emit ReserveVaultSelected(msg.sender, yieldVault, amountTokens);
    }

    /// @inheritdoc ICollateralVault
    function transferMargin(
        address account,
        address to,
        uint256 amountTokens
    ) external nonReentrant onlyEngine nonZero(amountTokens) {
        if (to == address(0)) revert CollateralVaultZeroAddress();
        _debitMargin(account, amountTokens);
        _totalHeld -= amountTokens;
        emit MarginTransferred(account, to, amountTokens);
        _token.safeTransfer(to, amountTokens);
    }

    /// @inheritdoc ICollateralVault
    function transferMarginAndPay(
        address account,
        address to,
        uint256 amountTokens,
        address payee,
        uint256 payTokens
    ) external nonReentrant onlyEngine nonZero(amountTokens) {
        if (to == address(0) || payee == address(0)) revert CollateralVaultZeroAddress();
        Balances storage balances = _balances[account];
        uint256 available = balances.margin;
        uint256 needed = amountTokens + payTokens;
        if (needed > available) revert CollateralVaultInsufficientMargin(account, needed, available);
        // Lossless: needed ≤ available < 2**128.
        unchecked {
            balances.margin = uint128(available - needed);
        }
        _totalHeld -= amountTokens;
        if (payTokens != 0) _balances[payee].margin += uint128(payTokens);
        emit MarginTransferred(account, to, amountTokens);
        if (payTokens != 0) emit MarginMoved(account, payee, payTokens);
        _token.safeTransfer(to, amountTokens);
    }

    /// @inheritdoc ICollateralVault
    function moveMargin(address from, address to, uint256 amountTokens) external onlyEngine nonZero(amountTokens) {
        if (to == address(0)) revert CollateralVaultZeroAddress();
        Balances storage balances = _balances[from];
        uint256 available = balances.margin;
        if (amountTokens > available) revert CollateralVaultInsufficientMargin(from, amountTokens, available);
        // Lossless: amountTokens ≤ available < 2**128 (the credit below is checked).
        unchecked {
            balances.margin = uint128(available - amountTokens);
        }
        _balances[to].margin += uint128(amountTokens);
        emit MarginMoved(from, to, amountTokens);
    }

    /// @inheritdoc ICollateralVault
    /// @dev Trusts the engine that `amountTokens` have already arrived from the pool in the same
    ///      transaction; the vault does not re-measure them.
    function creditMargin(address account, uint256 amountTokens) external onlyEngine nonZero(amountTokens) {
        if (account == address(0)) revert CollateralVaultZeroAddress();
        uint128 amount = amountTokens.toUint128();
        _balances[account].margin += amount;
        _totalHeld += amountTokens;
        emit MarginCredited(account, amountTokens);
    }

    /// @inheritdoc ICollateralVault
    function reserveToMargin(
        address account,
        uint256 amountTokens
    ) external nonReentrant onlyEngine nonZero(amountTokens) {
        Balances memory balances = _balances[account];
        IERC4626 yieldVault = _debitReserve(account, balances, amountTokens);
        uint128 amount = amountTokens.toUint128();
        balances.margin += amount;
        _balances[account] = balances;
        if (address(yieldVault) != address(0)) _totalHeld += amountTokens;
        emit ReserveMovedToMargin(account, amountTokens);
        if (address(yieldVault) != address(0)) yieldVault.withdraw(amountTokens, address(this), address(this));
    }

    /// @inheritdoc ICollateralVault
    function reserveToMarginAndPay(
        address account,
        uint256 amountTokens,
        address payee,
        uint256 payTokens
    ) external nonReentrant onlyEngine nonZero(amountTokens) {
        if (payee == address(0)) revert CollateralVaultZeroAddress();
        Balances memory balances = _balances[account];
        IERC4626 yieldVault = _debitReserve(account, balances, amountTokens);
        uint256 margin = uint256(balances.margin) + amountTokens;
        if (payTokens > margin) revert CollateralVaultInsufficientMargin(account, payTokens, margin);
        balances.margin = (margin - payTokens).toUint128();
        _balances[account] = balances;
        if (payTokens != 0) _balances[payee].margin += payTokens.toUint128();
        // A plain reserve is already counted in the total; tokens withdrawn from a yield vault are not.
        if (address(yieldVault) != address(0)) _totalHeld += amountTokens;
        emit ReserveMovedToMargin(account, amountTokens);
        if (payTokens != 0) emit MarginMoved(account, payee, payTokens);
        if (address(yieldVault) != address(0)) yieldVault.withdraw(amountTokens, address(this), address(this));
    }

    /// @inheritdoc ICollateralVault
    function marginToReserve(
        address account,
        uint256 amountTokens
    ) external nonReentrant onlyEngine nonZero(amountTokens) {
        _debitMargin(account, amountTokens);
        _creditReserve(account, amountTokens, true);
        emit MarginMovedToReserve(account, amountTokens);
    }

    /// @inheritdoc ICollateralVault
    function marginOf(address account) external view returns (uint256) {
        return _balances[account].margin;
    }

    /// @inheritdoc ICollateralVault
    function reserveOf(address account) external view returns (uint256) {
        return _reserveOf(account, _balances[account]);
    }

    /// @inheritdoc ICollateralVault
    function reserveVaultOf(address account) external view returns (address) {
        return address(_reserveVault[account]);
    }

    /// @inheritdoc ICollateralVault
    function reserveSharesOf(address account) external view returns (uint256) {
        return _reserveShares[account];
    }

    /// @inheritdoc ICollateralVault
    function isReserveVaultApproved(address yieldVault) external view returns (bool) {
        return _reserveVaultApproved[yieldVault];
    }

    /// @inheritdoc ICollateralVault
    function balancesOf(address account) external view returns (uint256 marginTokens, uint256 reserveTokens) {
        Balances memory balances = _balances[account];
        return (balances.margin, _reserveOf(account, balances));
    }

    /// @inheritdoc ICollateralVault
    function totalHeld() external view returns (uint256) {
        return _totalHeld;
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

    /// @dev `account`'s reserve value, given its balances.
    function _reserveOf(address account, Balances memory balances) private view returns (uint256) {
        if (!balances.inYieldVault) return balances.reserve;
        return _valueOf(_reserveVault[account], _reserveShares[account]);
    }

    /// @dev Pulls `amountTokens` from the caller and reverts unless exactly that amount arrived.
    function _pullExact(uint256 amountTokens) private {
        uint256 balanceBefore = _token.balanceOf(address(this));
        _token.safeTransferFrom(msg.sender, address(this), amountTokens);
        uint256 receivedTokens = _token.balanceOf(address(this)) - balanceBefore;
        if (receivedTokens != amountTokens) revert CollateralVaultFeeOnTransfer(amountTokens, receivedTokens);
    }

    /// @dev Debits `account`'s margin (not the total: the caller says where the tokens go), reverting when
    ///      the margin is insufficient.
    function _debitMargin(address account, uint256 amountTokens) private {
        Balances storage balances = _balances[account];
        uint256 available = balances.margin;
        if (amountTokens > available) revert CollateralVaultInsufficientMargin(account, amountTokens, available);
        // Lossless: amountTokens ≤ available < 2**128.
        unchecked {
            balances.margin = uint128(available - amountTokens);
        }
    }

    /// @dev Credits `amountTokens`, already held by this contract, to `account`'s reserve: as plain
    ///      tokens, or deposited into the account's ERC-4626 vault (exact approval; reverts with
    ///      `CollateralVaultZeroAmount` if a non-zero amount would mint no shares). Zero credits nothing.
    ///      `held`: the tokens are already counted in `_totalHeld` (they come from a margin or a plain
    ///      reserve); the total then changes only when they go into a yield vault.
    function _creditReserve(address account, uint256 amountTokens, bool held) private {
        Balances storage balances = _balances[account];
        if (!balances.inYieldVault) {
            balances.reserve = (balances.reserve + amountTokens).toUint120();
            if (!held) _totalHeld += amountTokens;
        } else if (amountTokens != 0) {
            if (held) _totalHeld -= amountTokens;
            IERC4626 yieldVault = _reserveVault[account];
            _token.forceApprove(address(yieldVault), amountTokens);
            uint256 shares = yieldVault.deposit(amountTokens, address(this));
            if (shares == 0) revert CollateralVaultZeroAmount();
            _reserveShares[account] += shares;
        }
    }

    /// @dev Debits `amountTokens` of `account`'s reserve and returns the vault the tokens must then be
    ///      withdrawn from (zero: plain tokens; the total is the caller's). For a vault, debits the
    ///      shares `previewWithdraw` quotes (rounded up); the caller then calls `withdraw`. Reverts with
    ///      `CollateralVaultInsufficientReserve` (available = `reserveOf`) when the reserve is short.
    ///      A plain reserve is debited in `balances` (memory), which the caller writes back.
    function _debitReserve(
        address account,
        Balances memory balances,
        uint256 amountTokens
    ) private returns (IERC4626 yieldVault) {
        if (!balances.inYieldVault) {
            uint256 available = balances.reserve;
            if (amountTokens > available) {
                revert CollateralVaultInsufficientReserve(account, amountTokens, available);
            }
            // Lossless: amountTokens ≤ available < 2**120.
            unchecked {
                balances.reserve = uint120(available - amountTokens);
            }
        } else {
            yieldVault = _reserveVault[account];
            uint256 shares = _reserveShares[account];
            uint256 sharesNeeded = yieldVault.previewWithdraw(amountTokens);
            if (sharesNeeded > shares) {
                revert CollateralVaultInsufficientReserve(account, amountTokens, _valueOf(yieldVault, shares));
            }
            unchecked {
                _reserveShares[account] = shares - sharesNeeded;
            }
        }
    }

    /// @dev What `shares` of `yieldVault` redeem for now (rounded down); skips the call for none.
    function _valueOf(IERC4626 yieldVault, uint256 shares) private view returns (uint256) {
        return shares == 0 ? 0 : yieldVault.previewRedeem(shares);
    }

    /// @dev `yieldVault.asset()`, or zero when the call fails or returns something other than an address
    ///      (an account without code, a contract that is not an ERC-4626 vault).
    function _assetOf(address yieldVault) private view returns (address) {
        (bool ok, bytes memory data) = yieldVault.staticcall(abi.encodeCall(IERC4626.asset, ()));
        if (!ok || data.length != 32) return address(0);
        uint256 word = abi.decode(data, (uint256));
        if (word > type(uint160).max) return address(0);
        return address(uint160(word));
    }
}
