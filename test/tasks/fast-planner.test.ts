/**
 * The fast engine's planner (tasks/lib/fast: closeMath, rebalanceMath, strategies) against the contracts it
 * ports, to the wei: `CloseMathHarness`, `RebalanceMathHarness`, `ThresholdStrategy` and
 * `VolatilityScaledStrategy` (the ignition defaults and three other parameter sets). Every field of every
 * plan and executed snapshot must be equal; where the contract reverts, the port must throw the same custom
 * error with the same arguments, or panic with the same code.
 *
 * Inputs: the unit tests' edge cases and a few hostile ones; seeded-random snapshots (1–3 positions, longs
 * and shorts, 6- and 18-decimal tokens, health ~0.3 to ~5, tiny or no margin, keeper rewards, tight rooms,
 * volatilities 0.1 to 3); the snapshots their plans lead to; random and malformed plans. The contracts are
 * called with raw `eth_call`s in sequence (the in-process node runs concurrent calls slower), while the
 * port runs ahead. FAST_PLANNER_RUNS and FAST_PLANNER_SEED change the random part.
 */
import { expect } from "chai";
import { ethers, network } from "hardhat";
import { AbiCoder, toBeHex, type BaseContract, type Interface, type ParamType, type Result } from "ethers";
import { DEFAULTS } from "../../ignition/modules/core";
import * as CM from "../../tasks/lib/fast/closeMath";
import * as RM from "../../tasks/lib/fast/rebalanceMath";
import { VolatilityScaledStrategyModel, thresholdPlan } from "../../tasks/lib/fast/strategies";
import type { AccountSnapshot, Plan } from "../../tasks/lib/fast/types";
import type { PositionData } from "../../tasks/lib/fast/wad";
import {
  BTC_PARAMS,
  ETH_PARAMS,
  UNCAPPED,
  USDC_SCALE,
  WAD,
  marginForHealth,
  notionalWad,
  position,
  snapshot,
  snapshotAtHealth,
  wad,
  type SnapshotInput,
} from "../helpers/snapshots";

const RUNS = Number(process.env.FAST_PLANNER_RUNS ?? 1500);
const SEED = Number(process.env.FAST_PLANNER_SEED ?? 20261206);
/** Calls queued before the test waits for them. */
const BATCH = 64;

// ------------------------------------------------------------------------------------------ outcomes

/** A call's result as plain data, or the revert: custom error name and arguments, or `Panic` and its code. */
type Outcome = { ok: true; value: unknown } | { ok: false; error: string; args: bigint[] };

const json = (x: unknown) => JSON.stringify(x, (_, v) => (typeof v === "bigint" ? v.toString() : v));

/** Computed or decoded values as plain data: objects with sorted keys, addresses in lower case. */
function plain(x: unknown): unknown {
  if (typeof x === "string") return x.toLowerCase();
  if (Array.isArray(x)) return Array.from(x, plain);
  if (x !== null && typeof x === "object") {
    const o = x as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(o)
        .sort()
        .map((k) => [k, plain(o[k])]),
    );
  }
  return x;
}

/** An ABI-decoded value of type `t` as plain data (structs as objects). */
function fromAbi(x: unknown, t: ParamType): unknown {
  if (t.baseType === "tuple")
    return Object.fromEntries(t.components!.map((c, i) => [c.name, fromAbi((x as Result)[i], c)]));
  if (t.baseType === "array") return Array.from(x as Result, (y) => fromAbi(y, t.arrayChildren!));
  return x;
}

/** Panic codes of the plain errors the port throws where Solidity's checked operations panic. */
function panicCode(message: string): bigint {
  if (/division by zero/i.test(message)) return 0x12n;
  if (/out of bounds/i.test(message)) return 0x32n;
  if (/underflow|overflow/i.test(message)) return 0x11n;
  return -1n;
}

function tsOutcome(f: () => unknown): Outcome {
  try {
    return { ok: true, value: plain(f()) };
  } catch (e) {
    if (e instanceof RM.RebalanceMathError) return { ok: false, error: e.errorName, args: e.args };
    // The RiskMath port's reverts: a signature, with a code for a panic.
    const revert = e as { signature?: string; code?: bigint };
    if (typeof revert.signature === "string") {
      if (revert.code !== undefined) return { ok: false, error: "Panic", args: [revert.code] };
      return { ok: false, error: revert.signature.split("(")[0], args: [] };
    }
    const message = (e as Error).message;
    const named = /^(\w+)\(([^)]*)\)/.exec(message); // the strategy model's `Name(arg, …)`
    if (named) return { ok: false, error: named[1], args: named[2] ? named[2].split(", ").map(BigInt) : [] };
    return { ok: false, error: "Panic", args: [panicCode(message)] };
  }
}

