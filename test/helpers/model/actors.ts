import { expect } from "chai";
import { USDC_SCALE, WAD } from "../snapshots";
import type { ProtocolEvent, Snapshot, World } from "./world";

/** The models' order of markets (`MARKETS` in world.ts). */
const MARKET_NAMES = ["ETH", "BTC"] as const;
/** Rounding the engine may leave on a negative equity (in WAD, one millionth of a token unit). */
const NEGATIVE_EQUITY_DUST = 10n ** 6n;
/**
 * Rounding allowed in an actor's books: one token unit (10⁻⁶ USD) over a whole sequence. Entry prices are
 * averaged in WAD and PnL is truncated per position, so worth and entitlement differ by wei of WAD per
 * position and command; nothing an attack could use (the review's attacks paid hundreds of USDC).
 */
const BOOK_ROUNDING = USDC_SCALE;

const abs = (x: bigint) => (x < 0n ? -x : x);
const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/**
 * Each actor's economic account: an actor is one honest trader, or the adversary with its two accounts.
 *
 * - **Worth** `G`: its tokens outside the protocol, its margin and reserve, and its open positions marked
 *   at the prices the protocol marks them at (`Snapshot.marks`: the adapter's price when `Ok`, else its
 *   last good price), all in WAD.
 * - **Entitlement** `E`: what the price moves of the positions it actually held entitle it to,
 *   `Σ size · Δmark` over every command. Positions change only at committed prices (an order at the first
 *   round after it, a rebalance the owner arranged at a round after the owner's action: asserted by
 *   `checkCommittedFills`), so `E` is the PnL of its positions at committed prices.
 * - **Pay for work on others** `W`: liquidator rewards and keeper rewards earned on accounts that are not
 *   its own.
 * - **Written-off loss** `X`: bad debt recorded on its accounts, up to the negative equity they had when
 *   liquidated; negative equity arises only from gaps the protocol does not promise to absorb (asserted by
 *   `checkUnderwaterOnlyThroughGaps`).
 *
 * Invariant: `G − G₀ ≤ E + W + X` after every command (to one token unit of rounding). Fees, penalties and rounding all make the left side
 * smaller; anything an actor takes from LPs, insurance or another trader beyond that is a violation.
 */
export class ActorBook {
  readonly start: bigint[];
  readonly entitlement: bigint[];
  readonly work: bigint[];
  readonly writtenOff: bigint[];
  /** Largest `G − G₀ − (E + W + X)` seen per actor (≤ 0 when nothing leaks), for the report. */
  readonly worstExcess: bigint[];

  constructor(
    s: Snapshot,
    readonly groups: number[][],
  ) {
    this.start = groups.map((g) => worth(s, g));
    this.entitlement = groups.map(() => 0n);
    this.work = groups.map(() => 0n);
    this.writtenOff = groups.map(() => 0n);
    this.worstExcess = groups.map(() => -(2n ** 255n));
  }

  /** The actor (index into `groups`) trader `i` belongs to. */
  actorOf(i: number) {
    return this.groups.findIndex((g) => g.includes(i));
  }

  /** Books one command and checks the invariant for every actor. */
  step(w: World, pre: Snapshot, post: Snapshot, events: ProtocolEvent[]) {
    const traderIndex = (addr: string) => w.traders.findIndex((t) => same(t.address, addr));
    this.groups.forEach((g, a) => {
      for (const i of g) {
        MARKET_NAMES.forEach((name, k) => {
          this.entitlement[a] += (pre.traders[i].sizes[k] * (post.marks[name] - pre.marks[name])) / WAD;
        });
      }
    });
    for (const e of events) {
      if (e.name === "Liquidated") {
        const owner = this.actorOf(traderIndex(e.args.account));
        const liquidator = this.actorOf(traderIndex(e.args.liquidator));
        // Only the loss the account could not pay is written off for it: its negative equity before the
        // liquidation (which runs at the current round). Bad debt recorded beyond that (a reward or fee paid
        // out of money owed to LPs) is not.
        const i = traderIndex(e.args.account);
        const unpaid = -equityAtMarks(pre, i);
        const recorded = (e.args.badDebtTokens as bigint) * USDC_SCALE;
        if (owner >= 0 && unpaid > 0n) this.writtenOff[owner] += recorded < unpaid ? recorded : unpaid;
        if (liquidator >= 0 && liquidator !== owner)
          this.work[liquidator] += (e.args.liquidatorRewardTokens as bigint) * USDC_SCALE;
      } else if (e.name === "Rebalanced") {
        const owner = this.actorOf(traderIndex(e.args.account));
        const keeper = this.actorOf(traderIndex(e.args.keeper));
        if (keeper >= 0 && keeper !== owner)
          this.work[keeper] += (e.args.keeperRewardTokens as bigint) * USDC_SCALE;
      }
    }
    this.groups.forEach((g, a) => {
      const gained = worth(post, g) - this.start[a];
      const allowed = this.entitlement[a] + this.work[a] + this.writtenOff[a];
      const excess = gained - allowed;
      if (excess > this.worstExcess[a]) this.worstExcess[a] = excess;
      w.stats.noteExcess(this.worstExcess);
      expect(
        excess <= BOOK_ROUNDING,
        `${describe(g)} gained ${fmt(gained)} USD, more than the price moves of its positions (${fmt(this.entitlement[a])}), ` +
          `its pay for work on others (${fmt(this.work[a])}) and its written-off bad debt (${fmt(this.writtenOff[a])}): ${excess} wei of WAD too much`,
      ).to.equal(true);
    });
  }
}

function describe(g: number[]) {
  return g.length > 1 ? `the adversary (traders ${g.join(", ")})` : `trader${g[0]}`;
}

