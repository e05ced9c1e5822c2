/**
 * Double-precision reference of the adapter's EWMA volatility (`VolatilityMath`), used to test the
 * Solidity fixed-point version. All volatilities are annualised fractions (0.8 = 80%/year).
 */

/** Seconds per year used to annualise variance (365 days). */
export const YEAR_SECONDS = 365 * 24 * 3600;

/** Annualised variance sample of the log return from `previousPrice` to `price` over `dt` seconds. */
export function varianceSample(previousPrice: number, price: number, dt: number): number {
  const logReturn = Math.log(price / previousPrice);
  return (logReturn * logReturn * YEAR_SECONDS) / dt;
}

/** EWMA weight of an observation `dt` seconds after the previous one: `1 − exp(−dt / window)`. */
export function ewmaWeight(dt: number, window: number): number {
  return -Math.expm1(-dt / window);
}

/** One EWMA step: `var + α · (s − var)`; `dt == 0` leaves the variance unchanged. */
export function ewmaStep(variance: number, previousPrice: number, price: number, dt: number, window: number) {
  if (dt <= 0) return variance;
  const alpha = ewmaWeight(dt, window);
  return variance + alpha * (varianceSample(previousPrice, price, dt) - variance);
}

/** A recorded last good price: the price (any unit, only ratios matter) and its `updatedAt`. */
export interface Observation {
  price: number;
  updatedAt: number;
}

/**
 * Volatility after folding every consecutive pair of `observations` into an EWMA that starts at
 * `initialVolatility`; returns the volatility after each step (one entry per observation after the first).
 */
export function ewmaVolatilityPath(initialVolatility: number, window: number, observations: Observation[]) {
  let variance = initialVolatility * initialVolatility;
  const path: number[] = [];
  for (let i = 1; i < observations.length; i++) {
    const previous = observations[i - 1];
    const current = observations[i];
    variance = ewmaStep(
      variance,
      previous.price,
      current.price,
      current.updatedAt - previous.updatedAt,
      window,
    );
    path.push(Math.sqrt(variance));
  }
  return path;
}

/** `|actual − expected| / |expected|`. */
export function relativeError(actual: number, expected: number): number {
  return Math.abs(actual - expected) / Math.abs(expected);
}
