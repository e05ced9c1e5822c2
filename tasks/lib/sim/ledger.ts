/**
 * What a replay records, whichever engine runs it (the contracts on the in-process chain, or the fast
 * BigInt model): per-round health, exposure and balances of every account, the engine's events turned
 * into `SimEvent`s, the time-weighted metrics, and at the end the per-policy metrics and per-account
 * outcomes of `SimResult`. Both replays feed it the same observations in the same order, so the two
 * results differ only where the engines do.
 */
import type { PricePoint } from "./prices";
import type { AccountOutcome, BookSpec, PolicyMetrics, SimAccount, SimEvent, SimResult } from "./runner";

/** An engine event: its name and arguments in declaration order (the account first). */
export interface RawEvent {
  name: string;
  args: readonly unknown[];
}

/** One round of the exact trace a differential test compares: events and state in wei and tokens. */
export interface TraceRound {
  round: number;
  /** Engine events of the round, by account index, numeric arguments only (addresses of actors left out). */
  events: { account: number; name: string; values: string[] }[];
  /** After the price moved, before anyone acted: health (WAD) and size (WAD) per account. */
  health: string[];
  size: string[];
  /** After the round's transactions: margin and reserve (tokens) per account. */
  margin: string[];
  reserve: string[];
}

const toUsd = (wad: bigint) => Number(wad) / 1e18;
const tokensToUsd = (tokens: bigint) => Number(tokens) / 1e6;
const MAX_UINT = 2n ** 256n - 1n;
const healthNumber = (wad: bigint) => (wad === MAX_UINT ? Infinity : Number(wad) / 1e18);
const abs = (x: bigint) => (x < 0n ? -x : x);
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const round2 = (x: number) => Math.round(x * 100) / 100;
const round4 = (x: number) => Math.round(x * 10_000) / 10_000;

/** Whether the latest event since `before` is a liquidation that left the account below health 1 (a
 *  liquidation bot then calls again in the same block). */
export function liquidatedBelowOne(events: SimEvent[], before: number): boolean {
  const last = events.at(-1);
  return events.length > before && last!.kind === "liquidation" && last!.healthAfter < 1;
}

export class ReplayLedger {
  readonly health: Record<string, number[]>;
  readonly exposure: Record<string, number[]>;
  readonly margin: Record<string, number[]>;
  readonly reserve: Record<string, number[]>;
  readonly sampledRounds: number[] = [];
  readonly events: SimEvent[] = [];
  readonly trace: TraceRound[] = [];
  /** Latest margin and reserve (tokens) per account, as the replay last read them. */
  readonly balances: Record<string, [bigint, bigint]> = {};
  private readonly gasByAccount: Record<string, bigint> = {};
  private readonly belowTrigger: Record<string, number>;
  private readonly exposureTime: Record<string, number>;
  private readonly byAddress: Map<string, SimAccount>;
  private readonly index: Map<string, number>;
  private previousTime = 0;
  private lastHealth: Record<string, number> = {};
  private lastExposure: Record<string, number> = {};
  /** Health per account at the latest observed round. */
  current: Record<string, number> = {};

  constructor(
    readonly accounts: SimAccount[],
    private readonly book: BookSpec,
    private readonly sampleEvery: number,
    private readonly tracing: boolean,
  ) {
    const each = <T>(f: () => T) => Object.fromEntries(accounts.map((a) => [a.address, f()]));
    this.health = each(() => []);
    this.exposure = each(() => []);
    this.margin = each(() => []);
    this.reserve = each(() => []);
    this.belowTrigger = each(() => 0);
    this.exposureTime = each(() => 0);
    this.byAddress = new Map(accounts.map((a) => [a.address.toLowerCase(), a]));
    this.index = new Map(accounts.map((a, k) => [a.address.toLowerCase(), k]));
  }

  setBalances(address: string, marginTokens: bigint, reserveTokens: bigint) {
    this.balances[address] = [marginTokens, reserveTokens];
  }

