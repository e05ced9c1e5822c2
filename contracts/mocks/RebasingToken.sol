// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title RebasingToken
/// @notice Test token (6 decimals) that keeps balances as shares of a rebasing supply, as stETH does:
///         `balanceOf = shares · index / 1e18` (rounded down) and a transfer of `amount` moves
///         `amount · 1e18 / index` shares (rounded down), so the recipient may receive a unit less than
///         the amount sent. `setIndex` rebases every balance at once. Never deploy outside tests.
contract RebasingToken is IERC20 {
    /// @notice Thrown when a balance or allowance is too small.
    error RebasingTokenInsufficient();

    uint256 private constant ONE = 1e18;

    /// @notice Token units per share, WAD.
    uint256 public index = ONE;
    mapping(address account => uint256) private _shares;
    mapping(address owner => mapping(address spender => uint256)) private _allowances;
    uint256 private _totalShares;

    /// @notice Six decimals, like USDC.
    function decimals() external pure returns (uint8) {
        return 6;
    }

    /// @notice Rebases every balance: a unit of shares is now worth `newIndex / 1e18` tokens.
    /// @param newIndex Token units per share, WAD.
    function setIndex(uint256 newIndex) external {
        index = newIndex;
    }

    /// @notice Mints shares worth `amount` to `to` (test token: unrestricted).
    /// @param to The recipient.
    /// @param amount The amount (token units).
    function mint(address to, uint256 amount) external {
        uint256 shares = (amount * ONE) / index;
        _shares[to] += shares;
        _totalShares += shares;
        emit Transfer(address(0), to, amount);
    }

    /// @inheritdoc IERC20
    function totalSupply() external view returns (uint256) {
        return (_totalShares * index) / ONE;
    }

    /// @inheritdoc IERC20
    function balanceOf(address account) public view returns (uint256) {
        return (_shares[account] * index) / ONE;
    }

    /// @notice Shares held by `account`.
    /// @param account The holder.
    /// @return The shares.
    function sharesOf(address account) external view returns (uint256) {
        return _shares[account];
    }

    /// @inheritdoc IERC20
    function allowance(address owner, address spender) external view returns (uint256) {
        return _allowances[owner][spender];
    }

    /// @inheritdoc IERC20
    function approve(address spender, uint256 amount) external returns (bool) {
        _allowances[msg.sender][spender] = amount;
        emit Approval(msg.sender, spender, amount);
        return true;
    }

    /// @inheritdoc IERC20
    function transfer(address to, uint256 amount) external returns (bool) {
        _move(msg.sender, to, amount);
        return true;
    }

    /// @inheritdoc IERC20
    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        uint256 allowed = _allowances[from][msg.sender];
        if (allowed != type(uint256).max) {
            if (allowed < amount) revert RebasingTokenInsufficient();
            _allowances[from][msg.sender] = allowed - amount;
        }
        _move(from, to, amount);
        return true;
    }

    function _move(address from, address to, uint256 amount) private {
        if (balanceOf(from) < amount) revert RebasingTokenInsufficient();
        uint256 shares = (amount * ONE) / index;
        if (shares > _shares[from]) shares = _shares[from];
        _shares[from] -= shares;
        _shares[to] += shares;
        emit Transfer(from, to, amount);
    }
}
