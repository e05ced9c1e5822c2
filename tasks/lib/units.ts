import { formatUnits, MaxUint256 } from "ethers";
import { TaskError } from "./errors";

/** 1e18: USD values, ratios, prices and sizes are WAD. */
export const WAD = 10n ** 18n;
/** Decimals of the settlement token on every deployment so far (USDC); tasks read the token's own. */
export const USDC_DECIMALS = 6;

const DECIMAL = /^([+-]?)(\d+)(?:\.(\d+))?$/;

/**
 * Parses a decimal string ("1000.5", "-2", "0.000001") into an integer with `decimals` decimals,
 * exactly: no floating point, no rounding. Throws a `TaskError` naming `what` when the string is not
 * a plain decimal, has more decimals than the unit holds, or has a sign that `signed` does not allow.
 */
export function parseDecimal(
  value: string,
  decimals: number,
  what: string,
  opts: { signed?: boolean; allowZero?: boolean } = {},
): bigint {
  const text = String(value).trim().replace(/_/g, "");
  const m = DECIMAL.exec(text);
  if (m === null) throw new TaskError(`${what}: "${value}" is not a decimal number`);
  const [, sign, whole, fraction = ""] = m;
  if (fraction.length > decimals) {
    throw new TaskError(`${what}: "${value}" has more than ${decimals} decimals`);
  }
  const magnitude = BigInt(whole) * 10n ** BigInt(decimals) + BigInt(fraction.padEnd(decimals, "0") || "0");
  if (sign === "-" && magnitude !== 0n && !opts.signed) {
    throw new TaskError(`${what}: "${value}" must not be negative`);
  }
  if (magnitude === 0n && !opts.allowZero) throw new TaskError(`${what}: must not be zero`);
  return sign === "-" ? -magnitude : magnitude;
}

/** Token amount (e.g. "1000.5" USDC) in token units; positive. */
export const parseTokens = (value: string, decimals: number, what = "--amount") =>
  parseDecimal(value, decimals, what);

/** WAD from a decimal string (health, ratio, price or size). */
export const parseWad = (value: string, what: string, opts: { signed?: boolean; allowZero?: boolean } = {}) =>
  parseDecimal(value, 18, what, opts);

/** Gas price in gwei ("0.5", "30") to wei. */
export const parseGwei = (value: string, what = "--max-gas-price") => parseDecimal(value, 9, what);

/** Exact decimal string of a token amount ("1000.5"). */
export const formatTokens = (amount: bigint, decimals: number) => trimZero(formatUnits(amount, decimals));

/** Exact decimal string of a WAD value ("1.42"). */
export const formatWad = (value: bigint) => trimZero(formatUnits(value, 18));

/** Health for JSON: exact decimal, or null for an account without positions (infinite health). */
export const healthJson = (healthWad: bigint) => (healthWad === MaxUint256 ? null : formatWad(healthWad));

/** Health for people: 4 decimals, "∞" without positions. */
export function formatHealth(healthWad: bigint): string {
  if (healthWad === MaxUint256) return "∞";
  return fixed(healthWad, 18, 4);
}

/** A WAD value rounded half away from zero to `places` decimals, with thousands separators. */
export function fixed(value: bigint, decimals: number, places: number): string {
  const negative = value < 0n;
  let v = negative ? -value : value;
  const drop = 10n ** BigInt(decimals - places);
  v = (v + drop / 2n) / drop;
  const unit = 10n ** BigInt(places);
  const whole = (v / unit).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const frac = places > 0 ? "." + (v % unit).toString().padStart(places, "0") : "";
  return `${negative && v !== 0n ? "-" : ""}${whole}${frac}`;
}

/** USD amount (WAD) for people: 2 decimals. */
export const usd = (valueWad: bigint) => fixed(valueWad, 18, 2);

/** Percentage of a WAD probability or ratio for people ("0.123%"). */
export const percent = (valueWad: bigint, places = 3) => `${fixed(valueWad * 100n, 18, places)}%`;

/** `formatUnits` leaves "1000.0" for whole numbers: keep one decimal only when needed. */
function trimZero(s: string): string {
  return s.endsWith(".0") ? s.slice(0, -2) : s;
}

/** JSON.stringify with bigints as decimal strings. */
export function toJson(value: unknown, indent = 2): string {
  return JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v), indent);
}
