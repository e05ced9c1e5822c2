import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { parseEther } from "ethers";
import { deployFunded, ETH_MARKET, expectConservation, movePrice, standardPolicy, usdc, trade } from "../helpers/fixtures";

/**
 * Finding: a market's deleverage budget was first-come-first-served and charged by any rebalance, needed or
 * not. An attacker set a valid but extreme policy (trigger 9.9, target 10, deleverage only) on a
 * high-leverage account hedged by an opposite account, rebalanced itself and used the window's whole room;
 * honest deleverage-only accounts were refused, slid under health 1, and the attacker liquidated them.
 * Measured on the old main: cap 200,000 USD/hour, victim 100 ETH long with 20,000 margin (policy 1.5 → 2.0),
 * ETH 3,000 → 2,880 → 2,840: the victim paid a 2,241 USDC penalty, the attacker netted +546 USDC.
 *
 * Fixed at the root: (1) the cap never refuses deleverage that stands between an account and liquidation
 * (up to health `CAP_PROTECTED_HEALTH` = 2: refusing it only swaps it for a larger liquidation), so a
 * window's room only limits precautionary deleverage above it; (2) a policy's trigger is at most 3 and its
 * target at most 4, so no policy demands deleverage of an account far from liquidation.
 */
const CAP = parseEther("200000");

async function book() {
  const f = await deployFunded();
  await f.engine.connect(f.riskAdmin).setDeleverageCap(ETH_MARKET, CAP, 3_600);
  const threshold = await f.thresholdStrategy.getAddress();
  // The victim: 100 ETH long with 20,000 USDC, policy 1.5 → 2.0, deleverage only.
  await f.vault.connect(f.carol).depositMargin(f.carol.address, usdc(20_000));
  await trade(f, f.carol, ETH_MARKET, parseEther("100"));
  await f.engine
    .connect(f.carol)
    .setPolicy(standardPolicy(threshold, { allowTopUp: false }));
  // The attacker: alice 300 ETH long with the most extreme policy allowed (trigger 3, target 4), hedged by
  // bob 300 ETH short.
  await f.vault.connect(f.alice).depositMargin(f.alice.address, usdc(86_550));
  await trade(f, f.alice, ETH_MARKET, parseEther("300"));
  await f.engine.connect(f.alice).setPolicy(
    standardPolicy(threshold, {
      triggerHealthWad: parseEther("3"),
      targetHealthWad: parseEther("4"),
      allowTopUp: false,
    }),
  );
  await f.vault.connect(f.bob).depositMargin(f.bob.address, usdc(100_000));
  await trade(f, f.bob, ETH_MARKET, parseEther("-300"));
  return f;
}

type F = Awaited<ReturnType<typeof book>>;
const everyone = (f: F) => [f.alice, f.bob, f.carol, f.lp, f.keeper, f.outsider].map((s) => s.address);
async function worth(f: F, accounts: string[]) {
  let total = 0n;
  for (const a of accounts) total += (await f.token.balanceOf(a)) + (await f.vault.marginOf(a));
  return total;
}

describe("adversarial: exhausting a market's deleverage cap", () => {
  it("refuses the old attack's policy (trigger 9.9, target 10) and any trigger above 3 or target above 4", async () => {
    const f = await loadFixture(book);
    const threshold = await f.thresholdStrategy.getAddress();
    for (const [trigger, target] of [
      ["9.9", "10"],
      ["3.01", "3.5"],
      ["2", "4.01"],
    ]) {
      await expect(
        f.engine.connect(f.outsider).setPolicy(
          standardPolicy(threshold, { triggerHealthWad: parseEther(trigger), targetHealthWad: parseEther(target) }),
        ),
      ).to.be.revertedWithCustomError(f.engine, "MarginEngineInvalidPolicy");
    }
  });

  it("the attacker uses the window's room, yet the victim is rebalanced, survives 2,840 and the attacker gains nothing", async () => {
    const f = await loadFixture(book);
    const attacker = [f.alice.address, f.bob.address];
    const attackerBefore = await worth(f, attacker);
    const victimBefore = await worth(f, [f.carol.address]);

    await movePrice(f.ethFeed, 2_880);
    expect(await f.engine.health(f.alice.address)).to.be.lt(parseEther("3"));
    expect(await f.engine.health(f.carol.address)).to.be.lt(parseEther("1.5"));
    // The attacker rebalances itself first and uses the window's whole room.
    await f.engine.connect(f.alice).rebalance(f.alice.address);
    expect(await f.engine.deleverageRoom(ETH_MARKET), "the window's room is used up").to.be.lt(parseEther("3000"));

    // The victim's deleverage stands between it and liquidation: the cap does not refuse it.
    const [action] = await f.engine.keeperAction(f.carol.address);
    expect(action).to.equal(1n); // Rebalance
    await expect(f.engine.connect(f.keeper).rebalance(f.carol.address)).to.emit(f.engine, "Rebalanced");
    expect(await f.engine.health(f.carol.address)).to.be.gte(parseEther("1.99"));

    await movePrice(f.ethFeed, 2_840);
    expect(await f.engine.health(f.carol.address), "the victim stays out of liquidation").to.be.gte(parseEther("1"));
    await expect(f.engine.connect(f.alice).liquidate(f.carol.address)).to.be.revertedWithCustomError(
      f.engine,
      "MarginEngineNotLiquidatable",
    );
    // Old main: attacker +546 USDC, victim −2,241 penalty. Now the attacker only paid fees and rewards.
    const attackerDelta = (await worth(f, attacker)) - attackerBefore;
    expect(attackerDelta, "the attacker's net (wallet + margin; positions open at a loss are not counted as gains)").to.be.lte(0n);
    expect((await f.pool.queryFilter(f.engine.filters.Liquidated())).length).to.equal(0);
    expect(await worth(f, [f.carol.address])).to.be.lte(victimBefore); // fees paid, no penalty
    await expectConservation(f, everyone(f));
  });

  it("the cap still binds precautionary deleverage above health 2", async () => {
    const f = await loadFixture(book);
    // An honest account with a cautious policy (3 → 4) that will sit at health ~2.5, above the protected 2.
    await f.vault.connect(f.outsider).depositMargin(f.outsider.address, usdc(2_655));
    await trade(f, f.outsider, ETH_MARKET, parseEther("10"));
    await f.engine.connect(f.outsider).setPolicy(
      standardPolicy(await f.thresholdStrategy.getAddress(), {
        triggerHealthWad: parseEther("3"),
        targetHealthWad: parseEther("4"),
        allowTopUp: false,
      }),
    );
    await movePrice(f.ethFeed, 2_880);
    const h = await f.engine.health(f.outsider.address);
    expect(h).to.be.gt(parseEther("2")).and.lt(parseEther("3"));
    await f.engine.connect(f.alice).rebalance(f.alice.address); // uses the window's room
    const [action, , capped] = await f.engine.keeperAction(f.outsider.address);
    expect(action, "precautionary deleverage waits for the next window").to.equal(0n);
    expect(capped).to.equal(true);
    await expect(f.engine.connect(f.keeper).rebalance(f.outsider.address)).to.be.reverted;
  });
});
