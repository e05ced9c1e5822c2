/**
 * `RiskMath` (contracts/libraries/RiskMath.sol) in BigInt, for the fast engine: ln, exp, √, the standard
 * normal CDF Φ (WAD and 1e36), its inverse, and the Brownian hit probability and its inverse. Bit-exact:
 * same approximations, same integer steps in the same order (signed divisions truncate toward zero, as
 * Solidity's do), same reverts (`RiskMathDomain()`, `RiskMathOverflow()`, solady's errors, panics), thrown
 * as `Revert`. Arguments the contract types `int256` are signed bigints; `uint256` ones must be
 * non-negative. The private helpers keep their Solidity names without the leading underscore.
 */
import {
  Revert,
  asUint256,
  checkedDiv,
  checkedInt256,
  checkedUint256,
  expWad as soladyExpWad,
  fullMulDiv,
  fullMulDivUp,
  lnWad as soladyLnWad,
  requireInt256,
  requireUint256,
  sqrt,
  sqrtWad as soladySqrtWad,
  MAX_INT256,
} from "./solady";
import { WAD } from "./wad";

/** `SECONDS_PER_YEAR`: seconds in a year of 365 days. */
export const SECONDS_PER_YEAR = 31_536_000n;
/** `NORM_TAIL_CUTOFF_WAD`: |x| at and beyond which Φ(x) is exactly 0 or 1e18. */
export const NORM_TAIL_CUTOFF_WAD = 9n * WAD;
/** `NORM_E36_CUTOFF_WAD`: |x| at and beyond which `normCdfE36` is exactly 0 or 1e36. */
export const NORM_E36_CUTOFF_WAD = 13n * WAD;

const SQRT_SECONDS_PER_YEAR_WAD = 5615692299262843336293n;
const SQRT_SECONDS_PER_YEAR_E36 = 5615692299262843336293247410755814529759n;
const SQRT_SECONDS_PER_YEAR_E54 = 5615692299262843336293247410755814529759117488577938123120n;
const LN2_WAD = 693147180559945309n;
const LN_1E18_WAD = 41446531673892822312n;
const TWO_SQRT2_WAD = 2828427124746190097n;
const EXP_INT256_LIMIT_WAD = 135305999368893231589n;
const EXP_UINT256_LIMIT_WAD = 135999146549453176898n;
const ACKLAM_TWO_P_LOW = 48500000000000000n;
const ACKLAM_TWO_P_HIGH = 1951500000000000000n;
const MAX_DISTANCE_PER_RISK = 10n ** 36n;
const E36 = 10n ** 36n;

const domainError = () => new Revert("RiskMathDomain()");
const overflowError = () => new Revert("RiskMathOverflow()");

// ------------------------------------------------------------------------------------------------
// Primitives
// ------------------------------------------------------------------------------------------------

/** `lnWad(uint256 x)`: ln(x / 1e18) in WAD; throws `RiskMathDomain()` for x = 0. */
export function lnWad(x: bigint): bigint {
  requireUint256(x, "x");
  if (x === 0n) throw domainError();
  if (x > MAX_INT256) return checkedInt256(soladyLnWad(x >> 1n) + LN2_WAD);
  return soladyLnWad(x);
}

/** `expWad(int256 x)`: exp(x / 1e18) in WAD; throws `RiskMathOverflow()` where it exceeds uint256. */
export function expWad(x: bigint): bigint {
  requireInt256(x, "x");
  if (x < EXP_INT256_LIMIT_WAD) return asUint256(soladyExpWad(x));
  if (x >= EXP_UINT256_LIMIT_WAD) throw overflowError();
  return checkedUint256(asUint256(soladyExpWad(x - LN2_WAD)) * 2n);
}

/** `sqrtWad(uint256 x)`: floor(√(x·1e18)). */
export function sqrtWad(x: bigint): bigint {
  return soladySqrtWad(x);
}

// ------------------------------------------------------------------------------------------------
// Normal distribution
// ------------------------------------------------------------------------------------------------

