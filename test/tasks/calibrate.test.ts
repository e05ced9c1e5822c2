import { expect } from "chai";
import hre from "hardhat";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runFastSimulation } from "../../tasks/lib/fast/runner";
import { MAINNET_ETH_USD, emulateRounds, readPriceCsv, type PricePoint } from "../../tasks/lib/sim/prices";
import type { SimResult } from "../../tasks/lib/sim/runner";
import {
  DEFAULT_GRID,
  SMALL_GRID,
  bestIndex,
  calibrationBook,
  chooseDeployment,
  chooseTiers,
  deploymentParams,
  gridSize,
  markFeasible,
  objective,
  paretoFrontier,
  searchThreshold,
  summarizeDeployments,
  tierFigures,
  volatilityDeployments,
  walkForward,
  type CalibrationGrid,
  type CalibrationOptions,
  type Candidate,
  type PolicyChoice,
  type Series,
  type TierFigures,
} from "../../tasks/lib/calibrate/search";
import { ignitionFragment, setPolicyCommand } from "../../tasks/lib/calibrate/report";

const DIR = join(__dirname, "..", "..", "data", "prices");

/** Points of a series from 2020-03-12 00:00 UTC (the crash day) on: `from` and `to` are 15-min steps. */
function crashPoints(file: string, from: number, to: number): PricePoint[] {
  const points = readPriceCsv(join(DIR, file));
  const start = points.findIndex((p) => p.timestamp >= Date.UTC(2020, 2, 12) / 1000);
  return points.slice(start + from, start + to);
}

function series(name: string, points: PricePoint[]): Series {
  return { name, rounds: emulateRounds(points, MAINNET_ETH_USD) };
}

/** Hand-made figures for one tier (only what the choice reads matters). */
function figures(
  tier: number,
  liquidated: number,
  keptOverHindsight: number,
  costShare: number,
): TierFigures {
  return {
    tier,
    accounts: 2,
    liquidated,
    liquidatedBySeries: [liquidated],
    kept: keptOverHindsight,
    hindsight: 1,
    keptOverHindsight,
    costUsd: costShare * 1e5,
    notionalUsd: 1e5,
    costShare,
    score: objective({ keptOverHindsight, costShare }, 100),
    feasible: false,
  };
}

function candidate(id: number, tiers: TierFigures[], deployment?: number): Candidate {
  return {
    id,
    policy: deployment === undefined ? "threshold" : "volatility",
    deployment,
    params: { triggerHealth: 1.3, targetHealth: 1.6, sweepHealth: 0, reserveShare: 0.5 },
    tiers,
  };
}

