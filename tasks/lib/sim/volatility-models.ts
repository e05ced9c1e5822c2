/**
 * Two volatility estimators compared on the shipped price series, off-chain: the adapter's EWMA (the same
 * recursion as `VolatilityMath.ewmaStep`, in doubles) and a GARCH(1,1) fitted by maximum likelihood on a
 * training series. Both forecast the next hour; each forecast becomes the probability that the price
 * touches a level a given distance away within that hour (`2·Φ(−d / σ_1h)`, the model of
 * `RiskMath.hitProbabilityWad`), scored against what the series did.
 */
import type { PricePoint } from "./prices";

export const YEAR_SECONDS = 365 * 24 * 3600;
const HOUR = 3600;

/** The last point of every UTC hour (the hour's close), in order. */
export function hourlyCloses(points: PricePoint[]): PricePoint[] {
  const out: PricePoint[] = [];
  for (const p of points) {
    const last = out[out.length - 1];
    if (last && Math.floor(last.timestamp / HOUR) === Math.floor(p.timestamp / HOUR)) out[out.length - 1] = p;
    else out.push(p);
  }
  return out;
}

/** Log returns between consecutive points. */
export function logReturns(points: PricePoint[]): number[] {
  return points.slice(1).map((p, i) => Math.log(p.price / points[i].price));
}

/**
 * The adapter's EWMA over `points`: annualised variance after each point (the first entry is the initial
 * variance). `var ← var + α·(r²·YEAR/dt − var)`, `α = 1 − exp(−dt / window)`.
 */
export function ewmaVariances(
  points: PricePoint[],
  windowSeconds: number,
  initialVolatility: number,
): number[] {
  let variance = initialVolatility * initialVolatility;
  const out = [variance];
  for (let i = 1; i < points.length; i++) {
    const dt = points[i].timestamp - points[i - 1].timestamp;
    if (dt > 0) {
      const r = Math.log(points[i].price / points[i - 1].price);
      const alpha = -Math.expm1(-dt / windowSeconds);
      variance += alpha * ((r * r * YEAR_SECONDS) / dt - variance);
    }
    out.push(variance);
  }
  return out;
}

/** GARCH(1,1) on per-step returns: `h_t = ω + α·r²_{t−1} + β·h_{t−1}` (per-step variance). */
export interface Garch {
  omega: number;
  alpha: number;
  beta: number;
}

/** One-step-ahead variances: entry `t` is the forecast of `r_t` made after `r_{t−1}` (`h_0 = h0`). */
export function garchVariances(params: Garch, returns: number[], h0: number): number[] {
  const out = [h0];
  for (let t = 1; t <= returns.length; t++) {
    out.push(params.omega + params.alpha * returns[t - 1] ** 2 + params.beta * out[t - 1]);
  }
  return out;
}

/** Gaussian log-likelihood of `returns` under `params`, started at the sample variance. */
export function garchLogLikelihood(params: Garch, returns: number[]): number {
  const h0 = returns.reduce((s, r) => s + r * r, 0) / returns.length;
  const h = garchVariances(params, returns, h0);
  let ll = 0;
  for (let t = 0; t < returns.length; t++)
    ll -= 0.5 * (Math.log(2 * Math.PI * h[t]) + returns[t] ** 2 / h[t]);
  return ll;
}

/**
 * Maximum-likelihood GARCH(1,1) of one or more return series (their likelihoods summed), by Nelder–Mead
 * over an unconstrained parameterisation (ω = e^a; α, β the first two shares of a softmax of (b, c, 0), so
 * α + β < 1, covariance-stationary).
 */
export function fitGarch(series: number[][]): Garch & { logLikelihood: number } {
  const decode = ([a, b, c]: number[]): Garch => {
    const m = Math.max(b, c, 0);
    const eb = Math.exp(b - m);
    const ec = Math.exp(c - m);
    const e0 = Math.exp(-m);
    const total = eb + ec + e0;
    return { omega: Math.exp(a), alpha: eb / total, beta: ec / total };
  };
  const objective = (x: number[]) => -series.reduce((s, r) => s + garchLogLikelihood(decode(x), r), 0);
  const all = series.flat();
  const variance = all.reduce((s, r) => s + r * r, 0) / all.length;
  // Start at α = 0.1, β = 0.8, ω matching the sample variance.
  const start = [Math.log(variance * 0.1), Math.log(0.1 / 0.1), Math.log(0.8 / 0.1)];
  const best = nelderMead(objective, start, 0.5, 2_000);
  return { ...decode(best), logLikelihood: -objective(best) };
}

