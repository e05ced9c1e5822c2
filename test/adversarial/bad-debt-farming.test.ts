import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { parseEther } from "ethers";
import {
  answer,
  DEFAULTS,
  deployFunded,
  ETH,
  ETH_MARKET,
  expectConservation,
  movePrice,
  usdc,
  trade,
  closeAll,
} from "../helpers/fixtures";

/**
 * Finding: liquidation paid the liquidator before the loss owed to LPs, and the owner could liquidate
 * itself. With an adapter that graded a 20% round `Ok` while the initial margin was 4%, a long and a
 * short in two accounts of one owner were a free option written by LPs. Measured on the old main: 100 ETH
 * long and 100 ETH short at 3,000 with 12,150 USDC margin each, one `Ok` round to 3,300: bad debt 19,650
 * (18,000 without the self-paid reward), attacker +19,185 USDC, LP share value 1,000,299 → 980,815.
 *
 * Fixed at the root: (1) the reward comes only out of equity left after the loss and fee owed to LPs,
 * and an account liquidating itself earns none; (2) no market may have an initial margin at or below the
 * largest single-round move the adapter grades `Ok` (checked by the engine when a market is listed or
 * changed, and by the adapter when a deviation bound is set).
 *
 * The same reasoning one step further: an account that is not liquidatable holds equity of at least its
 * maintenance margin, so a bound above the maintenance margin (the 3% first chosen, under a 2% maintenance
 * margin) still let two rounds in a row sink an account that no liquidator could touch after the first.
 * The bound is now held to the maintenance margin.
 */

async function hedgedPair() {
  const f = await deployFunded(); // 1,000,000 USDC of LP liquidity
  // The attacker's two accounts: alice long, bob short, 100 ETH each at 3,000 with 12,150 USDC.
  for (const [s, size] of [
    [f.alice, parseEther("100")],
    [f.bob, parseEther("-100")],
  ] as const) {
    await f.vault.connect(s).depositMargin(s.address, usdc(12_150));
    await trade(f, s, ETH_MARKET, size);
  }
  return f;
}

type F = Awaited<ReturnType<typeof hedgedPair>>;
const everyone = (f: F) => [f.alice, f.bob, f.carol, f.lp, f.keeper, f.outsider].map((s) => s.address);
const lpValue = async (f: F) => f.pool.convertToAssets(await f.pool.balanceOf(f.lp.address));

