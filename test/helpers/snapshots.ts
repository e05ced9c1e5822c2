/**
 * Account snapshots for the strategy and planner tests, and a TypeScript reference of how the engine
 * values an account (MarginMath) and executes a plan. Every rounding mirrors the Solidity code: losses and
 * requirements round up, gains round down, token conversions round against the account.
 */
import { ZeroAddress } from "ethers";
import type {
  AccountSnapshotStruct,
  PlanStructOutput,
} from "../../typechain-types/contracts/mocks/RebalanceMathHarness";

export const WAD = 10n ** 18n;
/** Health of an account without positions (`type(uint256).max`). */
export const INFINITE_HEALTH = 2n ** 256n - 1n;
/** Token scale of a 6-decimals settlement token (USDC). */
export const USDC_SCALE = 10n ** 12n;
/** The engine's tolerance on overshooting a plan's target health. */
export const OVERSHOOT_TOLERANCE = 2n * 10n ** 16n;
/** Uncapped deleverage room. */
export const UNCAPPED = 2n ** 256n - 1n;

/** WAD from a decimal number or string (up to 18 decimals). */
export const wad = (x: number | string): bigint => {
  const [int, frac = ""] = String(x).split(".");
  const negative = int.startsWith("-");
  const value = BigInt(int.replace("-", "")) * WAD + BigInt((frac + "0".repeat(18)).slice(0, 18));
  return negative ? -value : value;
};

// ------------------------------------------------------------------------------------------ types

export interface Position {
  marketId: bigint;
  sizeWad: bigint;
  entryPriceWad: bigint;
  priceWad: bigint;
  imrWad: bigint;
  mmrWad: bigint;
  feeWad: bigint;
  penaltyWad: bigint;
}

export interface Policy {
  triggerHealthWad: bigint;
  targetHealthWad: bigint;
  sweepHealthWad: bigint;
  allowTopUp: boolean;
  allowDeleverage: boolean;
  maxKeeperRewardTokens: bigint;
  strategy: string;
}

export interface Snapshot {
  account: string;
  marginTokens: bigint;
  reserveTokens: bigint;
  equityWad: bigint;
  maintenanceWad: bigint;
  initialWad: bigint;
  healthWad: bigint;
  keeperRewardTokens: bigint;
  scale: bigint;
  policy: Policy;
  positions: Position[];
  volatilityWad: bigint[];
  deleverageRoomWad: bigint[];
}

export interface CloseStep {
  index: bigint;
  sizeWad: bigint;
}

export interface Plan {
  targetHealthWad: bigint;
  topUpTokens: bigint;
  closes: CloseStep[];
  sweepTokens: bigint;
}

// ------------------------------------------------------------------------------- reference math

export const abs = (x: bigint) => (x < 0n ? -x : x);
export const min = (a: bigint, b: bigint) => (a < b ? a : b);
export const max = (a: bigint, b: bigint) => (a > b ? a : b);
export const mulDivDown = (x: bigint, y: bigint, d: bigint) => (x * y) / d;
export const mulDivUp = (x: bigint, y: bigint, d: bigint) => (x * y + d - 1n) / d;
export const mulWadDown = (x: bigint, y: bigint) => mulDivDown(x, y, WAD);
export const mulWadUp = (x: bigint, y: bigint) => mulDivUp(x, y, WAD);
export const toTokenDown = (amountWad: bigint, scale: bigint) => amountWad / scale;
export const toTokenUp = (amountWad: bigint, scale: bigint) =>
  amountWad === 0n ? 0n : (amountWad - 1n) / scale + 1n;

/** `MarginMath.pnlWad`: gain rounded down, loss rounded up. */
export function pnlWad(sizeWad: bigint, entryPriceWad: bigint, priceWad: bigint): bigint {
  if (sizeWad === 0n || priceWad === entryPriceWad) return 0n;
  const priceUp = priceWad > entryPriceWad;
  const diff = abs(priceWad - entryPriceWad);
  const gain = sizeWad > 0n === priceUp;
  return gain ? mulWadDown(abs(sizeWad), diff) : -mulWadUp(abs(sizeWad), diff);
}

/** `MarginMath.notionalWad`, rounded up. */
export const notionalWad = (sizeWad: bigint, priceWad: bigint) => mulWadUp(abs(sizeWad), priceWad);

export const equityOf = (marginTokens: bigint, scale: bigint, positions: Position[]) =>
  positions.reduce((e, p) => e + pnlWad(p.sizeWad, p.entryPriceWad, p.priceWad), marginTokens * scale);
export const maintenanceOf = (positions: Position[]) =>
  positions.reduce((m, p) => m + mulWadUp(notionalWad(p.sizeWad, p.priceWad), p.mmrWad), 0n);
export const initialOf = (positions: Position[]) =>
  positions.reduce((m, p) => m + mulWadUp(notionalWad(p.sizeWad, p.priceWad), p.imrWad), 0n);

