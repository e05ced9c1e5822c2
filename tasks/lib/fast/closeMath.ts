/**
 * `CloseMath` (contracts/libraries/CloseMath.sol) in BigInt, for the fast engine: what closing part of a
 * position does to an account. Bit-exact with the library: same operations, same rounding, in the same order.
 */
import { ceilDiv, mulWadDown, mulWadUp, notionalWad, pnlWad, uint, type PositionData } from "./wad";

/** `CloseMath.Effect`: what a close does. */
export interface CloseEffect {
  /** `⌈|c|·P⌉`. */
  notionalWad: bigint;
  /** `⌈notional·fee⌉`. */
  feeWad: bigint;
  /** `pnl(c)`. */
  realisedPnlWad: bigint;
  /** `pnl(c) − fee`, settled in token units (`toTokens`). */
  netTokens: bigint;
  /** The account's equity after the close. */
  equityAfterWad: bigint;
  /** The account's maintenance requirement after the close. */
  maintenanceAfterWad: bigint;
}

/**
 * `CloseMath.close`: the effect of closing `closeWad` of position `p` whose size is now `sizeWad`, on an
 * account with `equityWad` and `maintenanceWad`. Does not check the close's sign or size; callers do.
 */
export function close(
  p: PositionData,
  sizeWad: bigint,
  closeWad: bigint,
  equityWad: bigint,
  maintenanceWad: bigint,
  scale: bigint,
): CloseEffect {
  const remaining = sizeWad - closeWad;
  const { notionalWad: notional, feeWad } = feeOn(closeWad, p.priceWad, p.feeWad);
  const realisedPnlWad = pnlWad(closeWad, p.entryPriceWad, p.priceWad);
  const netTokens = toTokens(realisedPnlWad - feeWad, scale);
  const equityAfterWad =
    equityWad +
    netTokens * scale +
    pnlWad(remaining, p.entryPriceWad, p.priceWad) -
    pnlWad(sizeWad, p.entryPriceWad, p.priceWad);
  const maintenanceAfterWad = uint(
    maintenanceWad +
      mulWadUp(notionalWad(remaining, p.priceWad), p.mmrWad) -
      mulWadUp(notionalWad(sizeWad, p.priceWad), p.mmrWad),
  );
  return { notionalWad: notional, feeWad, realisedPnlWad, netTokens, equityAfterWad, maintenanceAfterWad };
}

/** `CloseMath.feeOn`: notional `⌈|size|·P⌉` and fee `⌈notional·rate⌉` on trading `sizeWad` at `priceWad`. */
export function feeOn(
  sizeWad: bigint,
  priceWad: bigint,
  feeRateWad: bigint,
): { notionalWad: bigint; feeWad: bigint } {
  const notional = notionalWad(sizeWad, priceWad);
  return { notionalWad: notional, feeWad: mulWadUp(notional, feeRateWad) };
}

/** `CloseMath.toTokens`: a net realised amount (WAD) in token units, a gain rounded down and a loss up. */
export function toTokens(netWad: bigint, scale: bigint): bigint {
  if (scale === 0n) throw new Error("division by zero");
  return netWad >= 0n ? netWad / scale : -ceilDiv(-netWad, scale);
}

/** `CloseMath.healthRelief`: health relief per unit of notional closed at `healthWad` (`h·mmr − fee`, down). */
export function healthRelief(p: PositionData, healthWad: bigint): bigint {
  return uint(mulWadDown(healthWad, p.mmrWad) - p.feeWad);
}