describe("adversarial: bad-debt farming with a hedged pair and self-liquidation", () => {
  it("the adapter grades the 10% round of the old attack `Deviation`: nothing acts on it", async () => {
    const f = await loadFixture(hedgedPair);
    expect((await f.oracle.feedConfig(ETH)).maxDeviationWad).to.equal(DEFAULTS.maxDeviationWad);
    expect(DEFAULTS.maxDeviationWad).to.be.lte(DEFAULTS.eth.market.mmrWad);
    await f.ethFeed.updateAnswer(answer(3_300));
    const [, status] = await f.oracle.price(ETH);
    expect(status).to.equal(3n); // Deviation
    await expect(f.engine.connect(f.alice).liquidate(f.bob.address)).to.be.revertedWithCustomError(
      f.engine,
      "MarginEngineBadPrice",
    );
  });

  /**
   * Walks ETH to `target` in rounds of at most 2% (each `Ok`); after each, the attacker's winning account
   * liquidates the losing one as soon as it can (first in line for the reward); at the end both close.
   */
  async function walk(f: F, target: number) {
    const [winner, loser] = target > 3_000 ? [f.alice, f.bob] : [f.bob, f.alice];
    const lpBefore = await lpValue(f);
    const insuranceBefore = await f.pool.insuranceBalance();
    const loserBefore = (await f.token.balanceOf(loser.address)) + (await f.vault.marginOf(loser.address));
    const winnerBefore = (await f.token.balanceOf(winner.address)) + (await f.vault.marginOf(winner.address));
    let price = 3_000;
    while (price !== target) {
      price = target > price ? Math.min(target, price + 60) : Math.max(target, price - 60);
      await movePrice(f.ethFeed, price);
      if ((await f.engine.health(loser.address)) < parseEther("1")) {
        await f.engine.connect(winner).liquidate(loser.address);
      }
    }
    for (const s of [winner, loser]) {
      if ((await f.engine.position(s.address, ETH_MARKET)).sizeWad !== 0n) {
        await closeAll(f, s, ETH_MARKET);
      }
    }
    await expectConservation(f, everyone(f));
    return {
      badDebt: (await f.pool.queryFilter(f.pool.filters.BadDebtRecorded())).length,
      lpLoss: lpBefore - (await lpValue(f)),
      insuranceGain: (await f.pool.insuranceBalance()) - insuranceBefore,
      loserPaid:
        loserBefore - (await f.token.balanceOf(loser.address)) - (await f.vault.marginOf(loser.address)),
      winnerGain:
        (await f.token.balanceOf(winner.address)) + (await f.vault.marginOf(winner.address)) - winnerBefore,
    };
  }

  for (const target of [3_300, 2_700]) {
    it(`the same move to ${target} in rounds graded \`Ok\` makes no bad debt: LPs pay the winner only what the loser did not`, async () => {
      const r = await walk(await loadFixture(hedgedPair), target);
      expect(r.badDebt, "no bad debt: each round stays inside the maintenance margin").to.equal(0);
      // Old main: bad debt 19,650 and LPs −19,484 on the jump. Now every loss is paid in full: LPs pay the
      // winner's profit less what the loser paid them (its realised losses, fees and penalties).
      expect(r.loserPaid).to.be.gt(usdc(5_000));
      expect(r.lpLoss).to.be.closeTo(r.winnerGain - r.loserPaid + r.insuranceGain, 2n);
    });
  }

  it("an underwater account pays no liquidator reward: the loss goes to LPs first (18,000 bad debt, not 19,650)", async () => {
    const f = await loadFixture(hedgedPair);
    // Only a guardian can make a held-back jump `Ok` at once: the gap a real market can open.
    await f.ethFeed.updateAnswer(answer(3_300));
    await f.oracle.connect(f.guardianAccount).acceptPrice(ETH);
    const aliceWorth = async () =>
      (await f.vault.marginOf(f.alice.address)) + (await f.token.balanceOf(f.alice.address));
    const aliceBefore = await aliceWorth();
    const tx = f.engine.connect(f.alice).liquidate(f.bob.address); // the owner's other account liquidates
    // Bob: margin 12,000 after the opening fee, loss 100 × 300 = 30,000 → 18,000 unpaid; no reward.
    await expect(tx)
      .to.emit(f.engine, "Liquidated")
      .withArgs(
        f.bob.address,
        f.alice.address,
        0n,
        (h: bigint) => h >= 0n,
        parseEther("330000"),
        0n,
        0n,
        usdc(18_000),
      );
    await expect(tx)
      .to.emit(f.pool, "BadDebtRecorded")
      .withArgs(f.bob.address, usdc(18_000), 0n, usdc(18_000));
    expect(await aliceWorth(), "no reward to the attacker's other account").to.equal(aliceBefore);
    await expectConservation(f, everyone(f));
  });

  it("a solvent account that liquidates itself earns no reward: the whole penalty goes to insurance", async () => {
    const f = await loadFixture(hedgedPair);
    await movePrice(f.ethFeed, 3_060); // bob: equity 6,000 < maintenance 6,120, still solvent
    expect(await f.engine.health(f.bob.address)).to.be.lt(parseEther("1"));
    const insuranceBefore = await f.pool.insuranceBalance();
    const tx = await f.engine.connect(f.bob).liquidate(f.bob.address);
    const receipt = await tx.wait();
    const event = receipt!.logs
      .map((l) => f.engine.interface.parseLog(l))
      .find((e) => e?.name === "Liquidated")!;
    expect(event.args.liquidatorRewardTokens ?? event.args[6]).to.equal(0n);
    const penalty = event.args[5] as bigint;
    expect(penalty).to.be.gt(0n);
    expect((await f.pool.insuranceBalance()) - insuranceBefore).to.equal(penalty);
    await expectConservation(f, everyone(f));
  });

  it("another liquidator of a solvent account is still paid, out of its equity after the loss and fee", async () => {
    const f = await loadFixture(hedgedPair);
    await movePrice(f.ethFeed, 3_060);
    const before = await f.token.balanceOf(f.keeper.address);
    await f.engine.connect(f.keeper).liquidate(f.bob.address);
    expect(await f.token.balanceOf(f.keeper.address), "the reward arrives as tokens").to.be.gt(before);
    await expectConservation(f, everyone(f));
  });

  describe("governance cannot pair a maintenance margin with a larger single-round move graded Ok", () => {
    it("setRiskParams refuses a deviation bound above a listed market's maintenance margin", async () => {
      const f = await loadFixture(deployFunded);
      const c = await f.oracle.feedConfig(ETH);
      await expect(
        f.oracle
          .connect(f.riskAdmin)
          .setRiskParams(ETH, c.heartbeat, c.minPriceWad, c.maxPriceWad, parseEther("0.2")),
      )
        .to.be.revertedWithCustomError(f.oracle, "ChainlinkOracleAdapterDeviationAboveMargin")
        .withArgs(ETH, parseEther("0.2"), parseEther("0.02"));
      await expect(
        f.oracle
          .connect(f.riskAdmin)
          .setRiskParams(ETH, c.heartbeat, c.minPriceWad, c.maxPriceWad, parseEther("0.03")),
      )
        .to.be.revertedWithCustomError(f.oracle, "ChainlinkOracleAdapterDeviationAboveMargin")
        .withArgs(ETH, parseEther("0.03"), parseEther("0.02"));
      await f.oracle
        .connect(f.riskAdmin)
        .setRiskParams(ETH, c.heartbeat, c.minPriceWad, c.maxPriceWad, parseEther("0.015"));
      // Equal to the maintenance margin: a round at the bound takes an account at health 1 to zero equity.
      await f.oracle
        .connect(f.riskAdmin)
        .setRiskParams(ETH, c.heartbeat, c.minPriceWad, c.maxPriceWad, parseEther("0.02"));
    });

    it("setFeed (replacing a feed) is held to the same bound", async () => {
      const f = await loadFixture(deployFunded);
      const c = await f.oracle.feedConfig(ETH);
      await expect(
        f.oracle.setFeed(ETH, c.feed, c.heartbeat, c.minPriceWad, c.maxPriceWad, parseEther("0.05")),
      ).to.be.revertedWithCustomError(f.oracle, "ChainlinkOracleAdapterDeviationAboveMargin");
    });

    it("setMarketConfig and listMarket refuse a maintenance margin below the adapter's bound", async () => {
      const f = await loadFixture(deployFunded);
      const m = await f.engine.marketConfig(ETH_MARKET);
      const config = {
        asset: m.asset,
        imrWad: parseEther("0.04"),
        mmrWad: parseEther("0.019"),
        feeWad: m.feeWad,
        liquidationPenaltyWad: m.liquidationPenaltyWad,
        maxOpenInterestWad: m.maxOpenInterestWad,
      };
      await expect(f.engine.connect(f.riskAdmin).setMarketConfig(ETH_MARKET, config))
        .to.be.revertedWithCustomError(f.engine, "MarginEngineMarginBelowOracleDeviation")
        .withArgs(ETH, parseEther("0.019"), DEFAULTS.maxDeviationWad);
      await f.engine
        .connect(f.riskAdmin)
        .setMarketConfig(ETH_MARKET, { ...config, mmrWad: parseEther("0.02") });

      const SOL = "0x534f4c0000000000000000000000000000000000000000000000000000000000";
      const feed = await (
        await import("hardhat")
      ).ethers.deployContract("MockV3Aggregator", [8, answer(150)]);
      await f.oracle.setFeed(
        SOL,
        await feed.getAddress(),
        3_600,
        parseEther("1"),
        parseEther("10000"),
        parseEther("0.1"),
      );
      await expect(
        f.engine.listMarket({ ...config, asset: SOL, imrWad: parseEther("0.2"), mmrWad: parseEther("0.09") }),
      )
        .to.be.revertedWithCustomError(f.engine, "MarginEngineMarginBelowOracleDeviation")
        .withArgs(SOL, parseEther("0.09"), parseEther("0.1"));
      // Equal to the bound is enough: a round at the bound takes an account at health 1 to zero equity.
      await f.engine.listMarket({
        ...config,
        asset: SOL,
        imrWad: parseEther("0.2"),
        mmrWad: parseEther("0.1"),
      });
      expect(await f.engine.minMaintenanceMarginWad(SOL)).to.equal(parseEther("0.1"));
      // Now listed, SOL's bound is held below its margin too.
      await expect(
        f.oracle.setRiskParams(SOL, 3_600, parseEther("1"), parseEther("10000"), parseEther("0.105")),
      )
        .to.be.revertedWithCustomError(f.oracle, "ChainlinkOracleAdapterDeviationAboveMargin")
        .withArgs(SOL, parseEther("0.105"), parseEther("0.1"));
    });

    it("why the bound is held to the maintenance margin: at 3%, two rounds sink an account no one could liquidate", async () => {
      const f = await loadFixture(hedgedPair);
      // Without the risk consumer the adapter takes the 3% bound first chosen (above the 2% maintenance).
      await f.oracle.setRiskConsumer("0x0000000000000000000000000000000000000000");
      const c = await f.oracle.feedConfig(ETH);
      await f.oracle.setRiskParams(ETH, c.heartbeat, c.minPriceWad, c.maxPriceWad, parseEther("0.03"));
      const worth = async () => {
        let total = 0n;
        for (const s of [f.alice, f.bob]) {
          total += (await f.token.balanceOf(s.address)) + (await f.vault.marginOf(s.address));
        }
        return total;
      };
      const before = await worth();
      const lpBefore = await lpValue(f);
      // Round 1 (+1.93%): bob's short is at health just above 1, so nobody may liquidate it.
      await f.ethFeed.updateAnswer(answer(3_058));
      expect(await f.engine.health(f.bob.address)).to.be.gte(parseEther("1"));
      await expect(f.engine.connect(f.alice).liquidate(f.bob.address)).to.be.revertedWithCustomError(
        f.engine,
        "MarginEngineNotLiquidatable",
      );
      // Round 2 (+3%, graded Ok under this bound): bob is underwater before anyone could act.
      await f.ethFeed.updateAnswer(answer(3_149.74));
      expect((await f.oracle.price(ETH))[1]).to.equal(0n);
      const tx = f.engine.connect(f.alice).liquidate(f.bob.address);
      await expect(tx).to.emit(f.pool, "BadDebtRecorded");
      await closeAll(f, f.alice, ETH_MARKET);
      const gain = (await worth()) - before;
      expect(gain, "the pair earns the bad debt less its fees").to.be.gt(usdc(2_500));
      expect(lpBefore - (await lpValue(f)), "paid by LPs").to.be.gt(usdc(2_500));
      await expectConservation(f, everyone(f));

      // With the consumer, the 3% bound is refused, and a 3% round is held back instead.
      await expect(f.oracle.setRiskConsumer(await f.engine.getAddress()))
        .to.be.revertedWithCustomError(f.oracle, "ChainlinkOracleAdapterDeviationAboveMargin")
        .withArgs(ETH, parseEther("0.03"), parseEther("0.02"));
      const g = await loadFixture(hedgedPair);
      await g.ethFeed.updateAnswer(answer(3_058));
      await g.ethFeed.updateAnswer(answer(3_149.74));
      expect((await g.oracle.price(ETH))[1], "a 3% round is Deviation under the 2% bound").to.equal(3n);
    });

    it("the consumer can only be set while every bound already set is below its margins", async () => {
      const f = await loadFixture(deployFunded);
      expect(await f.oracle.riskConsumer()).to.equal(await f.engine.getAddress());
      await expect(f.oracle.setRiskConsumer(f.outsider.address)).to.be.reverted; // not a consumer
      await expect(
        f.oracle.connect(f.outsider).setRiskConsumer(await f.engine.getAddress()),
      ).to.be.revertedWithCustomError(f.oracle, "ChainlinkOracleAdapterUnauthorized");
      await expect(f.oracle.setRiskConsumer("0x0000000000000000000000000000000000000000"))
        .to.emit(f.oracle, "RiskConsumerSet")
        .withArgs("0x0000000000000000000000000000000000000000");
      const c = await f.oracle.feedConfig(ETH);
      await f.oracle.setRiskParams(ETH, c.heartbeat, c.minPriceWad, c.maxPriceWad, parseEther("0.2"));
      await expect(f.oracle.setRiskConsumer(await f.engine.getAddress()))
        .to.be.revertedWithCustomError(f.oracle, "ChainlinkOracleAdapterDeviationAboveMargin")
        .withArgs(ETH, parseEther("0.2"), parseEther("0.02"));
      expect(await f.engine.minMaintenanceMarginWad("0x" + "00".repeat(32))).to.equal(2n ** 256n - 1n);
    });
  });
});
