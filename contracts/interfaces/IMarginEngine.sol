// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IChainlinkOracleAdapter} from "./IChainlinkOracleAdapter.sol";
import {IPauseGuardian} from "./IPauseGuardian.sol";
import {IOracleRiskConsumer} from "./IOracleRiskConsumer.sol";
import {IMarginEngineOrders} from "./IMarginEngineOrders.sol";
import {AccountSnapshot, Plan, Policy} from "./RebalanceTypes.sol";

/// @title IMarginEngine
/// @notice Markets, cross-margined positions, account health and liquidation.
/// @dev Units: USD values and ratios are WAD; prices are WAD USD per 1e18 base units; sizes are signed
///      WAD base units (+ long, − short); margin is held in token units by the collateral vault.
///      equity `E = margin + Σ size·(P − entry)`, maintenance `MM = Σ |size|·P·mmr`, initial
///      `IM = Σ |size|·P·imr`, health `h = E / MM` (no positions: `type(uint256).max`; `E ≤ 0`: 0).
///      Every action that trusts a price requires `Status.Ok` for each market it reads.
///      Trading goes through two-step orders (`IMarginEngineOrders`).
///      Rebalancing: an owner opts in with a `Policy`; anyone (a keeper) may then call `rebalance`, which
///      asks the policy's approved strategy for a `Plan`, validates it and executes it: reserve → margin
///      first, then partial closes at the oracle price, then the keeper's reward out of margin.
interface IMarginEngine is IOracleRiskConsumer, IMarginEngineOrders {
    /// @notice Why the engine refused a strategy's plan.
    enum PlanError {
        TargetBelowPolicy,
        TargetTooHigh,
        TopUpNotAllowed,
        TopUpExceedsReserve,
        DeleverageNotAllowed,
        InvalidClose,
        DeleverageCapExceeded,
        StepLowersHealth,
        Overshoot,
        Undershoot,
        NoImprovement,
        SweepNotAllowed,
        SweepTooLarge,
        LossExceedsMargin
    }

    /// @notice What a keeper should do with an account now.
    enum KeeperAction {
        None,
        Rebalance,
        Liquidate
    }

    /// @notice Systemic deleverage cap of a market: rebalances may close at most `maxNotionalWad` of
    ///         notional in each window of `windowSeconds` (0: uncapped).
    struct DeleverageCap {
        uint128 maxNotionalWad;
        uint32 windowSeconds;
        uint64 windowStart;
        uint128 usedNotionalWad;
    }

    /// @notice Risk configuration of a market.
    /// @param asset The oracle asset key.
    /// @param imrWad Initial margin ratio (WAD).
    /// @param mmrWad Maintenance margin ratio (WAD), below `imrWad`.
    /// @param feeWad Trading fee on notional (WAD), paid on every open, increase, reduce and close.
    /// @param liquidationPenaltyWad Penalty on liquidated notional (WAD), split between the liquidator
    ///        and the insurance buffer.
    /// @param maxOpenInterestWad Cap on each side's open interest (base units, WAD).
    struct MarketConfig {
        bytes32 asset;
        uint64 imrWad;
        uint64 mmrWad;
        uint64 feeWad;
        uint64 liquidationPenaltyWad;
        uint128 maxOpenInterestWad;
    }

    /// @notice Open interest of a market (base units, WAD) and the entry notional of each side
    ///         (Σ |size| · entry price, rounded up per position; USD, WAD), from which the pool marks
    ///         traders' unrealised PnL.
    struct MarketState {
        uint128 longOpenInterestWad;
        uint128 shortOpenInterestWad;
        uint128 longEntryNotionalWad;
        uint128 shortEntryNotionalWad;
    }

    /// @notice A position: signed size and average entry price.
    struct Position {
        int128 sizeWad;
        uint128 entryPriceWad;
    }

    /// @notice Liquidation parameters.
    /// @param targetHealthWad Health a partial liquidation restores (WAD, > 1).
    /// @param liquidatorShareWad Share of the penalty paid to the liquidator (WAD); the rest goes to
    ///        the insurance buffer.
    /// @param maxLiquidatorRewardTokens Cap on one liquidation's reward (token units).
    struct LiquidationParams {
        uint64 targetHealthWad;
        uint64 liquidatorShareWad;
        uint128 maxLiquidatorRewardTokens;
    }