function revertData(e: unknown, depth = 0): string | undefined {
  if (!e || typeof e !== "object" || depth > 5) return undefined;
  const o = e as Record<string, unknown>;
  if (typeof o.data === "string" && o.data.startsWith("0x")) return o.data;
  for (const key of ["error", "info", "cause"]) {
    const found = revertData(o[key], depth + 1);
    if (found) return found;
  }
  return undefined;
}

function decodeRevert(iface: Interface, e: unknown): Outcome {
  const raw = revertData(e);
  if (raw?.startsWith("0x4e487b71"))
    return { ok: false, error: "Panic", args: [BigInt("0x" + raw.slice(10))] };
  const parsed = raw ? iface.parseError(raw) : null;
  if (!parsed) throw e;
  return { ok: false, error: parsed.name, args: [...parsed.args].map((x) => BigInt(x)) };
}

/**
 * Encoded arguments by their objects and types: the strategies' calls on a snapshot share one encoding, and
 * `execute`, `healthPath` and `healthAfter` on a snapshot and plan another (ABI encoding is slow).
 */
const encodedCache = new WeakMap<object, Map<unknown, Map<string, string>>>();

function calldata(iface: Interface, fn: string, args: unknown[]): string {
  const f = iface.getFunction(fn)!;
  const encode = () => AbiCoder.defaultAbiCoder().encode(f.inputs, args).slice(2);
  if (typeof args[0] !== "object" || args.length > 2) return f.selector + encode();
  const types = f.inputs.map((input) => input.format()).join(",");
  let bySecond = encodedCache.get(args[0] as object);
  if (!bySecond) encodedCache.set(args[0] as object, (bySecond = new Map()));
  let byTypes = bySecond.get(args[1]);
  if (!byTypes) bySecond.set(args[1], (byTypes = new Map()));
  let encoded = byTypes.get(types);
  if (encoded === undefined) byTypes.set(types, (encoded = encode()));
  return f.selector + encoded;
}

/**
 * `fn` of `contract` by a raw `eth_call`, its result as plain data: one output as itself, several as an
 * object when they are named (else an array).
 */
async function solOutcome(contract: BaseContract, fn: string, args: unknown[]): Promise<Outcome> {
  const iface = contract.interface;
  try {
    const params = [{ to: contract.target, data: calldata(iface, fn, args) }, "latest"];
    const raw = (await network.provider.request({ method: "eth_call", params })) as string;
    const outputs = iface.getFunction(fn)!.outputs;
    const result = iface.decodeFunctionResult(fn, raw);
    const values = outputs.map((t, i) => fromAbi(result[i], t));
    if (outputs.length === 1) return { ok: true, value: plain(values[0]) };
    const named = outputs.every((t) => t.name !== "");
    return {
      ok: true,
      value: plain(named ? Object.fromEntries(outputs.map((t, i) => [t.name, values[i]])) : values),
    };
  } catch (e) {
    return decodeRevert(iface, e);
  }
}

/** What an outcome was, for the tally: the revert's name, the kind of plan, or "ok". */
function shape(o: Outcome): string {
  if (!o.ok) return o.error;
  const p = o.value as Partial<Plan>;
  if (typeof p !== "object" || p === null || !Array.isArray(p.closes)) return "ok";
  if (p.sweepTokens !== 0n) return "sweep";
  if (p.topUpTokens === 0n && p.closes.length === 0) return p.targetHealthWad === 0n ? "empty" : "no-op";
  return [p.topUpTokens !== 0n && "top-up", p.closes.length !== 0 && "closes"].filter(Boolean).join("+");
}

/** Outcomes to compare: the port's, computed at once, and the contract's, called in sequence. */
class Comparisons {
  private queue: Promise<void> = Promise.resolve();
  private queued = 0;
  readonly mismatches: string[] = [];
  readonly tally = new Map<string, number>();
  compared = 0;

  add(label: string, input: unknown, ts: Outcome, sol: () => Promise<Outcome>) {
    this.queued++;
    this.queue = this.queue.then(async () => {
      const s = await sol();
      this.compared++;
      const key = `${label}: ${shape(ts)}`;
      this.tally.set(key, (this.tally.get(key) ?? 0) + 1);
      if (json(ts) !== json(s) && this.mismatches.length < 5) {
        this.mismatches.push(`${label}\n  input ${json(input)}\n  ts  ${json(ts)}\n  sol ${json(s)}`);
      }
    });
  }