/** `CloseMath.toTokens`: a net realised amount settled in tokens, a gain rounded down and a loss up. */
export const settleTokens = (netWad: bigint, scale: bigint) =>
  netWad >= 0n ? toTokenDown(netWad, scale) : -toTokenUp(-netWad, scale);

/** `CloseMath.feeOn`: notional ⌈|size|·P⌉ and fee ⌈notional·rate⌉. */
export function feeOn(sizeWad: bigint, priceWad: bigint, feeRateWad: bigint) {
  const notional = notionalWad(sizeWad, priceWad);
  return { notionalWad: notional, feeWad: mulWadUp(notional, feeRateWad) };
}

/** `CloseMath.Effect`. */
export interface CloseEffect {
  notionalWad: bigint;
  feeWad: bigint;
  realisedPnlWad: bigint;
  netTokens: bigint;
  equityAfterWad: bigint;
  maintenanceAfterWad: bigint;
}

/**
 * `CloseMath.close`: closing `closeWad` of `p` (now of size `sizeWad`) on an account with `equityWad` and
 * `maintenanceWad`. The realised PnL less the fee settles in tokens; equity takes the settled net and the
 * change in unrealised PnL; maintenance the change of this position's term.
 */
export function closeEffect(
  p: Position,
  sizeWad: bigint,
  closeWad: bigint,
  equityWad: bigint,
  maintenanceWad: bigint,
  scale: bigint,
): CloseEffect {
  const remaining = sizeWad - closeWad;
  const { notionalWad: notional, feeWad } = feeOn(closeWad, p.priceWad, p.feeWad);
  const realisedPnlWad = pnlWad(closeWad, p.entryPriceWad, p.priceWad);
  const netTokens = settleTokens(realisedPnlWad - feeWad, scale);
  const term = (size: bigint) => mulWadUp(notionalWad(size, p.priceWad), p.mmrWad);
  return {
    notionalWad: notional,
    feeWad,
    realisedPnlWad,
    netTokens,
    equityAfterWad:
      equityWad +
      netTokens * scale +
      pnlWad(remaining, p.entryPriceWad, p.priceWad) -
      pnlWad(sizeWad, p.entryPriceWad, p.priceWad),
    maintenanceAfterWad: maintenanceWad + term(remaining) - term(sizeWad),
  };
}

/** `MarginMath.health`: rounded down; no requirement → infinite; non-positive equity → 0. */
export function healthOf(equityWad: bigint, maintenanceWad: bigint): bigint {
  if (maintenanceWad === 0n) return INFINITE_HEALTH;
  if (equityWad <= 0n) return 0n;
  return mulDivDown(equityWad, WAD, maintenanceWad);
}

// ------------------------------------------------------------------------------------- builders

/** Default market parameters (an ETH-like market). */
export const ETH_PARAMS = {
  imrWad: wad("0.1"),
  mmrWad: wad("0.05"),
  feeWad: wad("0.001"),
  penaltyWad: wad("0.02"),
};
/** A BTC-like market: lower requirement, lower fee. */
export const BTC_PARAMS = {
  imrWad: wad("0.08"),
  mmrWad: wad("0.04"),
  feeWad: wad("0.0005"),
  penaltyWad: wad("0.02"),
};

/** A position; defaults: ETH-like market parameters, entry at the current price, market id 1. */
export function position(p: Partial<Position> & { sizeWad: bigint; priceWad: bigint }): Position {
  return {
    marketId: 1n,
    entryPriceWad: p.priceWad,
    ...ETH_PARAMS,
    ...p,
  };
}

/** The default policy: trigger 1.2, target 1.5, sweep 2.5, top-up and deleverage allowed. */
export function policy(p: Partial<Policy> = {}): Policy {
  return {
    triggerHealthWad: wad("1.2"),
    targetHealthWad: wad("1.5"),
    sweepHealthWad: wad("2.5"),
    allowTopUp: true,
    allowDeleverage: true,
    maxKeeperRewardTokens: 10n ** 6n * 5n,
    strategy: ZeroAddress,
    ...p,
  };
}

export interface SnapshotInput {
  marginTokens: bigint;
  positions: Position[];
  reserveTokens?: bigint;
  keeperRewardTokens?: bigint;
  scale?: bigint;
  policy?: Partial<Policy>;
  volatilityWad?: bigint[];
  deleverageRoomWad?: bigint[];
}

/** A snapshot with equity, requirements and health computed as the engine does. */
export function snapshot(input: SnapshotInput): Snapshot {
  const scale = input.scale ?? USDC_SCALE;
  const equityWad = equityOf(input.marginTokens, scale, input.positions);
  const maintenanceWad = maintenanceOf(input.positions);
  return {
    account: "0x00000000000000000000000000000000000000A1",
    marginTokens: input.marginTokens,
    reserveTokens: input.reserveTokens ?? 0n,
    equityWad,
    maintenanceWad,
    initialWad: initialOf(input.positions),
    healthWad: healthOf(equityWad, maintenanceWad),
    keeperRewardTokens: input.keeperRewardTokens ?? 0n,
    scale,
    policy: policy(input.policy),
    positions: input.positions,
    volatilityWad: input.volatilityWad ?? input.positions.map(() => wad("0.8")),
    deleverageRoomWad: input.deleverageRoomWad ?? input.positions.map(() => UNCAPPED),
  };
}