  /** Round `i` at series time `timestamp`: health and size of every account after the price moved. */
  observe(
    i: number,
    timestamp: number,
    rounds: number,
    healths: readonly bigint[],
    sizes: readonly bigint[],
  ) {
    const dt = timestamp - this.previousTime;
    if (i > 0) {
      for (const a of this.accounts) {
        if ((this.lastHealth[a.address] ?? Infinity) < this.book.triggerHealth)
          this.belowTrigger[a.address] += dt;
        this.exposureTime[a.address] += (this.lastExposure[a.address] ?? 1) * dt;
      }
    }
    this.previousTime = timestamp;
    const sample = i % this.sampleEvery === 0 || i === rounds - 1;
    const current: Record<string, number> = {};
    const currentExposure: Record<string, number> = {};
    for (const [k, a] of this.accounts.entries()) {
      const h = healthNumber(healths[k]);
      current[a.address] = h;
      currentExposure[a.address] = Number(abs(sizes[k])) / Number(abs(a.initialSizeWad));
      if (sample) {
        const [m, r] = this.balances[a.address];
        this.health[a.address].push(h);
        this.exposure[a.address].push(currentExposure[a.address]);
        this.margin[a.address].push(tokensToUsd(m));
        this.reserve[a.address].push(tokensToUsd(r));
      }
    }
    if (sample) this.sampledRounds.push(i);
    this.current = current;
    this.lastHealth = current;
    this.lastExposure = currentExposure;
    if (this.tracing) {
      this.trace.push({
        round: i,
        events: [],
        health: healths.map(String),
        size: sizes.map(String),
        margin: [],
        reserve: [],
      });
    }
  }

  /** Closes the round's trace with every account's balances. */
  endRound() {
    if (!this.tracing) return;
    const t = this.trace[this.trace.length - 1];
    t.margin = this.accounts.map((a) => String(this.balances[a.address][0]));
    t.reserve = this.accounts.map((a) => String(this.balances[a.address][1]));
  }

  /**
   * The engine events of one transaction (or one engine call), sent by `by` at round `round`; `gasUsed`
   * is shared equally by the accounts it touched. Returns the addresses of the accounts it touched.
   */
  record(
    raw: readonly RawEvent[],
    round: number,
    timestamp: number,
    by: SimEvent["by"],
    gasUsed = 0n,
  ): string[] {
    const fees = new Map<string, number>();
    const touched = new Set<string>();
    for (const log of raw) {
      const key = String(log.args[0]).toLowerCase();
      const account = this.byAddress.get(key);
      if (account === undefined) continue;
      touched.add(key);
      const args = log.args as bigint[];
      if (this.tracing) {
        const values = args.filter((v) => typeof v === "bigint").map(String);
        this.trace[this.trace.length - 1].events.push({
          account: this.index.get(key)!,
          name: log.name,
          values,
        });
      }
      const base = { round, timestamp, account: account.address, by };
      if (log.name === "PositionModified") {
        fees.set(key, (fees.get(key) ?? 0) + tokensToUsd(args[7]));
      } else if (log.name === "Rebalanced") {
        this.events.push({
          ...base,
          kind: "rebalance",
          toppedUpUsd: tokensToUsd(args[4]),
          deleveragedUsd: toUsd(args[5]),
          feesUsd: fees.get(key) ?? 0,
          rewardUsd: tokensToUsd(args[7]),
          badDebtUsd: 0,
          healthBefore: healthNumber(args[2]),
          healthAfter: healthNumber(args[3]),
        });
        fees.delete(key);
      } else if (log.name === "Liquidated") {
        this.events.push({
          ...base,
          kind: "liquidation",
          toppedUpUsd: 0,
          deleveragedUsd: toUsd(args[4]),
          feesUsd: (fees.get(key) ?? 0) + tokensToUsd(args[5]),
          rewardUsd: tokensToUsd(args[6]),
          badDebtUsd: tokensToUsd(args[7]),
          healthBefore: healthNumber(args[2]),
          healthAfter: healthNumber(args[3]),
        });
        fees.delete(key);
      } else if (log.name === "Rescued") {
        this.events.push({
          ...base,
          kind: "rescue",
          toppedUpUsd: tokensToUsd(args[1]),
          deleveragedUsd: 0,
          feesUsd: 0,
          rewardUsd: 0,
          badDebtUsd: 0,
          healthBefore: 0,
          healthAfter: healthNumber(args[2]),
        });
      }
    }
    if (touched.size > 0 && gasUsed > 0n) {
      const share = gasUsed / BigInt(touched.size);
      for (const a of touched) this.gasByAccount[a] = (this.gasByAccount[a] ?? 0n) + share;
    }
    return [...touched].map((k) => this.byAddress.get(k)!.address);
  }