    /// @notice Emitted when a market was listed.
    /// @param marketId The new market's id.
    /// @param asset The oracle asset key.
    /// @param config The configuration.
    event MarketListed(uint256 indexed marketId, bytes32 indexed asset, MarketConfig config);
    /// @notice Emitted when a market's risk configuration changed.
    /// @param marketId The market.
    /// @param config The new configuration.
    event MarketConfigUpdated(uint256 indexed marketId, MarketConfig config);
    /// @notice Emitted when liquidation parameters changed.
    /// @param params The new parameters.
    event LiquidationParamsUpdated(LiquidationParams params);
    /// @notice Emitted when the share of open notional the pool must keep changed.
    /// @param reserveFactorWad The new factor (WAD).
    event LiquidityReserveFactorUpdated(uint256 reserveFactorWad);
    /// @notice Emitted when a position was opened, changed or closed.
    /// @param account The account.
    /// @param marketId The market.
    /// @param sizeDeltaWad The size change (WAD, signed).
    /// @param newSizeWad The size afterwards (WAD, signed).
    /// @param priceWad The oracle price used (WAD).
    /// @param entryPriceWad The entry price afterwards (WAD; 0 when closed).
    /// @param realizedPnlWad PnL realised on the reduced part (WAD, signed).
    /// @param feeTokens Trading fee paid (token units).
    event PositionModified(
        address indexed account,
        uint256 indexed marketId,
        int256 sizeDeltaWad,
        int256 newSizeWad,
        uint256 priceWad,
        uint256 entryPriceWad,
        int256 realizedPnlWad,
        uint256 feeTokens
    );
    /// @notice Emitted when an owner withdrew margin.
    /// @param account The account.
    /// @param to The recipient.
    /// @param amountTokens The amount (token units).
    event MarginWithdrawn(address indexed account, address indexed to, uint256 amountTokens);
    /// @notice Emitted when an account was liquidated.
    /// @param account The account.
    /// @param liquidator The caller, who received the reward.
    /// @param healthBeforeWad Health before (WAD).
    /// @param healthAfterWad Health after (WAD).
    /// @param closedNotionalWad Notional closed (WAD).
    /// @param penaltyTokens Penalty charged, reward included (token units).
    /// @param liquidatorRewardTokens Reward paid to the liquidator (token units).
    /// @param badDebtTokens Loss the account could not pay (token units).
    event Liquidated(
        address indexed account,
        address indexed liquidator,
        uint256 healthBeforeWad,
        uint256 healthAfterWad,
        uint256 closedNotionalWad,
        uint256 penaltyTokens,
        uint256 liquidatorRewardTokens,
        uint256 badDebtTokens
    );

    /// @notice Emitted when an owner set its rebalancing policy.
    /// @param account The owner.
    /// @param policy The policy.
    event PolicyUpdated(address indexed account, Policy policy);
    /// @notice Emitted when an owner removed its rebalancing policy.
    /// @param account The owner.
    event PolicyCleared(address indexed account);
    /// @notice Emitted when governance approved or revoked a strategy.
    /// @param strategy The strategy.
    /// @param approved Whether policies may name it.
    event StrategyApproval(address indexed strategy, bool approved);
    /// @notice Emitted when the keeper reward offered per rebalance changed.
    /// @param rewardTokens Reward per rebalance (token units), capped per account by its policy.
    event KeeperRewardUpdated(uint256 rewardTokens);
    /// @notice Emitted when a market's systemic deleverage cap changed.
    /// @param marketId The market.
    /// @param maxNotionalWad Notional rebalances may close per window (WAD; 0: uncapped).
    /// @param windowSeconds Window length (seconds).
    event DeleverageCapUpdated(uint256 indexed marketId, uint256 maxNotionalWad, uint256 windowSeconds);
    /// @notice Emitted when an account was rebalanced.
    /// @param account The account.
    /// @param keeper The caller, who received the reward.
    /// @param healthBeforeWad Health before (WAD).
    /// @param healthAfterWad Health after (WAD).
    /// @param toppedUpTokens Reserve moved into margin (token units).
    /// @param deleveragedNotionalWad Notional closed (WAD).
    /// @param sweptTokens Margin moved back to reserve (token units).
    /// @param keeperRewardTokens Reward paid to the keeper (token units).
    event Rebalanced(
        address indexed account,
        address indexed keeper,
        uint256 healthBeforeWad,
        uint256 healthAfterWad,
        uint256 toppedUpTokens,
        uint256 deleveragedNotionalWad,
        uint256 sweptTokens,
        uint256 keeperRewardTokens
    );
    /// @notice Emitted when `liquidate` applied the owner's reserve before any penalty.
    /// @param account The account.
    /// @param toppedUpTokens Reserve moved into margin (token units).
    /// @param healthAfterWad Health after the top-up (WAD).
    event Rescued(address indexed account, uint256 toppedUpTokens, uint256 healthAfterWad);

