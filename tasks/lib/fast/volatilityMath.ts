/**
 * `VolatilityMath` (contracts/libraries/VolatilityMath.sol) in BigInt, for the fast engine: the
 * time-normalised EWMA of squared log returns behind `ChainlinkOracleAdapter.volatility`. Bit-exact: the
 * same solady primitives (`solady.ts`), the same rounding, and the same reverts in the same order
 * (solady's errors, checked-arithmetic panics, the `int256` casts that wrap), thrown as `Revert`.
 * Variances are annualised and carried in 36 decimals (σ in WAD, squared).
 */
import {
  asInt256,
  asUint256,
  checkedDiv,
  checkedInt256,
  checkedUint256,
  divUp,
  expWad,
  lnWad,
  mulDivUp,
  requireUint256,
  sqrt,
  zeroFloorSub,
} from "./solady";
import { WAD } from "./wad";

/** `YEAR`: seconds per year used to annualise variance (365 days). */
export const YEAR = 31_536_000n;

/**
 * `ewmaStep`: folds the return from `previousPriceWad` to `priceWad`, observed `dt` seconds apart, into
 * `varianceWadSq`: `⌈var·(1 − α) + s·α⌉` with `s = ⌈r²·YEAR / dt⌉`, `r = ln(max/min)` (ratio rounded up)
 * and `α = 1 − exp(−dt / window)`.
 */
export function ewmaStep(
  varianceWadSq: bigint,
  previousPriceWad: bigint,
  priceWad: bigint,
  dt: bigint,
  window: bigint,
): bigint {
  requireUint256(varianceWadSq, "varianceWadSq");
  requireUint256(previousPriceWad, "previousPriceWad");
  requireUint256(priceWad, "priceWad");
  requireUint256(dt, "dt");
  requireUint256(window, "window");
  const ratioWad =
    priceWad > previousPriceWad
      ? mulDivUp(priceWad, WAD, previousPriceWad)
      : mulDivUp(previousPriceWad, WAD, priceWad);
  // `int256(ratioWad)` wraps: a ratio of 2**255 or more turns negative and `lnWad` rejects it.
  const logReturnWad = lnWad(asInt256(ratioWad));
  const sampleWadSq = mulDivUp(checkedInt256(logReturnWad * logReturnWad), YEAR, dt);
  const decayWad = asUint256(expWad(decayExponent(dt, window)));
  const alphaWad = zeroFloorSub(WAD, decayWad);
  const kept = checkedUint256(varianceWadSq * checkedUint256(WAD - alphaWad));
  const added = checkedUint256(sampleWadSq * alphaWad);
  return divUp(checkedUint256(kept + added), WAD);
}

/** `-int256((dt * WAD) / window)`: checked product and division, wrapping cast, checked negation. */
function decayExponent(dt: bigint, window: bigint): bigint {
  const ratio = asInt256(checkedDiv(checkedUint256(dt * WAD), window));
  return checkedInt256(-ratio);
}

/** `volatilityWad`: ⌈√varianceWadSq⌉, the annualised volatility in WAD. */
export function volatilityWad(varianceWadSq: bigint): bigint {
  requireUint256(varianceWadSq, "varianceWadSq");
  let rootWad = sqrt(varianceWadSq);
  if (checkedUint256(rootWad * rootWad) < varianceWadSq) rootWad = checkedUint256(rootWad + 1n);
  return rootWad;
}
