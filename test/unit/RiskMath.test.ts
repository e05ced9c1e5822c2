import { expect } from "chai";
import hre, { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";

import { RiskMathHarness } from "../../typechain-types";
import * as ref from "../helpers/riskMathReference";
import { Rng } from "../helpers/rng";

/*
 * RiskMath against the double-precision reference in `test/helpers/riskMathReference.ts`.
 *
 * Tolerance everywhere: |solidity − reference| ≤ 1e-6·|reference| + (absolute floor), where the floor is
 * the output quantisation (1 wei; 1e-36 for `normCdfE36`) except for ln, where relative error is
 * ill-conditioned near x = 1 and the floor is 1e-12. Domains (inputs from a seeded generator):
 *   ln        x in [1e-9, 1e9] (log-uniform) plus 1 ± [1e-15, 1e-1]; and x of every bit length < 2²⁵⁶
 *   exp       x in [−40, 40]; and [−42, 135.99]
 *   sqrt      exact (BigInt), x of every bit length < 2²⁵⁶
 *   Φ (WAD)   x in [−8, 8] plus the tail [−9.5, −6.5]
 *   Φ (1e36)  x in [−13, 8], compared on the smaller tail, so relative in the deep left tail
 *   Φ⁻¹       p in [1e-12, 1 − 1e-12]: log-uniform tails on both sides, uniform, and p within 1e-6 of ½
 *   hit       z = D/(σ√(τ/YEAR)) in [0, 9.5], σ in [1e-3, 1e6] USD/√yr, τ in [1 s, 10 years]
 *   distance  p in [1e-12, 1) log-uniform plus p within 1e-9 of 1, same σ and τ
 * After the run the suite prints, per function and domain, the largest relative error (where the
 * quantisation is negligible), the largest absolute error and the largest share of the tolerance used.
 */

const WAD = ref.WAD;
const YEAR = BigInt(ref.SECONDS_PER_YEAR);
const INT256_MAX = 2n ** 255n - 1n;
const INT256_MIN = -(2n ** 255n);
const UINT256_MAX = 2n ** 256n - 1n;
const REL_TOL = 1e-6;
const WEI = 1e-18;
const BATCH = 400;
const EXP_UINT256_LIMIT = 135999146549453176898n;

/** A real number as the nearest WAD BigInt. */
function toWad(v: number): bigint {
  return BigInt(Math.round(v * 1e18));
}

/** Splits `items` into calls of at most BATCH inputs and concatenates the results. */
async function batched<T, R>(items: T[], call: (chunk: T[]) => Promise<R[]>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += BATCH) out.push(...(await call(items.slice(i, i + BATCH))));
  return out;
}

interface Stats {
  n: number;
  /** Largest relative error where |reference| ≥ relFrom (below, the WAD quantisation dominates). */
  maxRel: number;
  maxRelAt: string;
  /** Largest absolute error (real units) over every input. */
  maxAbs: number;
  /** Largest error as a fraction of the tolerance (must stay ≤ 1). */
  maxBudget: number;
}
const report = new Map<string, Stats>();

/**
 * Asserts |got − want| ≤ REL_TOL·|want| + absFloor (all in real units) and records the error for the
 * summary. `relFrom` (default 1e-9: one wei is then ≤ 1e-9 of the value) is where the relative error
 * is recorded from.
 */
function expectClose(
  label: string,
  input: string,
  got: number,
  want: number,
  absFloor: number,
  relFrom = 1e-9,
): void {
  const err = Math.abs(got - want);
  const tolerance = REL_TOL * Math.abs(want) + absFloor;
  const stats = report.get(label) ?? { n: 0, maxRel: 0, maxRelAt: "-", maxAbs: 0, maxBudget: 0 };
  stats.n += 1;
  if (Math.abs(want) >= relFrom && err / Math.abs(want) > stats.maxRel) {
    stats.maxRel = err / Math.abs(want);
    stats.maxRelAt = input;
  }
  stats.maxAbs = Math.max(stats.maxAbs, err);
  stats.maxBudget = Math.max(stats.maxBudget, err / tolerance);
  report.set(label, stats);
  if (!(err <= tolerance)) {
    expect.fail(`${label}: input ${input}: got ${got}, reference ${want}, error ${err}`);
  }
}