    /// @notice Thrown when a policy is outside the bounds (see `setPolicy`).
    /// @param policy The policy given.
    error MarginEngineInvalidPolicy(Policy policy);
    /// @notice Thrown when a policy names a strategy governance has not approved.
    /// @param strategy The strategy.
    error MarginEngineStrategyNotApproved(address strategy);
    /// @notice Thrown when an account has no policy.
    /// @param account The account.
    error MarginEngineNoPolicy(address account);
    /// @notice Thrown when the strategy finds nothing to do (or the account has no position).
    /// @param account The account.
    /// @param healthWad Its health (WAD).
    error MarginEngineNothingToRebalance(address account, uint256 healthWad);
    /// @notice Thrown when the engine refuses a strategy's plan.
    /// @param reason Why.
    error MarginEngineInvalidPlan(PlanError reason);
    /// @notice Thrown when the keeper reward is above `MAX_KEEPER_REWARD_WAD` in value.
    /// @param rewardTokens The reward given.
    error MarginEngineInvalidKeeperReward(uint256 rewardTokens);
    /// @notice Thrown when a deleverage cap's window is outside `[MIN_CAP_WINDOW, MAX_CAP_WINDOW]`.
    /// @param windowSeconds The window given.
    error MarginEngineInvalidDeleverageCap(uint256 windowSeconds);

