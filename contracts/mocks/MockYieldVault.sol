// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC4626} from "@openzeppelin/contracts/token/ERC20/extensions/ERC4626.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/// @title MockYieldVault
/// @notice Test-only ERC-4626 vault (OpenZeppelin `ERC4626`, no fees) over any asset, standing in for a
///         yield-bearing reserve vault. `accrue` adds underlying without minting shares, so every share
///         becomes worth more, as it would when a real vault earns yield. Not for production.
contract MockYieldVault is ERC4626 {
    using SafeERC20 for IERC20;

    /// @param asset_ The underlying asset (the settlement token in the tests, or another token to test
    ///        that the collateral vault refuses it).
    constructor(IERC20 asset_) ERC4626(asset_) ERC20("Mock Yield Vault", "myVLT") {}

    /// @notice Simulates yield: pulls `amount` of the asset from the caller into the vault without minting
    ///         shares. The caller must have approved this vault for `amount`.
    /// @param amount The yield (asset units).
    function accrue(uint256 amount) external {
        IERC20(asset()).safeTransferFrom(msg.sender, address(this), amount);
    }
}