  /** Waits for the queued calls (unless fewer than `BATCH` and not `force`d) and fails on any mismatch. */
  async flush(force = true) {
    if (!force && this.queued < BATCH) return;
    this.queued = 0;
    await this.queue;
    expect(this.mismatches, this.mismatches.join("\n\n")).to.deep.equal([]);
  }

  report() {
    const lines = [...this.tally.entries()].sort(([a], [b]) => a.localeCompare(b));
    console.log(
      `      ${this.compared} comparisons\n${lines.map(([k, n]) => `        ${k} ${n}`).join("\n")}`,
    );
  }
}

// ------------------------------------------------------------------------------------------ random

/** mulberry32: a small seeded generator, so that every run checks the same inputs. */
class Rng {
  constructor(private state: number) {}

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int = (lo: number, hi: number): number => lo + Math.floor(this.next() * (hi - lo + 1));
  chance = (p: number): boolean => this.next() < p;
  pick = <T>(xs: readonly T[]): T => xs[Math.floor(this.next() * xs.length)];

  /** Uniform in [lo, hi]. */
  big(lo: bigint, hi: bigint): bigint {
    let r = 0n;
    for (let i = 0; i < 8; i++) r = (r << 32n) | BigInt(Math.floor(this.next() * 2 ** 32));
    return lo + (r % (hi - lo + 1n));
  }

  /** Log-uniform real in [lo, hi] as WAD, with random wei digits below 1e-6. */
  wad(lo: number, hi: number): bigint {
    const x = Math.exp(Math.log(lo) + this.next() * (Math.log(hi) - Math.log(lo)));
    return BigInt(Math.round(x * 1e6)) * 10n ** 12n + this.big(0n, 10n ** 12n - 1n);
  }

  address(): string {
    return toBeHex(this.big(0n, 2n ** 160n - 1n), 20);
  }
}

/** A position (sometimes of size 0, sometimes with a fee above what closing it relieves) and its room. */
function randomPosition(rng: Rng, marketId: bigint, small: boolean): { p: PositionData; room: bigint } {
  const priceWad = rng.wad(0.01, 100_000);
  let sizeWad = ((small ? rng.wad(5, 500) : rng.wad(50, 300_000)) * WAD) / priceWad + 1n;
  if (rng.chance(0.5)) sizeWad = -sizeWad;
  if (rng.chance(0.03)) sizeWad = 0n;
  const move = rng.chance(0.15) ? 0n : BigInt(rng.int(-300, 300));
  const entryPriceWad = (priceWad * (1000n + move)) / 1000n + (move === 0n ? 0n : rng.big(0n, 999n));
  const mmrWad = rng.wad(0.005, 0.15);
  const kind = rng.next();
  const cap = mmrWad / 2n < wad("0.01") ? mmrWad / 2n : wad("0.01");
  const feeWad =
    kind < 0.2 ? 0n : kind < 0.27 ? (mmrWad * BigInt(rng.int(50, 500))) / 100n : rng.big(1n, cap);
  const imrWad = (mmrWad * BigInt(rng.int(100, 300))) / 100n;
  const penaltyWad = rng.wad(0.005, 0.02);
  const p = position({ marketId, sizeWad, priceWad, entryPriceWad, mmrWad, imrWad, feeWad, penaltyWad });
  const full = notionalWad(sizeWad, priceWad);
  // Uncapped (half the time), tight (≤ 2% of the notional), or up to 120% of it.
  const rooms = [
    UNCAPPED,
    (full * BigInt(rng.int(0, 200))) / 10_000n,
    (full * BigInt(rng.int(0, 120))) / 100n,
  ];
  return { p, room: rooms[rng.pick([0, 0, 0, 1, 2, 2])] };
}