/** Margin (token units, rounded up) that gives `positions` a health of at least `healthWad`. */
export function marginForHealth(positions: Position[], healthWad: bigint, scale = USDC_SCALE): bigint {
  const needWad = mulWadUp(maintenanceOf(positions), healthWad) - equityOf(0n, scale, positions);
  return needWad <= 0n ? 0n : toTokenUp(needWad, scale);
}

/** A snapshot of `positions` whose margin puts it at (just above) `healthWad`. */
export function snapshotAtHealth(healthWad: bigint, input: Omit<SnapshotInput, "marginTokens">): Snapshot {
  return snapshot({ ...input, marginTokens: marginForHealth(input.positions, healthWad, input.scale) });
}

/** The snapshot as the contract struct. */
export const toStruct = (s: Snapshot): AccountSnapshotStruct => s;

/** A contract plan as plain values. */
export function toPlan(p: PlanStructOutput): Plan {
  return {
    targetHealthWad: p.targetHealthWad,
    topUpTokens: p.topUpTokens,
    closes: p.closes.map((c) => ({ index: c.index, sizeWad: c.sizeWad })),
    sweepTokens: p.sweepTokens,
  };
}

export const isEmptyPlan = (p: Plan) =>
  p.targetHealthWad === 0n && p.topUpTokens === 0n && p.closes.length === 0 && p.sweepTokens === 0n;

// ------------------------------------------------------------------------------------ execution

export interface Execution {
  /** Health after the top-up, after each close, and at the end (sweep and keeper reward paid). */
  path: bigint[];
  /** The final health. */
  finalHealthWad: bigint;
  /** The account afterwards, as a new snapshot (same policy, market data and rooms minus what was used). */
  after: Snapshot;
}

/**
 * Executes `plan` on `s` the way the engine does, recomputing the account from scratch after every step:
 * top-up; each close settles its realised PnL less its fee (`closeEffect`), refused when the margin cannot
 * pay a net loss; then the sweep and the keeper reward leave margin. Throws where the engine would refuse.
 * An empty plan executes nothing and pays no reward.
 */
export function execute(s: Snapshot, plan: Plan): Execution {
  const positions = s.positions.map((p) => ({ ...p }));
  const rooms = [...s.deleverageRoomWad];
  if (plan.topUpTokens > s.reserveTokens) throw new Error("top-up exceeds reserve");
  let margin = s.marginTokens + plan.topUpTokens;
  const value = () => healthOf(equityOf(margin, s.scale, positions), maintenanceOf(positions));
  const path = [value()];
  for (const c of plan.closes) {
    const p = positions[Number(c.index)];
    if (!p || c.sizeWad === 0n || c.sizeWad > 0n !== p.sizeWad > 0n || abs(c.sizeWad) > abs(p.sizeWad)) {
      throw new Error(`invalid close ${c.index} ${c.sizeWad}`);
    }
    const { notionalWad: closedNotional, netTokens } = closeEffect(p, p.sizeWad, c.sizeWad, 0n, 0n, s.scale);
    if (netTokens < 0n && -netTokens > margin) throw new Error("loss exceeds margin");
    margin += netTokens;
    p.sizeWad -= c.sizeWad;
    const i = Number(c.index);
    if (rooms[i] !== UNCAPPED) {
      if (closedNotional > rooms[i]) throw new Error(`room exceeded in position ${i}`);
      rooms[i] -= closedNotional;
    }
    path.push(value());
  }
  const empty = plan.topUpTokens === 0n && plan.closes.length === 0 && plan.sweepTokens === 0n;
  let out = empty ? 0n : plan.sweepTokens + s.keeperRewardTokens;
  // A close-out (no position left) pays the keeper at most what the margin has left, as the engine does.
  const closedOut = plan.closes.length > 0 && positions.every((p) => p.sizeWad === 0n);
  if (out > margin && plan.sweepTokens === 0n && closedOut) out = margin;
  if (out > margin) throw new Error("margin cannot pay sweep and reward");
  margin -= out;
  path.push(value());
  const remaining = positions.filter((p) => p.sizeWad !== 0n);
  const kept = positions.map((p, i) => [p, i] as const).filter(([p]) => p.sizeWad !== 0n);
  const after = snapshot({
    marginTokens: margin,
    positions: remaining,
    reserveTokens: s.reserveTokens - plan.topUpTokens + plan.sweepTokens,
    keeperRewardTokens: s.keeperRewardTokens,
    scale: s.scale,
    policy: s.policy,
    volatilityWad: kept.map(([, i]) => s.volatilityWad[i]),
    deleverageRoomWad: kept.map(([, i]) => rooms[i]),
  });
  return { path, finalHealthWad: path[path.length - 1], after };
}
