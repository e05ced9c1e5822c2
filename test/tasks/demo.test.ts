import { expect } from "chai";
import hre from "hardhat";
import { mkdtempSync, readFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  MAINNET_ETH_USD,
  emulateRounds,
  syntheticCrash,
  readPriceCsv,
  pathStats,
} from "../../tasks/lib/sim/prices";
import { DEFAULT_BOOK, runSimulation } from "../../tasks/lib/sim/runner";
import { renderReport } from "../../tasks/lib/sim/report";

describe("Demo simulation", () => {
  it("emulates Chainlink rounds: deviation threshold and heartbeat", () => {
    const points = [
      { timestamp: 0, price: 100 },
      { timestamp: 7_200, price: 100 },
      { timestamp: 7_500, price: 110 },
    ];
    const rounds = emulateRounds(points, MAINNET_ETH_USD);
    // Flat for two hours: heartbeat rounds at 3,600 s and 7,200 s; then a 10% rise in 0.5% steps.
    expect(rounds[1].timestamp).to.equal(3_600);
    expect(rounds[2].timestamp).to.equal(7_200);
    for (let i = 3; i < rounds.length; i++) {
      expect(Math.abs(rounds[i].price / rounds[i - 1].price - 1)).to.be.gte(0.005 - 1e-12);
      expect(Math.abs(rounds[i].price / rounds[i - 1].price - 1)).to.be.lt(0.02);
    }
    expect(emulateRounds(points, { ...MAINNET_ETH_USD, raw: true })).to.deep.equal(points);
  });

  it("reads the shared real price series and builds a deterministic synthetic crash", () => {
    const series = readPriceCsv(join(__dirname, "../../data/prices/eth-usd-2020-03-black-thursday.csv"));
    expect(series.length).to.equal(1_440);
    const stats = pathStats(series);
    expect(stats.min).to.equal(86);
    expect(stats.maxDrawdown).to.be.closeTo(0.659, 0.001);
    expect(syntheticCrash(7)).to.deep.equal(syntheticCrash(7));
    expect(pathStats(syntheticCrash(7)).maxDrawdown).to.be.gt(0.3);
  });

  it("runs a short crash end to end and writes a report", async () => {
    const rounds = emulateRounds(syntheticCrash(7).slice(0, 60), MAINNET_ETH_USD);
    const book = { ...DEFAULT_BOOK, leverages: [3, 20], sides: [1 as const] };
    const result = await runSimulation(hre, rounds, { book });
    expect(result.accounts.length).to.equal(6);
    expect(result.sampledRounds.length).to.equal(rounds.length);
    // The unprotected 20x long is liquidated in a 30% slide; the protected ones are rebalanced instead.
    expect(result.metrics.none.liquidations).to.be.greaterThan(0);
    expect(result.metrics.threshold.liquidations).to.equal(0);
    expect(result.metrics.volatility.liquidations).to.equal(0);
    expect(result.metrics.threshold.rebalances + result.metrics.volatility.rebalances).to.be.greaterThan(0);
    // The competing liquidator acts first: every account a round took below health 1 was called at that
    // round by the liquidator (liquidated, or rescued from its reserve inside the call), never by the keeper.
    expect(result.liquidatorFirst).to.equal(true);
    let below = 0;
    for (const a of result.accounts) {
      result.health[a.address].forEach((h, k) => {
        if (h >= 1) return;
        below++;
        const round = result.sampledRounds[k];
        const mine = result.events.filter((e) => e.account === a.address && e.round === round);
        expect(
          mine.some((e) => e.by === "liquidator" && e.kind !== "rebalance"),
          `${a.address} @${round}`,
        ).to.equal(true);
      });
    }
    expect(below).to.be.greaterThan(0);
    for (const e of result.events) expect(e.by).to.equal(e.kind === "rebalance" ? "keeper" : "liquidator");
    // Per account: what it kept against the hindsight yardstick.
    expect(result.outcomes.length).to.equal(6);
    for (const o of result.outcomes) {
      expect(o.hindsightExposure).to.be.within(0, 1);
      expect(o.exposureKept).to.be.within(0, 1);
    }
    // A realised-volatility feed in place of the EWMA: at 400%/year the volatility strategy sees the 20x
    // long within reach of liquidation from the first round and acts earlier than on the EWMA's 80%.
    const loud = await runSimulation(hre, rounds, { book, volatilityAt: () => 4 });
    const vol20 = (r: typeof result) =>
      r.exposure[r.accounts.find((a) => a.policy === "volatility" && a.leverage === 20)!.address];
    expect(vol20(result)[0]).to.equal(1);
    expect(vol20(loud)[0]).to.be.lessThan(1); // reduced by the opening cycle already
    expect(loud.metrics.threshold).to.deep.include({
      rebalances: result.metrics.threshold.rebalances,
      topUpVolume: result.metrics.threshold.topUpVolume,
    }); // the threshold rule reads no volatility
    const none20 = result.outcomes.find((o) => o.policy === "none" && o.leverage === 20)!;
    expect(none20.liquidations).to.be.greaterThan(0);
    expect(none20.hindsightExposure).to.be.lessThan(1); // a 30% slide forces a 20x long to cut
    const html = renderReport(result, "test", "short crash");
    // Self-contained: the charting library and the data inline, nothing fetched at view time.
    expect(html).to.contain('<script id="report-data" type="application/json">');
    expect(html).to.contain("echarts");
    expect(html).not.to.match(/<script[^>]+src=|<link[^>]+href=/);
    expect(html).to.contain("Outcome per policy");
    const dir = mkdtempSync(join(tmpdir(), "ballast-"));
    const { writeFileSync } = await import("node:fs");
    writeFileSync(join(dir, "r.html"), html);
    expect(existsSync(join(dir, "r.html"))).to.equal(true);
    expect(readFileSync(join(dir, "r.html"), "utf8").length).to.be.greaterThan(5_000);
  });
});
