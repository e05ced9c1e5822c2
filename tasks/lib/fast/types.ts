/**
 * The rebalance types of `contracts/interfaces/RebalanceTypes.sol` (`Policy`, `AccountSnapshot`, `CloseStep`,
 * `Plan`) for the fast engine, field for field: every integer is a bigint, every address a string. Values
 * built from these types are bit-exact with the structs the contracts pass around.
 */
import type { PositionData } from "./wad";

export type { PositionData };

/** `Policy`: an account's rebalancing policy, set by its owner. */
export interface Policy {
  triggerHealthWad: bigint;
  targetHealthWad: bigint;
  sweepHealthWad: bigint;
  allowTopUp: boolean;
  allowDeleverage: boolean;
  maxKeeperRewardTokens: bigint;
  strategy: string;
}

/** `AccountSnapshot`: everything a strategy needs to plan, taken by the engine at `Ok` prices. */
export interface AccountSnapshot {
  account: string;
  marginTokens: bigint;
  reserveTokens: bigint;
  equityWad: bigint;
  maintenanceWad: bigint;
  initialWad: bigint;
  healthWad: bigint;
  keeperRewardTokens: bigint;
  scale: bigint;
  policy: Policy;
  positions: PositionData[];
  volatilityWad: bigint[];
  deleverageRoomWad: bigint[];
}

/** `CloseStep`: one partial close of a plan (`index` into `AccountSnapshot.positions`). */
export interface CloseStep {
  index: bigint;
  sizeWad: bigint;
}

/** `Plan`: what a strategy wants done. All zero and no closes means "nothing to do". */
export interface Plan {
  targetHealthWad: bigint;
  topUpTokens: bigint;
  closes: CloseStep[];
  sweepTokens: bigint;
}

/** A new empty plan, as a zero-initialised `Plan memory` in Solidity. */
export function emptyPlan(): Plan {
  return { targetHealthWad: 0n, topUpTokens: 0n, closes: [], sweepTokens: 0n };
}
