import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import fc from "fast-check";

import { RebalanceMathHarness, VolatilityScaledStrategy } from "../../typechain-types";
import {
  BTC_PARAMS,
  ETH_PARAMS,
  OVERSHOOT_TOLERANCE,
  Position,
  Snapshot,
  WAD,
  execute,
  isEmptyPlan,
  mulWadUp,
  notionalWad,
  position,
  snapshot,
  snapshotAtHealth,
  toPlan,
  wad,
} from "../helpers/snapshots";

/** fast-check seed: fixed so that CI is reproducible; set FC_SEED to explore others. */
const FC_SEED = Number(process.env.FC_SEED ?? 20261125);

const usdc = (x: number | string) => ethers.parseUnits(String(x), 6);
const HOUR = 3600n;

/** Deployment parameters: pMax 1%, pTarget 0.1%, 6 h, turbulence above 120%/year, target ×1.5 in turbulence. */
const PARAMS = {
  pMaxWad: wad("0.01"),
  pTargetWad: wad("0.001"),
  horizonSeconds: 6n * HOUR,
  turbulenceVolatilityWad: wad("1.2"),
  turbulenceTargetMultiplierWad: wad("1.5"),
};
const ARGS = [
  PARAMS.pMaxWad,
  PARAMS.pTargetWad,
  PARAMS.horizonSeconds,
  PARAMS.turbulenceVolatilityWad,
  PARAMS.turbulenceTargetMultiplierWad,
] as const;

// ---------------------------------------------------------------- double-precision reference

const SECONDS_PER_YEAR = 365 * 24 * 3600;

/** erfc(x) for x ≥ 0: positive series below 3, continued fraction above (relative error ~1e-15). */
function erfc(x: number): number {
  if (x < 3) {
    // erf(x) = 2/√π · e^{−x²} · Σ 2ⁿ x^{2n+1} / (1·3·…·(2n+1))
    let term = x;
    let sum = x;
    for (let n = 1; n < 200 && term > 1e-18 * sum; n++) {
      term *= (2 * x * x) / (2 * n + 1);
      sum += term;
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x) * sum;
  }
  // erfc(x) = e^{−x²}/√π · 1 / (x + (1/2) / (x + 1 / (x + (3/2) / (x + …))))
  let t = x;
  for (let n = 80; n >= 1; n--) t = x + n / 2 / t;
  return Math.exp(-x * x) / (Math.sqrt(Math.PI) * t);
}

/** Φ(x). */
const normCdf = (x: number) => (x < 0 ? erfc(-x / Math.SQRT2) / 2 : 1 - erfc(x / Math.SQRT2) / 2);