function randomSnapshot(rng: Rng): AccountSnapshot {
  const scale = rng.chance(0.25) ? 1n : USDC_SCALE;
  const small = rng.chance(0.15);
  const markets = Array.from({ length: rng.int(1, 3) }, (_, i) => randomPosition(rng, BigInt(i + 1), small));
  const positions = markets.map((m) => m.p);
  const keeperRewardTokens = rng.chance(0.25) ? 0n : rng.wad(0.01, 20) / scale;
  const mode = rng.next();
  let marginTokens = marginForHealth(positions, rng.wad(0.3, 5), scale);
  if (mode < 0.1) marginTokens = 0n;
  else if (mode < 0.2) marginTokens = rng.big(0n, 20n * keeperRewardTokens + 10n);
  else if (mode < 0.3) marginTokens = (marginTokens * BigInt(rng.int(0, 100))) / 100n;
  const trigger = rng.wad(1.02, 3);
  const target = trigger + rng.wad(0.02, 1);
  const base = snapshot({
    marginTokens,
    positions,
    keeperRewardTokens,
    scale,
    policy: {
      triggerHealthWad: trigger,
      targetHealthWad: target,
      sweepHealthWad: rng.chance(0.4) ? 0n : target + rng.wad(0.02, 2),
      allowTopUp: rng.chance(0.6),
      allowDeleverage: rng.chance(0.75),
      maxKeeperRewardTokens: rng.big(0n, 10n ** 8n),
      strategy: rng.address(),
    },
    volatilityWad: positions.map(() => rng.wad(0.1, 3)),
    deleverageRoomWad: markets.map((m) => m.room),
  });
  const gapWad = RM.gap(base.equityWad, base.maintenanceWad, target, keeperRewardTokens * scale);
  const gapTokens = gapWad > 0n ? gapWad / scale + 1n : 0n;
  // None, up to twice the gap, plenty, or anything up to 1e9 token units.
  const reserves = [
    0n,
    (gapTokens * BigInt(rng.int(0, 200))) / 100n,
    10n ** 30n / scale,
    rng.big(0n, 10n ** 9n),
  ];
  return {
    ...base,
    account: rng.address(),
    reserveTokens: reserves[rng.pick([0, 0, 0, 1, 1, 1, 1, 2, 2, 3])],
  };
}

/** A random plan for `s`, often malformed: closes of any index, size and sign, top-ups, sweeps. */
function randomPlan(rng: Rng, s: AccountSnapshot): Plan {
  const closes = Array.from({ length: rng.int(0, 3) }, () => {
    const index = rng.chance(0.9) ? BigInt(rng.int(0, Math.max(0, s.positions.length - 1))) : 5n;
    const size = s.positions[Number(index)]?.sizeWad ?? WAD;
    const share = rng.pick([0n, 1n, 37n, 50n, 100n, 101n]);
    const sign = rng.chance(0.1) ? -1n : 1n;
    return { index, sizeWad: (sign * size * share) / 100n + (rng.chance(0.2) ? 1n : 0n) };
  });
  const topUpTokens = rng.chance(0.5) ? 0n : rng.big(0n, s.reserveTokens + 2n);
  const sweepTokens = rng.chance(0.7) ? 0n : rng.big(0n, s.marginTokens + 2n);
  return { targetHealthWad: rng.big(0n, 3n * WAD), topUpTokens, closes, sweepTokens };
}

const EMPTY: Plan = { targetHealthWad: 0n, topUpTokens: 0n, closes: [], sweepTokens: 0n };
const plan = (p: Partial<Plan> = {}): Plan => ({ ...EMPTY, ...p });
const isEmpty = (p: Plan) =>
  p.targetHealthWad === 0n && p.topUpTokens === 0n && p.closes.length === 0 && p.sweepTokens === 0n;

// ------------------------------------------------------------------------------------------ edge cases

const usdc = (x: number) => BigInt(x) * 10n ** 6n;
const R = usdc(5);
/** The unit tests' keeper reward, as snapshot input. */
const KR: Partial<SnapshotInput> = { keeperRewardTokens: R };
const eth = (p: Partial<PositionData> = {}) =>
  position({ marketId: 1n, sizeWad: wad(10), priceWad: wad(3000), ...ETH_PARAMS, ...p });
const btc = (p: Partial<PositionData> = {}) =>
  position({ marketId: 2n, sizeWad: wad("0.5"), priceWad: wad(60000), ...BTC_PARAMS, ...p });
/** A position of the given market parameters (imr twice mmr), entered at the price. */
const market = (marketId: bigint, sizeWad: bigint, priceWad: bigint, mmrWad: bigint, feeWad: bigint) =>
  position({ marketId, sizeWad, priceWad, mmrWad, feeWad, imrWad: 2n * mmrWad });
/** A snapshot of `positions` at health `h` (margin rounded up). */
const at = (h: string, positions: PositionData[], extra: Partial<SnapshotInput> = {}) =>
  snapshotAtHealth(wad(h), { positions, ...extra });
/** A snapshot of `positions` with `marginTokens`. */
const withMargin = (marginTokens: bigint, positions: PositionData[], extra: Partial<SnapshotInput> = {}) =>
  snapshot({ marginTokens, positions, ...extra });

