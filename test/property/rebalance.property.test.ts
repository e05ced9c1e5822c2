import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import fc from "fast-check";
import { parseEther, parseUnits } from "ethers";
import {
  BTC_MARKET,
  ETH,
  BTC,
  ETH_MARKET,
  deployFunded,
  expectConservation,
  movePrice,
  usdc,
  trade,
} from "../helpers/fixtures";

const TOLERANCE = parseEther("0.02");
const RUNS = Number(process.env.PROPERTY_RUNS ?? 200);

async function fixture() {
  const f = await deployFunded();
  await f.engine.connect(f.riskAdmin).setKeeperReward(usdc(1));
  return f;
}

/** A random account, price move and policy. */
const scenario = fc.record({
  marginUsd: fc.integer({ min: 500, max: 50_000 }),
  leverageTenths: fc.integer({ min: 15, max: 200 }),
  long: fc.boolean(),
  btcShareTenths: fc.integer({ min: 0, max: 10 }),
  reserveUsd: fc.integer({ min: 0, max: 60_000 }),
  triggerHundredths: fc.integer({ min: 105, max: 300 }),
  gapHundredths: fc.integer({ min: 5, max: 100 }), // target ≤ MAX_POLICY_TARGET (4)
  allowTopUp: fc.boolean(),
  allowDeleverage: fc.boolean(),
  maxRewardCents: fc.integer({ min: 0, max: 500 }),
  strategy: fc.constantFrom("threshold", "volatility"),
  adverseShare: fc.integer({ min: 20, max: 100 }),
});

describe("Property: a successful rebalance", () => {
  it(`never lowers health, never overshoots, never overpays the keeper, conserves tokens (${RUNS} runs)`, async () => {
    let executed = 0;
    const tally: Record<string, number> = {};
    await fc.assert(
      fc.asyncProperty(scenario, async (sc) => {
        const f = await loadFixture(fixture);
        const account = f.alice;
        const allowTopUp = sc.allowTopUp || !sc.allowDeleverage;
        const notional = BigInt(sc.marginUsd) * BigInt(sc.leverageTenths) * 10n ** 17n; // WAD USD
        const btcNotional = (notional * BigInt(sc.btcShareTenths)) / 10n;
        const ethNotional = notional - btcNotional;
        await f.vault.connect(account).depositMargin(account.address, usdc(sc.marginUsd));
        if (sc.reserveUsd > 0)
          await f.vault.connect(account).depositReserve(account.address, usdc(sc.reserveUsd));
        const sign = sc.long ? 1n : -1n;
        if (ethNotional > 0n) await trade(f, account, ETH_MARKET, (sign * ethNotional) / 3_000n);
        if (btcNotional > 0n) await trade(f, account, BTC_MARKET, (sign * btcNotional) / 60_000n);
        const strategy = sc.strategy === "threshold" ? f.thresholdStrategy : f.volatilityStrategy;
        const policy = {
          triggerHealthWad: parseUnits(String(sc.triggerHundredths), 16),
          targetHealthWad: parseUnits(String(Math.min(sc.triggerHundredths + sc.gapHundredths, 400)), 16), // ≤ MAX_POLICY_TARGET
          sweepHealthWad: 0n,
          allowTopUp,
          allowDeleverage: sc.allowDeleverage,
          maxKeeperRewardTokens: parseUnits(String(sc.maxRewardCents), 4),
          strategy: await strategy.getAddress(),
        };
        await f.engine.connect(account).setPolicy(policy);
        // The price moves against the account by a share of its distance to liquidation (≈ 1/leverage).
        const move = ((sc.long ? -1 : 1) * (sc.adverseShare / 100) * 0.97 * 10) / sc.leverageTenths;
        await movePrice(f.ethFeed, Math.round(3_000 * (1 + move)));
        await movePrice(f.btcFeed, Math.round(60_000 * (1 + move)));
        await f.oracle.update(ETH);
        await f.oracle.update(BTC);

        const { action, plan } = await f.engine.keeperAction(account.address);
        tally[String(action)] = (tally[String(action)] ?? 0) + 1;
        if (action !== 1n) return; // nothing to rebalance (or liquidation territory)
        const before = await f.engine.health(account.address);
        const keeperMargin = await f.vault.marginOf(f.keeper.address);
        const tx = await f.engine.connect(f.keeper).rebalance(account.address);
        await tx.wait();
        executed++;
        const after = await f.engine.health(account.address);
        expect(after, "health never falls").to.be.gt(before);
        const closedOut = (await f.engine.accountMarkets(account.address)).length === 0;
        // A close-out (an account too small to rebalance economically) ends with no position at all.
        if (!closedOut) expect(after, "no overshoot").to.be.lte(plan.targetHealthWad + TOLERANCE);
        const paid = (await f.vault.marginOf(f.keeper.address)) - keeperMargin;
        const allowed = policy.maxKeeperRewardTokens < usdc(1) ? policy.maxKeeperRewardTokens : usdc(1);
        expect(paid, "keeper reward within the policy").to.be.lte(allowed);
        await expectConservation(f, [account.address, f.keeper.address]);
        // Nothing left to do in the same block.
        await expect(f.engine.connect(f.keeper).rebalance(account.address)).to.be.reverted;
      }),
      { numRuns: RUNS, seed: Number(process.env.PROPERTY_SEED ?? 20261125) },
    );
    console.log(`      ${executed} of ${RUNS} scenarios rebalanced`, tally);
    expect(executed, "some scenarios rebalanced").to.be.greaterThan(RUNS / 8);
  });
});