/** Minimises `f` from `start` (simplex of side `step`); a fixed iteration budget, no randomness. */
export function nelderMead(
  f: (x: number[]) => number,
  start: number[],
  step: number,
  iterations: number,
): number[] {
  const n = start.length;
  let simplex = [start, ...start.map((_, i) => start.map((v, j) => (i === j ? v + step : v)))].map((x) => ({
    x,
    y: f(x),
  }));
  const combine = (a: number[], b: number[], t: number) => a.map((v, i) => v + t * (b[i] - v));
  for (let k = 0; k < iterations; k++) {
    simplex.sort((p, q) => p.y - q.y);
    if (Math.abs(simplex[n].y - simplex[0].y) < 1e-10 * (1 + Math.abs(simplex[0].y))) break;
    const centroid = start.map((_, i) => simplex.slice(0, n).reduce((s, p) => s + p.x[i], 0) / n);
    const worst = simplex[n];
    const reflected = combine(centroid, worst.x, -1);
    const yr = f(reflected);
    if (yr < simplex[0].y) {
      const expanded = combine(centroid, worst.x, -2);
      const ye = f(expanded);
      simplex[n] = ye < yr ? { x: expanded, y: ye } : { x: reflected, y: yr };
    } else if (yr < simplex[n - 1].y) {
      simplex[n] = { x: reflected, y: yr };
    } else {
      const contracted = combine(centroid, worst.x, 0.5);
      const yc = f(contracted);
      if (yc < worst.y) simplex[n] = { x: contracted, y: yc };
      else {
        const bestX = simplex[0].x;
        simplex = simplex.map((p, i) => {
          if (i === 0) return p;
          const x = combine(bestX, p.x, 0.5);
          return { x, y: f(x) };
        });
      }
    }
  }
  simplex.sort((p, q) => p.y - q.y);
  return simplex[0].x;
}

/** Standard normal CDF (Abramowitz–Stegun 7.1.26 erf, |error| < 1.5e-7). */
export function normCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const erf =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
      t *
      Math.exp(-z * z);
  return x >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

/** Probability that a driftless log-price with per-horizon deviation `sigma` touches `±d` (one side). */
export function touchProbability(logDistance: number, sigma: number): number {
  if (sigma <= 0) return 0;
  return Math.min(1, 2 * normCdf(-logDistance / sigma));
}

/** How one estimator's hourly touch probabilities scored on a series. */
export interface TouchScore {
  /** Hours scored and hours in which the price touched the level. */
  hours: number;
  touches: number;
  /** Mean squared error of the probability (lower is better). */
  brier: number;
  /** Mean negative log-likelihood (probabilities clamped to [1e-6, 1 − 1e-6]; lower is better). */
  logLoss: number;
  /** Of the hours that touched, the share whose probability was at least `alarm` (a rebalance). */
  caught: number;
  /** Of the hours with probability at least `alarm`, the share that did not touch. */
  falseAlarms: number;
  /** Mean probability the estimator gave the touching hours (higher: earlier warning). */
  meanOnTouches: number;
}

/**
 * Scores hourly forecasts: at each hour close `closes[k]` the estimator's one-hour deviation
 * `sigmas[k]` gives the probability that the price falls by `drop` (a long's liquidation distance) at
 * any point of the next hour in `points` (every point, so intra-hour lows count).
 */
export function scoreTouches(
  closes: PricePoint[],
  sigmas: number[],
  points: PricePoint[],
  drop: number,
  alarm: number,
): TouchScore {
  const d = -Math.log(1 - drop);
  let j = 0;
  let hours = 0;
  let touches = 0;
  let brier = 0;
  let logLoss = 0;
  let alarms = 0;
  let falseAlarms = 0;
  let caught = 0;
  let onTouches = 0;
  for (let k = 0; k + 1 < closes.length; k++) {
    const start = closes[k];
    const end = closes[k + 1].timestamp;
    while (j < points.length && points[j].timestamp <= start.timestamp) j++;
    let low = Infinity;
    for (let i = j; i < points.length && points[i].timestamp <= end; i++)
      low = Math.min(low, points[i].price);
    const touched = low <= start.price * (1 - drop) ? 1 : 0;
    const p = touchProbability(d, sigmas[k]);
    const q = Math.min(1 - 1e-6, Math.max(1e-6, p));
    hours++;
    touches += touched;
    brier += (p - touched) ** 2;
    logLoss -= touched ? Math.log(q) : Math.log(1 - q);
    if (p >= alarm) {
      alarms++;
      if (!touched) falseAlarms++;
    }
    if (touched) {
      onTouches += p;
      if (p >= alarm) caught++;
    }
  }
  return {
    hours,
    touches,
    brier: brier / hours,
    logLoss: logLoss / hours,
    caught: touches ? caught / touches : 0,
    falseAlarms: alarms ? falseAlarms / alarms : 0,
    meanOnTouches: touches ? onTouches / touches : 0,
  };
}

/** The GARCH fit `scripts/volatility-study.ts` writes (`reports/volatility-study.json` › `garch`). */
export interface FittedGarch extends Garch {
  /** The training sample's hourly variance, where the recursion starts. */
  trainVariance: number;
}

/**
 * Annualised GARCH volatility known at each moment of a replay of `points`: the forecast made at the
 * latest hour close at or before `timestamp` (before the first close: the training sample's).
 */
export function garchVolatilityAt(points: PricePoint[], fit: FittedGarch): (timestamp: number) => number {
  const closes = hourlyCloses(points);
  const h = garchVariances(fit, logReturns(closes), fit.trainVariance);
  const perYear = YEAR_SECONDS / HOUR;
  const sigmas = closes.map((_, k) => Math.sqrt(h[k + 1 < h.length ? k + 1 : k] * perYear));
  const initial = Math.sqrt(fit.trainVariance * perYear);
  return (timestamp: number) => {
    let lo = 0;
    let hi = closes.length - 1;
    if (closes.length === 0 || closes[0].timestamp > timestamp) return initial;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (closes[mid].timestamp <= timestamp) lo = mid;
      else hi = mid - 1;
    }
    return sigmas[lo];
  };
}