/** The snapshots of the unit tests (RebalanceMath, VolatilityScaledStrategy), and hostile ones. */
function edgeSnapshots(): AccountSnapshot[] {
  const sweep = { policy: { sweepHealthWad: wad("2.5") }, ...KR };
  const junk = market(4n, wad(1000), wad(10), wad("0.006"), wad("0.01"));
  const sol = market(3n, wad(100), wad(150), wad("0.02"), 0n);
  const deep = at("0.015", [eth()], { policy: { allowTopUp: false } });
  const riskyMix = [
    market(1n, wad(10), wad(3000), wad("0.1"), wad("0.0005")),
    market(2n, wad(10), wad(3000), wad("0.02"), wad("0.001")),
  ];
  const reserve = (x: number) => ({ reserveTokens: usdc(x), ...KR });
  const vol = (...xs: string[]) => ({ volatilityWad: xs.map((x) => wad(x)) });
  const rooms = (...xs: bigint[]) => ({ deleverageRoomWad: xs });
  const list: AccountSnapshot[] = [
    at("1.6", [eth()], { reserveTokens: usdc(1000) }),
    withMargin(0n, [], { reserveTokens: usdc(1000), keeperRewardTokens: 5n }),
    ...[usdc(2251), usdc(2250), usdc(2250) - 1n].map((m) => withMargin(m, [eth()], reserve(1000))),
    at("1.1", [eth()], { reserveTokens: usdc(1000), policy: { allowTopUp: false, allowDeleverage: false } }),
    at("1.1", [eth()], { ...reserve(2), policy: { allowDeleverage: false } }),
    withMargin(usdc(1650), [eth()], reserve(10_000)),
    withMargin(usdc(1650), [eth({ priceWad: wad("3000.0000001") })], { reserveTokens: usdc(10_000) }),
    at("1.1", [eth(), btc()], reserve(300)),
    at("1.05", [eth(), btc({ sizeWad: -wad("0.3") })], {
      reserveTokens: wad(1e5),
      keeperRewardTokens: wad(3),
      scale: 1n,
    }),
    at("1.1", [eth(), btc()], KR),
    at("1.05", [eth({ sizeWad: -wad(10) }), btc({ sizeWad: wad("0.05") })], KR),
    at("1.1", [eth(), btc()], { ...KR, ...rooms(UNCAPPED, wad(2000)) }),
    at("1.1", [eth(), btc()], {
      ...reserve(100_000),
      ...rooms(wad(1000), wad(2000)),
      policy: { allowTopUp: false },
    }),
    at("1.1", [eth(), btc()], { ...reserve(10_000), ...rooms(wad(1000), wad(3000)) }),
    at("1.1", [junk, eth(), sol]),
    withMargin(
      usdc(1000),
      [eth({ entryPriceWad: wad(3500), feeWad: 0n }), btc({ entryPriceWad: wad(46000) })],
      KR,
    ),
    withMargin(usdc(1000), [eth({ entryPriceWad: wad(3500) }), btc({ entryPriceWad: wad(40000) })]),
    at("1.1", [eth({ feeWad: 0n })], KR),
    deep,
    { ...deep, reserveTokens: usdc(1000), policy: { ...deep.policy, allowTopUp: true } },
    withMargin(usdc(4500), [eth()], sweep),
    withMargin(usdc(500), [eth({ entryPriceWad: wad(2000) })], sweep),
    ...[4500, 3749, 3754, 3758, 3760].map((m) => withMargin(usdc(m), [eth({ imrWad: wad("0.06") })], sweep)),
    withMargin(usdc(100), [], sweep),
    // Close-out sized: equity at most ten keeper rewards; without room; with an empty position.
    at("1.1", [eth({ sizeWad: wad("0.01") })], KR),
    at("1.1", [eth({ sizeWad: wad("0.01") })], { ...KR, ...rooms(0n) }),
    at("1.1", [eth({ sizeWad: wad("0.01") }), btc({ sizeWad: 0n })], KR),
    // The volatility strategy's: calm, turbulent, a riskier mix after the closes, sweepable, in the band.
    at("1.6", [eth()], { ...vol("0.5"), ...reserve(10_000) }),
    at("1.4", [eth(), btc({ sizeWad: -wad("0.5") })], { ...vol("1.3", "0.3"), ...reserve(50_000) }),
    at("1.3", riskyMix, { ...vol("0.2", "1"), ...KR, policy: { allowTopUp: false } }),
    at("4", [eth({ imrWad: wad("0.06") })], { ...vol("0.5"), ...reserve(10_000) }),
    at("2.8", [eth()], { ...vol("1.2"), ...KR }),
    // Hostile: arrays shorter than the positions, a zero price, a zero scale.
    { ...at("1.1", [eth(), btc()]), deleverageRoomWad: [UNCAPPED] },
    { ...at("1.1", [eth(), btc()]), volatilityWad: [wad("0.5")] },
    withMargin(usdc(1000), [eth({ priceWad: 0n, entryPriceWad: wad(10) }), btc()]),
    { ...at("1.1", [eth()], KR), scale: 0n },
  ];
  // A net gain per unit one wei above the fee, on a fraction of a unit, with no margin: closing it settles
  // a one-token loss the margin cannot pay, and the planner's `uint256(int256(margin) + net)` wraps (then
  // overflows in `toWad` with a 6-decimals token, or in `mulDiv` with an 18-decimals one).
  for (let k = 1n; k <= 12n; k++) {
    const priceWad = wad(3) + k * 7_777_777n;
    const feeWad = wad("0.001");
    const entryPriceWad = priceWad - ((priceWad * feeWad + WAD - 1n) / WAD + 1n);
    const tiny = position({ sizeWad: (WAD * k) / 13n + k, priceWad, entryPriceWad, feeWad });
    for (const scale of [USDC_SCALE, 1n])
      list.push(withMargin(0n, [tiny], { keeperRewardTokens: WAD / scale, scale }));
  }
  return list;
}

