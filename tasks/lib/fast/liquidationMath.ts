/**
 * `LiquidationMath` (contracts/libraries/LiquidationMath.sol) in BigInt, bit-exact: how much of every
 * position a liquidation closes and who is paid what, in the order the margin pays (loss to LPs, fee,
 * liquidator reward, insurance share of the penalty; a loss left unpaid is bad debt).
 */
import { feeOn } from "./closeMath";
import {
  WAD,
  abs,
  divWadUp,
  maintenanceWad,
  mulWadDown,
  mulWadUp,
  notionalWad,
  pnlWad,
  toTokenDown,
  toTokenUp,
  type PositionData,
} from "./wad";

/** `IMarginEngine.LiquidationParams`. */
export interface LiquidationParams {
  targetHealthWad: bigint;
  liquidatorShareWad: bigint;
  maxLiquidatorRewardTokens: bigint;
}

/** `LiquidationMath.Outcome`. */
export interface LiquidationOutcome {
  closeSizesWad: bigint[];
  marginAfterTokens: bigint;
  traderDeltaTokens: bigint;
  insuranceTokens: bigint;
  rewardTokens: bigint;
  penaltyPaidTokens: bigint;
  badDebtTokens: bigint;
}

/** `LiquidationMath.plan`: the partial close to the target health, or everything when that is not paid. */
export function planLiquidation(
  marginTokens: bigint,
  equityWad: bigint,
  positions: PositionData[],
  params: LiquidationParams,
  scale: bigint,
): LiquidationOutcome {
  const fractionWad = closeFraction(equityWad, positions, params.targetHealthWad);
  let { out, fullyPaid } = settle(
    marginTokens,
    positions,
    fractionWad,
    params.liquidatorShareWad,
    params.maxLiquidatorRewardTokens,
    scale,
  );
  if (!fullyPaid && fractionWad < WAD) {
    ({ out } = settle(
      marginTokens,
      positions,
      WAD,
      params.liquidatorShareWad,
      params.maxLiquidatorRewardTokens,
      scale,
    ));
  }
  return out;
}

/** `LiquidationMath.closeFraction`. */
export function closeFraction(equityWad: bigint, positions: PositionData[], targetHealthWad: bigint): bigint {
  if (equityWad <= 0n) return WAD;
  let closeCost = 0n;
  for (const p of positions)
    closeCost += mulWadUp(notionalWad(p.sizeWad, p.priceWad), p.feeWad + p.penaltyWad);
  const target = mulWadUp(maintenanceWad(positions), targetHealthWad);
  if (target <= closeCost || equityWad >= target) return target <= closeCost ? WAD : 0n;
  const fraction = divWadUp(target - equityWad, target - closeCost);
  return fraction > WAD ? WAD : fraction;
}

const take = (available: bigint, wanted: bigint): bigint => (wanted < available ? wanted : available);

function settle(
  marginTokens: bigint,
  positions: PositionData[],
  fractionWad: bigint,
  liquidatorShareWad: bigint,
  maxRewardTokens: bigint,
  scale: bigint,
): { out: LiquidationOutcome; fullyPaid: boolean } {
  const closeSizesWad: bigint[] = [];
  let pnl = 0n;
  let fee = 0n;
  let penalty = 0n;
  for (const p of positions) {
    let closeSize = p.sizeWad;
    if (fractionWad < WAD) {
      const magnitude = mulWadUp(abs(p.sizeWad), fractionWad);
      closeSize = p.sizeWad > 0n ? magnitude : -magnitude;
    }
    closeSizesWad.push(closeSize);
    pnl += pnlWad(closeSize, p.entryPriceWad, p.priceWad);
    const f = feeOn(closeSize, p.priceWad, p.feeWad);
    fee += f.feeWad;
    penalty += mulWadUp(f.notionalWad, p.penaltyWad);
  }
  const profit = pnl > 0n ? toTokenDown(pnl, scale) : 0n;
  const loss = pnl < 0n ? toTokenUp(-pnl, scale) : 0n;
  const feeTokens = toTokenUp(fee, scale);
  const penaltyTokens = toTokenUp(penalty, scale);
  let reward = mulWadDown(penaltyTokens, liquidatorShareWad);
  if (reward > maxRewardTokens) reward = maxRewardTokens;

  let available = marginTokens + profit;
  const lossPaid = take(available, loss);
  available -= lossPaid;
  const feePaid = take(available, feeTokens);
  available -= feePaid;
  const rewardTokens = take(available, reward);
  available -= rewardTokens;
  const insuranceTokens = take(available, penaltyTokens - reward);
  available -= insuranceTokens;
  const out: LiquidationOutcome = {
    closeSizesWad,
    marginAfterTokens: available,
    traderDeltaTokens: profit - lossPaid - feePaid,
    insuranceTokens,
    rewardTokens,
    penaltyPaidTokens: rewardTokens + insuranceTokens,
    badDebtTokens: loss - lossPaid,
  };
  return {
    out,
    fullyPaid: lossPaid === loss && feePaid === feeTokens && out.penaltyPaidTokens === penaltyTokens,
  };
}