/** `normCdfWad(int256 x)`: Φ(x) in WAD; 0 for x ≤ −9e18, 1e18 for x ≥ 9e18. */
export function normCdfWad(x: bigint): bigint {
  requireInt256(x, "x");
  if (x <= -NORM_TAIL_CUTOFF_WAD) return 0n;
  if (x >= NORM_TAIL_CUTOFF_WAD) return WAD;
  if (x <= 0n) return erfcE72(-x) / (2n * 10n ** 54n);
  return WAD - erfcE72(x) / (2n * 10n ** 54n);
}

/** `normCdfE36(int256 x)`: Φ(x) scaled by 1e36; 0 for x ≤ −13e18, 1e36 for x ≥ 13e18. */
export function normCdfE36(x: bigint): bigint {
  requireInt256(x, "x");
  if (x <= -NORM_E36_CUTOFF_WAD) return 0n;
  if (x >= NORM_E36_CUTOFF_WAD) return E36;
  if (x <= 0n) return erfcE72(-x) / (2n * E36);
  return E36 - erfcE72(x) / (2n * E36);
}

/** `normInvWad(uint256 p)`: Φ⁻¹(p) in WAD; throws `RiskMathDomain()` unless 0 < p < 1e18. */
export function normInvWad(p: bigint): bigint {
  requireUint256(p, "p");
  if (p === 0n || p >= WAD) throw domainError();
  return normInvOfHalfE36(2n * p) / WAD;
}

// ------------------------------------------------------------------------------------------------
// Barrier hitting
// ------------------------------------------------------------------------------------------------

/**
 * `hitProbabilityWad(int256 distanceWad, uint256 riskWad, uint256 horizonSeconds)`:
 * P = 2·Φ(−D / (σ·√(τ / YEAR))) in WAD; 1e18 for D ≤ 0, 0 for σ = 0 or τ = 0, capped at 1e18.
 */
export function hitProbabilityWad(distanceWad: bigint, riskWad: bigint, horizonSeconds: bigint): bigint {
  requireInt256(distanceWad, "distanceWad");
  requireUint256(riskWad, "riskWad");
  requireUint256(horizonSeconds, "horizonSeconds");
  if (distanceWad <= 0n) return WAD;
  if (riskWad === 0n || horizonSeconds === 0n) return 0n;
  const distance = distanceWad;
  if (distance / riskWad >= MAX_DISTANCE_PER_RISK) return 0n;
  const scaled = fullMulDiv(distance, SQRT_SECONDS_PER_YEAR_WAD, riskWad);
  const z = checkedDiv(checkedUint256(scaled * WAD), sqrtSecondsWad(horizonSeconds));
  if (z >= NORM_TAIL_CUTOFF_WAD) return 0n;
  const p = erfcE72(z) / 10n ** 54n;
  return p > WAD ? WAD : p;
}

/**
 * `distanceForProbabilityWad(uint256 pWad, uint256 riskWad, uint256 horizonSeconds)`:
 * D = Φ⁻¹(1 − p/2)·σ·√(τ / YEAR) in WAD, rounded up; throws `RiskMathDomain()` unless 0 < p < 1e18 and
 * `RiskMathOverflow()` when D exceeds uint256; 0 for σ = 0 or τ = 0.
 */
export function distanceForProbabilityWad(pWad: bigint, riskWad: bigint, horizonSeconds: bigint): bigint {
  requireUint256(pWad, "pWad");
  requireUint256(riskWad, "riskWad");
  requireUint256(horizonSeconds, "horizonSeconds");
  if (pWad === 0n || pWad >= WAD) throw domainError();
  if (riskWad === 0n || horizonSeconds === 0n) return 0n;
  const quantileE36 = checkedInt256(-normInvOfHalfE36(pWad));
  if (quantileE36 <= 0n) return 0n;
  const rootTauWad = sqrtSecondsWad(horizonSeconds);
  let scaled: bigint;
  let divisor: bigint;
  if (rootTauWad < 1n << 128n) {
    scaled = checkedUint256(quantileE36 * rootTauWad);
    divisor = SQRT_SECONDS_PER_YEAR_E54;
  } else {
    scaled = checkedUint256((quantileE36 / WAD) * rootTauWad);
    divisor = SQRT_SECONDS_PER_YEAR_E36;
  }
  // `Math.mul512(scaled, riskWad)`: the high word of the 512-bit product.
  const high = (scaled * riskWad) >> 256n;
  if (high >= divisor) throw overflowError();
  return fullMulDivUp(scaled, riskWad, divisor);
}

