import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import fc from "fast-check";

import { RebalanceMathHarness } from "../../typechain-types";
import {
  BTC_PARAMS,
  ETH_PARAMS,
  OVERSHOOT_TOLERANCE,
  Plan,
  Position,
  Snapshot,
  UNCAPPED,
  USDC_SCALE,
  WAD,
  abs,
  execute,
  isEmptyPlan,
  mulWadDown,
  mulWadUp,
  notionalWad,
  position,
  snapshot,
  snapshotAtHealth,
  toPlan,
  toTokenUp,
  wad,
} from "../helpers/snapshots";

/** fast-check seed: fixed so that CI is reproducible; set FC_SEED to explore others. */
const FC_SEED = Number(process.env.FC_SEED ?? 20261125);

const usdc = (x: number | string) => ethers.parseUnits(String(x), 6);
const TARGET = wad("1.5");

/** 10 ETH long at 3,000 (notional 30,000, MM 1,500). */
const eth = (p: Partial<Position> = {}) =>
  position({ marketId: 1n, sizeWad: wad(10), priceWad: wad(3000), ...ETH_PARAMS, ...p });
/** 0.5 BTC long at 60,000 (notional 30,000, MM 1,200): cheaper relief per unit of fee than ETH. */
const btc = (p: Partial<Position> = {}) =>
  position({ marketId: 2n, sizeWad: wad("0.5"), priceWad: wad(60000), ...BTC_PARAMS, ...p });

/** `G = h*·MM − (E − R)` as the library computes it. */
const gapOf = (s: Snapshot, target: bigint) =>
  mulWadUp(s.maintenanceWad, target) - (s.equityWad - s.keeperRewardTokens * s.scale);

