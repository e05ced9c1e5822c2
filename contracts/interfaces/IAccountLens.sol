// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IMarginEngine} from "./IMarginEngine.sol";
import {Plan, Policy} from "./RebalanceTypes.sol";

/// @title IAccountLens
/// @notice Read-only views of an account for people and bots: health, distance to liquidation,
///         liquidation prices, hit probability, dollar delta per market and net, and what the account's
///         strategy would do now. Every value is computed at the adapter's current prices, whatever their
///         status (`pricesOk` tells whether anything could act on them).
interface IAccountLens {
    /// @notice One position, valued.
    /// @param marketId The market.
    /// @param asset The oracle asset key.
    /// @param sizeWad Signed size (WAD base units).
    /// @param entryPriceWad Average entry price (WAD).
    /// @param priceWad Oracle price (WAD).
    /// @param dollarDeltaWad `size · price`: USD exposure to the asset (WAD, signed).
    /// @param unrealizedPnlWad PnL at the oracle price (WAD, signed).
    /// @param liquidationPriceWad Price of this asset at which the account reaches health 1, other prices
    ///        fixed (WAD; 0 when no positive price does).
    /// @param volatilityWad Annualised volatility from the adapter (WAD).
    struct MarketView {
        uint256 marketId;
        bytes32 asset;
        int256 sizeWad;
        uint256 entryPriceWad;
        uint256 priceWad;
        int256 dollarDeltaWad;
        int256 unrealizedPnlWad;
        uint256 liquidationPriceWad;
        uint256 volatilityWad;
    }

    /// @notice An account at a glance.
    /// @param account The account.
    /// @param marginTokens Margin (token units).
    /// @param reserveTokens Reserve value (token units).
    /// @param equityWad Equity (WAD, signed).
    /// @param maintenanceWad Maintenance requirement (WAD).
    /// @param initialWad Initial requirement (WAD).
    /// @param healthWad Health (WAD).
    /// @param distanceToLiquidationWad `equity − maintenance` (WAD, signed): the loss that liquidates.
    /// @param hitProbabilityWad Probability of touching liquidation within `horizonSeconds()` (WAD).
    /// @param netDollarDeltaWad Sum of the markets' dollar deltas (WAD, signed).
    /// @param pricesOk Whether every price is `Ok`.
    /// @param policy The rebalancing policy (zero strategy: none).
    /// @param action What a keeper should do now.
    /// @param plan The plan a rebalance would execute now (empty unless `action` is `Rebalance`).
    /// @param deleverageCapped Whether needed deleverage is blocked by a systemic cap.
    /// @param markets Every position.
    struct AccountView {
        address account;
        uint256 marginTokens;
        uint256 reserveTokens;
        int256 equityWad;
        uint256 maintenanceWad;
        uint256 initialWad;
        uint256 healthWad;
        int256 distanceToLiquidationWad;
        uint256 hitProbabilityWad;
        int256 netDollarDeltaWad;
        bool pricesOk;
        Policy policy;
        IMarginEngine.KeeperAction action;
        Plan plan;
        bool deleverageCapped;
        MarketView[] markets;
    }

    /// @notice Everything about `account`.
    function accountView(address account) external view returns (AccountView memory);

    /// @notice Probability (WAD) that `account` touches liquidation within `horizonSeconds()`, from the
    ///         adapter's volatilities (correlation 1): `2·Φ(−D / (σ_p·√(τ/year)))`.
    function hitProbability(address account) external view returns (uint256);

    /// @notice Health and position size in `marketId` of many accounts in one call (for monitoring and
    ///         backtests).
    /// @param accounts The accounts.
    /// @param marketId The market whose sizes to return.
    /// @return healthWad Health of each account (WAD; `type(uint256).max` without positions).
    /// @return sizeWad Size of each account's position in `marketId` (WAD, signed).
    function healthAndSizes(
        address[] calldata accounts,
        uint256 marketId
    ) external view returns (uint256[] memory healthWad, int256[] memory sizeWad);

    /// @notice Horizon of `hitProbability` (seconds).
    function horizonSeconds() external view returns (uint256);

    /// @notice The margin engine.
    function engine() external view returns (address);
}
