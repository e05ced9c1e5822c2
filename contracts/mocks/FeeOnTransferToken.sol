// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title FeeOnTransferToken
/// @notice Test token that burns 1% of every transfer (mints and burns are exempt), so the recipient
///         receives less than the amount transferred. Used only to test that deposits refuse such tokens.
contract FeeOnTransferToken is ERC20 {
    /// @notice The fee, in basis points of the amount transferred.
    uint256 public constant FEE_BPS = 100;
    uint256 private constant BPS = 10_000;

    constructor() ERC20("Fee On Transfer Token", "FOT") {}

    /// @notice Mints `amount` to `to` (test token: unrestricted).
    /// @param to The recipient.
    /// @param amount The amount.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @dev Burns `FEE_BPS` of every transfer between two non-zero addresses.
    function _update(address from, address to, uint256 value) internal override {
        if (from == address(0) || to == address(0)) {
            super._update(from, to, value);
            return;
        }
        uint256 fee = (value * FEE_BPS) / BPS;
        super._update(from, address(0), fee);
        super._update(from, to, value - fee);
    }
}
