// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title ConstantsLib
/// @notice Protocol-wide units and hard limits. Every USD value and ratio inside Ballast is WAD.
library ConstantsLib {
    /// @notice 1.0 in WAD fixed point (18 decimals).
    uint256 internal constant WAD = 1e18;
    /// @notice Decimals of every WAD value.
    uint8 internal constant WAD_DECIMALS = 18;
    /// @notice Health of an account without positions.
    uint256 internal constant INFINITE_HEALTH = type(uint256).max;
    /// @notice Market id used for account-level actions that touch no single market.
    uint256 internal constant NO_MARKET = 0;
    /// @notice Most markets one account may hold positions in at once (bounds every account loop).
    uint256 internal constant MAX_MARKETS_PER_ACCOUNT = 8;
    /// @notice Most markets the engine can list (market ids are bits of 128-bit bitmaps, id 0 unused).
    uint256 internal constant MAX_MARKETS = 127;
    /// @notice An account whose equity is at most this many keeper rewards is too small to rebalance
    ///         economically: a rebalance may close it out entirely instead (see `RebalanceLogic`).
    uint256 internal constant CLOSE_OUT_MAX_REWARDS = 10;
    /// @notice Health up to which a market's deleverage cap never refuses a rebalance's deleverage: below
    ///         it, deleverage stands between an account and liquidation; the cap binds only what lifts an
    ///         account above it (see `DeleverageCapLogic.protectiveNotional`).
    uint256 internal constant CAP_PROTECTED_HEALTH = 2e18;
    /// @notice OpenZeppelin AccessControl's admin role.
    bytes32 internal constant ADMIN_ROLE = 0x00;
    /// @notice Role that may only pause.
    bytes32 internal constant GUARDIAN_ROLE = keccak256("GUARDIAN_ROLE");
    /// @notice Role that may move risk parameters inside hard bounds.
    bytes32 internal constant RISK_ADMIN_ROLE = keccak256("RISK_ADMIN_ROLE");
}
