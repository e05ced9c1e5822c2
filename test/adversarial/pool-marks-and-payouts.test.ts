import { expect } from "chai";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { AbiCoder, parseEther } from "ethers";
import { answer, deployBallast, deployFunded, ETH, ETH_MARKET, expectConservation, movePrice, usdc, trade, closeAll } from "../helpers/fixtures";

const everyone = (f: Awaited<ReturnType<typeof deployBallast>>) =>
  [f.alice, f.bob, f.carol, f.lp, f.keeper, f.outsider].map((s) => s.address);

/**
 * Findings: (1) the pool paid realised trader profit up to its marked assets, which count what open losers
 * owe it, so a payout could exceed LP cash and take the insurance buffer's tokens; (2) the pool marked a
 * market without an `Ok` price at the adapter's last good price, which is 0 until a round was recorded,
 * valuing every open long as a total loss owed to LPs. Fixed: profit is paid from LP cash only, and a
 * market is never marked at a price the adapter never recorded.
 */
describe("adversarial: LP payouts and marks", () => {
  async function winnerAndLoser() {
    const f = await deployBallast();
    await f.engine.connect(f.riskAdmin).setLiquidityReserveFactor(parseEther("0.01"));
    await f.pool.connect(f.lp).deposit(usdc(20_000), f.lp.address);
    await f.pool.connect(f.outsider).fundInsurance(usdc(100_000));
    await f.vault.connect(f.alice).depositMargin(f.alice.address, usdc(20_000));
    await f.vault.connect(f.bob).depositMargin(f.bob.address, usdc(100_000));
    await trade(f, f.alice, ETH_MARKET, parseEther("100"));
    await trade(f, f.bob, ETH_MARKET, parseEther("-100"));
    await movePrice(f.ethFeed, 3_300); // alice +30,000, bob −30,000
    return f;
  }

  it("a profit larger than LP cash is not paid out of the insurance buffer", async () => {
    const f = await loadFixture(winnerAndLoser);
    const cash = await f.pool.cashAssets();
    expect(cash).to.be.lt(usdc(30_000));
    await expect(closeAll(f, f.alice, ETH_MARKET)).to.be.revertedWithCustomError(
      f.pool,
      "LiquidityPoolInsufficientLiquidity",
    );
    expect(await f.pool.insuranceBalance()).to.equal(usdc(100_000));
    // Once the loser has paid, the winner is paid in full, and the buffer is untouched.
    await closeAll(f, f.bob, ETH_MARKET);
    const before = await f.vault.marginOf(f.alice.address);
    await closeAll(f, f.alice, ETH_MARKET);
    const fee = usdc(165); // 100 × 3,300 × 0.0005
    expect((await f.vault.marginOf(f.alice.address)) - before).to.equal(usdc(30_000) - fee);
    expect(await f.pool.insuranceBalance()).to.equal(usdc(100_000));
    await expectConservation(f, everyone(f));
  });

  it("a market whose price was never recorded is marked at entry, not at zero", async () => {
    const f = await loadFixture(deployFunded);
    await f.vault.connect(f.alice).depositMargin(f.alice.address, usdc(20_000));
    await trade(f, f.alice, ETH_MARKET, parseEther("100"));
    expect((await f.oracle.lastGoodPrice(ETH))[0], "nothing recorded yet").to.equal(0n);
    await time.increase(3_901); // Stale
    const [pnl, ok] = await f.engine.traderPnl();
    expect(ok).to.equal(false);
    expect(pnl, "old main: −300,000 (the long marked at 0)").to.equal(0n);
    expect(await f.pool.totalAssets()).to.equal(await f.pool.cashAssets());

    await f.ethFeed.updateAnswer(answer(3_060));
    await f.oracle.update(ETH); // recorded
    await time.increase(3_901);
    const [pnlAfter] = await f.engine.traderPnl();
    expect(pnlAfter, "marked at the recorded price").to.equal(parseEther("6000"));
  });

  it("performUpkeep records the latest round of every market's asset (automation-only deployments)", async () => {
    const f = await loadFixture(deployFunded);
    await f.ethFeed.updateAnswer(answer(3_030));
    await f.btcFeed.updateAnswer(answer(60_600));
    const empty = AbiCoder.defaultAbiCoder().encode(["address[]", "address[]", "address[]"], [[], [], []]);
    await expect(f.keeperContract.connect(f.keeper).performUpkeep(empty))
      .to.emit(f.oracle, "PriceUpdated")
      .withArgs(ETH, await f.ethFeed.latestRound(), parseEther("3030"), (t: bigint) => t > 0n);
    expect((await f.oracle.lastGoodPrice(ETH))[0]).to.equal(parseEther("3030"));
    const btc = (await f.engine.marketConfig(2n)).asset;
    expect((await f.oracle.lastGoodPrice(btc))[0]).to.equal(parseEther("60600"));
    // A second upkeep in the same round records nothing new and still succeeds.
    await expect(f.keeperContract.connect(f.keeper).performUpkeep(empty)).not.to.emit(f.oracle, "PriceUpdated");
  });
});