describe("calibrate", function () {
  this.timeout(120_000);

  describe("search functions", () => {
    it("scores exposure kept over hindsight less the weighted cost share", () => {
      // 1 bp of cost at weight 100 weighs as 1% of the hindsight exposure.
      expect(objective({ keptOverHindsight: 0.9, costShare: 0.0001 }, 100)).to.be.closeTo(0.89, 1e-12);
      expect(objective({ keptOverHindsight: 0.9, costShare: 0.0001 }, 0)).to.equal(0.9);
    });

    it("sizes the default grid as documented", () => {
      const size = gridSize(DEFAULT_GRID, [0.25, 0.5, 1], ["threshold", "volatility"], 3);
      expect(size.threshold.candidates).to.equal(4 * 3 * 2 * 3);
      expect(size.volatility.deployments).to.equal(3 * 2 * 2);
      expect(size.volatility.policiesPerDeployment).to.equal(2 * 2 * 3);
      expect(size.trainingRuns).to.equal((72 + 144) * 3);
      const d = volatilityDeployments(DEFAULT_GRID);
      for (const p of d.map(deploymentParams)) expect(p.pTargetWad * 10n).to.equal(p.pMaxWad);
    });

    it("draws the Pareto frontier: lowest cost, highest exposure, dominated points left out", () => {
      const points = [
        { x: 3, y: 0.9, id: "c" },
        { x: 1, y: 0.5, id: "a" },
        { x: 2, y: 0.4, id: "dominated by a" },
        { x: 2, y: 0.8, id: "b" },
        { x: 4, y: 0.9, id: "dominated by c" },
        { x: 1, y: 0.3, id: "same cost as a, less exposure" },
        { x: 5, y: 0.95, id: "d" },
      ];
      expect(paretoFrontier(points).map((p) => p.id)).to.deep.equal(["a", "b", "c", "d"]);
      expect(paretoFrontier([])).to.deep.equal([]);
    });

    it("never chooses a candidate that liquidates at ≤10x, even the cheapest and best scored", () => {
      const tiers = [10, 20];
      const candidates = [
        // The cheapest and best scored, but one liquidated account at 10x (and none at 20x).
        candidate(0, [figures(10, 1, 1.0, 0.00001), figures(20, 0, 1.0, 0.00001)]),
        candidate(1, [figures(10, 0, 0.8, 0.0003), figures(20, 2, 0.99, 0.0001)]),
        candidate(2, [figures(10, 0, 0.85, 0.0003), figures(20, 1, 0.9, 0.0002)]),
      ];
      markFeasible(candidates, tiers);
      expect(candidates.map((c) => c.tiers[0].feasible)).to.deep.equal([false, true, true]);
      // Above 10x: the fewest liquidated accounts any candidate reached (here none).
      expect(candidates.map((c) => c.tiers[1].feasible)).to.deep.equal([true, false, false]);
      const [ten, twenty] = chooseTiers(candidates, tiers);
      expect(ten!.id).to.equal(2);
      expect(twenty!.id).to.equal(0);
      // None feasible at ≤10x: no choice.
      const bad = [candidate(0, [figures(10, 1, 1, 0), figures(20, 1, 1, 0)])];
      markFeasible(bad, tiers);
      expect(chooseTiers(bad, tiers)[0]).to.equal(null);
      expect(chooseTiers(bad, tiers)[1]!.id).to.equal(0);
    });

    it("breaks equal scores toward the lower cost", () => {
      const entries = [
        { score: 0.9, costShare: 0.0003 },
        { score: 0.95, costShare: 0.0005 },
        { score: 0.95, costShare: 0.0002 },
        { score: 0.99, costShare: 0.0001 },
      ];
      expect(bestIndex(entries, (k) => k !== 3)).to.equal(2);
      expect(bestIndex(entries)).to.equal(3);
      expect(bestIndex(entries, () => false)).to.equal(-1);
    });

    it("chooses the volatility deployment by its summed best feasible scores; a ≤10x tier without one rules it out", () => {
      const tiers = [5, 20];
      const candidates = [
        // Deployment 0: the best scores, but every policy liquidates at 5x.
        candidate(0, [figures(5, 1, 1, 0), figures(20, 0, 1, 0)], 0),
        candidate(1, [figures(5, 2, 1, 0), figures(20, 0, 1, 0)], 0),
        // Deployment 1: feasible, one liquidated account at 20x.
        candidate(2, [figures(5, 0, 0.9, 0.0001), figures(20, 1, 0.95, 0.0001)], 1),
        candidate(3, [figures(5, 0, 0.8, 0.0001), figures(20, 3, 0.99, 0.0001)], 1),
        // Deployment 2: feasible, lower scores but no liquidated account at 20x: fewer come first.
        candidate(4, [figures(5, 0, 0.7, 0.0001), figures(20, 0, 0.7, 0.0001)], 2),
      ];
      const deployments = volatilityDeployments(SMALL_GRID);
      const three = [deployments[0], deployments[1], deployments[0]];
      const summaries = summarizeDeployments(candidates, three, tiers);
      expect(summaries.map((s) => s.feasible)).to.deep.equal([false, true, true]);
      expect(summaries[1].choices).to.deep.equal([2, 2]);
      expect(summaries[1].score).to.be.closeTo(0.89 + 0.94, 1e-9);
      expect(summaries[1].relaxedLiquidated).to.equal(1);
      expect(chooseDeployment(summaries)!.index).to.equal(2);
      expect(chooseDeployment(summaries.slice(0, 2))!.index).to.equal(1);
      expect(chooseDeployment([summaries[0]])).to.equal(undefined);
    });
  });

  describe("on a real crash (ETH/USD, 12-13 March 2020)", () => {
    // 24 hours from 12:00 on the crash day: about 600 rounds, some 40 ms a replay.
    const train = [series("eth-bt", crashPoints("eth-usd-2020-03-black-thursday.csv", 48, 144))];
    const test = [series("btc-bt", crashPoints("btc-usd-2020-03-black-thursday.csv", 48, 144))];
    // On this window a 10x long under trigger 1.3 / target 1.8 without reserve deleverages all the way
    // down and the liquidator takes its last sliver: the cheapest candidate at 10x, and the best scored.
    const grid: CalibrationGrid = {
      ...SMALL_GRID,
      threshold: { triggers: [1.3, 1.5], gaps: [0.1, 0.5], sweepOffsets: [null] },
    };
    const options: CalibrationOptions = {
      tiers: [5, 10, 20],
      policies: ["threshold"],
      reserveShares: [0],
      costWeight: 100,
      grid,
    };

    it("aggregates a tier's accounts: kept over hindsight, cost over notional, liquidated accounts", () => {
      const result = runFastSimulation(train[0].rounds, {
        book: calibrationBook(
          "threshold",
          { triggerHealth: 1.1, targetHealth: 1.2, sweepHealth: 0, reserveShare: 0 },
          [10],
        ),
      });
      const f = tierFigures([result, result], 10, 100);
      const mine = result.outcomes;
      const cost = result.events.reduce((s, e) => s + e.feesUsd + e.rewardUsd, 0);
      expect(f.accounts).to.equal(4);
      const liquidated = mine.filter((o) => o.liquidations > 0).length;
      expect(f.liquidatedBySeries).to.deep.equal([liquidated, liquidated]);
      expect(f.keptOverHindsight).to.be.closeTo(
        mine.reduce((s, o) => s + o.exposureKept, 0) / mine.reduce((s, o) => s + o.hindsightExposure, 0),
        1e-6,
      );
      expect(f.costShare).to.be.closeTo((2 * cost) / (4 * 100_000), 1e-8);
      expect(f.score).to.be.closeTo(objective(f, 100), 1e-6);
    });

    it("chooses the argmax of the score among the feasible candidates, never the cheapest that liquidates", () => {
      const candidates = searchThreshold(train, options, () => undefined);
      expect(candidates).to.have.length(4);
      const k = options.tiers.indexOf(10);
      const tenX = candidates.map((c) => c.tiers[k]);
      // The cheapest candidate, and the best scored without the rule, lets the liquidator in at 10x.
      const cheapest = tenX.reduce((a, b) => (b.costShare < a.costShare ? b : a));
      expect(cheapest.liquidated).to.be.greaterThan(0);
      expect(tenX[bestIndex(tenX)]).to.equal(cheapest);
      expect(cheapest.feasible).to.equal(false);
      const chosen = chooseTiers(candidates, options.tiers)[k]!;
      expect(chosen.tiers[k].liquidated).to.equal(0);
      const feasibleScores = tenX.filter((f) => f.liquidated === 0).map((f) => f.score);
      expect(chosen.tiers[k].score).to.equal(Math.max(...feasibleScores));
      expect(chosen.tiers[k].score).to.be.lessThan(cheapest.score);
    });

    it("walks forward on the test series only, to the figures of a direct replay", () => {
      const params = { triggerHealth: 1.5, targetHealth: 1.8, sweepHealth: 0, reserveShare: 0.5 };
      const train10 = figures(10, 0, 1, 0);
      const choices: PolicyChoice[] = [
        {
          policy: "threshold",
          tiers: [
            { tier: 5, candidate: 0, params, train: train10 },
            { tier: 10, candidate: 0, params, train: train10 },
          ],
        },
      ];
      const seen: PricePoint[][] = [];
      const spy = (rounds: PricePoint[], o: Parameters<typeof runFastSimulation>[1]): SimResult => {
        seen.push(rounds);
        return runFastSimulation(rounds, o);
      };
      walkForward(choices, test, 100, spy);
      expect(seen).to.have.length(1); // both tiers share one replay per test series
      for (const rounds of seen) expect(rounds).to.equal(test[0].rounds);
      const direct = runFastSimulation(test[0].rounds, {
        book: calibrationBook("threshold", params, [5, 10]),
      });
      for (const [k, tier] of [5, 10].entries()) {
        const expected = tierFigures([direct], tier, 100);
        expected.feasible = expected.liquidated === 0;
        expect(choices[0].tiers[k]!.test).to.deep.equal(expected);
      }
      expect(choices[0].test!.liquidated).to.equal(
        choices[0].tiers.reduce((s, t) => s + t!.test!.liquidated, 0),
      );
    });
  });

  describe("the report", () => {
    it("writes the Ignition fragment with bigint strings and the set-policy line", () => {
      const [d] = volatilityDeployments(DEFAULT_GRID);
      const parsed = JSON.parse(JSON.stringify(ignitionFragment(d))) as { Ballast: Record<string, unknown> };
      const p = deploymentParams(d);
      expect(parsed.Ballast.pMaxWad).to.equal(`${p.pMaxWad}n`);
      expect(parsed.Ballast.pTargetWad).to.equal("500000000000000n");
      expect(parsed.Ballast.horizonSeconds).to.equal(3600);
      expect(parsed.Ballast.turbulenceVolatilityWad).to.equal("1500000000000000000n");
      expect(parsed.Ballast.turbulenceTargetMultiplierWad).to.equal("1000000000000000000n");
      const line = setPolicyCommand("threshold", {
        triggerHealth: 1.15,
        targetHealth: 1.3,
        sweepHealth: 1.8,
        reserveShare: 0.25,
      });
      expect(line).to.equal(
        "npx hardhat set-policy --strategy threshold --trigger 1.15 --target 1.3 --sweep 1.8 --top-up --deleverage",
      );
    });
  });

  describe("the task", () => {
    const dir = mkdtempSync(join(tmpdir(), "ballast-calibrate-"));
    const csv = (name: string, points: PricePoint[]) => {
      const path = join(dir, name);
      writeFileSync(
        path,
        ["timestamp,price", ...points.map((p) => `${p.timestamp},${p.price}`)].join("\n") + "\n",
      );
      return path;
    };
    const train = csv("eth.csv", crashPoints("eth-usd-2020-03-black-thursday.csv", 0, 192));
    const test = csv("btc.csv", crashPoints("btc-usd-2020-03-black-thursday.csv", 0, 192));
    const out = join(dir, "calibration.json");
    const html = join(dir, "calibration.html");
    const ignition = join(dir, "calibration.ignition.json");

    after(() => rmSync(dir, { recursive: true, force: true }));

    it("calibrates on one series, tests on the other, and writes the JSON, the page and the fragment", async () => {
      const output = await hre.run("calibrate", {
        train,
        test,
        grid: "small",
        reserveShares: "0.5",
        out,
        html,
        ignition,
      });
      const json = JSON.parse(readFileSync(out, "utf8"));
      expect(json.gridSize.trainingRuns).to.equal(4);
      expect(json.train).to.deep.equal([{ name: train, rounds: output.train[0].rounds }]);
      expect(json.test.map((s: { name: string }) => s.name)).to.deep.equal([test]);
      expect(json.candidates.threshold).to.have.length(2);
      expect(json.candidates.volatility).to.have.length(2);
      for (const c of [...json.candidates.threshold, ...json.candidates.volatility]) {
        expect(c.tiers.map((f: TierFigures) => f.tier)).to.deep.equal([2, 3, 5, 10, 20]);
      }
      expect(json.choices.map((c: PolicyChoice) => c.policy)).to.deep.equal(["threshold", "volatility"]);
      for (const choice of json.choices as PolicyChoice[]) {
        for (const t of choice.tiers) {
          if (t === null) continue;
          expect(t.train.liquidatedBySeries).to.have.length(1);
          expect(t.test!.liquidatedBySeries).to.have.length(1);
          if (t.tier <= 10) expect(t.train.liquidated).to.equal(0);
        }
      }
      expect(json.setPolicy.join("\n")).to.match(/set-policy --strategy threshold --trigger [\d.]+ --target/);
      const page = readFileSync(html, "utf8");
      expect(page).to.contain("<svg");
      expect(page).to.contain("<polyline");
      expect(page).not.to.contain("<script");
      const fragment = JSON.parse(readFileSync(ignition, "utf8"));
      expect(Object.keys(fragment.Ballast)).to.deep.equal([
        "pMaxWad",
        "pTargetWad",
        "horizonSeconds",
        "turbulenceVolatilityWad",
        "turbulenceTargetMultiplierWad",
      ]);
      for (const key of [
        "pMaxWad",
        "pTargetWad",
        "turbulenceVolatilityWad",
        "turbulenceTargetMultiplierWad",
      ]) {
        expect(fragment.Ballast[key]).to.match(/^\d+n$/);
        expect(BigInt(fragment.Ballast[key].slice(0, -1)) > 0n).to.equal(true);
      }
      expect(fragment.Ballast.horizonSeconds).to.be.a("number");
    });

    it("refuses missing files, empty lists, bad tiers and a series in both train and test", async () => {
      const run = (args: Record<string, unknown>) =>
        hre.run("calibrate", { train, test, grid: "small", out, html, ignition, ...args });
      await expect(run({ train: join(dir, "missing.csv") })).to.be.rejectedWith(
        /--train .*missing\.csv: no such file/,
      );
      await expect(run({ test: " , " })).to.be.rejectedWith("--test: empty list");
      await expect(run({ tiers: "2,abc" })).to.be.rejectedWith('--tiers: "abc" is not a number');
      await expect(run({ tiers: "2,30" })).to.be.rejectedWith(/--tiers: 30 is not a leverage from 1 to 24/);
      await expect(run({ tiers: "" })).to.be.rejectedWith("--tiers: empty list");
      await expect(run({ policies: "none" })).to.be.rejectedWith(/--policies: unknown policy "none"/);
      await expect(run({ grid: "huge" })).to.be.rejectedWith(/--grid: expected default or small/);
      await expect(run({ test: `${test},${train}` })).to.be.rejectedWith(/is also a training series/);
      const copy = join(dir, "copy-of-eth.csv");
      copyFileSync(train, copy);
      await expect(run({ test: copy })).to.be.rejectedWith(/copy-of-eth\.csv is also a training series/);
    });
  });
});
