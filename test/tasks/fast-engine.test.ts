import { expect } from "chai";
import hre from "hardhat";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { runFastSimulation } from "../../tasks/lib/fast/runner";
import type { TraceRound } from "../../tasks/lib/sim/ledger";
import { MAINNET_ETH_USD, emulateRounds, readPriceCsv, type PricePoint } from "../../tasks/lib/sim/prices";
import { DEFAULT_BOOK, runSimulation, type SimResult } from "../../tasks/lib/sim/runner";

/**
 * The fast engine against the contracts: the same book replayed on the same rounds both ways must give
 * the same events (every numeric argument, in order, per account), the same health and size of every
 * account after every price round and the same margin and reserve after every round's transactions, to
 * the wei. CI replays one series (a window around the ETH crash of March 2020); `FAST_DIFF=all` (run by
 * `npm run backtest:all`) replays every series of `data/prices` whole.
 */
const DIR = join(__dirname, "..", "..", "data", "prices");
const ALL = process.env.FAST_DIFF === "all";

function series(): [string, PricePoint[]][] {
  if (!ALL) {
    const rounds = emulateRounds(
      readPriceCsv(join(DIR, "eth-usd-2020-03-black-thursday.csv")),
      MAINNET_ETH_USD,
    );
    // The window with the crash: the largest fall of the series and the rounds around it.
    return [["eth-usd-2020-03-black-thursday (rounds 900-1300)", rounds.slice(900, 1300)]];
  }
  return readdirSync(DIR)
    .filter((f) => f.endsWith(".csv"))
    .sort()
    .map((f) => [f, emulateRounds(readPriceCsv(join(DIR, f)), MAINNET_ETH_USD)]);
}

/** The events of a round, grouped by account (accounts are independent; within one, order is kept). */
function byAccount(round: TraceRound): string[] {
  const out = new Map<number, string[]>();
  for (const e of round.events) {
    const list = out.get(e.account) ?? [];
    list.push(`${e.name}(${e.values.join(",")})`);
    out.set(e.account, list);
  }
  return [...out.entries()].sort((a, b) => a[0] - b[0]).map(([k, list]) => `#${k} ${list.join(" ")}`);
}

function compare(chain: SimResult, fast: SimResult) {
  const a = chain.trace!;
  const b = fast.trace!;
  expect(b.length).to.equal(a.length);
  let events = 0;
  for (let i = 0; i < a.length; i++) {
    const where = `round ${i}`;
    expect(byAccount(b[i]), `${where}: events`).to.deep.equal(byAccount(a[i]));
    expect(b[i].health, `${where}: health`).to.deep.equal(a[i].health);
    expect(b[i].size, `${where}: size`).to.deep.equal(a[i].size);
    expect(b[i].margin, `${where}: margin`).to.deep.equal(a[i].margin);
    expect(b[i].reserve, `${where}: reserve`).to.deep.equal(a[i].reserve);
    events += a[i].events.length;
  }
  return events;
}

describe("Fast engine: bit-exact with the contracts", function () {
  this.timeout(ALL ? 0 : 900_000);

  for (const [name, rounds] of series()) {
    for (const liquidator of [true, false]) {
      const mode = liquidator ? "liquidator first" : "keeper first";
      it(`${name}, ${mode}: the same events, health, sizes and balances at every round`, async function () {
        const options = { book: DEFAULT_BOOK, liquidator, trace: true };
        const chain = await runSimulation(hre, rounds, options);
        const fast = runFastSimulation(rounds, { ...options, feedTimes: chain.feedTimes });
        const events = compare(chain, fast);
        // The window is one where the book acts: a comparison of nothing proves nothing.
        const kinds = new Set(chain.events.map((e) => e.kind));
        expect(kinds.has("rebalance"), "the replay rebalanced").to.equal(true);
        expect(kinds.has("liquidation"), "the replay liquidated").to.equal(true);
        expect(fast.metrics).to.deep.equal(
          Object.fromEntries(Object.entries(chain.metrics).map(([p, m]) => [p, { ...m, gasUsed: 0 }])),
        );
        console.log(
          `      ${rounds.length} rounds, ${chain.accounts.length} accounts, ${events} events: chain ` +
            `${chain.wallSeconds.toFixed(1)} s, fast ${fast.wallSeconds.toFixed(2)} s`,
        );
      });
    }
  }
});