    /// @notice Thrown when the caller lacks the role the function needs.
    /// @param caller The caller.
    /// @param role The role required.
    error MarginEngineUnauthorized(address caller, bytes32 role);
    /// @notice Thrown when an address argument is zero.
    error MarginEngineZeroAddress();
    /// @notice Thrown when an amount or size is zero.
    error MarginEngineZeroAmount();
    /// @notice Thrown when a market id is not listed.
    /// @param marketId The id.
    error MarginEngineUnknownMarket(uint256 marketId);
    /// @notice Thrown when an asset is already listed, or has no oracle feed.
    /// @param asset The asset key.
    error MarginEngineInvalidAsset(bytes32 asset);
    /// @notice Thrown when a market configuration is outside the hard bounds.
    /// @param config The configuration given.
    error MarginEngineInvalidMarketConfig(MarketConfig config);
    /// @notice Thrown when liquidation parameters are outside the hard bounds.
    /// @param params The parameters given.
    error MarginEngineInvalidLiquidationParams(LiquidationParams params);
    /// @notice Thrown when the reserve factor is outside the hard bounds.
    /// @param reserveFactorWad The factor given.
    error MarginEngineInvalidReserveFactor(uint256 reserveFactorWad);
    /// @notice Thrown when no more markets can be listed.
    error MarginEngineTooManyMarketsListed();
    /// @notice Thrown when the action is paused.
    /// @param marketId The market (0 for account-level actions).
    /// @param action The action.
    error MarginEnginePaused(uint256 marketId, IPauseGuardian.Action action);
    /// @notice Thrown when a price the action needs is not `Ok`.
    /// @param asset The asset key.
    /// @param status The oracle status.
    error MarginEngineBadPrice(bytes32 asset, IChainlinkOracleAdapter.Status status);
    /// @notice Thrown when equity would fall below the initial requirement.
    /// @param equityWad Equity after the action (WAD, signed).
    /// @param requiredWad Initial requirement after the action (WAD).
    error MarginEngineInsufficientMargin(int256 equityWad, uint256 requiredWad);
    /// @notice Thrown when a reduce would leave the account liquidatable and less healthy than before.
    /// @param healthBeforeWad Health before (WAD).
    /// @param healthAfterWad Health after (WAD).
    error MarginEngineHealthWorsened(uint256 healthBeforeWad, uint256 healthAfterWad);
    /// @notice Thrown when a trade's loss and fee exceed the margin (the account must be liquidated).
    /// @param owedTokens Loss plus fee (token units).
    /// @param marginTokens Margin available (token units).
    error MarginEngineLossExceedsMargin(uint256 owedTokens, uint256 marginTokens);
    /// @notice Thrown when a side's open interest would exceed its cap.
    /// @param marketId The market.
    /// @param openInterestWad Open interest after the trade (WAD).
    /// @param capWad The cap (WAD).
    error MarginEngineOpenInterestCapExceeded(uint256 marketId, uint256 openInterestWad, uint256 capWad);
    /// @notice Thrown when the pool's liquidity cannot back the open interest after the trade.
    /// @param requiredTokens Liquidity required (token units).
    /// @param availableTokens Pool cash (`ILiquidityPool.cashAssets`, token units).
    error MarginEngineInsufficientPoolLiquidity(uint256 requiredTokens, uint256 availableTokens);
    /// @notice Thrown when an account would hold positions in more than `MAX_MARKETS_PER_ACCOUNT` markets.
    /// @param account The account.
    error MarginEngineTooManyMarkets(address account);
    /// @notice Thrown when an account has no position in a market.
    /// @param account The account.
    /// @param marketId The market.
    error MarginEngineNoPosition(address account, uint256 marketId);
    /// @notice Thrown when a size does not fit the position's storage (|size| ≥ 2^127).
    /// @param sizeWad The size.
    error MarginEngineSizeOutOfRange(int256 sizeWad);
    /// @notice Thrown when a market's maintenance margin is below the largest single-round move the oracle
    ///         adapter grades `Ok` for its asset (see `IOracleRiskConsumer`).
    /// @param asset The market's asset.
    /// @param mmrWad The maintenance margin ratio given.
    /// @param maxDeviationWad The adapter's deviation bound for `asset`.
    error MarginEngineMarginBelowOracleDeviation(bytes32 asset, uint256 mmrWad, uint256 maxDeviationWad);
    /// @notice Thrown when a rebalance would close in a market whose current round was published no later
    ///         than the owner's last risk-relevant action (`setPolicy`, `withdrawMargin`).
    /// @param account The account.
    /// @param marketId The market.
    /// @param roundUpdatedAt The market's current round `updatedAt`.
    /// @param ownerActionAt When the owner last acted.
    error MarginEngineRoundNotAfterOwnerAction(
        address account,
        uint256 marketId,
        uint256 roundUpdatedAt,
        uint256 ownerActionAt
    );
    /// @notice Thrown when `liquidate` targets an account whose health is at least 1.
    /// @param account The account.
    /// @param healthWad Its health (WAD).
    error MarginEngineNotLiquidatable(address account, uint256 healthWad);

    /// @notice Lists a new market. Admin only.
    /// @param config Its configuration; `config.asset` must have an oracle feed and not be listed.
    /// @return marketId The new market's id (1, 2, ...).
    function listMarket(MarketConfig calldata config) external returns (uint256 marketId);

    /// @notice Changes a market's risk configuration (its asset cannot change). Risk admin or admin.
    /// @param marketId The market.
    /// @param config The new configuration.
    function setMarketConfig(uint256 marketId, MarketConfig calldata config) external;

    /// @notice Changes liquidation parameters within hard bounds. Risk admin or admin.
    /// @param params The new parameters.
    function setLiquidationParams(LiquidationParams calldata params) external;

    /// @notice Changes the share of open notional (at entry) that LP liquidity must cover. Risk admin
    ///         or admin.
    /// @param reserveFactorWad The new factor (WAD).
    function setLiquidityReserveFactor(uint256 reserveFactorWad) external;

