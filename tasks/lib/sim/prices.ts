import { existsSync, readFileSync, statSync } from "node:fs";
import { errorMessage, TaskError } from "../errors";

/** One price observation: unix seconds and USD. */
export interface PricePoint {
  timestamp: number;
  price: number;
}

/** How a Chainlink feed publishes rounds over a price path. */
export interface FeedEmulation {
  /** Relative move since the last round that triggers a new one (mainnet ETH/USD: 0.5%). */
  deviation: number;
  /** Seconds after which a round is published even without a move (mainnet ETH/USD: 3,600). */
  heartbeat: number;
  /** Publish exactly one round per point instead. */
  raw: boolean;
}

export const MAINNET_ETH_USD: FeedEmulation = { deviation: 0.005, heartbeat: 3_600, raw: false };

/**
 * Reads a `timestamp,price` CSV (unix seconds, USD; a header line allowed), ascending by timestamp.
 * Throws with the line number on a malformed or out-of-order row.
 */
export function readPriceCsv(path: string): PricePoint[] {
  const points: PricePoint[] = [];
  const lines = readFileSync(path, "utf8").split(/\r?\n/);
  lines.forEach((line, i) => {
    const text = line.trim();
    if (text === "") return;
    const [a, b] = text.split(",").map((x) => x.trim());
    const timestamp = Number(a);
    const price = Number(b);
    if (!Number.isFinite(timestamp) || !Number.isFinite(price)) {
      if (i === 0) return; // header
      throw new Error(`${path}:${i + 1}: expected "timestamp,price", got "${text}"`);
    }
    if (price <= 0) throw new Error(`${path}:${i + 1}: price must be positive`);
    const last = points[points.length - 1];
    if (last && timestamp <= last.timestamp) throw new Error(`${path}:${i + 1}: timestamps must increase`);
    points.push({ timestamp, price });
  });
  if (points.length < 2) throw new Error(`${path}: need at least two rows`);
  return points;
}

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * A seeded synthetic crash: 2 hours of calm, a 45% slide over 6 hours with 150% annualised volatility
 * and two sharp legs, then 4 hours of partial recovery. One point every 5 minutes.
 */
export function syntheticCrash(seed = 7, start = 3_000, startTime = 1_700_000_000): PricePoint[] {
  const random = seededRandom(seed);
  const gaussian = () => {
    const u = Math.max(random(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
  };
  const step = 300;
  const points: PricePoint[] = [{ timestamp: startTime, price: start }];
  let price = start;
  const year = 365 * 24 * 3600;
  for (let i = 1; i <= 144; i++) {
    const hour = (i * step) / 3600;
    let drift = 0;
    let sigma = 0.6;
    if (hour > 2 && hour <= 8) {
      drift = Math.log(0.55) / (6 * 12); // −45% over 6 h
      sigma = 1.5;
      if (i === 40 || i === 70) drift += Math.log(0.93); // two sharp legs
    } else if (hour > 8) {
      drift = Math.log(1.15) / (4 * 12);
      sigma = 1.0;
    }
    price *= Math.exp(drift + sigma * Math.sqrt(step / year) * gaussian());
    points.push({ timestamp: startTime + i * step, price: Math.round(price * 100) / 100 });
  }
  return points;
}

/**
 * The rounds a Chainlink feed would publish over `points`: between two points the price moves linearly
 * (sampled every `sampleSeconds`), and a round is published wherever it has moved by the deviation
 * threshold since the last round or the heartbeat has elapsed. With `raw`, one round per point.
 */
export function emulateRounds(points: PricePoint[], feed: FeedEmulation, sampleSeconds = 15): PricePoint[] {
  if (feed.raw) return points.map((p) => ({ ...p }));
  const rounds: PricePoint[] = [{ ...points[0] }];
  let last = rounds[0];
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1];
    const b = points[i];
    for (let t = a.timestamp + sampleSeconds; t <= b.timestamp; t += sampleSeconds) {
      const price = a.price + ((b.price - a.price) * (t - a.timestamp)) / (b.timestamp - a.timestamp);
      const moved = Math.abs(price / last.price - 1) >= feed.deviation;
      if (moved || t - last.timestamp >= feed.heartbeat) {
        last = { timestamp: t, price: Math.round(price * 1e8) / 1e8 };
        rounds.push(last);
      }
    }
  }
  return rounds;
}

/** Minimum, maximum and the largest peak-to-trough fall of a path. */
export function pathStats(points: PricePoint[]) {
  let peak = points[0].price;
  let maxDrawdown = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const p of points) {
    peak = Math.max(peak, p.price);
    maxDrawdown = Math.max(maxDrawdown, 1 - p.price / peak);
    min = Math.min(min, p.price);
    max = Math.max(max, p.price);
  }
  return { min, max, maxDrawdown };
}

/**
 * `readPriceCsv` for a task option: a missing, unreadable or malformed file is a `TaskError` naming the
 * option and the line (`--prices x.csv:3: expected "timestamp,price", got "…"`).
 */
export function readPrices(path: string, option = "--prices"): PricePoint[] {
  if (!existsSync(path)) throw new TaskError(`${option} ${path}: no such file`);
  if (statSync(path).isDirectory()) throw new TaskError(`${option} ${path}: is a folder, not a CSV file`);
  try {
    return readPriceCsv(path);
  } catch (error) {
    throw new TaskError(`${option} ${errorMessage(error)}`);
  }
}
