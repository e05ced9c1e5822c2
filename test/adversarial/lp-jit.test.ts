import { expect } from "chai";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { parseEther } from "ethers";
import { deployFunded, ETH_MARKET, expectConservation, movePrice, usdc, trade } from "../helpers/fixtures";

/**
 * Threat: just-in-time liquidity. If the pool valued LP shares at cash only, a trader's open loss would
 * reach LPs only when realised: an outsider could deposit just before a liquidation (or a losing close),
 * redeem just after, and take a share of a loss the other LPs had carried (measured on the unmarked pool
 * in this very scenario: +44,641.67 USDC for a 1,000,000 USDC deposit). Symmetrically, an LP could leave
 * just before a trader realised a large profit. The pool marks open trader PnL at the oracle prices
 * (`IMarginEngine.traderPnl`), so settling PnL does not move the share price, and LP entries and exits
 * stop while a market with open interest has no `Ok` price.
 */

async function losingLong() {
  const f = await deployFunded(); // an LP with 1,000,000 USDC in the pool
  await f.vault.connect(f.bob).depositMargin(f.bob.address, usdc(95_000));
  await trade(f, f.bob, ETH_MARKET, parseEther("100")); // 100 ETH long at 3,000
  await movePrice(f.ethFeed, 2_075); // −92,500 USD: health below 1
  return f;
}

async function winningLong() {
  const f = await deployFunded();
  await f.vault.connect(f.bob).depositMargin(f.bob.address, usdc(95_000));
  await trade(f, f.bob, ETH_MARKET, parseEther("100"));
  await movePrice(f.ethFeed, 3_900); // +90,000 USD the pool owes
  return f;
}

const everyone = (f: Awaited<ReturnType<typeof deployFunded>>) =>
  [f.alice, f.bob, f.carol, f.lp, f.keeper, f.outsider].map((s) => s.address);

describe("adversarial: just-in-time LP deposits around realised PnL", () => {
  it("marks an open loss into the share price before it is realised", async () => {
    const f = await loadFixture(losingLong);
    const cash = await f.pool.cashAssets();
    const [pnl, ok] = await f.engine.traderPnl();
    expect(ok).to.equal(true);
    expect(pnl).to.equal(parseEther("-92500")); // 100 × (2,075 − 3,000)
    expect(await f.pool.totalAssets()).to.equal(cash + usdc(92_500));
  });

  it("a deposit just before a liquidation and a redemption just after gain at most a share of the fee", async () => {
    const f = await loadFixture(losingLong);
    const start = await f.token.balanceOf(f.outsider.address);
    const lpValueBefore = await f.pool.convertToAssets(await f.pool.balanceOf(f.lp.address));

    await f.pool.connect(f.outsider).deposit(usdc(1_000_000), f.outsider.address);
    const shares = await f.pool.balanceOf(f.outsider.address);
    const supply = await f.pool.totalSupply();
    const tx = f.engine.connect(f.keeper).liquidate(f.bob.address);
    await expect(tx).to.emit(f.engine, "Liquidated");
    // The only LP income is the close's trading fee (the penalty goes to the liquidator and insurance).
    const receipt = await (await tx).wait();
    const income = receipt!.logs
      .map((l) => f.pool.interface.parseLog(l))
      .find((e) => e?.name === "IncomeRecorded");
    const lpIncome = income ? (income.args.liquidityTokens as bigint) : 0n;
    expect(await f.pool.maxRedeem(f.outsider.address)).to.equal(shares);
    await f.pool.connect(f.outsider).redeem(shares, f.outsider.address, f.outsider.address);

    // On a cash-valued pool this deposit gained 44,641.67 USDC; here at most its share of the fee.
    const gain = (await f.token.balanceOf(f.outsider.address)) - start;
    expect(gain, "the outsider gains at most its share of the fee").to.be.lte(
      (lpIncome * shares) / supply + 1n,
    );
    expect(gain).to.be.lt(usdc(100));
    expect(
      await f.pool.convertToAssets(await f.pool.balanceOf(f.lp.address)),
      "the LP who carried the risk keeps it",
    ).to.be.gte(lpValueBefore);
    await expectConservation(f, everyone(f));
  });

  it("a losing close moves no value to an LP who entered just before it", async () => {
    const f = await loadFixture(losingLong);
    await movePrice(f.ethFeed, 2_900); // healthy again, still 10,000 USD down
    const start = await f.token.balanceOf(f.outsider.address);
    await f.pool.connect(f.outsider).deposit(usdc(1_000_000), f.outsider.address);
    await trade(f, f.bob, ETH_MARKET, parseEther("-100"));
    const shares = await f.pool.balanceOf(f.outsider.address);
    await f.pool.connect(f.outsider).redeem(shares, f.outsider.address, f.outsider.address);
    // The close pays a 0.05% fee to LPs, shared by every LP at that moment: the outsider's cut of it.
    const feeShare = (usdc(145) * 1_000_000n) / 2_000_000n + 1n; // 100 × 2,900 × 0.0005 = 145 USDC
    expect((await f.token.balanceOf(f.outsider.address)) - start).to.be.lte(feeShare);
    await expectConservation(f, everyone(f));
  });

  it("an LP who leaves just before a trader realises a profit does not escape its share", async () => {
    const f = await loadFixture(winningLong);
    const probe = 10n ** 12n; // shares
    const before = await f.pool.convertToAssets(probe);
    await trade(f, f.bob, ETH_MARKET, parseEther("-100")); // realises +90,000
    const after = await f.pool.convertToAssets(probe);
    expect(after, "realising the profit does not lower the share price").to.be.gte(before);
    // The rise is the close fee only (100 × 3,900 × 0.0005 = 195 USDC over ~1,000,000 of LP assets).
    expect(after - before).to.be.lte((probe * 2n) / 10n ** 10n);
    await expectConservation(f, everyone(f));
  });

  it("refuses LP entries and exits while a market with open interest has no Ok price", async () => {
    const f = await loadFixture(winningLong);
    await time.increase(3_901); // the ETH feed's heartbeat has passed: Stale
    const [, ok] = await f.engine.traderPnl();
    expect(ok).to.equal(false);
    expect(await f.pool.totalAssets(), "the view still answers, at the last good price").to.be.gt(0n);
    expect(await f.pool.maxDeposit(f.outsider.address)).to.equal(0n);
    expect(await f.pool.maxRedeem(f.lp.address)).to.equal(0n);
    await expect(
      f.pool.connect(f.outsider).deposit(usdc(1_000), f.outsider.address),
    ).to.be.revertedWithCustomError(f.pool, "LiquidityPoolBadPrice");
    await expect(
      f.pool.connect(f.lp).redeem(1_000n, f.lp.address, f.lp.address),
    ).to.be.revertedWithCustomError(f.pool, "LiquidityPoolBadPrice");
    await f.ethFeed.updateAnswer(await f.ethFeed.latestAnswer()); // a fresh round
    await expect(f.pool.connect(f.outsider).deposit(usdc(1_000), f.outsider.address)).to.emit(
      f.pool,
      "Deposit",
    );
  });
});