    /// @notice Withdraws the caller's margin; equity must still cover the initial requirement. Records the
    ///         time as the owner's last risk-relevant action (see `rebalance`).
    /// @param amountTokens The amount (token units).
    /// @param to The recipient.
    function withdrawMargin(uint256 amountTokens, address to) external;

    /// @notice Liquidates `account` (health < 1, prices `Ok`). Rescue before penalty: when its policy
    ///         allows top-ups, the owner's reserve first moves into margin (up to the policy's target
    ///         health); if that lifts health to 1 or more, nothing is liquidated. Otherwise it closes all
    ///         positions proportionally down to the target health, pays the caller a bounded reward and
    ///         the insurance buffer the rest of the penalty, and records bad debt if the account's loss
    ///         exceeds its margin.
    /// @param account The account.
    function liquidate(address account) external;

    /// @notice Sets the caller's rebalancing policy.
    /// @dev Bounds: `1 < trigger ≤ MAX_POLICY_TRIGGER` (3), `target ≥ trigger + MIN_POLICY_GAP`,
    ///      `target ≤ MAX_POLICY_TARGET` (4), `sweep == 0 || target + MIN_POLICY_GAP ≤ sweep ≤
    ///      MAX_POLICY_HEALTH` (10), at least one of
    ///      top-up and deleverage allowed, and an approved strategy. Records the time as the owner's
    ///      last risk-relevant action (see `rebalance`).
    /// @param policy The policy.
    function setPolicy(Policy calldata policy) external;

    /// @notice Removes the caller's rebalancing policy.
    function clearPolicy() external;

    /// @notice Approves or revokes a strategy. Admin only. Revoking stops rebalances of every policy
    ///         naming it until its owner picks another.
    /// @param strategy The strategy.
    /// @param approved Whether policies may name it.
    function setStrategyApproval(address strategy, bool approved) external;

    /// @notice Sets the reward offered to keepers per rebalance (each policy caps what it pays). Risk
    ///         admin or admin.
    /// @param rewardTokens Reward (token units).
    function setKeeperReward(uint256 rewardTokens) external;

    /// @notice Sets a market's systemic deleverage cap. Risk admin or admin. While a market is at its
    ///         cap, rebalances there can only top up, and deleverage only as far as it stands between an
    ///         account and liquidation: up to the liquidation target health, which the cap never refuses.
    /// @param marketId The market.
    /// @param maxNotionalWad Notional rebalances may close per window (WAD; 0: uncapped).
    /// @param windowSeconds Window length (seconds).
    function setDeleverageCap(uint256 marketId, uint256 maxNotionalWad, uint256 windowSeconds) external;

    /// @notice Restores `account`'s target health by its policy's strategy: validates the plan (see
    ///         `PlanError`), executes it and pays the caller the keeper reward (none when the caller is the
    ///         account itself). Permissionless. Requires
    ///         `Ok` prices for every market the account holds and the `Rebalance` action unpaused.
    ///         A plan may close in a market only at a round published after the owner's last
    ///         risk-relevant action (`setPolicy`, `withdrawMargin`), else
    ///         `MarginEngineRoundNotAfterOwnerAction`: the owner cannot arrange a reduce at a price it has
    ///         already seen. The record is cleared by the first rebalance at which every market the
    ///         account holds has a later round.
    /// @param account The account.
    /// @return healthAfterWad Health afterwards (WAD).
    function rebalance(address account) external returns (uint256 healthAfterWad);

    /// @notice The snapshot a strategy would receive for `account` now (prices whatever their status).
    /// @param account The account.
    /// @return snapshot The snapshot.
    /// @return pricesOk Whether every price is `Ok` (otherwise nothing may act on it).
    function accountSnapshot(address account) external view returns (AccountSnapshot memory snapshot, bool pricesOk);

    /// @notice What a keeper should do with `account` now, and the plan a rebalance would execute.
    /// @dev `Liquidate` when health < 1; `Rebalance` when the policy's strategy returns a plan the
    ///      engine accepts; `None` otherwise (also when a price is not `Ok`, the action is paused, or the
    ///      plan closes in a market whose round is not after the owner's last risk-relevant action).
    ///      `deleverageCapped` is true when the account needs deleverage (health under its trigger, or a
    ///      plan short of its target) that a market's systemic cap currently blocks.
    /// @param account The account.
    function keeperAction(
        address account
    ) external view returns (KeeperAction action, Plan memory plan, bool deleverageCapped);

