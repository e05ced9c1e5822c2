/**
 * Names of the Solidity enums the tasks print, in declaration order (the ABI only carries their index).
 * Keep in step with `contracts/interfaces/`.
 */
export const ENUMS: Record<string, readonly string[]> = {
  "IChainlinkOracleAdapter.Status": ["Ok", "Stale", "Invalid", "Deviation", "SequencerDown", "GracePeriod"],
  "IChainlinkOracleAdapter.VolatilitySource": ["None", "Ewma", "Feed"],
  "IMarginEngine.KeeperAction": ["None", "Rebalance", "Liquidate"],
  "IMarginEngine.PlanError": [
    "TargetBelowPolicy",
    "TargetTooHigh",
    "TopUpNotAllowed",
    "TopUpExceedsReserve",
    "DeleverageNotAllowed",
    "InvalidClose",
    "DeleverageCapExceeded",
    "StepLowersHealth",
    "Overshoot",
    "Undershoot",
    "NoImprovement",
    "SweepNotAllowed",
    "SweepTooLarge",
    "LossExceedsMargin",
  ],
  "IPauseGuardian.Action": ["Open", "Close", "Deposit", "Withdraw", "Rebalance", "Liquidate"],
  "IRebalanceKeeper.SkipReason": ["RebalanceFailed", "LiquidationFailed"],
};

export const STATUS = ENUMS["IChainlinkOracleAdapter.Status"];
export const KEEPER_ACTION = ENUMS["IMarginEngine.KeeperAction"];
export const PAUSE_ACTION = ENUMS["IPauseGuardian.Action"];
export const SKIP_REASON = ENUMS["IRebalanceKeeper.SkipReason"];

/** The name of value `index` of `names`, or `#index` when out of range. */
export const enumName = (names: readonly string[], index: bigint | number) =>
  names[Number(index)] ?? `#${index.toString()}`;
