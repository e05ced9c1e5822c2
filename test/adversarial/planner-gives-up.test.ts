import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { parseEther } from "ethers";
import {
  BTC_MARKET,
  ETH_MARKET,
  deployFunded,
  expectConservation,
  movePrice,
  publishRound,
  standardPolicy,
  trade,
  usdc,
} from "../helpers/fixtures";

const KeeperAction = { None: 0n, Rebalance: 1n, Liquidate: 2n };
/** The engine's allowance for token rounding under a plan's target (`RebalanceLogic.ROUNDING_TOLERANCE`). */
const ROUNDING_TOLERANCE = 10n ** 13n;
const TARGET = parseEther("2");

/**
 * An account whose only margin is unrealised profit: 2 BTC long bought at 60,000 (now 72,000) and 100 ETH
 * long at 3,000, every token of margin withdrawn (equity 24,000 ≥ initial requirement 17,760). Market
 * defaults: IMR 4%, MMR 2%, fee 0.05%; policy trigger 1.5, target 2.0, top-up and deleverage allowed, no
 * reserve.
 *
 * At ETH 2,860 (health ≈ 1.16) the margin is 0: closing ETH realises a loss the margin cannot pay yet, so
 * the cost order (ETH and BTC tie, ETH has the lower index) cannot start with it. Closing BTC alone ends
 * at ≈ 1.74 < 2. The target is reachable by closing BTC, whose realised profit then pays for closing
 * ≈ 13.4% of ETH.
 */
async function profitOnlyMargin(strategy: "threshold" | "volatility") {
  const f = await deployFunded();
  const alice = f.alice;
  await f.vault.connect(alice).depositMargin(alice.address, usdc(40_000));
  await trade(f, alice, BTC_MARKET, parseEther("2"));
  await trade(f, alice, ETH_MARKET, parseEther("100"));
  await movePrice(f.btcFeed, 72_000);
  await f.engine.connect(alice).withdrawMargin(await f.vault.marginOf(alice.address), alice.address);
  expect(await f.vault.marginOf(alice.address)).to.equal(0n);
  const s = strategy === "threshold" ? f.thresholdStrategy : f.volatilityStrategy;
  await f.engine.connect(alice).setPolicy(standardPolicy(await s.getAddress()));
  // BTC's next round (its heartbeat): a rebalance may close only at rounds after the owner's last action.
  await publishRound(f, BTC_MARKET);
  return f;
}

const threshold = () => profitOnlyMargin("threshold");
const volatility = () => profitOnlyMargin("volatility");

for (const [name, fixture] of [
  ["ThresholdStrategy", threshold],
  ["VolatilityScaledStrategy", volatility],
] as const) {
  describe(`Adversarial: the planner gives up on an account whose margin is unrealised profit (${name})`, () => {
    it("at ETH 2,860 rebalances to the target: BTC closed first, its profit pays for the ETH close", async () => {
      const f = await loadFixture(fixture);
      const account = f.alice.address;
      await movePrice(f.ethFeed, 2_860);
      const before = await f.engine.health(account);
      expect(before).to.be.gt(parseEther("1.16"));
      expect(before).to.be.lt(parseEther("1.17"));

      const { action, plan } = await f.engine.keeperAction(account);
      expect(action, "keeperAction").to.equal(KeeperAction.Rebalance);
      expect(plan.topUpTokens).to.equal(0n);
      // BTC's close (a realised gain) executes before any ETH close (a realised loss).
      expect(plan.closes.length).to.be.gte(2);
      const first = plan.closes.findIndex((c) => c.sizeWad > 0n && c.index === 1n);
      const firstEth = plan.closes.findIndex((c) => c.index === 0n);
      expect(first, "BTC closed").to.be.gte(0);
      expect(first).to.be.lt(firstEth);

      await expect(f.engine.connect(f.keeper).rebalance(account)).to.emit(f.engine, "Rebalanced");
      const after = await f.engine.health(account);
      expect(after, "target reached").to.be.gte(TARGET - ROUNDING_TOLERANCE);
      expect(after).to.be.gte(plan.targetHealthWad - ROUNDING_TOLERANCE);
      expect(after).to.be.lte(plan.targetHealthWad + parseEther("0.02"));
      expect((await f.engine.position(account, BTC_MARKET)).sizeWad).to.equal(0n);
      const ethLeft = (await f.engine.position(account, ETH_MARKET)).sizeWad;
      if (name === "ThresholdStrategy") {
        // About 13.4% of ETH: (2·57.2·100 − 9,928 + reward) / (2·57.2 − 1.43) ETH.
        expect(ethLeft).to.be.gt(parseEther("86.5"));
        expect(ethLeft).to.be.lt(parseEther("86.7"));
      } else {
        // The risk-scaled target is above the policy's: more ETH is closed, never all of it.
        expect(ethLeft).to.be.gt(0n);
        expect(ethLeft).to.be.lt(parseEther("86.7"));
      }
      await expectConservation(f, [account, f.keeper.address]);
    });

    it("at ETH 2,800 is not liquidatable: the keeper acted on the way down", async () => {
      const f = await loadFixture(fixture);
      const account = f.alice.address;
      let rebalances = 0;
      for (let price = 2_860; price >= 2_800; price -= 10) {
        await movePrice(f.ethFeed, price);
        const { action } = await f.engine.keeperAction(account);
        expect(action, `keeperAction at ${price}`).to.not.equal(KeeperAction.Liquidate);
        if (action === KeeperAction.Rebalance) {
          await f.engine.connect(f.keeper).rebalance(account);
          rebalances++;
        }
      }
      expect(rebalances).to.be.gte(1);
      const health = await f.engine.health(account);
      expect(health, "health at 2,800").to.be.gte(parseEther("1"));
      const { action } = await f.engine.keeperAction(account);
      expect(action).to.not.equal(KeeperAction.Liquidate);
      await expect(f.engine.connect(f.keeper).liquidate(account)).to.be.revertedWithCustomError(
        f.engine,
        "MarginEngineNotLiquidatable",
      );
      await expectConservation(f, [account, f.keeper.address]);
    });
  });
}
