import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { parseEther } from "ethers";
import {
  deployFunded,
  ETH_MARKET,
  expectConservation,
  movePrice,
  standardPolicy,
  THRESHOLD_PLANNERS,
  ThresholdPlanner,
  thresholdStrategyOf,
  usdc,
  trade,
} from "../helpers/fixtures";

/**
 * An owner may rebalance its own account (rebalancing is permissionless). Found by the stateful model's
 * adversary: the keeper reward of a self-rebalance went back into the account's own margin after the
 * `Rebalanced` event had reported the health net of it, so the event's health was short of the account's.
 * An owner rebalancing itself now earns no reward: nothing moves for nothing, and the event is exact. With
 * its second account as the keeper, the reward only moves between the owner's own pockets.
 */
async function underTrigger(planner: ThresholdPlanner) {
  const f = await deployFunded();
  await f.vault.connect(f.alice).depositMargin(f.alice.address, usdc(20_000));
  await f.vault.connect(f.alice).depositReserve(f.alice.address, usdc(20_000));
  await trade(f, f.alice, ETH_MARKET, parseEther("100"));
  await f.engine.connect(f.alice).setPolicy(standardPolicy(await thresholdStrategyOf(f, planner)));
  await movePrice(f.ethFeed, 2_880); // rounds after the policy: health under the trigger of 1.5
  return f;
}

/** One fixture function per planner (`loadFixture` keys on the function). */
const fixtures = {
  "built-in": () => underTrigger("built-in"),
  contract: () => underTrigger("contract"),
};

type F = Awaited<ReturnType<typeof underTrigger>>;
const worth = async (f: F, s: { address: string }) =>
  (await f.token.balanceOf(s.address)) +
  (await f.vault.marginOf(s.address)) +
  (await f.vault.reserveOf(s.address));

for (const planner of THRESHOLD_PLANNERS)
  describe(`adversarial: an owner rebalancing its own account (${planner} threshold planner)`, () => {
    it("earns no reward, and the event reports the health the account has", async () => {
      const f = await loadFixture(fixtures[planner]);
      const before = await worth(f, f.alice);
      const healthBefore = await f.engine.health(f.alice.address);
      expect(healthBefore).to.be.lt(parseEther("1.5"));
      const tx = await f.engine.connect(f.alice).rebalance(f.alice.address);
      const receipt = await tx.wait();
      const event = receipt!.logs
        .map((l) => f.engine.interface.parseLog(l))
        .find((e) => e?.name === "Rebalanced")!;
      expect(event.args.keeperRewardTokens, "no reward to oneself").to.equal(0n);
      expect(event.args.toppedUpTokens).to.be.gt(0n);
      expect(event.args.healthBeforeWad).to.equal(healthBefore);
      expect(event.args.healthAfterWad, "the event's health is the account's").to.equal(
        await f.engine.health(f.alice.address),
      );
      expect(await worth(f, f.alice), "a top-up only moves reserve into margin").to.equal(before);
      await expectConservation(
        f,
        [f.alice, f.bob, f.carol, f.lp, f.keeper, f.outsider].map((s) => s.address),
      );
    });

    it("with the owner's other account as keeper, the reward moves between its own pockets", async () => {
      const f = await loadFixture(fixtures[planner]);
      const pair = async () => (await worth(f, f.alice)) + (await worth(f, f.bob));
      const before = await pair();
      const reward = await f.engine.keeperReward();
      await expect(f.engine.connect(f.bob).rebalance(f.alice.address))
        .to.emit(f.engine, "Rebalanced")
        .withArgs(
          f.alice.address,
          f.bob.address,
          (h: bigint) => h > 0n,
          (h: bigint) => h > 0n,
          (t: bigint) => t > 0n,
          0n,
          0n,
          reward,
        );
      expect(reward).to.be.gt(0n);
      expect(await pair(), "nothing gained across the owner's accounts").to.equal(before);
    });
  });