/** Φ⁻¹(1 − q) for small q, by bisection on the upper tail. */
function upperQuantile(q: number): number {
  let lo = 0;
  let hi = 40;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (erfc(mid / Math.SQRT2) / 2 > q) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

const toNumber = (x: bigint) => Number(x) / 1e18;
const sqrtTau = (horizonSeconds: bigint) => Math.sqrt(Number(horizonSeconds) / SECONDS_PER_YEAR);

/** σ_p = Σ |size·P|·σ in USD (double). */
const riskOf = (s: Snapshot) =>
  s.positions.reduce(
    (r, p, i) => r + toNumber(notionalWad(p.sizeWad, p.priceWad)) * toNumber(s.volatilityWad[i]),
    0,
  );

/** P_hit = 2·Φ(−D / (σ_p·√(τ/year))) = erfc(z/√2). */
function hitProbabilityRef(s: Snapshot, horizonSeconds = PARAMS.horizonSeconds): number {
  const distance = toNumber(s.equityWad - s.maintenanceWad);
  if (distance <= 0) return 1;
  const z = distance / (riskOf(s) * sqrtTau(horizonSeconds));
  return erfc(z / Math.SQRT2);
}

/** h* = max(policy target, 1 + z_t·σ_p·√(τ/year) / MM), ×multiplier in turbulence. */
function targetHealthRef(s: Snapshot): { target: number; turbulent: boolean } {
  const zt = upperQuantile(toNumber(PARAMS.pTargetWad) / 2);
  const fromRisk = 1 + (zt * riskOf(s) * sqrtTau(PARAMS.horizonSeconds)) / toNumber(s.maintenanceWad);
  let target = Math.max(toNumber(BigInt(s.policy.targetHealthWad)), fromRisk);
  const turbulent = s.positions.some(
    (p, i) => p.sizeWad !== 0n && s.volatilityWad[i] > PARAMS.turbulenceVolatilityWad,
  );
  if (turbulent) target *= toNumber(PARAMS.turbulenceTargetMultiplierWad);
  return { target, turbulent };
}

const expectClose = (actual: number, expected: number, relative = 1e-6, absolute = 1e-15) =>
  expect(Math.abs(actual - expected)).to.be.lte(
    Math.max(relative * Math.abs(expected), absolute),
    `${actual} vs ${expected}`,
  );

// ---------------------------------------------------------------------------------- accounts

const eth = (p: Partial<Position> = {}) =>
  position({ marketId: 1n, sizeWad: wad(10), priceWad: wad(3000), ...ETH_PARAMS, ...p });
const btc = (p: Partial<Position> = {}) =>
  position({ marketId: 2n, sizeWad: -wad("0.5"), priceWad: wad(60000), ...BTC_PARAMS, ...p });

/**
 * 10 ETH at 3,000 with σ = 50%/year: σ_p·√(τ/year) ≈ 392.6 USD over 6 h, MM 1,500, so P_hit = pMax at
 * health ≈ 1.674 and h* ≈ 1.861 (policy: trigger 1.2, target 1.5, sweep 2.5).
 */
const calm = (healthWad: bigint, extra: Partial<Parameters<typeof snapshotAtHealth>[1]> = {}) =>
  snapshotAtHealth(healthWad, {
    positions: [eth()],
    volatilityWad: [wad("0.5")],
    reserveTokens: usdc(10_000),
    keeperRewardTokens: usdc(5),
    ...extra,
  });

describe("VolatilityScaledStrategy", function () {
  async function deployStrategy() {
    const strategy: VolatilityScaledStrategy = await ethers.deployContract("VolatilityScaledStrategy", [
      ...ARGS,
    ]);
    const harness: RebalanceMathHarness = await ethers.deployContract("RebalanceMathHarness");
    return { strategy, harness };
  }

  async function planOf(s: Snapshot) {
    const { strategy } = await loadFixture(deployStrategy);
    return toPlan(await strategy.plan(s));
  }

  describe("deployment", function () {
    it("exposes its parameters and name", async function () {
      const { strategy } = await loadFixture(deployStrategy);
      expect(await strategy.pMaxWad()).to.equal(PARAMS.pMaxWad);
      expect(await strategy.pTargetWad()).to.equal(PARAMS.pTargetWad);
      expect(await strategy.horizonSeconds()).to.equal(PARAMS.horizonSeconds);
      expect(await strategy.turbulenceVolatilityWad()).to.equal(PARAMS.turbulenceVolatilityWad);
      expect(await strategy.turbulenceTargetMultiplierWad()).to.equal(PARAMS.turbulenceTargetMultiplierWad);
      expect(await strategy.name()).to.equal("volatility-scaled");
    });

    it("emits its parameters once", async function () {
      const { strategy } = await loadFixture(deployStrategy);
      const tx = strategy.deploymentTransaction()!;
      await expect(tx)
        .to.emit(strategy, "VolatilityScaledStrategyDeployed")
        .withArgs(...ARGS);
      const receipt = await tx.wait();
      expect(receipt!.logs.length).to.equal(1);
    });

    describe("validations", function () {
      const deploy = (args: readonly bigint[]) =>
        ethers.deployContract("VolatilityScaledStrategy", [...args]);

      it("rejects probabilities outside 0 < pTarget < pMax < 1", async function () {
        const { strategy } = await loadFixture(deployStrategy);
        for (const [pMax, pTarget] of [
          [wad("0.01"), 0n],
          [wad("0.01"), wad("0.01")],
          [wad("0.01"), wad("0.02")],
          [WAD, wad("0.001")],
        ]) {
          await expect(deploy([pMax, pTarget, ...ARGS.slice(2)]))
            .to.be.revertedWithCustomError(strategy, "VolatilityScaledStrategyInvalidProbabilities")
            .withArgs(pMax, pTarget);
        }
      });

      it("rejects a zero horizon or one above a year", async function () {
        const { strategy } = await loadFixture(deployStrategy);
        for (const horizon of [0n, 365n * 24n * HOUR + 1n]) {
          await expect(deploy([ARGS[0], ARGS[1], horizon, ARGS[3], ARGS[4]]))
            .to.be.revertedWithCustomError(strategy, "VolatilityScaledStrategyInvalidHorizon")
            .withArgs(horizon);
        }
        await deploy([ARGS[0], ARGS[1], 365n * 24n * HOUR, ARGS[3], ARGS[4]]);
      });

      it("rejects a zero turbulence threshold and a multiplier outside [1, 4]", async function () {
        const { strategy } = await loadFixture(deployStrategy);
        for (const [vol, multiplier] of [
          [0n, wad("1.5")],
          [wad("1.2"), wad("0.99")],
          [wad("1.2"), wad("4") + 1n],
        ]) {
          await expect(deploy([...ARGS.slice(0, 3), vol, multiplier]))
            .to.be.revertedWithCustomError(strategy, "VolatilityScaledStrategyInvalidTurbulence")
            .withArgs(vol, multiplier);
        }
        await deploy([...ARGS.slice(0, 3), wad("1.2"), WAD]);
      });
    });
  });

  describe("hitProbability", function () {
    it("matches the double-precision reference (relative 1e-6)", async function () {
      const { strategy } = await loadFixture(deployStrategy);
      const cases: Snapshot[] = [];
      for (const h of ["1.01", "1.2", "1.5", "1.674", "2", "3"]) {
        cases.push(calm(wad(h)));
        cases.push(
          snapshotAtHealth(wad(h), {
            positions: [eth({ entryPriceWad: wad(2800) }), btc({ entryPriceWad: wad(61000) })],
            volatilityWad: [wad("0.8"), wad("0.6")],
          }),
        );
      }
      for (const s of cases) {
        const actual = toNumber(await strategy.hitProbability(s));
        expectClose(actual, hitProbabilityRef(s));
      }
    });

    it("is 1 at or below the liquidation point and 0 without positions", async function () {
      const { strategy } = await loadFixture(deployStrategy);
      expect(await strategy.hitProbability(calm(WAD))).to.be.gt(wad("0.99"));
      expect(
        await strategy.hitProbability(snapshot({ marginTokens: usdc(1000), positions: [eth()] })),
      ).to.equal(WAD);
      expect(await strategy.hitProbability(snapshot({ marginTokens: usdc(1000), positions: [] }))).to.equal(
        0n,
      );
    });

    it("sums risk over markets with correlation 1", async function () {
      const { strategy } = await loadFixture(deployStrategy);
      const s = snapshotAtHealth(wad("1.5"), {
        positions: [eth(), btc()],
        volatilityWad: [wad("0.8"), wad("0.6")],
      });
      expect(await strategy.portfolioRiskWad(s)).to.equal(wad(30000 * 0.8 + 30000 * 0.6));
    });
  });

  describe("targetHealth", function () {
    it("is 1 + D*/MM with D* = Φ⁻¹(1 − pTarget/2)·σ_p·√(τ/year)", async function () {
      const { strategy } = await loadFixture(deployStrategy);
      const s = calm(wad("1.6"));
      const [target, turbulent] = await strategy.targetHealth(s);
      expect(turbulent).to.equal(false);
      expectClose(toNumber(target), targetHealthRef(s).target);
      expectClose(toNumber(target), 1.8612, 1e-4);
    });

    it("is the policy target when that is higher (the policy is a floor)", async function () {
      const { strategy } = await loadFixture(deployStrategy);
      const s = calm(wad("1.6"), { policy: { targetHealthWad: wad("2.2"), sweepHealthWad: wad("3") } });
      expect((await strategy.targetHealth(s))[0]).to.equal(wad("2.2"));
    });

    it("is multiplied in turbulence", async function () {
      const { strategy } = await loadFixture(deployStrategy);
      const s = calm(wad("1.6"), { volatilityWad: [wad("1.3")] });
      const [target, turbulent] = await strategy.targetHealth(s);
      expect(turbulent).to.equal(true);
      expectClose(toNumber(target), targetHealthRef(s).target);
      const atThreshold = calm(wad("1.6"), { volatilityWad: [PARAMS.turbulenceVolatilityWad] });
      expect((await strategy.targetHealth(atThreshold))[1]).to.equal(false);
    });
  });

  describe("plan", function () {
    it("triggers on P_hit above pMax while health is above the policy trigger", async function () {
      const { strategy, harness } = await loadFixture(deployStrategy);
      const s = calm(wad("1.6"));
      expect(s.healthWad).to.be.gt(s.policy.triggerHealthWad);
      expect(await strategy.hitProbability(s)).to.be.gt(PARAMS.pMaxWad);
      const plan = await planOf(s);
      const [target] = await strategy.targetHealth(s);
      expect(plan).to.deep.equal(toPlan(await harness.planToTarget(s, target, false)));
      expect(plan.targetHealthWad).to.equal(target);
      expect(plan.topUpTokens).to.be.gt(0n);
      expect(plan.closes).to.deep.equal([]);
      const { finalHealthWad, after } = execute(s, plan);
      expect(finalHealthWad).to.be.gte(target);
      expect(finalHealthWad).to.be.lt(target + OVERSHOOT_TOLERANCE);
      // pTarget, up to RiskMath's approximation error (Φ and Φ⁻¹ are evaluated independently).
      expect(await strategy.hitProbability(after)).to.be.lte(
        PARAMS.pTargetWad + PARAMS.pTargetWad / 1_000_000n,
      );
    });

    it("does nothing while P_hit ≤ pMax and health ≥ trigger", async function () {
      const { strategy } = await loadFixture(deployStrategy);
      for (const h of ["1.68", "1.8", "2.4"]) {
        const s = calm(wad(h));
        expect(await strategy.hitProbability(s)).to.be.lte(PARAMS.pMaxWad);
        expect(isEmptyPlan(await planOf(s)), `health ${h}`).to.equal(true);
      }
    });

    it("still restores the policy target below the policy trigger when P_hit is small", async function () {
      const { strategy } = await loadFixture(deployStrategy);
      const s = calm(wad("1.1"), { volatilityWad: [wad("0.05")] });
      expect(await strategy.hitProbability(s)).to.be.lt(PARAMS.pTargetWad);
      const plan = await planOf(s);
      expect(plan.targetHealthWad).to.equal(wad("1.5"));
      expect(execute(s, plan).finalHealthWad).to.be.gte(wad("1.5"));
    });

    it("does nothing after executing its own plan (no ping-pong)", async function () {
      const cases = [
        calm(wad("1.6")),
        calm(wad("1.3"), { reserveTokens: usdc(200) }),
        snapshotAtHealth(wad("1.4"), {
          positions: [eth(), btc()],
          volatilityWad: [wad("0.9"), wad("0.5")],
          reserveTokens: usdc(500),
          keeperRewardTokens: usdc(5),
        }),
        snapshotAtHealth(wad("1.4"), {
          positions: [eth(), btc()],
          volatilityWad: [wad("1.3"), wad("0.3")],
          reserveTokens: usdc(50_000),
          keeperRewardTokens: usdc(5),
        }),
      ];
      for (const s of cases) {
        const plan = await planOf(s);
        expect(isEmptyPlan(plan)).to.equal(false);
        const { after, finalHealthWad } = execute(s, plan);
        expect(finalHealthWad).to.be.gte(plan.targetHealthWad);
        expect(isEmptyPlan(await planOf(after))).to.equal(true);
      }
    });

    it("raises the target when its closes leave a riskier mix", async function () {
      const { strategy } = await loadFixture(deployStrategy);
      // A (high mmr, low fee, low σ) is the cheapest to close; what remains is B (low mmr, high σ).
      const a = position({
        marketId: 1n,
        sizeWad: wad(10),
        priceWad: wad(3000),
        imrWad: wad("0.2"),
        mmrWad: wad("0.1"),
        feeWad: wad("0.0005"),
      });
      const b = position({
        marketId: 2n,
        sizeWad: wad(10),
        priceWad: wad(3000),
        imrWad: wad("0.04"),
        mmrWad: wad("0.02"),
        feeWad: wad("0.001"),
      });
      const s = snapshotAtHealth(wad("1.3"), {
        positions: [a, b],
        volatilityWad: [wad("0.2"), wad("1")],
        keeperRewardTokens: usdc(5),
        policy: { allowTopUp: false },
      });
      const [initialTarget] = await strategy.targetHealth(s);
      const plan = await planOf(s);
      expect(plan.closes[0].index).to.equal(0n);
      expect(plan.targetHealthWad).to.be.gt(initialTarget);
      const { after, finalHealthWad } = execute(s, plan);
      expect(finalHealthWad).to.be.gte(plan.targetHealthWad);
      expect(await strategy.hitProbability(after)).to.be.lte(PARAMS.pMaxWad);
      expect(isEmptyPlan(await planOf(after))).to.equal(true);
      // Planned to the snapshot's own h*, the same closes would leave P_hit above pMax.
      const { harness } = await loadFixture(deployStrategy);
      const naive = toPlan(await harness.planToTarget(s, initialTarget, false));
      expect(await strategy.hitProbability(execute(s, naive).after)).to.be.gt(PARAMS.pMaxWad);
    });

    it("in turbulence raises the target and deleverages before topping up", async function () {
      const { strategy } = await loadFixture(deployStrategy);
      const s = snapshotAtHealth(wad("1.4"), {
        positions: [eth(), btc()],
        volatilityWad: [wad("1.3"), wad("0.3")],
        reserveTokens: usdc(50_000),
        keeperRewardTokens: usdc(5),
      });
      const [target, turbulent] = await strategy.targetHealth(s);
      expect(turbulent).to.equal(true);
      const calmTarget = (await strategy.targetHealth({ ...s, volatilityWad: [wad("1.2"), wad("0.3")] }))[0];
      expect(target).to.be.gt(calmTarget);
      const plan = await planOf(s);
      // At least h*; more because closing BTC (low σ) first leaves a riskier mix.
      expect(plan.targetHealthWad).to.be.gte(target);
      expect(plan.topUpTokens).to.equal(0n);
      expect(plan.closes.map((c) => c.index)).to.deep.equal([1n, 0n]);
      const { finalHealthWad } = execute(s, plan);
      expect(finalHealthWad).to.be.gte(plan.targetHealthWad);
      expect(finalHealthWad).to.be.lt(plan.targetHealthWad + OVERSHOOT_TOLERANCE);
      // Calm, the same account is topped up from its reserve instead.
      const calmPlan = await planOf({ ...s, volatilityWad: [wad("1.2"), wad("0.3")] });
      expect(calmPlan.topUpTokens).to.be.gt(0n);
      expect(calmPlan.closes).to.deep.equal([]);
    });

    it("sweeps to h* at or above the sweep health when P_hit ≤ pTarget, and then rests", async function () {
      const { strategy } = await loadFixture(deployStrategy);
      const s = calm(wad("4"), { positions: [eth({ imrWad: wad("0.06") })] });
      expect(await strategy.hitProbability(s)).to.be.lte(PARAMS.pTargetWad);
      const plan = await planOf(s);
      const [target] = await strategy.targetHealth(s);
      expect(plan.targetHealthWad).to.equal(target);
      expect(plan.sweepTokens).to.be.gt(0n);
      const { after, finalHealthWad } = execute(s, plan);
      expect(finalHealthWad).to.be.gte(target);
      expect(finalHealthWad).to.be.lt(target + wad("0.001"));
      expect(await strategy.hitProbability(after)).to.be.lte(
        PARAMS.pTargetWad + PARAMS.pTargetWad / 1_000_000n,
      );
      expect(isEmptyPlan(await planOf(after))).to.equal(true);
    });

    it("does not sweep while P_hit is above pTarget, whatever the health", async function () {
      const { strategy } = await loadFixture(deployStrategy);
      // σ = 120%/year: h* ≈ 3.07 > sweep health 2.5; at 2.8, pTarget < P_hit ≤ pMax.
      const s = calm(wad("2.8"), { volatilityWad: [wad("1.2")] });
      const p = await strategy.hitProbability(s);
      expect(p).to.be.gt(PARAMS.pTargetWad);
      expect(p).to.be.lte(PARAMS.pMaxWad);
      expect(isEmptyPlan(await planOf(s))).to.equal(true);
    });

    it("property: never restores twice in a row, and rests after at most one sweep", async function () {
      const { strategy } = await loadFixture(deployStrategy);
      const market = (marketId: bigint) =>
        fc
          .record({
            size: fc.integer({ min: 1, max: 1000 }),
            long: fc.boolean(),
            price: fc.integer({ min: 1, max: 100_000 }),
            mmrPermille: fc.integer({ min: 20, max: 100 }),
            feeBps: fc.integer({ min: 0, max: 10 }),
            volPercent: fc.integer({ min: 10, max: 150 }),
          })
          .map((m) => ({
            p: position({
              marketId,
              sizeWad: (m.long ? 1n : -1n) * wad(m.size),
              priceWad: wad(m.price),
              mmrWad: BigInt(m.mmrPermille) * 10n ** 15n,
              imrWad: BigInt(2 * m.mmrPermille) * 10n ** 15n,
              feeWad: BigInt(m.feeBps) * 10n ** 14n,
            }),
            vol: BigInt(m.volPercent) * 10n ** 16n,
          }));
      await fc.assert(
        fc.asyncProperty(
          fc
            .integer({ min: 1, max: 3 })
            .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => market(BigInt(i + 1))))),
          fc.integer({ min: 1050, max: 5000 }),
          fc.integer({ min: 0, max: 200 }),
          fc.boolean(),
          async (markets, healthPermille, reservePercentOfMargin, allowTopUp) => {
            const base = snapshotAtHealth(BigInt(healthPermille) * 10n ** 15n, {
              positions: markets.map((m) => m.p),
              volatilityWad: markets.map((m) => m.vol),
              keeperRewardTokens: usdc(1),
              policy: { allowTopUp },
            });
            const s = { ...base, reserveTokens: (base.marginTokens * BigInt(reservePercentOfMargin)) / 100n };
            const plan = toPlan(await strategy.plan(s));
            if (isEmptyPlan(plan)) return;
            const { after, finalHealthWad } = execute(s, plan);
            if (finalHealthWad < plan.targetHealthWad) return; // means exhausted
            // A close-out (account too small to rebalance economically) leaves nothing to plan.
            if (after.positions.every((p) => p.sizeWad === 0n)) {
              expect(isEmptyPlan(toPlan(await strategy.plan(after)))).to.equal(true);
              return;
            }
            if (plan.sweepTokens === 0n)
              expect(finalHealthWad).to.be.lt(plan.targetHealthWad + OVERSHOOT_TOLERANCE);
            // Without closes the mix is unchanged and the target is the snapshot's own h*.
            if (plan.closes.length === 0 && plan.sweepTokens === 0n) {
              expectClose(toNumber(plan.targetHealthWad), targetHealthRef(s).target, 1e-6);
            }
            const again = toPlan(await strategy.plan(after));
            if (isEmptyPlan(again)) return;
            // Never a second restore. A restore whose closes changed the risk mix (or ended the turbulence)
            // may leave margin the new mix does not need: one sweep, after which the account rests.
            expect(plan.closes.length, "only a restore with closes changes the mix").to.be.greaterThan(0);
            expect(again.sweepTokens, "no second restore").to.be.gt(0n);
            expect(isEmptyPlan(toPlan(await strategy.plan(execute(after, again).after)))).to.equal(true);
          },
        ),
        { numRuns: 200, seed: FC_SEED },
      );
    });
  });
});
