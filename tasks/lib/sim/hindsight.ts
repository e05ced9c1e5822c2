/**
 * The hindsight yardstick for "exposure kept": the largest share of an account's opening position it
 * could have held through the whole price path without ever becoming liquidatable, had its owner known
 * the path in advance and cut the position once, at the first round, paying the same trading fee.
 *
 * The account as the backtest opens it: margin `marginUsd` after the opening fee, a reserve `reserveUsd`
 * the owner may move into margin (counted in full: the hindsight owner moves it at the start), a
 * position of `sizeWad` (signed) at `entryPrice`, in a market with maintenance margin `mmr` and fee
 * rate `fee`. Keeping a share `f` of the size costs the fee on the part closed, at the first round's
 * price `p0`: `c·(1 − f)` with `c = fee·|s|·p0`. At any later price `P` the account is not liquidatable
 * when equity ≥ maintenance:
 *
 *     M + R − c·(1 − f) + f·s·(P − e) ≥ f·|s|·P·mmr   ⇔   (M + R − c) + f·k(P) ≥ 0,
 *     k(P) = c + s·(P − e) − |s|·P·mmr.
 *
 * Where `k(P) ≥ 0` every share passes; where `k(P) < 0` the share is at most `(M + R − c) / −k(P)`.
 * The yardstick is the least of these over the path, capped at 1. A policy that reduces only when it
 * needs to can keep more than it on average (its share of the hindsight exposure then exceeds 100%); a
 * policy that closes early keeps less.
 *
 * Numbers, not WAD: this is a yardstick for a report, not a money rule of the protocol.
 */
export interface HindsightAccount {
  marginUsd: number;
  reserveUsd: number;
  /** Signed size in units of the asset. */
  size: number;
  entryPrice: number;
}

export interface HindsightMarket {
  /** Maintenance margin rate (0.02 = 2%). */
  mmr: number;
  /** Trading fee rate on the notional closed. */
  fee: number;
}

/** The largest share (0…1) of the opening size that keeps the account out of liquidation on `prices`. */
export function hindsightExposure(
  account: HindsightAccount,
  market: HindsightMarket,
  prices: number[],
): number {
  if (account.size === 0 || prices.length === 0) return 1;
  const s = account.size;
  const abs = Math.abs(s);
  const cost = market.fee * abs * prices[0];
  const capital = account.marginUsd + account.reserveUsd - cost;
  if (capital < 0) return 0;
  let share = 1;
  for (const p of prices) {
    const k = cost + s * (p - account.entryPrice) - abs * p * market.mmr;
    if (k < 0) share = Math.min(share, capital / -k);
  }
  return Math.max(0, share);
}
