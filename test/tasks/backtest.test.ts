import { expect } from "chai";
import hre from "hardhat";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { underCoverage } from "../helpers/coverage";

/** A short backtest (a few dozen rounds) keeps the command working; full runs are benchmarks. */
describe("backtest task", function () {
  // About 65 rounds: ~8 s on the compiled contracts, ~5 min instrumented (a run that timed out would go
  // on sending transactions under the next test).
  this.timeout(underCoverage() ? 1_200_000 : 300_000);

  it("replays the first hours of Black Thursday and writes the documented JSON", async () => {
    const source = readFileSync(
      join(__dirname, "../../data/prices/eth-usd-2020-03-black-thursday.csv"),
      "utf8",
    );
    const dir = mkdtempSync(join(tmpdir(), "ballast-backtest-"));
    const csv = join(dir, "short.csv");
    writeFileSync(csv, source.split("\n").slice(0, 161).join("\n") + "\n"); // header + 160 points (40 h)
    const json = join(dir, "out.json");
    const html = join(dir, "out.html");
    await hre.run("backtest", {
      prices: csv,
      out: json,
      html,
      policies: "none,threshold,volatility",
      seed: 1,
    });
    const out = JSON.parse(readFileSync(json, "utf8"));
    expect(out.rounds).to.be.greaterThan(10);
    expect(out.rounds).to.be.lessThan(200);
    for (const key of ["priceMin", "priceMax", "maxDrawdown"]) expect(out[key]).to.be.a("number");
    expect(Object.keys(out.policies)).to.deep.equal(["none", "threshold", "volatility"]);
    for (const p of Object.values(out.policies) as Record<string, number>[]) {
      for (const key of [
        "accounts",
        "liquidations",
        "liquidationsAtOrBelow10x",
        "badDebt",
        "rebalances",
        "topUpVolume",
        "deleveragedNotional",
        "feesPaid",
        "keeperRewards",
        "gasUsed",
        "minHealth",
        "secondsBelowTrigger",
        "exposureRetained",
      ]) {
        expect(p[key], key).to.be.a("number");
      }
      expect(p.accounts).to.equal(10);
      expect(p.exposureRetained).to.be.within(0, 1);
      expect(p.protectedNotional).to.be.greaterThan(0);
      expect(p.costShare).to.be.closeTo((p.feesPaid + p.keeperRewards) / p.protectedNotional, 1e-6);
      // Liquidator first is the headline; the keeper-first replay's count sits beside it.
      expect(p.liquidatedKeeperFirst).to.be.a("number");
      expect(p.hindsightExposure).to.be.within(0, 1);
      expect(p.exposureVsHindsight).to.be.greaterThan(0);
    }
    expect(out.liquidator).to.equal("first");
    expect(out.engine).to.equal("fast");
    expect(out.accounts).to.have.length(30);
    for (const policy of ["none", "threshold", "volatility"]) {
      const mine = out.accounts.filter((a: { policy: string }) => a.policy === policy);
      const kept = mine.reduce((t: number, a: { exposureKept: number }) => t + a.exposureKept, 0);
      const optimal = mine.reduce(
        (t: number, a: { hindsightExposure: number }) => t + a.hindsightExposure,
        0,
      );
      expect(out.policies[policy].exposureVsHindsight).to.be.closeTo(kept / optimal, 1e-3);
    }
    expect(readFileSync(html, "utf8")).to.contain('<script id="report-data" type="application/json">');
  });

  it("--engine chain replays the same series on the contracts to the same figures (gas aside)", async () => {
    const source = readFileSync(
      join(__dirname, "../../data/prices/eth-usd-2020-03-black-thursday.csv"),
      "utf8",
    );
    const dir = mkdtempSync(join(tmpdir(), "ballast-backtest-"));
    const csv = join(dir, "short.csv");
    writeFileSync(csv, source.split("\n").slice(0, 161).join("\n") + "\n");
    const run = async (engine: string) => {
      const json = join(dir, `${engine}.json`);
      await hre.run("backtest", { prices: csv, out: json, engine, keeperFirst: false });
      return JSON.parse(readFileSync(json, "utf8"));
    };
    const chain = await run("chain");
    const fast = await run("fast");
    expect(chain.engine).to.equal("chain");
    for (const [policy, m] of Object.entries(chain.policies) as [string, Record<string, number>][]) {
      if (policy !== "none") expect(m.gasUsed, policy).to.be.greaterThan(0);
      expect(fast.policies[policy]).to.deep.equal({ ...m, gasUsed: 0 });
    }
    expect(fast.accounts.map((a: { exposureKept: number }) => a.exposureKept)).to.deep.equal(
      chain.accounts.map((a: { exposureKept: number }) => a.exposureKept),
    );
    await expect(
      hre.run("backtest", { prices: csv, out: join(dir, "x.json"), engine: "fastest" }),
    ).to.be.rejectedWith("--engine: expected fast or chain");
  });

  it("refuses unknown policies", async () => {
    await expect(
      hre.run("backtest", { prices: "x.csv", out: "x.json", policies: "none,magic" }),
    ).to.be.rejectedWith(/unknown policy "magic"/);
    const dir = mkdtempSync(join(tmpdir(), "ballast-backtest-"));
    const csv = join(dir, "p.csv");
    writeFileSync(csv, "timestamp,price\n1,100\n901,101\n");
    const model = join(dir, "model.json");
    writeFileSync(model, JSON.stringify({ garch: { omega: 1e-6, alpha: 0.1 } }));
    await expect(
      hre.run("backtest", { prices: csv, out: join(dir, "o.json"), volatilityModel: model }),
    ).to.be.rejectedWith(
      /--volatility-model .*: expected \{ garch: \{ omega, alpha, beta, trainVariance \} \}/,
    );
    await expect(
      hre.run("backtest", { prices: csv, out: join(dir, "o.json"), volatilityModel: join(dir, "none.json") }),
    ).to.be.rejectedWith(/--volatility-model .*none\.json: ENOENT/);
    await expect(hre.run("backtest", { prices: "missing.csv", out: "x.json" })).to.be.rejectedWith(
      /^--prices missing.csv: no such file$/,
    );
  });
});
