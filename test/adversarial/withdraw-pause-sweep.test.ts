import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { parseEther } from "ethers";
import { deployFunded, ETH_MARKET, expectConservation, movePrice, standardPolicy, usdc, trade } from "../helpers/fixtures";

const WITHDRAW = 3; // IPauseGuardian.Action.Withdraw

/**
 * Finding: with only `Withdraw` paused, a trader closed a winning position (Close was not paused), kept
 * dust, set a policy 1.01 / 1.06 / sweep 1.11, rebalanced itself (margin → reserve) and withdrew the
 * reserve: 15,960 USDC left while `withdrawMargin` reverted. Fixed at the root: a plan that moves margin
 * out of risk (a sweep) obeys the `Withdraw` pause in `rebalance`, and `keeperAction` does not offer it.
 */
async function winnerWithDust() {
  const f = await deployFunded();
  await f.vault.connect(f.alice).depositMargin(f.alice.address, usdc(15_000));
  await trade(f, f.alice, ETH_MARKET, parseEther("100"));
  await movePrice(f.ethFeed, 3_060);
  await f.guardian.connect(f.guardianAccount).pauseAction(WITHDRAW);
  // Close all but 0.01 ETH: the profit lands in margin, which the pause keeps in the protocol.
  await trade(f, f.alice, ETH_MARKET, -parseEther("99.99"));
  await f.engine.connect(f.alice).setPolicy(
    standardPolicy(await f.thresholdStrategy.getAddress(), {
      triggerHealthWad: parseEther("1.01"),
      targetHealthWad: parseEther("1.06"),
      sweepHealthWad: parseEther("1.11"),
    }),
  );
  return f;
}

describe("adversarial: the Withdraw pause cannot be bypassed through a sweep", () => {
  it("withdrawMargin is refused while Withdraw is paused (the door the attack went around)", async () => {
    const f = await loadFixture(winnerWithDust);
    await expect(f.engine.connect(f.alice).withdrawMargin(usdc(1_000), f.alice.address))
      .to.be.revertedWithCustomError(f.engine, "MarginEnginePaused")
      .withArgs(0n, WITHDRAW);
  });

  it("a self-rebalance that would sweep margin to the reserve is refused, and nothing leaves", async () => {
    const f = await loadFixture(winnerWithDust);
    const margin = await f.vault.marginOf(f.alice.address);
    expect(margin).to.be.gt(usdc(15_000)); // the profit is in margin
    const wallet = await f.token.balanceOf(f.alice.address);
    await expect(f.engine.connect(f.alice).rebalance(f.alice.address))
      .to.be.revertedWithCustomError(f.engine, "MarginEnginePaused")
      .withArgs(0n, WITHDRAW);
    const [action] = await f.engine.keeperAction(f.alice.address);
    expect(action, "keepers are not offered the sweep").to.equal(0n);
    expect(await f.vault.reserveOf(f.alice.address)).to.equal(0n);
    await expect(f.vault.connect(f.alice).withdrawReserve(1n, f.alice.address)).to.be.reverted;
    expect(await f.token.balanceOf(f.alice.address)).to.equal(wallet);
    expect(await f.vault.marginOf(f.alice.address)).to.equal(margin);
    await expectConservation(f, [f.alice, f.bob, f.carol, f.lp, f.keeper, f.outsider].map((s) => s.address));
  });

  it("the same sweep runs once Withdraw is unpaused", async () => {
    const f = await loadFixture(winnerWithDust);
    await f.guardian.connect(f.deployer).unpauseAction(WITHDRAW); // unpausing is the admin's
    const [action] = await f.engine.keeperAction(f.alice.address);
    expect(action).to.equal(1n); // Rebalance
    await expect(f.engine.connect(f.keeper).rebalance(f.alice.address)).to.emit(f.engine, "Rebalanced");
    expect(await f.vault.reserveOf(f.alice.address)).to.be.gt(usdc(15_000));
  });

  it("top-ups and deleverage (risk-reducing) still run while Withdraw is paused", async () => {
    const f = await loadFixture(deployFunded);
    await f.vault.connect(f.alice).depositMargin(f.alice.address, usdc(20_000));
    await f.vault.connect(f.alice).depositReserve(f.alice.address, usdc(20_000));
    await trade(f, f.alice, ETH_MARKET, parseEther("100"));
    await f.engine.connect(f.alice).setPolicy(standardPolicy(await f.thresholdStrategy.getAddress()));
    await movePrice(f.ethFeed, 2_880);
    await f.guardian.connect(f.guardianAccount).pauseAction(WITHDRAW);
    await expect(f.engine.connect(f.keeper).rebalance(f.alice.address)).to.emit(f.engine, "Rebalanced");
  });
});