  /** The result: per-policy metrics and per-account outcomes against the hindsight yardstick. */
  finish(
    rounds: PricePoint[],
    hindsight: Record<string, number>,
    liquidatorFirst: boolean,
    wallSeconds: number,
  ): SimResult {
    const span = Math.max(1, rounds[rounds.length - 1].timestamp - rounds[0].timestamp);
    const { accounts, events, book } = this;
    const metrics: Record<string, PolicyMetrics> = {};
    for (const policy of book.policies) {
      const mine = accounts.filter((a) => a.policy === policy);
      const set = new Set(mine.map((a) => a.address));
      const own = events.filter((e) => set.has(e.account));
      const liquidations = own.filter((e) => e.kind === "liquidation");
      const liquidated = new Set(liquidations.map((e) => e.account));
      // A loop, not `Math.min(...)`: a long series with a large book has more samples than call arguments.
      let minHealth = Infinity;
      for (const a of mine) {
        for (const h of this.health[a.address]) if (Number.isFinite(h) && h < minHealth) minHealth = h;
      }
      const protectedNotional = sum(mine.map((a) => a.initialNotionalUsd));
      const feesPaid = round2(sum(own.map((e) => e.feesUsd)));
      const keeperRewards = round2(sum(own.map((e) => e.rewardUsd)));
      const kept = sum(mine.map((a) => this.exposureTime[a.address] / span));
      const optimal = sum(mine.map((a) => hindsight[a.address]));
      metrics[policy] = {
        accounts: mine.length,
        liquidations: liquidations.length,
        liquidatedAccounts: liquidated.size,
        liquidationsAtOrBelow10x: mine.filter((a) => a.leverage <= 10 && liquidated.has(a.address)).length,
        badDebt: round2(sum(liquidations.map((e) => e.badDebtUsd))),
        rebalances: own.filter((e) => e.kind === "rebalance").length,
        topUpVolume: round2(sum(own.map((e) => e.toppedUpUsd))),
        deleveragedNotional: round2(sum(own.map((e) => e.deleveragedUsd))),
        feesPaid,
        keeperRewards,
        gasUsed: Number(sum(mine.map((a) => Number(this.gasByAccount[a.address.toLowerCase()] ?? 0n)))),
        minHealth: Number.isFinite(minHealth) ? round4(minHealth) : 0,
        secondsBelowTrigger: sum(mine.map((a) => this.belowTrigger[a.address])),
        exposureRetained: round4(kept / mine.length),
        protectedNotional: round2(protectedNotional),
        costShare:
          protectedNotional > 0 ? Number(((feesPaid + keeperRewards) / protectedNotional).toFixed(6)) : 0,
        hindsightExposure: round4(optimal / mine.length),
        exposureVsHindsight: optimal > 0 ? round4(kept / optimal) : 0,
      };
    }
    const outcomes: AccountOutcome[] = accounts.map((a) => ({
      address: a.address,
      policy: a.policy,
      leverage: a.leverage,
      side: a.side,
      liquidations: events.filter((e) => e.kind === "liquidation" && e.account === a.address).length,
      exposureKept: round4(this.exposureTime[a.address] / span),
      hindsightExposure: round4(hindsight[a.address]),
    }));
    return {
      rounds,
      book,
      accounts,
      health: this.health,
      exposure: this.exposure,
      margin: this.margin,
      reserve: this.reserve,
      sampledRounds: this.sampledRounds,
      events,
      metrics,
      outcomes,
      liquidatorFirst,
      wallSeconds,
      trace: this.tracing ? this.trace : undefined,
    };
  }
}
