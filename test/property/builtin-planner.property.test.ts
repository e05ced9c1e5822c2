/**
 * The built-in threshold planner against the external `ThresholdStrategy`: two accounts with the same
 * margin, reserve, positions and policy, one naming the engine (planned inside it, no call) and one naming
 * the strategy contract (called, its plan decoded and validated). At every random state and price move the
 * keeper view offers both the same action and the same plan, and a rebalance moves both the same way: the
 * same top-up, deleverage, sweep and keeper reward, and the same health, margin, reserve and positions
 * after, to the wei.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import fc from "fast-check";
import { Result, parseUnits } from "ethers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import {
  BTC,
  BTC_MARKET,
  ETH,
  ETH_MARKET,
  deployFunded,
  expectConservation,
  movePrice,
  trade,
  usdc,
} from "../helpers/fixtures";

/** A decoded struct as a plain object, for deep comparison. */
const plain = (r: unknown) => (r as Result).toObject(true);

const RUNS = Number(process.env.BUILTIN_RUNS ?? 100);

async function fixture() {
  const f = await deployFunded();
  await f.engine.connect(f.riskAdmin).setKeeperReward(usdc(1));
  return f;
}

const scenario = fc.record({
  marginUsd: fc.integer({ min: 500, max: 50_000 }),
  leverageTenths: fc.integer({ min: 30, max: 150 }),
  long: fc.boolean(),
  btcShareTenths: fc.integer({ min: 0, max: 10 }),
  reserveUsd: fc.integer({ min: 0, max: 60_000 }),
  triggerHundredths: fc.integer({ min: 105, max: 300 }),
  gapHundredths: fc.integer({ min: 5, max: 100 }),
  sweepGapHundredths: fc.constantFrom(0, 0, 0, 50, 150, 400), // 0: no sweep
  allowTopUp: fc.boolean(),
  allowDeleverage: fc.boolean(),
  maxRewardCents: fc.integer({ min: 0, max: 500 }),
  // Share of the distance to liquidation the price moves against the account (negative: in its favour).
  moveShare: fc.oneof(
    { arbitrary: fc.integer({ min: 40, max: 100 }), weight: 4 },
    { arbitrary: fc.integer({ min: -60, max: -10 }), weight: 1 },
  ),
});

type Sc = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

describe("Property: the built-in threshold planner equals ThresholdStrategy", () => {
  it(`offers and executes the same plan with the same result (${RUNS} runs)`, async () => {
    const tally: Record<string, number> = {};
    await fc.assert(
      fc.asyncProperty(scenario, async (sc: Sc) => {
        const f = await loadFixture(fixture);
        const builtin = f.alice;
        const external = f.bob;
        const allowTopUp = sc.allowTopUp || !sc.allowDeleverage;
        const target = Math.min(sc.triggerHundredths + sc.gapHundredths, 400);
        const sweep = sc.sweepGapHundredths === 0 ? 0 : Math.min(target + 5 + sc.sweepGapHundredths, 1000);
        const notional = BigInt(sc.marginUsd) * BigInt(sc.leverageTenths) * 10n ** 17n;
        const btcNotional = (notional * BigInt(sc.btcShareTenths)) / 10n;
        const ethNotional = notional - btcNotional;
        const sign = sc.long ? 1n : -1n;
        const setUp = async (who: HardhatEthersSigner, strategy: string) => {
          await f.vault.connect(who).depositMargin(who.address, usdc(sc.marginUsd));
          if (sc.reserveUsd > 0) await f.vault.connect(who).depositReserve(who.address, usdc(sc.reserveUsd));
          if (ethNotional > 0n) await trade(f, who, ETH_MARKET, (sign * ethNotional) / 3_000n);
          if (btcNotional > 0n) await trade(f, who, BTC_MARKET, (sign * btcNotional) / 60_000n);
          await f.engine.connect(who).setPolicy({
            triggerHealthWad: parseUnits(String(sc.triggerHundredths), 16),
            targetHealthWad: parseUnits(String(target), 16),
            sweepHealthWad: parseUnits(String(sweep), 16),
            allowTopUp,
            allowDeleverage: sc.allowDeleverage,
            maxKeeperRewardTokens: parseUnits(String(sc.maxRewardCents), 4),
            strategy,
          });
        };
        await setUp(builtin, await f.engine.builtinStrategy());
        await setUp(external, await f.thresholdStrategy.getAddress());

        const move = ((sc.long ? -1 : 1) * (sc.moveShare / 100) * 0.97 * 10) / sc.leverageTenths;
        await movePrice(f.ethFeed, Math.round(3_000 * (1 + move)));
        await movePrice(f.btcFeed, Math.round(60_000 * (1 + move)));
        await f.oracle.update(ETH);
        await f.oracle.update(BTC);

        const a = await f.engine.keeperAction(builtin.address);
        const b = await f.engine.keeperAction(external.address);
        expect(a.action, "same action").to.equal(b.action);
        expect(plain(a.plan), "same plan").to.deep.equal(plain(b.plan));
        expect(a.deleverageCapped).to.equal(b.deleverageCapped);
        const label =
          a.action === 1n ? (a.plan.sweepTokens > 0n ? "sweep" : "restore") : `action ${a.action}`;
        tally[label] = (tally[label] ?? 0) + 1;
        if (a.action !== 1n) return;

        const events = [];
        for (const who of [builtin, external]) {
          const receipt = await (await f.engine.connect(f.keeper).rebalance(who.address)).wait();
          const log = receipt!.logs
            .map((l) => {
              try {
                return f.engine.interface.parseLog(l);
              } catch {
                return null;
              }
            })
            .find((e) => e?.name === "Rebalanced");
          events.push(log!.args.toArray().slice(2)); // without account and keeper
        }
        expect(events[0], "same Rebalanced figures").to.deep.equal(events[1]);
        const state = async (who: HardhatEthersSigner) => [
          await f.engine.health(who.address),
          await f.vault.marginOf(who.address),
          await f.vault.reserveOf(who.address),
          plain(await f.engine.position(who.address, ETH_MARKET)),
          plain(await f.engine.position(who.address, BTC_MARKET)),
        ];
        expect(await state(builtin), "same account after").to.deep.equal(await state(external));
        await expectConservation(f, [builtin.address, external.address, f.keeper.address]);
      }),
      { numRuns: RUNS, seed: Number(process.env.PROPERTY_SEED ?? 20261205) },
    );
    console.log(`      outcomes over ${RUNS} runs`, tally);
    expect(tally.restore ?? 0, "some runs restored a target").to.be.greaterThan(RUNS / 8);
    expect(tally.sweep ?? 0, "some runs swept").to.be.greaterThan(0);
  });
});