function fmt(wad: bigint) {
  return (Number(wad) / 1e18).toFixed(6);
}

/** Open PnL of trader `i` at the snapshot's marks (WAD). */
function openPnl(s: Snapshot, i: number) {
  const t = s.traders[i];
  return MARKET_NAMES.reduce((acc, name, k) => acc + (t.sizes[k] * (s.marks[name] - t.entries[k])) / WAD, 0n);
}

/** Equity of trader `i` at the snapshot's marks (WAD). */
export function equityAtMarks(s: Snapshot, i: number) {
  return s.traders[i].margin * USDC_SCALE + openPnl(s, i);
}

/** An actor's worth: wallet, margin, reserve and open PnL at the marks (WAD). */
export function worth(s: Snapshot, group: number[]) {
  return group.reduce((acc, i) => {
    const t = s.traders[i];
    return acc + (t.wallet + t.margin + t.reserve) * USDC_SCALE + openPnl(s, i);
  }, 0n);
}

/**
 * No account goes under water on a move the protocol promises to absorb. An account that is not
 * liquidatable (health ≥ 1) holds equity of at least its maintenance margin, and the adapter grades `Ok`
 * no round that moves by more than the deviation bound, which is at most the maintenance margin. So a
 * negative equity may only appear or grow when the account was already liquidatable before the command
 * (no liquidator acted in time), or a market it holds moved by more than the bound in one command, or
 * moved after a time without an `Ok` price (a round the guardian accepted, a held jump the next round
 * confirmed, a sequencer outage, a stale feed): the gaps documented as the insurance buffer's job.
 * Checked only where every market the account holds has an `Ok` price after the command (elsewhere the
 * marks are last good prices, not prices anyone acts on).
 */
export function checkUnderwaterOnlyThroughGaps(w: World, pre: Snapshot, post: Snapshot) {
  w.traders.forEach((_, i) => {
    const held = MARKET_NAMES.map((_, k) => k).filter((k) => pre.traders[i].sizes[k] !== 0n);
    if (held.length === 0) return;
    const okAfter = held.every((k) => {
      const p = post.prices[MARKET_NAMES[k]];
      return p.certain && p.status === 0;
    });
    if (!okAfter) return;
    const before = equityAtMarks(pre, i);
    const after = equityAtMarks(post, i);
    const deeper = (before < 0n ? -before : 0n) < -after - NEGATIVE_EQUITY_DUST;
    if (!deeper) return;
    const liquidatable = pre.traders[i].health < WAD;
    const gap = held.some((k) => {
      const name = MARKET_NAMES[k];
      const p = pre.prices[name];
      if (!p.certain || p.status !== 0) return true;
      const move = abs(post.marks[name] - pre.marks[name]);
      return move * WAD > w.maxDeviation[name] * pre.marks[name];
    });
    if (liquidatable || gap) {
      w.stats.add(liquidatable ? "underwater: already liquidatable" : "underwater: through a gap");
      return;
    }
    expect.fail(
      `trader${i} went under water (equity ${fmt(before)} → ${fmt(after)} USD) from health ` +
        `${fmt(pre.traders[i].health)} on moves within the deviation bound`,
    );
  });
}

/**
 * A liquidation pays what the account owes LPs before anyone is paid: when it records bad debt (a loss the
 * account could not pay), nothing was left for the liquidator or the insurance buffer. Otherwise every unit
 * of reward on an underwater account would come out of LPs, and its owner could liquidate it from another
 * account of its own to collect it.
 */
export function checkLossBeforeReward(events: ProtocolEvent[]) {
  for (const e of events) {
    if (e.name !== "Liquidated" || (e.args.badDebtTokens as bigint) === 0n) continue;
    expect(e.args.liquidatorRewardTokens, "no liquidator reward out of a loss owed to LPs").to.equal(0n);
    expect(e.args.penaltyTokens, "no penalty paid out of a loss owed to LPs").to.equal(0n);
  }
}

/**
 * Every change of exposure fills at a price published after its owner committed to it: an order at a
 * round after its submission; a rebalance's close at a round after the owner's last `setPolicy` or
 * `withdrawMargin` (a rebalance the owner arranged cannot use a round it had seen). Liquidations, which an
 * owner cannot arrange, execute at the current round. A position changes by nothing else.
 */
export function checkCommittedFills(w: World, pre: Snapshot, post: Snapshot, events: ProtocolEvent[]) {
  w.traders.forEach((t, i) => {
    MARKET_NAMES.forEach((name, k) => {
      if (pre.traders[i].sizes[k] === post.traders[i].sizes[k]) return;
      const mine = (e: ProtocolEvent) => same(e.args.account as string, t.address);
      const round = post.prices[name].updatedAt;
      const executed = events.filter((e) => e.name === "OrderExecuted" && mine(e));
      const order = executed
        .map((e) => w.orders.get(e.args.orderId as bigint))
        .find((o) => o !== undefined && o.k === k);
      if (order) {
        expect(round, `trader${i}'s ${name} order fills at a round after its submission`).to.be.gt(
          order.submittedAt,
        );
        w.stats.add("fill: order at a later round");
      } else if (events.some((e) => e.name === "Rebalanced" && mine(e))) {
        expect(
          round,
          `trader${i}'s ${name} close in a rebalance uses a round after the owner's last action`,
        ).to.be.gt(w.ownerActionAt[i]);
        w.stats.add("fill: rebalance at a round after the owner's action");
      } else {
        expect(
          events.some((e) => e.name === "Liquidated" && mine(e)),
          `trader${i}'s ${name} position changed only through an order, a rebalance or a liquidation`,
        ).to.equal(true);
      }
    });
  });
}