    /// @notice The rebalancing policy of `account` (zero strategy: none).
    function policyOf(address account) external view returns (Policy memory);

    /// @notice Whether policies may name `strategy`.
    function isStrategyApproved(address strategy) external view returns (bool);

    /// @notice The strategy address of the built-in threshold planner: the engine itself, approved at
    ///         deployment. A policy naming it is planned inside the engine with the threshold rule
    ///         (`ThresholdPlanner`, the same as `ThresholdStrategy`'s) and no external call.
    function builtinStrategy() external view returns (address);

    /// @notice Reward offered per rebalance (token units).
    function keeperReward() external view returns (uint256);

    /// @notice A market's systemic deleverage cap and its current window.
    function deleverageCap(uint256 marketId) external view returns (DeleverageCap memory);

    /// @notice Notional (WAD) rebalances may still close in `marketId` in the current window.
    function deleverageRoom(uint256 marketId) external view returns (uint256);

    /// @notice Number of listed markets (ids are 1..marketCount()).
    function marketCount() external view returns (uint256);

    /// @notice A market's configuration.
    /// @param marketId The market.
    function marketConfig(uint256 marketId) external view returns (MarketConfig memory);

    /// @notice A market's open interest.
    /// @param marketId The market.
    function marketState(uint256 marketId) external view returns (MarketState memory);

    /// @notice Current liquidation parameters.
    function liquidationParams() external view returns (LiquidationParams memory);

    /// @notice Share of open notional (at entry) that LP liquidity must cover (WAD).
    function liquidityReserveFactor() external view returns (uint256);

    /// @notice The position of `account` in `marketId`.
    function position(address account, uint256 marketId) external view returns (Position memory);

    /// @notice Market ids in which `account` holds a position, ascending.
    function accountMarkets(address account) external view returns (uint256[] memory);

    /// @notice Margin of `account` in WAD.
    function marginWad(address account) external view returns (uint256);

    /// @notice Equity of `account` (WAD, signed) at the adapter's current prices (whatever their status).
    function equity(address account) external view returns (int256);

    /// @notice Maintenance requirement of `account` (WAD).
    function maintenanceRequirement(address account) external view returns (uint256);

    /// @notice Initial requirement of `account` (WAD).
    function initialRequirement(address account) external view returns (uint256);

    /// @notice Health of `account` (WAD): equity / maintenance requirement.
    function health(address account) external view returns (uint256);

    /// @notice Price of `marketId`'s asset at which `account` would reach health 1, other prices fixed
    ///         (WAD; 0 when no positive price would).
    /// @param account The account.
    /// @param marketId A market the account holds a position in.
    function liquidationPrice(address account, uint256 marketId) external view returns (uint256);

    /// @notice Liquidity the pool must keep to back open interest (token units, rounded up).
    function requiredLiquidity() external view returns (uint256);

    /// @notice Traders' unrealised PnL over every market at the adapter's prices (WAD, signed: positive
    ///         when traders are in profit, which the pool owes). A market whose price is not `Ok` is
    ///         marked at its last good price or, when none was ever recorded, at its entry prices (no
    ///         PnL): a market is never marked at a price the adapter never recorded.
    /// @return pnlWad The PnL.
    /// @return pricesOk Whether every market with open interest has an `Ok` price.
    function traderPnl() external view returns (int256 pnlWad, bool pricesOk);

    /// @notice Sum of |size| · entry price over all open positions (WAD).
    function totalEntryNotional() external view returns (uint256);

    /// @notice Number of accounts with at least one position.
    function activeAccountCount() external view returns (uint256);

    /// @notice A page of accounts with at least one position.
    /// @param start Index of the first account.
    /// @param count Most accounts to return.
    function activeAccounts(uint256 start, uint256 count) external view returns (address[] memory);

    /// @notice The collateral vault.
    function vault() external view returns (address);

    /// @notice The liquidity pool.
    function pool() external view returns (address);

    /// @notice The oracle adapter.
    function oracle() external view returns (address);

    /// @notice The access-control list and pause switchboard.
    function guardian() external view returns (address);
}