/** The unit tests' malformed and hand-made plans, on their snapshots. */
function edgePlans(): [AccountSnapshot, Plan][] {
  const s = at("1.1", [eth(), btc()], { reserveTokens: usdc(100), ...KR });
  const underwater = withMargin(usdc(1000), [
    eth({ entryPriceWad: wad(3500) }),
    btc({ entryPriceWad: wad(40000) }),
  ]);
  const t = wad("1.5");
  const cl = (index: bigint, sizeWad: bigint) => ({ index, sizeWad });
  return [
    [s, plan({ targetHealthWad: t, topUpTokens: usdc(101) })],
    [s, plan({ targetHealthWad: t, closes: [cl(0n, -wad(1))] })],
    [s, plan({ targetHealthWad: t, closes: [cl(0n, wad(11))] })],
    [s, plan({ targetHealthWad: t, closes: [cl(1n, 0n)] })],
    [s, plan({ targetHealthWad: t, closes: [cl(2n, wad(1))] })],
    [s, plan({ closes: [cl(0n, wad(6)), cl(0n, wad(5))] })],
    [s, plan({ closes: [cl(0n, wad(10)), cl(1n, wad("0.5"))] })],
    [s, plan({ topUpTokens: usdc(50), closes: [cl(1n, wad("0.1")), cl(0n, wad(2))] })],
    [s, plan({ targetHealthWad: t })],
    [underwater, plan({ closes: [cl(0n, wad(10))] })],
    [underwater, plan({ sweepTokens: usdc(1001) })],
  ];
}

// ------------------------------------------------------------------------------------------ the test

