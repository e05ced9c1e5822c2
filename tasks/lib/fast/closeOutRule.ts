/**
 * `CloseOutRule` (contracts/libraries/CloseOutRule.sol) in BigInt, for the fast engine: when a rebalance may
 * close an account out entirely, and what it then pays the keeper. Bit-exact with the library.
 */

/** `ConstantsLib.CLOSE_OUT_MAX_REWARDS`: a close-out needs equity of at most this many keeper rewards. */
export const CLOSE_OUT_MAX_REWARDS = 10n;

/** `CloseOutRule.eligible`: whether an account with `equityWad` may be closed out. */
export function eligible(equityWad: bigint, keeperRewardTokens: bigint, scale: bigint): boolean {
  return equityWad <= CLOSE_OUT_MAX_REWARDS * keeperRewardTokens * scale;
}

/** `CloseOutRule.allClosed`: whether no position is left at `sizes`. */
export function allClosed(sizes: bigint[]): boolean {
  for (const size of sizes) {
    if (size !== 0n) return false;
  }
  return true;
}

/**
 * `CloseOutRule.keeperReward`: the keeper reward a plan pays out of `marginTokens` (the margin before the
 * reward): `rewardTokens`, or for a close-out at most the margin; `affordable` is false when any other
 * plan's margin cannot pay it.
 */
export function keeperReward(
  marginTokens: bigint,
  rewardTokens: bigint,
  closedOut: boolean,
): { paidTokens: bigint; affordable: boolean } {
  if (marginTokens >= rewardTokens) return { paidTokens: rewardTokens, affordable: true };
  return closedOut
    ? { paidTokens: marginTokens, affordable: true }
    : { paidTokens: rewardTokens, affordable: false };
}
