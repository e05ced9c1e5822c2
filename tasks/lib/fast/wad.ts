/**
 * `WadMath` and `MarginMath` (contracts/libraries) in BigInt, for the fast engine. Every function rounds as
 * its Solidity twin names it; BigInt is exact, so `mulDiv` needs no 512-bit detour. Arguments the contracts
 * type `uint256` must be non-negative: `uint` throws on a negative result, as checked arithmetic would.
 * Outside the protocol's domain the ports do not revert where the contracts would: a `mulDiv` result above
 * 2**256 − 1 and `abs(type(int256).min)`.
 */

export const WAD = 10n ** 18n;
/** `ConstantsLib.INFINITE_HEALTH` (`type(uint256).max`). */
export const INFINITE_HEALTH = 2n ** 256n - 1n;

/** A uint256 result: throws below zero (Solidity's checked arithmetic would revert). */
export function uint(x: bigint): bigint {
  if (x < 0n) throw new Error(`uint256 underflow: ${x}`);
  return x;
}

export const abs = (x: bigint): bigint => (x < 0n ? -x : x);
export const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);
export const max = (a: bigint, b: bigint): bigint => (a > b ? a : b);

export function mulDivDown(x: bigint, y: bigint, d: bigint): bigint {
  if (d === 0n) throw new Error("division by zero");
  return (x * y) / d;
}

export function mulDivUp(x: bigint, y: bigint, d: bigint): bigint {
  if (d === 0n) throw new Error("division by zero");
  const p = x * y;
  return p / d + (p % d === 0n ? 0n : 1n);
}

export const mulWadDown = (x: bigint, y: bigint): bigint => mulDivDown(x, y, WAD);
export const mulWadUp = (x: bigint, y: bigint): bigint => mulDivUp(x, y, WAD);
export const divWadDown = (x: bigint, y: bigint): bigint => mulDivDown(x, WAD, y);
export const divWadUp = (x: bigint, y: bigint): bigint => mulDivUp(x, WAD, y);
/** `Math.ceilDiv`. */
export const ceilDiv = (x: bigint, y: bigint): bigint => (x === 0n ? 0n : (x - 1n) / y + 1n);

export const toWad = (amountTokens: bigint, scale: bigint): bigint => amountTokens * scale;
export const toTokenDown = (amountWad: bigint, scale: bigint): bigint => amountWad / scale;
export const toTokenUp = (amountWad: bigint, scale: bigint): bigint =>
  amountWad === 0n ? 0n : (amountWad - 1n) / scale + 1n;

/** `MarginMath.PositionData`. */
export interface PositionData {
  marketId: bigint;
  sizeWad: bigint;
  entryPriceWad: bigint;
  priceWad: bigint;
  imrWad: bigint;
  mmrWad: bigint;
  feeWad: bigint;
  penaltyWad: bigint;
}

/** `MarginMath.pnlWad`: gains rounded down, losses up. */
export function pnlWad(sizeWad: bigint, entryPriceWad: bigint, priceWad: bigint): bigint {
  if (sizeWad === 0n || priceWad === entryPriceWad) return 0n;
  const priceUp = priceWad > entryPriceWad;
  const diff = priceUp ? priceWad - entryPriceWad : entryPriceWad - priceWad;
  const gain = sizeWad > 0n === priceUp;
  const size = abs(sizeWad);
  return gain ? mulWadDown(size, diff) : -mulWadUp(size, diff);
}

/** `MarginMath.notionalWad`: |size|·price rounded up. */
export const notionalWad = (sizeWad: bigint, priceWad: bigint): bigint => mulWadUp(abs(sizeWad), priceWad);

/** `MarginMath.requirements`: equity, maintenance and initial requirement in one pass. */
export function requirements(
  marginWad: bigint,
  positions: PositionData[],
): { equity: bigint; maintenance: bigint; initial: bigint } {
  let equity = marginWad;
  let maintenance = 0n;
  let initial = 0n;
  for (const p of positions) {
    equity += pnlWad(p.sizeWad, p.entryPriceWad, p.priceWad);
    const notional = notionalWad(p.sizeWad, p.priceWad);
    maintenance += mulWadUp(notional, p.mmrWad);
    initial += mulWadUp(notional, p.imrWad);
  }
  return { equity, maintenance, initial };
}

/** `MarginMath.equityWad`. */
export function equityWad(marginWad: bigint, positions: PositionData[]): bigint {
  return requirements(marginWad, positions).equity;
}

/** `MarginMath.maintenanceWad`. */
export function maintenanceWad(positions: PositionData[]): bigint {
  return requirements(0n, positions).maintenance;
}

/** `MarginMath.health`: equity / maintenance rounded down; infinite without a requirement, 0 at or below 0. */
export function health(equity: bigint, maintenance: bigint): bigint {
  if (maintenance === 0n) return INFINITE_HEALTH;
  if (equity <= 0n) return 0n;
  return divWadDown(equity, maintenance);
}

/** `MarginMath.healthOf`. */
export function healthOf(marginWad: bigint, positions: PositionData[]): bigint {
  const r = requirements(marginWad, positions);
  return health(r.equity, r.maintenance);
}

/** `MarginMath.averageEntryWad`: up for a long addition, down for a short one. */
export function averageEntryWad(
  sizeWad: bigint,
  entryPriceWad: bigint,
  addWad: bigint,
  priceWad: bigint,
): bigint {
  const oldSize = abs(sizeWad);
  const addSize = abs(addWad);
  const total = oldSize + addSize;
  const weighted = oldSize * entryPriceWad + addSize * priceWad;
  return addWad > 0n ? ceilDiv(weighted, total) : weighted / total;
}