// ------------------------------------------------------------------------------------------------
// Internals (unchecked in Solidity; no step overflows on the domains the callers give them)
// ------------------------------------------------------------------------------------------------

/** `_erfcE72(a)`: erfc(a/√2) = 2·Φ(−a) scaled by 1e72, for 0 ≤ a < 13e18 (Numerical Recipes' `erfcc`). */
function erfcE72(a: bigint): bigint {
  const t = (TWO_SQRT2_WAD * WAD) / (TWO_SQRT2_WAD + a);
  const w = WAD;
  let poly = 170872770000000000n;
  poly = (poly * t) / w - 822152230000000000n;
  poly = (poly * t) / w + 1488515870000000000n;
  poly = (poly * t) / w - 1135203980000000000n;
  poly = (poly * t) / w + 278868070000000000n;
  poly = (poly * t) / w - 186288060000000000n;
  poly = (poly * t) / w + 96784180000000000n;
  poly = (poly * t) / w + 374091960000000000n;
  poly = (poly * t) / w + 1000023680000000000n;
  poly = (poly * t) / w - 1265512230000000000n;
  const exponent = poly - (a * a) / (2n * WAD);
  return t * asUint256(soladyExpWad(exponent + 2n * LN_1E18_WAD));
}

/** `_normInvOfHalfE36(twoP)`: Φ⁻¹(twoP / 2) scaled by 1e36, for 0 < twoP < 2e18 (Acklam). */
function normInvOfHalfE36(twoP: bigint): bigint {
  const w = WAD;
  if (twoP < ACKLAM_TWO_P_LOW) return acklamTail(lnWad(twoP) - LN2_WAD);
  if (twoP > ACKLAM_TWO_P_HIGH) return -acklamTail(lnWad(2n * WAD - twoP) - LN2_WAD);
  // Central region: x = q·A(r)/B(r) with q = h − ½ = q2/2 and r = q².
  const q2 = twoP - w;
  const r = (q2 * q2) / (4n * WAD);
  let num = -39696830286653760000n;
  num = (num * r) / w + 220946098424520500000n;
  num = (num * r) / w - 275928510446968700000n;
  num = (num * r) / w + 138357751867269000000n;
  num = (num * r) / w - 30664798066147160000n;
  num = (num * r) / w + 2506628277459239000n;
  let den = -54476098798224060000n;
  den = (den * r) / w + 161585836858040900000n;
  den = (den * r) / w - 155698979859886600000n;
  den = (den * r) / w + 66801311887719720000n;
  den = (den * r) / w - 13280681552885720000n;
  den = (den * r) / w + w;
  return (num * q2 * w) / (2n * den);
}

/** `_acklamTail(lnP)`: Acklam's lower-tail quantile for ln h = `lnP` (≤ ln 0.02425), scaled by 1e36. */
function acklamTail(lnP: bigint): bigint {
  const w = WAD;
  const q = soladySqrtWad(-2n * lnP);
  let num = -7784894002430293n;
  num = (num * q) / w - 322396458041136500n;
  num = (num * q) / w - 2400758277161838000n;
  num = (num * q) / w - 2549732539343734000n;
  num = (num * q) / w + 4374664141464968000n;
  num = (num * q) / w + 2938163982698783000n;
  let den = 7784695709041462n;
  den = (den * q) / w + 322467129070039800n;
  den = (den * q) / w + 2445134137142996000n;
  den = (den * q) / w + 3754408661907416000n;
  den = (den * q) / w + w;
  return (num * E36) / den;
}

/** `_sqrtSecondsWad(τ)`: √τ in WAD for τ in seconds, rounded down. */
function sqrtSecondsWad(horizonSeconds: bigint): bigint {
  if (horizonSeconds < 1n << 128n) return sqrt(horizonSeconds * E36);
  return checkedUint256(sqrt(horizonSeconds) * WAD);
}