describe("RebalanceMath", function () {
  async function deployHarness() {
    const harness: RebalanceMathHarness = await ethers.deployContract("RebalanceMathHarness");
    return { harness };
  }

  async function planOf(s: Snapshot, target = TARGET, preferDeleverage = false): Promise<Plan> {
    const { harness } = await loadFixture(deployHarness);
    return toPlan(await harness.planToTarget(s, target, preferDeleverage));
  }

  async function sweepOf(s: Snapshot, target = TARGET): Promise<Plan> {
    const { harness } = await loadFixture(deployHarness);
    return toPlan(await harness.planSweep(s, target));
  }

  /** Executes `plan` with the TypeScript reference and checks the library's simulation agrees. */
  async function executeChecked(s: Snapshot, plan: Plan) {
    const { harness } = await loadFixture(deployHarness);
    const result = execute(s, plan);
    expect(Array.from(await harness.healthPath(s, plan))).to.deep.equal(result.path);
    return result;
  }

  /** Expects `plan` to land in `[target, target + tolerance)` without lowering health at any step. */
  async function expectLands(s: Snapshot, plan: Plan, target = TARGET) {
    const { path, finalHealthWad } = await executeChecked(s, plan);
    expect(finalHealthWad).to.be.gte(target);
    expect(finalHealthWad).to.be.lt(target + OVERSHOOT_TOLERANCE);
    expectMonotone(s, path);
    return finalHealthWad;
  }

  /** Expects no step of the plan (top-up, closes) to lower health. */
  function expectMonotone(s: Snapshot, path: bigint[]) {
    let previous = s.healthWad;
    for (const h of path.slice(0, -1)) {
      expect(h).to.be.gte(previous);
      previous = h;
    }
  }

  describe("gap", function () {
    it("is h*·MM (rounded up) minus equity net of the reward", async function () {
      const { harness } = await loadFixture(deployHarness);
      expect(await harness.gap(wad(1650), wad(1500), TARGET, wad(5))).to.equal(wad(605));
      expect(await harness.gap(wad(3000), wad(1500), TARGET, 0n)).to.equal(-wad(750));
      expect(await harness.gap(-wad(10), 3n, TARGET, 0n)).to.equal(5n + wad(10));
    });
  });

  describe("planToTarget", function () {
    describe("empty plans", function () {
      it("when the account is at or above the target after the reward (G ≤ 0)", async function () {
        const s = snapshotAtHealth(wad("1.6"), { positions: [eth()], reserveTokens: usdc(1000) });
        expect(isEmptyPlan(await planOf(s))).to.equal(true);
      });

      it("when the account has no positions", async function () {
        const s = snapshot({
          marginTokens: 0n,
          positions: [],
          reserveTokens: usdc(1000),
          keeperRewardTokens: 5n,
        });
        expect(isEmptyPlan(await planOf(s))).to.equal(true);
      });

      it("when the plan is dust: it restores less equity than the keeper reward (G < R)", async function () {
        // At the target before the reward: the rebalance would only pay its keeper.
        const base = { positions: [eth()], reserveTokens: usdc(1000), keeperRewardTokens: usdc(5) };
        const dust = snapshot({ ...base, marginTokens: usdc(2250) + usdc(1) });
        expect(gapOf(dust, TARGET)).to.equal(usdc(4) * USDC_SCALE);
        expect(isEmptyPlan(await planOf(dust))).to.equal(true);
        // Exactly at the target before the reward (G = R): the plan could not raise health either.
        const at = snapshot({ ...base, marginTokens: usdc(2250) });
        expect(gapOf(at, TARGET)).to.equal(usdc(5) * USDC_SCALE);
        expect(isEmptyPlan(await planOf(at))).to.equal(true);
        // One token unit under the target: worth doing.
        const worth = snapshot({ ...base, marginTokens: usdc(2250) - 1n });
        expect(gapOf(worth, TARGET)).to.equal((usdc(5) + 1n) * USDC_SCALE);
        const plan = await planOf(worth);
        expect(plan.topUpTokens).to.equal(usdc(5) + 1n);
        await expectLands(worth, plan);
      });

      it("when no means are allowed", async function () {
        const s = snapshotAtHealth(wad("1.1"), {
          positions: [eth()],
          reserveTokens: usdc(1000),
          policy: { allowTopUp: false, allowDeleverage: false },
        });
        expect(isEmptyPlan(await planOf(s))).to.equal(true);
      });

      it("when the allowed means cannot even pay the keeper reward", async function () {
        const s = snapshotAtHealth(wad("1.1"), {
          positions: [eth()],
          reserveTokens: usdc(2),
          keeperRewardTokens: usdc(5),
          policy: { allowDeleverage: false },
        });
        expect(isEmptyPlan(await planOf(s))).to.equal(true);
      });
    });

    describe("top-up", function () {
      it("tops up ⌈G / scale⌉ and lands on the target", async function () {
        const s = snapshot({
          marginTokens: usdc(1650),
          positions: [eth()],
          reserveTokens: usdc(10_000),
          keeperRewardTokens: usdc(5),
        });
        const plan = await planOf(s);
        expect(plan.targetHealthWad).to.equal(TARGET);
        expect(plan.topUpTokens).to.equal(usdc(605));
        expect(plan.closes).to.deep.equal([]);
        expect(plan.sweepTokens).to.equal(0n);
        expect(await expectLands(s, plan)).to.equal(TARGET);
      });

      it("rounds the top-up up to a whole token unit", async function () {
        const s = snapshot({
          marginTokens: usdc(1650),
          positions: [eth({ priceWad: wad("3000.0000001") })],
          reserveTokens: usdc(10_000),
        });
        const plan = await planOf(s);
        expect(plan.topUpTokens).to.equal(toTokenUp(gapOf(s, TARGET), USDC_SCALE));
        await expectLands(s, plan);
      });

      it("uses the reserve before any deleverage", async function () {
        const s = snapshotAtHealth(wad("1.1"), {
          positions: [eth(), btc()],
          reserveTokens: usdc(300),
          keeperRewardTokens: usdc(5),
        });
        const plan = await planOf(s);
        expect(plan.topUpTokens).to.equal(usdc(300));
        expect(plan.closes.length).to.be.greaterThan(0);
        const { path } = await executeChecked(s, plan);
        expect(path[0]).to.be.gt(s.healthWad);
        await expectLands(s, plan);
      });

      it("ends below the target with the reserve fully used when deleverage is not allowed", async function () {
        const s = snapshotAtHealth(wad("1.1"), {
          positions: [eth(), btc()],
          reserveTokens: usdc(300),
          keeperRewardTokens: usdc(5),
          policy: { allowDeleverage: false },
        });
        const plan = await planOf(s);
        expect(plan.topUpTokens).to.equal(usdc(300));
        expect(plan.closes).to.deep.equal([]);
        expect(plan.targetHealthWad).to.equal(TARGET);
        const { finalHealthWad } = await executeChecked(s, plan);
        expect(finalHealthWad).to.be.lt(TARGET);
        expect(finalHealthWad).to.be.gt(s.healthWad);
      });

      it("works with an 18-decimals settlement token", async function () {
        const s = snapshotAtHealth(wad("1.05"), {
          positions: [eth(), btc({ sizeWad: -wad("0.3") })],
          reserveTokens: wad(100_000),
          keeperRewardTokens: wad(3),
          scale: 1n,
        });
        const plan = await planOf(s);
        expect(plan.topUpTokens).to.equal(gapOf(s, TARGET));
        expect(await expectLands(s, plan)).to.equal(TARGET);
      });
    });

    describe("deleverage", function () {
      it("orders markets by relief per unit of fee: cheapest first, fee-free before all", async function () {
        const { harness } = await loadFixture(deployHarness);
        // ETH: (1.5·0.05 − 0.001)/0.001 = 74; BTC: (1.5·0.04 − 0.0005)/0.0005 = 119; SOL: fee 0.
        const sol = position({
          marketId: 3n,
          sizeWad: wad(100),
          priceWad: wad(150),
          mmrWad: wad("0.02"),
          feeWad: 0n,
        });
        expect(Array.from(await harness.costOrder([eth(), btc()], TARGET))).to.deep.equal([1n, 0n]);
        expect(Array.from(await harness.costOrder([eth(), btc(), sol], TARGET))).to.deep.equal([2n, 1n, 0n]);
        // A market whose relief does not pay its fee (h*·mmr ≤ fee) and an empty position are skipped.
        const junk = position({
          marketId: 4n,
          sizeWad: wad(1),
          priceWad: wad(10),
          mmrWad: wad("0.006"),
          feeWad: wad("0.01"),
        });
        const empty = eth({ marketId: 5n, sizeWad: 0n });
        expect(Array.from(await harness.costOrder([junk, eth(), empty, btc()], TARGET))).to.deep.equal([
          3n,
          1n,
        ]);
      });

      it("closes the cheapest market first and only as much as needed", async function () {
        const s = snapshotAtHealth(wad("1.1"), { positions: [eth(), btc()], keeperRewardTokens: usdc(5) });
        const plan = await planOf(s);
        expect(plan.topUpTokens).to.equal(0n);
        expect(plan.closes.length).to.equal(1);
        expect(plan.closes[0].index).to.equal(1n);
        // n = ⌈(G + slack) / (h*·mmr − fee)⌉, size = ⌈n / P⌉.
        const relief = mulWadDown(TARGET, BTC_PARAMS.mmrWad) - BTC_PARAMS.feeWad;
        const n = ((gapOf(s, TARGET) + USDC_SCALE + 16n) * WAD + relief - 1n) / relief;
        expect(plan.closes[0].sizeWad).to.equal((n * WAD + wad(60000) - 1n) / wad(60000));
        await expectLands(s, plan);
      });

      it("moves to the next market when the cheapest is exhausted, with the position's sign", async function () {
        const positions = [eth({ sizeWad: -wad(10) }), btc({ sizeWad: wad("0.05") })];
        const s = snapshotAtHealth(wad("1.05"), { positions, keeperRewardTokens: usdc(5) });
        const plan = await planOf(s);
        expect(plan.closes.map((c) => c.index)).to.deep.equal([1n, 0n]);
        expect(plan.closes[0].sizeWad).to.equal(wad("0.05"));
        expect(plan.closes[1].sizeWad).to.be.lt(0n);
        await expectLands(s, plan);
      });

      it("respects each market's deleverage room", async function () {
        const room = wad(2000);
        const s = snapshotAtHealth(wad("1.1"), {
          positions: [eth(), btc()],
          keeperRewardTokens: usdc(5),
          deleverageRoomWad: [UNCAPPED, room],
        });
        const plan = await planOf(s);
        expect(plan.closes.map((c) => c.index)).to.deep.equal([1n, 0n]);
        expect(notionalWad(plan.closes[0].sizeWad, wad(60000))).to.be.lte(room);
        expect(notionalWad(plan.closes[0].sizeWad + 1n, wad(60000))).to.be.gt(room);
        await expectLands(s, plan);
      });

      it("ends below the target when rooms run out and no top-up is allowed", async function () {
        const s = snapshotAtHealth(wad("1.1"), {
          positions: [eth(), btc()],
          reserveTokens: usdc(100_000),
          keeperRewardTokens: usdc(5),
          deleverageRoomWad: [wad(1000), wad(2000)],
          policy: { allowTopUp: false },
        });
        const plan = await planOf(s);
        expect(plan.topUpTokens).to.equal(0n);
        const { finalHealthWad, after } = await executeChecked(s, plan);
        expect(finalHealthWad).to.be.lt(TARGET);
        expect(finalHealthWad).to.be.gt(s.healthWad);
        for (const [i, p] of after.positions.entries()) {
          expect(after.deleverageRoomWad[i]).to.be.lt(p.priceWad / WAD + 1n);
        }
      });

      it("skips markets where h*·mmr ≤ fee", async function () {
        const junk = position({
          marketId: 4n,
          sizeWad: wad(1000),
          priceWad: wad(10),
          mmrWad: wad("0.006"),
          feeWad: wad("0.01"),
        });
        const s = snapshotAtHealth(wad("1.1"), { positions: [junk, eth()] });
        const plan = await planOf(s);
        expect(plan.closes.map((c) => c.index)).to.deep.equal([1n]);
        await expectLands(s, plan);
      });

      it("never realises a loss the margin cannot pay (the engine would refuse it)", async function () {
        // ETH (fee-free, so first) is 5,000 under water; BTC carries 7,000 of profit; margin is 1,000.
        const positions = [eth({ entryPriceWad: wad(3500), feeWad: 0n }), btc({ entryPriceWad: wad(46000) })];
        const s = snapshot({ marginTokens: usdc(1000), positions, keeperRewardTokens: usdc(5) });
        expect(s.healthWad).to.be.lt(wad("1.2"));
        const plan = await planOf(s);
        expect(plan.closes[0].index).to.equal(0n);
        // 500 of loss per ETH: at most (1,000 − 5 reward) / 500 ETH.
        expect(plan.closes[0].sizeWad).to.be.lte((wad(995) * WAD) / wad(500));
        expect(plan.closes[0].sizeWad).to.be.gt(wad("1.98"));
        const { after } = await executeChecked(s, plan);
        expect(after.marginTokens).to.be.gte(0n);
        await expectLands(s, plan);
      });

      it("closes a fee-free position bought at the current price (no net cost per unit)", async function () {
        const s = snapshotAtHealth(wad("1.1"), {
          positions: [eth({ feeWad: 0n })],
          keeperRewardTokens: usdc(5),
        });
        const plan = await planOf(s);
        expect(plan.closes.length).to.equal(1);
        await expectLands(s, plan);
      });

      it("skips a close that would lower health (health·mmr < fee, deep under water)", async function () {
        // Health 0.015 with fee/mmr = 0.02: closing costs more health than it relieves.
        const s = snapshotAtHealth(wad("0.015"), { positions: [eth()], policy: { allowTopUp: false } });
        expect(isEmptyPlan(await planOf(s))).to.equal(true);
        // A top-up first lifts health enough for the close to help.
        const rescued = { ...s, reserveTokens: usdc(1000), policy: { ...s.policy, allowTopUp: true } };
        const plan = await planOf(rescued);
        expect(plan.topUpTokens).to.equal(usdc(1000));
        expect(plan.closes.length).to.equal(1);
        await expectLands(rescued, plan);
      });
    });

    describe("preferDeleverage", function () {
      const positions = () => [eth(), btc()];

      it("closes first and tops up nothing when closes reach the target", async function () {
        const s = snapshotAtHealth(wad("1.1"), { positions: positions(), reserveTokens: usdc(10_000) });
        const calm = await planOf(s, TARGET, false);
        expect(calm.topUpTokens).to.be.gt(0n);
        expect(calm.closes).to.deep.equal([]);
        const turbulent = await planOf(s, TARGET, true);
        expect(turbulent.topUpTokens).to.equal(0n);
        expect(turbulent.closes.map((c) => c.index)).to.deep.equal([1n]);
        await expectLands(s, turbulent);
      });

      it("tops up only what the closes could not reach", async function () {
        const s = snapshotAtHealth(wad("1.1"), {
          positions: positions(),
          reserveTokens: usdc(10_000),
          keeperRewardTokens: usdc(5),
          deleverageRoomWad: [wad(1000), wad(3000)],
        });
        const plan = await planOf(s, TARGET, true);
        expect(plan.closes.map((c) => c.index)).to.deep.equal([1n, 0n]);
        expect(plan.topUpTokens).to.be.gt(0n);
        // The top-up equals the gap left by the closes, to the token unit.
        const closesOnly = execute(
          { ...s, keeperRewardTokens: s.keeperRewardTokens },
          { ...plan, topUpTokens: 0n },
        );
        const left = gapOf({ ...closesOnly.after, keeperRewardTokens: 0n }, TARGET);
        expect(plan.topUpTokens).to.equal(toTokenUp(left, USDC_SCALE));
        await expectLands(s, plan);
      });

      it("still tops up when deleverage is not allowed", async function () {
        const s = snapshotAtHealth(wad("1.1"), {
          positions: positions(),
          reserveTokens: usdc(10_000),
          policy: { allowDeleverage: false },
        });
        const plan = await planOf(s, TARGET, true);
        expect(plan.closes).to.deep.equal([]);
        await expectLands(s, plan);
      });
    });
  });

  describe("planSweep", function () {
    const SWEEP = { sweepHealthWad: wad("2.5") };

    it("is limited by the initial requirement", async function () {
      // E 4,500, MM 1,500, IM 3,000, R 5: min(4,495 − 2,250, 4,495 − 3,000, 4,495) = 1,495.
      const s = snapshot({
        marginTokens: usdc(4500),
        positions: [eth()],
        keeperRewardTokens: usdc(5),
        policy: SWEEP,
      });
      const plan = await sweepOf(s);
      expect(plan.sweepTokens).to.equal(usdc(1495));
      expect(plan.targetHealthWad).to.equal(TARGET);
      expect(plan.topUpTokens).to.equal(0n);
      expect(plan.closes).to.deep.equal([]);
      const { after } = await executeChecked(s, plan);
      expect(after.equityWad).to.equal(after.initialWad);
    });

    it("is limited by the target health", async function () {
      const s = snapshot({
        marginTokens: usdc(4500),
        positions: [eth({ imrWad: wad("0.06") })],
        keeperRewardTokens: usdc(5),
        policy: SWEEP,
      });
      const plan = await sweepOf(s);
      expect(plan.sweepTokens).to.equal(usdc(2245));
      const { finalHealthWad } = await executeChecked(s, plan);
      expect(finalHealthWad).to.equal(TARGET);
    });

    it("rounds the sweep down to a whole token unit", async function () {
      const s = snapshot({
        marginTokens: usdc(4500),
        positions: [eth({ imrWad: wad("0.06"), priceWad: wad("3000.0000001") })],
        policy: SWEEP,
      });
      const plan = await sweepOf(s);
      const free = s.equityWad - mulWadUp(s.maintenanceWad, TARGET);
      expect(plan.sweepTokens).to.equal(free / USDC_SCALE);
      expect((await executeChecked(s, plan)).finalHealthWad).to.be.gte(TARGET);
    });

    it("is limited by the margin (unrealised profit cannot be swept) and leaves the reward", async function () {
      const s = snapshot({
        marginTokens: usdc(500),
        positions: [eth({ entryPriceWad: wad(2000) })],
        keeperRewardTokens: usdc(5),
        policy: SWEEP,
      });
      const plan = await sweepOf(s);
      expect(plan.sweepTokens).to.equal(usdc(495));
      expect((await executeChecked(s, plan)).after.marginTokens).to.equal(0n);
    });

    it("sweeps everything above the reward when there are no positions", async function () {
      const s = snapshot({
        marginTokens: usdc(100),
        positions: [],
        keeperRewardTokens: usdc(5),
        policy: SWEEP,
      });
      expect((await sweepOf(s)).sweepTokens).to.equal(usdc(95));
    });

    it("is empty below the sweep health, without a sweep health, or for dust", async function () {
      const base = { positions: [eth({ imrWad: wad("0.06") })], keeperRewardTokens: usdc(5) };
      const below = snapshot({ ...base, marginTokens: usdc(3749), policy: SWEEP });
      expect(below.healthWad).to.be.lt(wad("2.5"));
      expect(isEmptyPlan(await sweepOf(below))).to.equal(true);
      const off = snapshot({ ...base, marginTokens: usdc(4500), policy: { sweepHealthWad: 0n } });
      expect(isEmptyPlan(await sweepOf(off))).to.equal(true);
      // Sweep health 2.5 but a target of 2.5 too: W = 3,754 − 5 − 3,750 = −1 → nothing; +8 → W 3 < R 5.
      const at = snapshot({ ...base, marginTokens: usdc(3754), policy: SWEEP });
      expect(isEmptyPlan(await sweepOf(at, wad("2.5")))).to.equal(true);
      const dust = snapshot({ ...base, marginTokens: usdc(3758), policy: SWEEP });
      expect(isEmptyPlan(await sweepOf(dust, wad("2.5")))).to.equal(true);
      const worth = snapshot({ ...base, marginTokens: usdc(3760), policy: SWEEP });
      expect((await sweepOf(worth, wad("2.5"))).sweepTokens).to.equal(usdc(5));
    });
  });

  describe("healthPath", function () {
    const s = () => snapshotAtHealth(wad("1.1"), { positions: [eth(), btc()], reserveTokens: usdc(100) });
    const plan = (p: Partial<Plan>): Plan => ({
      targetHealthWad: TARGET,
      topUpTokens: 0n,
      closes: [],
      sweepTokens: 0n,
      ...p,
    });

    it("reverts on a top-up above the reserve", async function () {
      const { harness } = await loadFixture(deployHarness);
      await expect(harness.healthPath(s(), plan({ topUpTokens: usdc(101) })))
        .to.be.revertedWithCustomError(harness, "RebalanceMathTopUpExceedsReserve")
        .withArgs(usdc(101), usdc(100));
    });

    it("reverts on a close of the wrong sign, above the position or of no position", async function () {
      const { harness } = await loadFixture(deployHarness);
      for (const close of [
        { index: 0n, sizeWad: -wad(1) },
        { index: 0n, sizeWad: wad(11) },
        { index: 1n, sizeWad: 0n },
        { index: 2n, sizeWad: wad(1) },
      ]) {
        await expect(harness.healthPath(s(), plan({ closes: [close] })))
          .to.be.revertedWithCustomError(harness, "RebalanceMathInvalidClose")
          .withArgs(close.index, close.sizeWad);
      }
    });

    it("reverts on a realised loss above margin, and on a sweep the margin cannot pay", async function () {
      const { harness } = await loadFixture(deployHarness);
      const underwater = snapshot({
        marginTokens: usdc(1000),
        positions: [eth({ entryPriceWad: wad(3500) }), btc({ entryPriceWad: wad(40000) })],
      });
      await expect(harness.healthPath(underwater, plan({ closes: [{ index: 0n, sizeWad: wad(10) }] })))
        .to.be.revertedWithCustomError(harness, "RebalanceMathLossExceedsMargin")
        .withArgs(usdc(5030), usdc(1000));
      await expect(harness.healthPath(underwater, plan({ sweepTokens: usdc(1001) })))
        .to.be.revertedWithCustomError(harness, "RebalanceMathInsufficientMargin")
        .withArgs(usdc(1001), usdc(1000));
    });

    it("matches the reference step by step and pays no reward for an empty plan", async function () {
      const { harness } = await loadFixture(deployHarness);
      const snap = { ...s(), keeperRewardTokens: usdc(5) };
      const p = plan({
        topUpTokens: usdc(50),
        closes: [
          { index: 1n, sizeWad: wad("0.1") },
          { index: 0n, sizeWad: wad(2) },
        ],
      });
      const ref = execute(snap, p);
      expect(Array.from(await harness.healthPath(snap, p))).to.deep.equal(ref.path);
      expect(await harness.healthAfter(snap, p)).to.equal(ref.finalHealthWad);
      const empty = plan({ targetHealthWad: 0n });
      expect(await harness.healthAfter(snap, empty)).to.equal(snap.healthWad);
    });
  });

  describe("execute", function () {
    it("returns the account after the plan, as the reference computes it from scratch", async function () {
      const { harness } = await loadFixture(deployHarness);
      const s = snapshotAtHealth(wad("1.1"), {
        positions: [
          eth({ entryPriceWad: wad(2900) }),
          btc({ sizeWad: -wad("0.5"), entryPriceWad: wad(61000) }),
        ],
        reserveTokens: usdc(300),
        keeperRewardTokens: usdc(5),
        deleverageRoomWad: [UNCAPPED, wad(5000)],
      });
      const plan = await planOf(s);
      expect(plan.closes.length).to.be.greaterThan(0);
      const next = await harness.execute(s, plan);
      const ref = execute(s, plan).after;
      expect(next.marginTokens).to.equal(ref.marginTokens);
      expect(next.reserveTokens).to.equal(ref.reserveTokens);
      expect(next.equityWad).to.equal(ref.equityWad);
      expect(next.maintenanceWad).to.equal(ref.maintenanceWad);
      expect(next.initialWad).to.equal(ref.initialWad);
      expect(next.healthWad).to.equal(ref.healthWad);
      const open = next.positions
        .map((p, i) => [p.sizeWad, next.deleverageRoomWad[i]])
        .filter(([size]) => size !== 0n);
      expect(open).to.deep.equal(ref.positions.map((p, i) => [p.sizeWad, ref.deleverageRoomWad[i]]));
      // The input snapshot is left untouched.
      expect((await harness.execute(s, plan)).healthWad).to.equal(next.healthWad);
      expect(s.positions[1].sizeWad).to.equal(-wad("0.5"));
    });
  });

  describe("properties", function () {
    const FEE_STEPS = 20n;

    /** A random market position: price 1..100,000, size 0.01..1,000 base units, entry ±30%. */
    const positionArb = (marketId: bigint) =>
      fc
        .record({
          priceCents: fc.bigInt(100n, 10_000_000n),
          sizeMilli: fc.bigInt(10n, 1_000_000n),
          long: fc.boolean(),
          entryMovePermille: fc.bigInt(-300n, 300n),
          mmrPermille: fc.bigInt(10n, 150n),
          feeStep: fc.bigInt(0n, FEE_STEPS),
          roomPercent: fc.option(fc.bigInt(0n, 100n), { freq: 2 }),
        })
        .map((r) => {
          const priceWad = r.priceCents * 10n ** 16n;
          const mmrWad = r.mmrPermille * 10n ** 15n;
          const p = position({
            marketId,
            sizeWad: (r.long ? 1n : -1n) * r.sizeMilli * 10n ** 15n,
            priceWad,
            entryPriceWad: (priceWad * (1000n + r.entryMovePermille)) / 1000n,
            mmrWad,
            imrWad: 2n * mmrWad,
            // fee ≤ min(1%, mmr / 4): health·mmr ≥ fee for every health generated below.
            feeWad: (r.feeStep * (mmrWad / 4n < wad("0.01") ? mmrWad / 4n : wad("0.01"))) / FEE_STEPS,
          });
          const room =
            r.roomPercent === null ? UNCAPPED : (notionalWad(p.sizeWad, priceWad) * r.roomPercent) / 100n;
          return { p, room };
        });

    const caseArb = fc
      .record({
        markets: fc
          .integer({ min: 1, max: 4 })
          .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => positionArb(BigInt(i + 1))))),
        healthPermille: fc.bigInt(300n, 1400n),
        targetPermille: fc.bigInt(1100n, 3000n),
        reservePercentOfGap: fc.bigInt(0n, 200n),
        rewardCents: fc.bigInt(0n, 2000n),
        allowTopUp: fc.boolean(),
        allowDeleverage: fc.boolean(),
        preferDeleverage: fc.boolean(),
        decimals18: fc.integer({ min: 0, max: 4 }).map((x) => x === 0),
      })
      .map((c) => {
        const scale = c.decimals18 ? 1n : USDC_SCALE;
        const positions = c.markets.map((m) => m.p);
        const target = c.targetPermille * 10n ** 15n;
        const rewardTokens = (c.rewardCents * 10n ** 16n) / scale;
        const base = snapshotAtHealth(c.healthPermille * 10n ** 15n, {
          positions,
          scale,
          keeperRewardTokens: rewardTokens,
          deleverageRoomWad: c.markets.map((m) => m.room),
          policy: { allowTopUp: c.allowTopUp, allowDeleverage: c.allowDeleverage },
        });
        const gapTokens = toTokenUp(gapOf(base, target) > 0n ? gapOf(base, target) : 0n, scale);
        const s = { ...base, reserveTokens: (gapTokens * c.reservePercentOfGap) / 100n };
        return { s, target, preferDeleverage: c.preferDeleverage };
      });

    /** Whether the margin can pay closing every losing position (the planner's margin cap never binds). */
    const marginCoversLosses = (s: Snapshot) => {
      let cost = s.keeperRewardTokens * s.scale;
      for (const p of s.positions) {
        const realised =
          -(p.sizeWad > 0n ? 1n : -1n) * ((abs(p.sizeWad) * (p.priceWad - p.entryPriceWad)) / WAD);
        cost += (realised > 0n ? realised : 0n) + mulWadUp(notionalWad(p.sizeWad, p.priceWad), p.feeWad) + 8n;
      }
      return s.marginTokens * s.scale >= cost + s.scale;
    };

    /** Whether `plan` closes every position of `s` in full (a close-out). */
    const isCloseOut = (s: Snapshot, plan: ReturnType<typeof toPlan>) =>
      s.positions.length > 0 &&
      plan.closes.length === s.positions.length &&
      plan.closes.every((c) => c.sizeWad === s.positions[Number(c.index)].sizeWad);

    it("restore plans never lower health, stay within the account and land or exhaust the allowed means", async function () {
      const { harness } = await loadFixture(deployHarness);
      await fc.assert(
        fc.asyncProperty(caseArb, async ({ s, target, preferDeleverage }) => {
          fc.pre(marginCoversLosses(s));
          const plan = toPlan(await harness.planToTarget(s, target, preferDeleverage));
          const gap = gapOf(s, target);
          if (isEmptyPlan(plan)) {
            // Empty only when nothing is worth doing: a reserve that covers the gap is always used.
            const reserveCovers =
              s.policy.allowTopUp && s.reserveTokens >= toTokenUp(gap > 0n ? gap : 0n, s.scale);
            const nothingToGain = gap <= 0n || gap < s.keeperRewardTokens * s.scale || s.healthWad >= target;
            expect(nothingToGain || !reserveCovers).to.equal(true);
            return;
          }
          if (isCloseOut(s, plan)) {
            // An account too small to rebalance economically is closed out instead of being left to
            // liquidation: every position closed in full, no top-up, equity ≤ 10 keeper rewards.
            expect(plan.topUpTokens).to.equal(0n);
            expect(s.equityWad).to.be.lte(10n * s.keeperRewardTokens * s.scale);
            return;
          }
          expect(gap > 0n && gap >= s.keeperRewardTokens * s.scale).to.equal(true);
          expect(plan.targetHealthWad).to.equal(target);
          expect(plan.sweepTokens).to.equal(0n);
          expect(plan.topUpTokens).to.be.lte(s.reserveTokens);
          if (!s.policy.allowTopUp) expect(plan.topUpTokens).to.equal(0n);
          if (!s.policy.allowDeleverage) expect(plan.closes).to.deep.equal([]);

          const { path, finalHealthWad, after } = execute(s, plan); // throws on any close beyond a position or room
          expect(Array.from(await harness.healthPath(s, plan))).to.deep.equal(path);
          expectMonotone(s, path);
          expect(finalHealthWad).to.be.gt(s.healthWad);
          expect(finalHealthWad).to.be.lt(target + OVERSHOOT_TOLERANCE);
          if (finalHealthWad < target) {
            // Exhausted: the whole reserve (if allowed) and every useful market to its size or room.
            if (s.policy.allowTopUp) expect(plan.topUpTokens).to.equal(s.reserveTokens);
            if (s.policy.allowDeleverage) {
              const remaining = new Map(
                after.positions.map((p, i) => [p.marketId, after.deleverageRoomWad[i]]),
              );
              for (const p of s.positions) {
                if (mulWadDown(target, p.mmrWad) <= p.feeWad || !remaining.has(p.marketId)) continue;
                const room = remaining.get(p.marketId)!;
                expect(room === UNCAPPED ? false : (room * WAD) / p.priceWad === 0n).to.equal(true);
              }
            }
          }
        }),
        { numRuns: 200, seed: FC_SEED },
      );
    });

    it("sweeps never leave health under the target or equity under the initial requirement", async function () {
      const { harness } = await loadFixture(deployHarness);
      await fc.assert(
        fc.asyncProperty(caseArb, fc.bigInt(1000n, 6000n), async ({ s: base, target }, healthPermille) => {
          const s = snapshotAtHealth(healthPermille * 10n ** 15n, {
            ...base,
            policy: { sweepHealthWad: target },
          });
          const plan = toPlan(await harness.planSweep(s, target));
          if (isEmptyPlan(plan)) return;
          expect(s.healthWad).to.be.gte(target);
          expect(plan.sweepTokens * s.scale).to.be.gte(s.keeperRewardTokens * s.scale);
          const { finalHealthWad, after } = execute(s, plan);
          expect(finalHealthWad).to.be.gte(target);
          expect(after.equityWad).to.be.gte(after.initialWad);
          // Maximal: one more token unit would break a limit.
          const more = { ...plan, sweepTokens: plan.sweepTokens + 1n };
          const broke = (() => {
            try {
              const r = execute(s, more);
              return r.finalHealthWad < target || r.after.equityWad < r.after.initialWad;
            } catch {
              return true;
            }
          })();
          expect(broke).to.equal(true);
        }),
        { numRuns: 200, seed: FC_SEED },
      );
    });
  });
});
