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

export { WAD } from "../../tasks/lib/fast/wad";
import { WAD } from "../../tasks/lib/fast/wad";
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

// -------------------------------------------------------------------------- types and money rules

// The engine's types and its valuation and close rules, from the fast engine's ports (each tested to the
// wei against its contract: test/tasks/fast-planner.test.ts, fast-math.test.ts).
export type {
  PositionData as Position,
  Policy,
  AccountSnapshot as Snapshot,
  CloseStep,
  Plan,
} from "../../tasks/lib/fast/types";
export type { CloseEffect } from "../../tasks/lib/fast/closeMath";
export {
  abs,
  min,
  max,
  mulDivDown,
  mulDivUp,
  mulWadDown,
  mulWadUp,
  toTokenDown,
  toTokenUp,
  pnlWad,
  notionalWad,
  health as healthOf,
} from "../../tasks/lib/fast/wad";
export { feeOn, toTokens as settleTokens, close as closeEffect } from "../../tasks/lib/fast/closeMath";
import type {
  PositionData as Position,
  Policy,
  AccountSnapshot as Snapshot,
} from "../../tasks/lib/fast/types";
import type { Plan } from "../../tasks/lib/fast/types";
import { abs, health as healthOf, mulWadUp, notionalWad, pnlWad, toTokenUp } from "../../tasks/lib/fast/wad";
import { close as closeEffect } from "../../tasks/lib/fast/closeMath";

export const equityOf = (marginTokens: bigint, scale: bigint, positions: Position[]) =>
  positions.reduce((e, p) => e + pnlWad(p.sizeWad, p.entryPriceWad, p.priceWad), marginTokens * scale);
export const maintenanceOf = (positions: Position[]) =>
  positions.reduce((m, p) => m + mulWadUp(notionalWad(p.sizeWad, p.priceWad), p.mmrWad), 0n);
export const initialOf = (positions: Position[]) =>
  positions.reduce((m, p) => m + mulWadUp(notionalWad(p.sizeWad, p.priceWad), p.imrWad), 0n);

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
    const { notionalWad: closedNotional, netTokens } = closeEffect(
      p,
      p.sizeWad,
      c.sizeWad,
      0n,
      maintenanceOf(positions),
      s.scale,
    );
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
