// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title MockLiquidityRequirement
/// @notice Test double for the single `IMarginEngine` function the liquidity pool reads,
///         `requiredLiquidity()`, with an open setter. Used only by the pool's unit tests, in place of
///         the engine, to drive the withdrawal limit; it is not part of the protocol.
contract MockLiquidityRequirement {
    uint256 private _requiredLiquidityTokens;

    /// @notice Sets the value `requiredLiquidity()` returns (test double: unrestricted).
    /// @param requiredLiquidityTokens The liquidity the pool must keep (token units).
    function setRequiredLiquidity(uint256 requiredLiquidityTokens) external {
        _requiredLiquidityTokens = requiredLiquidityTokens;
    }

    /// @notice Liquidity the pool must keep to back open interest (token units), as set.
    function requiredLiquidity() external view returns (uint256) {
        return _requiredLiquidityTokens;
    }
}
