// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC4626} from "@openzeppelin/contracts/interfaces/IERC4626.sol";

/// @title ILiquidityPool
/// @notice ERC-4626 vault of liquidity providers, counterparty of trader PnL. It receives trading fees
///         and liquidation penalties, pays trader profits, and keeps an insurance buffer that absorbs
///         bad debt before LPs do.
/// @dev `totalAssets() = cashAssets() - IMarginEngine.traderPnl()` (in token units), with
///      `cashAssets() = token.balanceOf(pool) - insuranceBalance()`: open trader PnL is marked at the
///      oracle prices, so the share price moves with it and not when it is settled. LP deposits and
///      withdrawals need an `Ok` price for every market with open interest. The inflation attack on the
///      first deposit is defeated by virtual shares (`_decimalsOffset`). LP withdrawals cannot take
///      assets below `IMarginEngine.requiredLiquidity()`, the liquidity open interest requires.
interface ILiquidityPool is IERC4626 {
    /// @notice Emitted once, when the engine was wired.
    /// @param engine The margin engine.
    event EngineSet(address indexed engine);
    /// @notice Emitted when the pool paid a trader's profit to the collateral vault.
    /// @param to The recipient (the collateral vault).
    /// @param amountTokens The amount (token units).
    event TraderPaid(address indexed to, uint256 amountTokens);
    /// @notice Emitted when the engine recorded tokens it had sent to the pool.
    /// @param liquidityTokens The part that accrues to LPs.
    /// @param insuranceTokens The part added to the insurance buffer.
    event IncomeRecorded(uint256 liquidityTokens, uint256 insuranceTokens);
    /// @notice Emitted when someone funded the insurance buffer directly.
    /// @param from The payer.
    /// @param amountTokens The amount (token units).
    event InsuranceFunded(address indexed from, uint256 amountTokens);
    /// @notice Emitted when bad debt was recorded.
    /// @param account The account whose loss exceeded its margin.
    /// @param amountTokens The uncollectable loss (token units).
    /// @param coveredByInsuranceTokens The part the insurance buffer absorbed (moved to LPs).
    /// @param borneByLiquidityTokens The part LPs bear.
    event BadDebtRecorded(
        address indexed account,
        uint256 amountTokens,
        uint256 coveredByInsuranceTokens,
        uint256 borneByLiquidityTokens
    );

    /// @notice Thrown when an address argument is zero.
    error LiquidityPoolZeroAddress();
    /// @notice Thrown when an amount is zero.
    error LiquidityPoolZeroAmount();
    /// @notice Thrown when a caller is not the engine (or, for `setEngine`, not the admin).
    /// @param caller The caller.
    error LiquidityPoolUnauthorized(address caller);
    /// @notice Thrown when the engine was already wired.
    error LiquidityPoolEngineAlreadySet();
    /// @notice Thrown when a payment exceeds the LP liquidity.
    /// @param requestedTokens The amount requested.
    /// @param availableTokens The LP assets available.
    error LiquidityPoolInsufficientLiquidity(uint256 requestedTokens, uint256 availableTokens);
    /// @notice Thrown when an insurance amount exceeds the tokens recorded with it.
    /// @param insuranceTokens The insurance part.
    /// @param totalTokens The total recorded.
    error LiquidityPoolInvalidIncome(uint256 insuranceTokens, uint256 totalTokens);
    /// @notice Thrown when LP deposits or redemptions are paused.
    error LiquidityPoolPaused();

    /// @notice Thrown by LP deposits, mints, withdrawals and redemptions while a market with open interest
    ///         has no `Ok` price (its PnL cannot be marked).
    error LiquidityPoolBadPrice();

    /// @notice Thrown by LP deposits and mints while shares exist and the marked assets are 0: open trader
    ///         profit is at least the pool's cash, so a deposit would only pay what the pool owes.
    error LiquidityPoolInsolvent();

    /// @notice Thrown at construction for a token with more than 18 decimals.
    /// @param decimals The token's decimals.
    error LiquidityPoolUnsupportedDecimals(uint8 decimals);
    /// @notice Thrown when a deposit delivered a different amount than was transferred.
    /// @param expectedTokens The amount transferred.
    /// @param receivedTokens The balance delta observed.
    error LiquidityPoolFeeOnTransfer(uint256 expectedTokens, uint256 receivedTokens);

    /// @notice Wires the engine, once. Admin only.
    /// @param engine The margin engine.
    function setEngine(address engine) external;

    /// @notice Pays `amountTokens` of trader profit from LP cash (`cashAssets()`, never the insurance
    ///         buffer) to `to`. Engine only; reverts `LiquidityPoolInsufficientLiquidity` above the cash.
    /// @param to The recipient (the collateral vault).
    /// @param amountTokens The amount (token units).
    function payTrader(address to, uint256 amountTokens) external;

    /// @notice Records `totalTokens` the engine has just sent to the pool, of which `insuranceTokens`
    ///         go to the insurance buffer and the rest to LPs. Engine only. Tokens sent for LPs alone
    ///         (trading fees, realised trader losses) need no record: they raise `totalAssets` on arrival.
    /// @param totalTokens The amount that arrived (token units).
    /// @param insuranceTokens The insurance part (≤ `totalTokens`).
    function recordIncome(uint256 totalTokens, uint256 insuranceTokens) external;

    /// @notice Records an uncollectable loss of `account`: the insurance buffer compensates LPs up to
    ///         its balance, LPs bear the rest. Engine only.
    /// @param account The account.
    /// @param amountTokens The bad debt (token units).
    /// @return coveredByInsuranceTokens The part the insurance absorbed.
    function recordBadDebt(address account, uint256 amountTokens) external returns (uint256 coveredByInsuranceTokens);

    /// @notice Adds tokens to the insurance buffer, paid by the caller.
    /// @param amountTokens The amount (token units).
    function fundInsurance(uint256 amountTokens) external;

    /// @notice The insurance buffer (token units).
    function insuranceBalance() external view returns (uint256);

    /// @notice Tokens the pool holds for LPs before open trader PnL is marked: its balance minus the
    ///         insurance buffer.
    function cashAssets() external view returns (uint256);

    /// @notice LP assets not needed to back open interest (token units): what LPs can withdraw.
    function freeLiquidity() external view returns (uint256);

    /// @notice The margin engine (zero until wired).
    function engine() external view returns (address);

    /// @notice The access-control list and pause switchboard.
    function guardian() external view returns (address);
}
