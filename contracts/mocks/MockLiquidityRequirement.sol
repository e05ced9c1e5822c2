// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title MockLiquidityRequirement
/// @notice Test double for the two `IMarginEngine` functions the liquidity pool reads,
///         `requiredLiquidity()` and `traderPnl()`, with open setters. Used only by the pool's unit tests,
///         in place of the engine, to drive the withdrawal limit and the marking of open trader PnL; it is
///         not part of the protocol.
contract MockLiquidityRequirement {
    uint256 private _requiredLiquidityTokens;
    int256 private _traderPnlWad;
    bool private _pricesBad;

    /// @notice Sets the value `requiredLiquidity()` returns (test double: unrestricted).
    /// @param requiredLiquidityTokens The liquidity the pool must keep (token units).
    function setRequiredLiquidity(uint256 requiredLiquidityTokens) external {
        _requiredLiquidityTokens = requiredLiquidityTokens;
    }

    /// @notice Sets what `traderPnl()` returns (test double: unrestricted).
    /// @param pnlWad Traders' unrealised PnL (WAD, signed).
    /// @param pricesOk Whether every price is `Ok`.
    function setTraderPnl(int256 pnlWad, bool pricesOk) external {
        _traderPnlWad = pnlWad;
        _pricesBad = !pricesOk;
    }

    /// @notice Liquidity the pool must keep to back open interest (token units), as set.
    function requiredLiquidity() external view returns (uint256) {
        return _requiredLiquidityTokens;
    }

    /// @notice Traders' unrealised PnL and whether prices are `Ok`, as set (0 and true by default).
    function traderPnl() external view returns (int256 pnlWad, bool pricesOk) {
        return (_traderPnlWad, !_pricesBad);
    }
}
