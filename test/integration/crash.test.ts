import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { parseEther } from "ethers";
import { ethers } from "hardhat";
import {
  BTC_MARKET,
  ETH_MARKET,
  answer,
  deployBallast,
  expectConservation,
  usdc,
  trade,
  closeAll,
} from "../helpers/fixtures";

const WAD = 10n ** 18n;

/**
 * LPs fund the pool, traders open long and short positions in ETH and BTC, the price falls in
 * Chainlink-like rounds and every liquidatable account is liquidated. After every step, the vault holds
 * exactly the sum of internal balances and no token is created or lost anywhere.
 */
describe("Integration: a crash in rounds", () => {
  async function book() {
    const f = await deployBallast();
    const traders = (await ethers.getSigners()).slice(10, 22);
    const lps = [f.lp, f.outsider];
    for (const t of traders) {
      await f.token.mint(t.address, usdc(100_000));
      await f.token.connect(t).approve(await f.vault.getAddress(), ethers.MaxUint256);
    }
    await f.pool.connect(f.lp).deposit(usdc(2_000_000), f.lp.address);
    await f.pool.connect(f.outsider).deposit(usdc(500_000), f.outsider.address);
    // Leverage ladder 2x … 20x, alternating long and short, both markets for every third trader.
    const leverages = [2, 3, 5, 8, 10, 12, 15, 18, 20, 4, 6, 9];
    for (let i = 0; i < traders.length; i++) {
      const t = traders[i];
      const margin = 10_000;
      await f.vault.connect(t).depositMargin(t.address, usdc(margin));
      const notional = BigInt(margin * leverages[i]);
      const ethSize = (notional * WAD) / 3_000n;
      await trade(f, t, ETH_MARKET, i % 2 === 0 ? ethSize : -ethSize);
      if (i % 3 === 0) await trade(f, t, BTC_MARKET, parseEther("0.05"));
    }
    const holders = [
      ...traders.map((t) => t.address),
      ...lps.map((l) => l.address),
      f.keeper.address,
      f.alice.address,
      f.bob.address,
      f.carol.address,
    ];
    const supply = await f.token.totalSupply();
    return { ...f, traders, holders, supply };
  }

  async function checkAll(f: Awaited<ReturnType<typeof book>>) {
    await expectConservation(
      f,
      f.traders.map((t) => t.address),
    );
    // Every token is in a wallet, the vault or the pool.
    let sum =
      (await f.token.balanceOf(await f.vault.getAddress())) +
      (await f.token.balanceOf(await f.pool.getAddress()));
    for (const h of f.holders) sum += await f.token.balanceOf(h);
    expect(sum, "total supply accounted for").to.equal(f.supply);
  }

  it("liquidates what falls under health 1, keeps the rest, and conserves every token", async () => {
    const f = await loadFixture(book);
    await checkAll(f);
    let liquidations = 0;
    let price = 3_000;
    let btc = 60_000;
    while (price > 2_100) {
      price = Math.round(price * 0.985); // within the adapter's 2% deviation bound
      btc = Math.round(btc * 0.985);
      await f.ethFeed.updateAnswer(answer(price));
      await f.btcFeed.updateAnswer(answer(btc));
      for (const t of f.traders) {
        const h = await f.engine.health(t.address);
        if (h < WAD) {
          const before = await f.engine.position(t.address, ETH_MARKET);
          await expect(f.engine.connect(f.keeper).liquidate(t.address)).to.emit(f.engine, "Liquidated");
          liquidations++;
          const after = await f.engine.position(t.address, ETH_MARKET);
          const absAfter = after.sizeWad < 0n ? -after.sizeWad : after.sizeWad;
          const absBefore = before.sizeWad < 0n ? -before.sizeWad : before.sizeWad;
          expect(absAfter).to.be.lte(absBefore);
          const hAfter = await f.engine.health(t.address);
          expect(hAfter >= WAD || absAfter === 0n, "liquidated account is healthy or closed").to.equal(true);
        } else {
          await expect(f.engine.liquidate(t.address)).to.be.revertedWithCustomError(
            f.engine,
            "MarginEngineNotLiquidatable",
          );
        }
      }
      await checkAll(f);
    }
    expect(liquidations).to.be.greaterThan(3);
    // Shorts gained, so the 2x short never came near liquidation and still holds its full size.
    const shortTrader = f.traders[1];
    expect((await f.engine.position(shortTrader.address, ETH_MARKET)).sizeWad).to.equal(
      -((30_000n * WAD) / 3_000n),
    );
    // LPs can still withdraw what open interest does not need.
    const free = await f.pool.freeLiquidity();
    expect(free).to.be.gt(0n);
    await f.pool
      .connect(f.outsider)
      .withdraw(free < usdc(100_000) ? free : usdc(100_000), f.outsider.address, f.outsider.address);
    await checkAll(f);
    // Winners close and take their profit home; the pool pays it.
    const margin = await f.vault.marginOf(shortTrader.address);
    await closeAll(f, shortTrader, ETH_MARKET);
    expect(await f.vault.marginOf(shortTrader.address)).to.be.gt(margin);
    await f.engine
      .connect(shortTrader)
      .withdrawMargin(await f.vault.marginOf(shortTrader.address), shortTrader.address);
    await checkAll(f);
  });
});