describe("fast planner: the TypeScript port equals the contracts to the wei", function () {
  this.timeout(600_000);

  /** `VolatilityScaledStrategy` parameters: pMax, pTarget, horizon, turbulence volatility, multiplier. */
  type Params = [bigint, bigint, bigint, bigint, bigint];
  const VOL_PARAMS: Params[] = [
    Object.values(DEFAULTS.volatilityStrategy).map((x) => BigInt(x)) as Params, // in the constructor's order
    [wad("0.01"), wad("0.001"), 21_600n, wad("1.2"), wad("1.5")],
    [wad("0.05"), wad("0.0001"), 86_400n, wad("0.6"), wad("2")],
    [wad("0.3"), wad("0.2"), 30n * 86_400n, wad("2.5"), WAD],
  ];

  let rebalanceMath: BaseContract;
  let closeMath: BaseContract;
  let threshold: BaseContract;
  const strategies: { model: VolatilityScaledStrategyModel; contract: BaseContract }[] = [];

  before(async function () {
    rebalanceMath = await ethers.deployContract("RebalanceMathHarness");
    closeMath = await ethers.deployContract("CloseMathHarness");
    threshold = await ethers.deployContract("ThresholdStrategy");
    for (const args of VOL_PARAMS) {
      const contract = await ethers.deployContract("VolatilityScaledStrategy", args);
      strategies.push({ model: new VolatilityScaledStrategyModel(...args), contract });
    }
  });

  /** Compares `ts()` with `fn(...args)` of `contract`; returns the port's outcome. */
  function compare(
    c: Comparisons,
    contract: BaseContract,
    fn: string,
    args: unknown[],
    ts: () => unknown,
    label = fn,
  ) {
    const outcome = tsOutcome(ts);
    c.add(label, args, outcome, () => solOutcome(contract, fn, args));
    return outcome;
  }

  /**
   * The planner and simulation functions of `RebalanceMath` on `s`, at its policy's target and at another
   * one: every combination when `thorough`, else a random one of each (the EVM calls are the budget).
   */
  function compareRebalanceMath(c: Comparisons, rng: Rng, s: AccountSnapshot, thorough: boolean) {
    const targets = [s.policy.targetHealthWad, rng.wad(1.01, 4)];
    const plans: Plan[] = [];
    const keep = (o: Outcome) => o.ok && !isEmpty(o.value as Plan) && plans.push(o.value as Plan);
    for (const t of targets) {
      for (const prefer of thorough ? [false, true] : [rng.chance(0.5)]) {
        keep(compare(c, rebalanceMath, "planToTarget", [s, t, prefer], () => RM.planToTarget(s, t, prefer)));
      }
    }
    for (const t of thorough ? targets : [rng.pick(targets)]) {
      keep(compare(c, rebalanceMath, "planSweep", [s, t], () => RM.planSweep(s, t)));
      compare(c, rebalanceMath, "costOrder", [s.positions, t], () => RM.costOrder(s.positions, t));
    }
    if (thorough || rng.chance(0.25)) {
      const args = [s.equityWad, s.maintenanceWad, targets[1], s.keeperRewardTokens * s.scale] as const;
      compare(c, rebalanceMath, "gap", [...args], () => RM.gap(...args));
    }
    if (thorough || rng.chance(0.5)) plans.push(randomPlan(rng, s));
    if (thorough) plans.push(plan());
    for (const p of plans) compareExecution(c, s, p, thorough || rng.chance(0.1));
  }

  /** `execute`, `healthPath` and `healthAfter` of `p` on `s`; the port must leave `s` and `p` alone. */
  function compareExecution(c: Comparisons, s: AccountSnapshot, p: Plan, withHealthAfter = true) {
    const before = json([s, p]);
    compare(c, rebalanceMath, "execute", [s, p], () => RM.execute(s, p));
    compare(c, rebalanceMath, "healthPath", [s, p], () => RM.healthPath(s, p));
    if (withHealthAfter) compare(c, rebalanceMath, "healthAfter", [s, p], () => RM.healthAfter(s, p));
    expect(json([s, p]), "inputs unchanged").to.equal(before);
  }

  /**
   * `ThresholdStrategy` and the `VolatilityScaledStrategy` deployments `sets` on `s`; returns the port's
   * non-empty plans with the deployment that made them (-1: the threshold strategy).
   */
  function compareStrategies(c: Comparisons, s: AccountSnapshot, sets: number[]): [number, Plan][] {
    const before = json(s);
    const plans: [number, Plan][] = [];
    const t = compare(c, threshold, "plan", [s], () => thresholdPlan(s), "threshold.plan");
    if (t.ok) plans.push([-1, t.value as Plan]);
    for (const k of sets) {
      const { model, contract } = strategies[k];
      for (const fn of ["plan", "hitProbability", "targetHealth"] as const) {
        const o = compare(c, contract, fn, [s], () => model[fn](s), `volatility[${k}].${fn}`);
        if (fn === "plan" && o.ok) plans.push([k, o.value as Plan]);
      }
    }
    // The risk does not depend on the parameters.
    const { model, contract } = strategies[sets[0]];
    compare(
      c,
      contract,
      "portfolioRiskWad",
      [s],
      () => model.portfolioRiskWad(s),
      "volatility.portfolioRiskWad",
    );
    expect(json(s), "snapshot unchanged").to.equal(before);
    return plans.filter(([, p]) => !isEmpty(p));
  }

  /** The snapshot after `p` (the port's execution), when it executes. */
  function successor(s: AccountSnapshot, p: Plan): AccountSnapshot | undefined {
    try {
      return RM.execute(s, p);
    } catch {
      return undefined;
    }
  }

  it("CloseMath: close, feeOn, toTokens and healthRelief on random and extreme inputs", async function () {
    const rng = new Rng(SEED);
    const c = new Comparisons();
    for (let run = 0; run < 600; run++) {
      const p = randomPosition(rng, 1n, rng.chance(0.2)).p;
      const sizeWad = rng.chance(0.9) ? p.sizeWad : -p.sizeWad;
      const closeWad = (p.sizeWad * rng.big(0n, 110n)) / 100n + rng.big(-1n, 1n);
      const equityWad = rng.big(-(10n ** 24n), 10n ** 24n);
      const term = (notionalWad(sizeWad, p.priceWad) * p.mmrWad + WAD - 1n) / WAD;
      const maintenanceWad = rng.chance(0.9) ? term + rng.big(0n, 10n ** 22n) : rng.big(0n, term);
      const scale = rng.pick([USDC_SCALE, 1n, 10n ** 10n, 10n ** 12n + 1n, 0n]);
      const args = [p, sizeWad, closeWad, equityWad, maintenanceWad, scale] as const;
      compare(c, closeMath, "close", [...args], () => CM.close(...args));
      compare(c, closeMath, "feeOn", [closeWad, p.priceWad, p.feeWad], () => {
        const { notionalWad, feeWad } = CM.feeOn(closeWad, p.priceWad, p.feeWad);
        return [notionalWad, feeWad];
      });
      const netWad = rng.big(-(10n ** 25n), 10n ** 25n) / rng.pick([1n, 10n ** 6n, 10n ** 12n]);
      compare(c, closeMath, "toTokens", [netWad, scale], () => CM.toTokens(netWad, scale));
      const healthWad = rng.chance(0.1) ? 0n : rng.wad(0.01, 6);
      compare(c, closeMath, "healthRelief", [p, healthWad], () => CM.healthRelief(p, healthWad));
      await c.flush(false);
    }
    await c.flush();
    c.report();
  });

  it("VolatilityScaledStrategy: the constructor's checks", async function () {
    const ok = VOL_PARAMS[0];
    const year = 365n * 86_400n;
    const change = (i: number, x: bigint) => ok.map((y, j) => (j === i ? x : y)) as Params;
    const cases: Params[] = [
      change(1, 0n),
      change(1, ok[0]),
      change(0, WAD),
      [WAD - 1n, 1n, ok[2], ok[3], ok[4]],
      ...[0n, year, year + 1n].map((h) => change(2, h)),
      change(3, 0n),
      change(4, WAD - 1n),
      change(4, 4n * WAD + 1n),
    ];
    for (const args of cases) {
      const ts = tsOutcome(() => void new VolatilityScaledStrategyModel(...args));
      let sol: Outcome = { ok: true, value: undefined };
      try {
        await ethers.deployContract("VolatilityScaledStrategy", args);
      } catch (e) {
        sol = decodeRevert(strategies[0].contract.interface, e);
      }
      expect(json(ts), json(args)).to.equal(json(sol));
    }
  });

  it("RebalanceMath and the strategies: the unit tests' edge cases", async function () {
    const rng = new Rng(SEED + 1);
    const c = new Comparisons();
    const all = strategies.map((_, k) => k);
    for (const s of edgeSnapshots()) {
      compareRebalanceMath(c, rng, s, true);
      // The account after each strategy's plan, planned again by that strategy (and the threshold one).
      for (const [k, p] of compareStrategies(c, s, all)) {
        const next = successor(s, p);
        if (next) compareStrategies(c, next, [Math.max(k, 0)]);
      }
      await c.flush(false);
    }
    for (const [s, p] of edgePlans()) compareExecution(c, s, p);
    await c.flush();
    c.report();
  });

  it(`RebalanceMath and the strategies: ${RUNS} random snapshots, their successors and random plans`, async function () {
    const rng = new Rng(SEED + 2);
    const c = new Comparisons();
    const started = Date.now();
    for (let run = 0; run < RUNS; run++) {
      const s = randomSnapshot(rng);
      compareRebalanceMath(c, rng, s, false);
      const sets = [run % strategies.length];
      const plans = compareStrategies(c, s, sets);
      // One in five: the account after one of its plans (closed positions stay, size 0), planned again.
      if (plans.length > 0 && rng.chance(0.2)) {
        const [k, p] = rng.pick(plans);
        const next = successor(s, p);
        if (next) compareStrategies(c, next, k < 0 ? sets : [k]);
      }
      await c.flush(false);
    }
    await c.flush();
    c.report();
    console.log(`      ${RUNS} snapshots in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    if (RUNS < 500) return;
    // With enough runs, every kind of plan and every revert of the simulation was compared.
    const errors = ["InvalidClose", "LossExceedsMargin", "InsufficientMargin", "TopUpExceedsReserve"];
    for (const label of [
      ...["planToTarget", "threshold.plan"].flatMap((f) =>
        ["top-up", "closes", "top-up+closes"].map((k) => `${f}: ${k}`),
      ),
      ...strategies.flatMap((_, k) => ["closes", "top-up"].map((kind) => `volatility[${k}].plan: ${kind}`)),
      "planSweep: sweep",
      "threshold.plan: sweep",
      ...errors.map((e) => `execute: RebalanceMath${e}`),
    ]) {
      expect(c.tally.get(label) ?? 0, label).to.be.greaterThan(0);
    }
  });
});