describe("RiskMath", function () {
  async function deployFixture() {
    const harness: RiskMathHarness = await ethers.deployContract("RiskMathHarness");
    return { harness };
  }

  after(function () {
    if (report.size === 0) return;
    console.log("      RiskMath vs reference: max relative error (where the quantisation is negligible),");
    console.log("      max absolute error, largest fraction of the tolerance 1e-6·|ref| + floor used:");
    for (const [label, s] of report) {
      console.log(
        `        ${label.padEnd(32)} n=${String(s.n).padStart(5)}  rel ${s.maxRel.toExponential(2)}` +
          `  abs ${s.maxAbs.toExponential(2)}  budget ${s.maxBudget.toFixed(3)}  (rel at ${s.maxRelAt})`,
      );
    }
  });

  describe("constants", function () {
    it("uses a 365-day year", async function () {
      const { harness } = await loadFixture(deployFixture);
      expect(await harness.secondsPerYear()).to.equal(365n * 24n * 3600n);
    });
  });

  describe("lnWad", function () {
    it("matches ln on [1e-9, 1e9] and near 1", async function () {
      const { harness } = await loadFixture(deployFixture);
      const rng = new Rng(1n);
      const xs: bigint[] = [];
      for (let i = 0; i < 1800; i++) xs.push(toWad(rng.logUniform(1e-9, 1e9)));
      for (let i = 0; i < 400; i++) {
        const delta = toWad(rng.logUniform(1e-15, 1e-1)) * (i % 2 === 0 ? 1n : -1n);
        xs.push(WAD + delta);
      }
      xs.push(10n ** 9n, 10n ** 27n, WAD, WAD - 1n, WAD + 1n);
      const got = await batched(xs, (c) => harness.lnBatch(c));
      xs.forEach((x, i) => {
        const label = x > WAD / 2n && x < 2n * WAD ? "ln near 1 [0.5, 2]" : "ln [1e-9, 1e9]";
        expectClose(label, `${x}`, ref.fromWad(got[i]), ref.ln(x), 1e-12, 1e-3);
      });
    });

    it("matches ln over the whole uint256 range, including above 2^255", async function () {
      const { harness } = await loadFixture(deployFixture);
      const rng = new Rng(2n);
      const xs: bigint[] = [1n, 2n, UINT256_MAX, INT256_MAX, INT256_MAX + 1n, 3n * 2n ** 254n];
      for (let i = 0; i < 600; i++) xs.push(rng.bits(256));
      const got = await batched(xs, (c) => harness.lnBatch(c));
      xs.forEach((x, i) => expectClose("ln (0, 2^256)", `${x}`, ref.fromWad(got[i]), ref.ln(x), 1e-12, 1e-3));
    });

    it("is exactly 0 at 1 and continuous across 2^255 (within 2 wei)", async function () {
      const { harness } = await loadFixture(deployFixture);
      expect(await harness.lnWad(WAD)).to.equal(0n);
      const below = await harness.lnWad(INT256_MAX);
      const above = await harness.lnWad(INT256_MAX + 1n);
      const step = above - below;
      expect(step >= -2n && step <= 2n, `step ${step}`).to.equal(true);
    });

    it("reverts RiskMathDomain at 0", async function () {
      const { harness } = await loadFixture(deployFixture);
      await expect(harness.lnWad(0n)).to.be.revertedWithCustomError(harness, "RiskMathDomain");
    });
  });

  describe("expWad", function () {
    it("matches exp on [-40, 40]", async function () {
      const { harness } = await loadFixture(deployFixture);
      const rng = new Rng(3n);
      const xs: bigint[] = [0n, -40n * WAD, 40n * WAD, WAD, -WAD];
      for (let i = 0; i < 2000; i++) xs.push(toWad(rng.uniform(-40, 40)));
      const got = await batched(xs, (c) => harness.expBatch(c));
      xs.forEach((x, i) => expectClose("exp [-40, 40]", `${x}`, ref.fromWad(got[i]), ref.exp(x), WEI, 1e-3));
    });

    it("matches exp up to the uint256 limit", async function () {
      const { harness } = await loadFixture(deployFixture);
      const rng = new Rng(4n);
      const xs: bigint[] = [
        135305999368893231588n,
        135305999368893231589n,
        EXP_UINT256_LIMIT - 1n,
        -41446531673892822312n,
      ];
      for (let i = 0; i < 400; i++) xs.push(toWad(rng.uniform(-42, 135.99)));
      const got = await batched(xs, (c) => harness.expBatch(c));
      xs.forEach((x, i) => expectClose("exp [-42, 136)", `${x}`, ref.fromWad(got[i]), ref.exp(x), WEI, 1e-3));
    });

    it("is 1 at 0, 0 for very negative x, and continuous at solady's int256 limit", async function () {
      const { harness } = await loadFixture(deployFixture);
      expect(await harness.expWad(0n)).to.equal(WAD);
      expect(await harness.expWad(-41446531673892822313n)).to.equal(0n);
      expect(await harness.expWad(-100n * WAD)).to.equal(0n);
      expect(await harness.expWad(INT256_MIN)).to.equal(0n);
      const a = await harness.expWad(135305999368893231588n);
      const b = await harness.expWad(135305999368893231589n);
      expect(b).to.be.gte(a);
      expect(Number(b - a) / Number(a)).to.be.lt(1e-15);
      const top = await harness.expWad(EXP_UINT256_LIMIT - 1n);
      expect(top).to.be.gt(UINT256_MAX - UINT256_MAX / 10n ** 15n);
    });

    it("reverts RiskMathOverflow where the result does not fit in uint256", async function () {
      const { harness } = await loadFixture(deployFixture);
      for (const x of [EXP_UINT256_LIMIT, 136n * WAD, INT256_MAX]) {
        await expect(harness.expWad(x)).to.be.revertedWithCustomError(harness, "RiskMathOverflow");
      }
    });
  });

  describe("sqrtWad", function () {
    it("equals floor(sqrt(x * 1e18)) exactly over the whole uint256 range", async function () {
      const { harness } = await loadFixture(deployFixture);
      const rng = new Rng(5n);
      const xs: bigint[] = [
        0n,
        1n,
        2n,
        WAD,
        4n * WAD,
        2n * WAD,
        UINT256_MAX,
        UINT256_MAX / WAD,
        UINT256_MAX / WAD + 1n,
      ];
      for (let i = 0; i < 1000; i++) xs.push(rng.bits(256));
      // Perfect squares and their neighbours, where rounding down is visible.
      for (let i = 0; i < 100; i++) {
        const r = rng.bits(120);
        const square = (r * r) / WAD;
        xs.push(square, square + 1n, square > 0n ? square - 1n : 0n);
      }
      const got = await batched(xs, (c) => harness.sqrtBatch(c));
      xs.forEach((x, i) => expect(got[i], `sqrtWad(${x})`).to.equal(ref.sqrtWad(x)));
    });
  });

  describe("normCdfWad", function () {
    it("matches Φ with relative error <= 1e-6 (+1 wei) on [-8, 8] and the left tail", async function () {
      const { harness } = await loadFixture(deployFixture);
      const rng = new Rng(6n);
      const xs: bigint[] = [0n, -8n * WAD, 8n * WAD, 1n, -1n, -WAD, WAD];
      for (let i = 0; i < 2500; i++) xs.push(toWad(rng.uniform(-8, 8)));
      for (let i = 0; i < 500; i++) xs.push(toWad(rng.uniform(-9.5, -6.5)));
      const got = await batched(xs, (c) => harness.normCdfBatch(c));
      xs.forEach((x, i) => {
        const xr = ref.fromWad(x);
        const label = xr < -8 ? "normCdf [-9.5, -8)" : "normCdf [-8, 8]";
        expectClose(label, xr.toFixed(6), ref.fromWad(got[i]), ref.normCdf(xr), WEI);
      });
    });

    it("is exactly 0 / 1e18 beyond ±9 (and so beyond ±38)", async function () {
      const { harness } = await loadFixture(deployFixture);
      const lows = [-9n * WAD, -38n * WAD, -39n * WAD, -1000n * WAD, INT256_MIN];
      const highs = [9n * WAD, 38n * WAD, 39n * WAD, 1000n * WAD, INT256_MAX];
      expect(await harness.normCdfBatch(lows)).to.deep.equal(lows.map(() => 0n));
      expect(await harness.normCdfBatch(highs)).to.deep.equal(highs.map(() => WAD));
      // Just inside the cut-off the formula already rounds to 0 / 1e18: no jump at ±9.
      expect(await harness.normCdfWad(-9n * WAD + 1n)).to.equal(0n);
      expect(await harness.normCdfWad(9n * WAD - 1n)).to.equal(WAD);
    });

    it("is monotone non-decreasing", async function () {
      const { harness } = await loadFixture(deployFixture);
      const rng = new Rng(7n);
      const xs: bigint[] = [];
      for (let i = 0; i < 2000; i++) xs.push(toWad(rng.uniform(-10, 10)));
      // Dense runs: consecutive inputs 1e-6 apart around a few points.
      for (const c of [-7.5, -3, -1e-3, 0, 0.5, 2, 6]) {
        for (let k = -50; k <= 50; k++) xs.push(toWad(c) + BigInt(k) * 10n ** 12n);
      }
      xs.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      const got = await batched(xs, (c) => harness.normCdfBatch(c));
      for (let i = 1; i < got.length; i++) {
        expect(got[i], `Φ(${xs[i]}) < Φ(${xs[i - 1]})`).to.be.gte(got[i - 1]);
      }
    });

    it("is symmetric: Φ(x) + Φ(−x) = 1e18 exactly for x ≠ 0", async function () {
      const { harness } = await loadFixture(deployFixture);
      const rng = new Rng(8n);
      const xs: bigint[] = [1n, 10n ** 6n, INT256_MAX];
      for (let i = 0; i < 1000; i++) xs.push(toWad(rng.uniform(0, 12)) + 1n);
      const pos = await batched(xs, (c) => harness.normCdfBatch(c));
      const neg = await batched(
        xs.map((x) => -x),
        (c) => harness.normCdfBatch(c),
      );
      xs.forEach((x, i) => expect(pos[i] + neg[i], `x = ${x}`).to.equal(WAD));
      const half = await harness.normCdfWad(0n);
      expect(Number(half - WAD / 2n) / 5e17).to.be.lessThan(1.2e-7);
    });
  });

  describe("normCdfE36", function () {
    it("matches Φ with relative error <= 1e-6 on [-13, 13], deep left tail included", async function () {
      const { harness } = await loadFixture(deployFixture);
      const rng = new Rng(16n);
      const xs: bigint[] = [0n, -8n * WAD, -12n * WAD, 8n * WAD];
      for (let i = 0; i < 1500; i++) xs.push(toWad(rng.uniform(-8, 8)));
      for (let i = 0; i < 500; i++) xs.push(toWad(rng.uniform(-13, -8)));
      const got = await batched(xs, (c) => harness.normCdfE36Batch(c));
      xs.forEach((x, i) => {
        const xr = ref.fromWad(x);
        const label = xr < -8 ? "normCdfE36 [-13, -8)" : "normCdfE36 [-8, 8]";
        // Compare the smaller tail, which carries the relative accuracy (1 − Φ for x > 0).
        const gotTail = x <= 0n ? Number(got[i]) / 1e36 : Number(10n ** 36n - got[i]) / 1e36;
        expectClose(label, xr.toFixed(6), gotTail, ref.normCdf(-Math.abs(xr)), 1e-36, 1e-27);
      });
    });

    it("agrees with normCdfWad to the wei and is 0 / 1e36 beyond ±13", async function () {
      const { harness } = await loadFixture(deployFixture);
      const rng = new Rng(17n);
      const xs: bigint[] = [];
      for (let i = 0; i < 500; i++) xs.push(toWad(rng.uniform(-10, 10)));
      const wad = await batched(xs, (c) => harness.normCdfBatch(c));
      const e36 = await batched(xs, (c) => harness.normCdfE36Batch(c));
      xs.forEach((x, i) => {
        const diff = wad[i] - e36[i] / WAD;
        expect(diff >= -1n && diff <= 1n, `x = ${x}`).to.equal(true);
      });
      expect(await harness.normCdfE36Batch([-13n * WAD, INT256_MIN, 13n * WAD, INT256_MAX])).to.deep.equal([
        0n,
        0n,
        10n ** 36n,
        10n ** 36n,
      ]);
      expect(await harness.normCdfE36(-13n * WAD + 1n)).to.be.lte(10n);
    });
  });

  describe("normInvWad", function () {
    it("matches Φ⁻¹ with relative error <= 1e-6 (+1 wei) on [1e-12, 1 − 1e-12]", async function () {
      const { harness } = await loadFixture(deployFixture);
      const rng = new Rng(9n);
      const ps: bigint[] = [10n ** 6n, WAD - 10n ** 6n, WAD / 2n, WAD / 2n + 1n, WAD / 2n - 1n];
      ps.push(24250000000000000n, 24250000000000001n, WAD - 24250000000000000n, WAD - 24250000000000001n);
      for (let i = 0; i < 900; i++) ps.push(toWad(rng.logUniform(1e-12, 0.5)));
      for (let i = 0; i < 900; i++) ps.push(WAD - toWad(rng.logUniform(1e-12, 0.5)));
      for (let i = 0; i < 400; i++) ps.push(toWad(rng.uniform(1e-12, 1 - 1e-12)));
      // Probabilities a few wei from ½, where Φ⁻¹ is a few wei.
      for (let i = 0; i < 100; i++)
        ps.push(WAD / 2n + BigInt(Math.round(rng.logUniform(1, 1e12))) * (i % 2 ? 1n : -1n));
      const got = await batched(ps, (c) => harness.normInvBatch(c));
      ps.forEach((p, i) => {
        const pr = ref.fromWad(p);
        const label = pr < 0.02425 || pr > 0.97575 ? "normInv tails" : "normInv centre";
        expectClose(label, `${p}`, ref.fromWad(got[i]), ref.normInv(p), WEI);
      });
    });

    it("reaches the WAD extremes: p = 1 wei and 1e18 − 1 wei", async function () {
      const { harness } = await loadFixture(deployFixture);
      const [lo, hi] = await harness.normInvBatch([1n, WAD - 1n]);
      expectClose("normInv p = 1 wei", "1", ref.fromWad(lo), ref.normInv(1n), WEI);
      expect(hi).to.equal(-lo);
      expect(await harness.normInvWad(WAD / 2n)).to.equal(0n);
    });

    it("is antisymmetric, Φ⁻¹(p) = −Φ⁻¹(1 − p) exactly, and monotone", async function () {
      const { harness } = await loadFixture(deployFixture);
      const rng = new Rng(10n);
      const ps: bigint[] = [];
      for (let i = 0; i < 800; i++) ps.push(toWad(rng.logUniform(1e-18, 1)) % WAD || 1n);
      ps.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      const got = await batched(ps, (c) => harness.normInvBatch(c));
      const mirrored = await batched(
        ps.map((p) => WAD - p),
        (c) => harness.normInvBatch(c),
      );
      ps.forEach((p, i) => expect(mirrored[i], `p = ${p}`).to.equal(-got[i]));
      for (let i = 1; i < got.length; i++) expect(got[i], `p = ${ps[i]}`).to.be.gte(got[i - 1]);
    });

    it("inverts normCdfWad: Φ(Φ⁻¹(p)) ≈ p", async function () {
      const { harness } = await loadFixture(deployFixture);
      const rng = new Rng(11n);
      const ps: bigint[] = [];
      for (let i = 0; i < 600; i++) ps.push(toWad(rng.logUniform(1e-12, 0.5)));
      for (let i = 0; i < 400; i++) ps.push(WAD - toWad(rng.logUniform(1e-12, 0.5)));
      const xs = await batched(ps, (c) => harness.normInvBatch(c));
      const back = await batched(xs, (c) => harness.normCdfBatch(c));
      // For p > ½ compare the complements 1 − p, which carry the relative accuracy.
      ps.forEach((p, i) => {
        const tail = 2n * p <= WAD ? p : WAD - p;
        const backTail = 2n * p <= WAD ? back[i] : WAD - back[i];
        expectClose("Φ(Φ⁻¹(p)) round trip", `${p}`, ref.fromWad(backTail), ref.fromWad(tail), WEI);
      });
    });

    it("reverts RiskMathDomain outside (0, 1e18)", async function () {
      const { harness } = await loadFixture(deployFixture);
      for (const p of [0n, WAD, WAD + 1n, UINT256_MAX]) {
        await expect(harness.normInvWad(p)).to.be.revertedWithCustomError(harness, "RiskMathDomain");
      }
    });
  });

  describe("hitProbabilityWad", function () {
    /** Random (D, σ, τ) with z spread over [0, zMax]. */
    function triples(rng: Rng, n: number, zMax: number): [bigint, bigint, bigint][] {
      const out: [bigint, bigint, bigint][] = [];
      for (let i = 0; i < n; i++) {
        const sigma = rng.logUniform(1e-3, 1e6);
        const tau = Math.max(1, Math.round(rng.logUniform(1, 10 * ref.SECONDS_PER_YEAR)));
        const z = rng.uniform(0, zMax);
        const distance = z * sigma * Math.sqrt(tau / ref.SECONDS_PER_YEAR);
        out.push([toWad(distance) + 1n, toWad(sigma), BigInt(tau)]);
      }
      return out;
    }

    async function hitBatch(harness: RiskMathHarness, ts: [bigint, bigint, bigint][]): Promise<bigint[]> {
      return batched(ts, (c) =>
        harness.hitProbabilityBatch(
          c.map((t) => t[0]),
          c.map((t) => t[1]),
          c.map((t) => t[2]),
        ),
      );
    }

    it("matches 2Φ(−D/(σ√(τ/YEAR))) with relative error <= 1e-6 (+1 wei)", async function () {
      const { harness } = await loadFixture(deployFixture);
      const ts = triples(new Rng(12n), 2400, 9.5);
      const got = await hitBatch(harness, ts);
      ts.forEach(([d, s, t], i) => {
        const want = ref.hitProbability(d, s, t);
        expectClose("hitProbability z in [0, 9.5]", `(${d}, ${s}, ${t})`, ref.fromWad(got[i]), want, WEI);
      });
    });

    it("handles extreme inputs without overflow", async function () {
      const { harness } = await loadFixture(deployFixture);
      const ts: [bigint, bigint, bigint][] = [
        [INT256_MAX, UINT256_MAX, UINT256_MAX],
        [INT256_MAX, 1n, UINT256_MAX],
        [1n, 1n, UINT256_MAX],
        [1n, UINT256_MAX, 1n],
        [INT256_MAX, UINT256_MAX, 1n],
        [10n ** 40n * WAD, 10n ** 30n * WAD, 2n ** 200n],
        [WAD, WAD, 2n ** 128n],
        [WAD, WAD, 2n ** 128n - 1n],
        [10n ** 12n * WAD, WAD, 2n ** 140n],
      ];
      const got = await hitBatch(harness, ts);
      ts.forEach(([d, s, t], i) => {
        expect(got[i]).to.be.lte(WAD);
        expectClose(
          "hitProbability extremes",
          `(${d}, ${s}, ${t})`,
          ref.fromWad(got[i]),
          ref.hitProbability(d, s, t),
          WEI,
        );
      });
    });

    it("returns 1e18 for D <= 0 and 0 for σ = 0 or τ = 0", async function () {
      const { harness } = await loadFixture(deployFixture);
      for (const d of [0n, -1n, -WAD, INT256_MIN]) {
        expect(await harness.hitProbabilityWad(d, WAD, YEAR)).to.equal(WAD);
        expect(await harness.hitProbabilityWad(d, 0n, 0n)).to.equal(WAD);
      }
      expect(await harness.hitProbabilityWad(1n, 0n, YEAR)).to.equal(0n);
      expect(await harness.hitProbabilityWad(WAD, WAD, 0n)).to.equal(0n);
      // z ≥ 9: below one wei.
      expect(await harness.hitProbabilityWad(9n * WAD, WAD, YEAR)).to.equal(0n);
      // D/σ ≥ 1e36: zero for every horizon.
      expect(await harness.hitProbabilityWad(10n ** 36n, 1n, UINT256_MAX)).to.equal(0n);
      // One wei of distance with a year of 1 USD/√yr volatility: certain up to the Φ error.
      const nearOne = await harness.hitProbabilityWad(1n, WAD, YEAR);
      expect(nearOne).to.be.lte(WAD);
      expect(Number(WAD - nearOne) / 1e18).to.be.lessThan(1.2e-7);
    });

    it("is decreasing in D and increasing in σ and τ", async function () {
      const { harness } = await loadFixture(deployFixture);
      const rng = new Rng(13n);
      const base = triples(rng, 600, 8);
      const moved: [bigint, bigint, bigint][] = [];
      for (const [d, s, t] of base) {
        const f = 1 + rng.logUniform(1e-6, 1);
        moved.push([toWad(ref.fromWad(d) * f), s, t]);
        moved.push([d, toWad(ref.fromWad(s) * f), t]);
        moved.push([d, s, BigInt(Math.ceil(Number(t) * f)) + 1n]);
      }
      const p0 = await hitBatch(harness, base);
      const p1 = await hitBatch(harness, moved);
      base.forEach((b, i) => {
        expect(p1[3 * i], `larger D at ${b}`).to.be.lte(p0[i]);
        expect(p1[3 * i + 1], `larger σ at ${b}`).to.be.gte(p0[i]);
        expect(p1[3 * i + 2], `larger τ at ${b}`).to.be.gte(p0[i]);
      });
    });

    it("rejects batches of different lengths", async function () {
      const { harness } = await loadFixture(deployFixture);
      await expect(harness.hitProbabilityBatch([1n], [1n, 2n], [1n])).to.be.revertedWithCustomError(
        harness,
        "RiskMathHarnessLengthMismatch",
      );
    });
  });

  describe("distanceForProbabilityWad", function () {
    function inputs(rng: Rng, n: number): [bigint, bigint, bigint][] {
      const out: [bigint, bigint, bigint][] = [];
      for (let i = 0; i < n; i++) {
        const p = toWad(rng.logUniform(1e-12, 1));
        out.push([
          p >= WAD ? WAD - 1n : p,
          toWad(rng.logUniform(1e-3, 1e6)),
          BigInt(Math.round(rng.logUniform(1, 10 * ref.SECONDS_PER_YEAR))),
        ]);
      }
      return out;
    }

    async function distanceBatch(
      harness: RiskMathHarness,
      ts: [bigint, bigint, bigint][],
    ): Promise<bigint[]> {
      return batched(ts, (c) =>
        harness.distanceForProbabilityBatch(
          c.map((t) => t[0]),
          c.map((t) => t[1]),
          c.map((t) => t[2]),
        ),
      );
    }

    it("matches −Φ⁻¹(p/2)·σ·√(τ/YEAR) with relative error <= 1e-6 (+1 wei)", async function () {
      const { harness } = await loadFixture(deployFixture);
      const ts = inputs(new Rng(14n), 2000);
      ts.push([1n, WAD, YEAR], [WAD - 1n, WAD, YEAR], [WAD / 2n, 1n, 1n], [3n, WAD, 2n ** 200n]);
      // p within 1e-9 of 1 with a large σ√τ: the quantile is ~1e-12 and must stay relatively precise.
      const rng = new Rng(18n);
      for (let i = 0; i < 100; i++) {
        ts.push([WAD - BigInt(Math.round(rng.logUniform(1, 1e9))), 10n ** 6n * WAD, 10n * YEAR]);
      }
      const got = await distanceBatch(harness, ts);
      ts.forEach(([p, s, t], i) => {
        const want = ref.distanceForProbability(p, s, t);
        expectClose("distanceForProbability", `(${p}, ${s}, ${t})`, ref.fromWad(got[i]), want, WEI);
      });
    });

    it("round-trips with hitProbabilityWad both ways", async function () {
      const { harness } = await loadFixture(deployFixture);
      const rng = new Rng(15n);
      // p → D → p, for p in [1e-12, 1).
      const ts = inputs(rng, 800);
      const distances = await distanceBatch(harness, ts);
      const back = await batched(
        ts.map((t, i) => [distances[i], t[1], t[2]] as [bigint, bigint, bigint]),
        (c) =>
          harness.hitProbabilityBatch(
            c.map((t) => t[0]),
            c.map((t) => t[1]),
            c.map((t) => t[2]),
          ),
      );
      ts.forEach(([p], i) =>
        expectClose("hit(distance(p)) = p", `${p}`, ref.fromWad(back[i]), ref.fromWad(p), WEI),
      );

      // D → p → D, for z in [0.25, 6] (P in [2e-9, 0.8]), where D is well conditioned in p: the relative
      // error of D is ≈ ε_P·P / (2φ(z)·z), which grows like 1/z for z → 0.
      const ds: [bigint, bigint, bigint][] = [];
      for (let i = 0; i < 800; i++) {
        const sigma = rng.logUniform(1e-3, 1e6);
        const tau = Math.round(rng.logUniform(60, 10 * ref.SECONDS_PER_YEAR));
        const z = rng.uniform(0.25, 6);
        ds.push([toWad(z * sigma * Math.sqrt(tau / ref.SECONDS_PER_YEAR)), toWad(sigma), BigInt(tau)]);
      }
      const ps = await batched(ds, (c) =>
        harness.hitProbabilityBatch(
          c.map((t) => t[0]),
          c.map((t) => t[1]),
          c.map((t) => t[2]),
        ),
      );
      const again = await distanceBatch(
        harness,
        ds.map((t, i) => [ps[i], t[1], t[2]]),
      );
      ds.forEach(([d], i) =>
        expectClose("distance(hit(D)) = D", `${d}`, ref.fromWad(again[i]), ref.fromWad(d), WEI),
      );
    });

    it("is decreasing in p and increasing in σ and τ", async function () {
      const { harness } = await loadFixture(deployFixture);
      const rng = new Rng(19n);
      const base = inputs(rng, 500).filter(([p]) => p < WAD / 2n);
      const moved: [bigint, bigint, bigint][] = [];
      for (const [p, s, t] of base) {
        const f = 1 + rng.logUniform(1e-6, 1);
        moved.push([toWad(ref.fromWad(p) * f), s, t]);
        moved.push([p, toWad(ref.fromWad(s) * f), t]);
        moved.push([p, s, BigInt(Math.ceil(Number(t) * f)) + 1n]);
      }
      const d0 = await distanceBatch(harness, base);
      const d1 = await distanceBatch(harness, moved);
      base.forEach((b, i) => {
        expect(d1[3 * i], `larger p at ${b}`).to.be.lte(d0[i]);
        expect(d1[3 * i + 1], `larger σ at ${b}`).to.be.gte(d0[i]);
        expect(d1[3 * i + 2], `larger τ at ${b}`).to.be.gte(d0[i]);
      });
    });

    it("returns 0 for σ = 0 or τ = 0", async function () {
      const { harness } = await loadFixture(deployFixture);
      expect(await harness.distanceForProbabilityWad(WAD / 10n, 0n, YEAR)).to.equal(0n);
      expect(await harness.distanceForProbabilityWad(WAD / 10n, WAD, 0n)).to.equal(0n);
    });

    it("reverts RiskMathDomain for p outside (0, 1e18) and RiskMathOverflow when D does not fit", async function () {
      const { harness } = await loadFixture(deployFixture);
      for (const p of [0n, WAD, WAD + 1n]) {
        await expect(harness.distanceForProbabilityWad(p, WAD, YEAR)).to.be.revertedWithCustomError(
          harness,
          "RiskMathDomain",
        );
      }
      await expect(harness.distanceForProbabilityWad(1n, UINT256_MAX, YEAR)).to.be.revertedWithCustomError(
        harness,
        "RiskMathOverflow",
      );
      await expect(
        harness.distanceForProbabilityWad(WAD / 2n, UINT256_MAX / 10n ** 8n, UINT256_MAX),
      ).to.be.revertedWithCustomError(harness, "RiskMathOverflow");
      // The largest σ that still fits for p = 1 wei over one year (D ≈ 8.84·σ).
      const fits = await harness.distanceForProbabilityWad(1n, UINT256_MAX / 9n, YEAR);
      expect(fits).to.be.gt(UINT256_MAX - UINT256_MAX / 50n);
    });
  });

  describe("gas", function () {
    it("reports the gas of one call (measured inside the harness)", async function () {
      const { harness } = await loadFixture(deployFixture);
      const coverage = (hre as unknown as { __SOLIDITY_COVERAGE_RUNNING?: boolean })
        .__SOLIDITY_COVERAGE_RUNNING;
      const rows: [string, bigint][] = [];
      for (const x of [-8n * WAD, -WAD, WAD / 2n, 3n * WAD, -10n * WAD]) {
        rows.push([`normCdfWad(${ref.fromWad(x)})`, (await harness.gasNormCdf(x)).gasUsed]);
      }
      for (const p of [10n ** 6n, WAD / 10n, WAD / 2n + 1n, WAD - 10n ** 6n]) {
        rows.push([`normInvWad(${ref.fromWad(p)})`, (await harness.gasNormInv(p)).gasUsed]);
      }
      const hits: [bigint, bigint, bigint][] = [
        [100n * WAD, 5000n * WAD, 3600n],
        [2000n * WAD, 5000n * WAD, 86400n],
        [WAD, 10n ** 40n, YEAR],
        [1000n * WAD, 500n * WAD, 3600n],
      ];
      for (const [d, s, t] of hits) {
        rows.push([
          `hitProbabilityWad(${ref.fromWad(d)}, ${ref.fromWad(s)}, ${t})`,
          (await harness.gasHitProbability(d, s, t)).gasUsed,
        ]);
      }
      rows.push([
        "distanceForProbabilityWad(0.01, 500, 3600)",
        (await harness.gasDistanceForProbability(WAD / 100n, 500n * WAD, 3600n)).gasUsed,
      ]);
      const txGas = await harness.normCdfWad.estimateGas(-WAD);
      for (const [label, gas] of rows) console.log(`        ${label.padEnd(48)} ${gas} gas`);
      console.log(`        eth_estimateGas of a whole harness normCdfWad tx: ${txGas}`);
      if (!coverage) for (const [label, gas] of rows) expect(gas, label).to.be.lt(5000n);
    });
  });
});
