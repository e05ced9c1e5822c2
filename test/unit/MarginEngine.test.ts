import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { anyUint } from "@nomicfoundation/hardhat-chai-matchers/withArgs";
import { parseEther } from "ethers";
import {
  BTC,
  BTC_MARKET,
  DEFAULTS,
  ETH,
  ETH_MARKET,
  answer,
  deployBallast,
  deployFunded,
  expectConservation,
  movePrice,
  usdc,
  trade,
  closeAll,
} from "../helpers/fixtures";
import { MockV3Aggregator__factory } from "../../typechain-types";

const WAD = 10n ** 18n;
const Action = { Open: 0, Close: 1, Deposit: 2, Withdraw: 3, Rebalance: 4, Liquidate: 5 };
const Status = { Ok: 0, Stale: 1, Invalid: 2, Deviation: 3, SequencerDown: 4, GracePeriod: 5 };

/** Alice with 10,000 USDC margin and a 10 ETH long at 3,000. */
async function aliceLong() {
  const f = await deployFunded();
  await f.vault.connect(f.alice).depositMargin(f.alice.address, usdc(10_000));
  await trade(f, f.alice, ETH_MARKET, parseEther("10"));
  return f;
}

/** Chainlink answer (8 decimals) for a WAD price. */
const toAnswer = (priceWad: bigint) => priceWad / 10n ** 10n;

describe("MarginEngine", () => {
  describe("deployment", () => {
    it("wires vault, pool, oracle and guardian", async () => {
      const f = await loadFixture(deployBallast);
      expect(await f.engine.vault()).to.equal(await f.vault.getAddress());
      expect(await f.engine.pool()).to.equal(await f.pool.getAddress());
      expect(await f.engine.oracle()).to.equal(await f.oracle.getAddress());
      expect(await f.engine.guardian()).to.equal(await f.guardian.getAddress());
      expect(await f.vault.engine()).to.equal(await f.engine.getAddress());
      expect(await f.pool.engine()).to.equal(await f.engine.getAddress());
    });

    it("lists ETH and BTC with the module's parameters", async () => {
      const f = await loadFixture(deployBallast);
      expect(await f.engine.marketCount()).to.equal(2n);
      const eth = await f.engine.marketConfig(ETH_MARKET);
      expect(eth.asset).to.equal(ETH);
      expect(eth.imrWad).to.equal(DEFAULTS.eth.market.imrWad);
      expect(eth.mmrWad).to.equal(DEFAULTS.eth.market.mmrWad);
      expect((await f.engine.marketConfig(BTC_MARKET)).asset).to.equal(BTC);
      const params = await f.engine.liquidationParams();
      expect(params.targetHealthWad).to.equal(DEFAULTS.liquidation.targetHealthWad);
      expect(await f.engine.liquidityReserveFactor()).to.equal(DEFAULTS.reserveFactorWad);
    });

    it("rejects zero addresses and invalid initial parameters", async () => {
      const f = await loadFixture(deployBallast);
      const libraries = {
        TradeLogic: await (await ethers.deployContract("TradeLogic")).getAddress(),
        OrderLogic: await (await ethers.deployContract("OrderLogic")).getAddress(),
        LiquidationLogic: await (await ethers.deployContract("LiquidationLogic")).getAddress(),
        RebalanceLogic: await (await ethers.deployContract("RebalanceLogic")).getAddress(),
        RebalancePreview: await (await ethers.deployContract("RebalancePreview")).getAddress(),
      };
      const factory = await ethers.getContractFactory("MarginEngine", { libraries });
      const addrs = [f.vault, f.pool, f.oracle, f.guardian].map((c) => c.target as string);
      const params = DEFAULTS.liquidation;
      for (let i = 0; i < 4; i++) {
        const args = [...addrs];
        args[i] = ethers.ZeroAddress;
        await expect(
          factory.deploy(args[0], args[1], args[2], args[3], params, DEFAULTS.reserveFactorWad),
        ).to.be.revertedWithCustomError(factory, "MarginEngineZeroAddress");
      }
      await expect(
        factory.deploy(addrs[0], addrs[1], addrs[2], addrs[3], { ...params, targetHealthWad: WAD }, WAD / 5n),
      ).to.be.revertedWithCustomError(factory, "MarginEngineInvalidLiquidationParams");
      await expect(
        factory.deploy(addrs[0], addrs[1], addrs[2], addrs[3], params, 0n),
      ).to.be.revertedWithCustomError(factory, "MarginEngineInvalidReserveFactor");
    });
  });

  describe("governance", () => {
    it("lists a market only for the admin, with a feed, once", async () => {
      const f = await loadFixture(deployBallast);
      const SOL = ethers.encodeBytes32String("SOL");
      const config = { ...DEFAULTS.eth.market, asset: SOL };
      await expect(f.engine.connect(f.riskAdmin).listMarket(config))
        .to.be.revertedWithCustomError(f.engine, "MarginEngineUnauthorized")
        .withArgs(f.riskAdmin.address, ethers.ZeroHash);
      await expect(f.engine.listMarket(config))
        .to.be.revertedWithCustomError(f.engine, "MarginEngineInvalidAsset")
        .withArgs(SOL);
      await expect(f.engine.listMarket({ ...config, asset: ETH }))
        .to.be.revertedWithCustomError(f.engine, "MarginEngineInvalidAsset")
        .withArgs(ETH);
      const feed = await new MockV3Aggregator__factory(f.deployer).deploy(8, answer(150));
      await f.oracle.setFeed(SOL, feed, 3600, parseEther("1"), parseEther("10000"), parseEther("0.02"));
      await expect(f.engine.listMarket(config))
        .to.emit(f.engine, "MarketListed")
        .withArgs(3n, SOL, Object.values(config));
      expect(await f.engine.marketCount()).to.equal(3n);
    });

    it("rejects market configurations outside the hard bounds", async () => {
      const f = await loadFixture(deployBallast);
      const base = DEFAULTS.eth.market;
      const bad = [
        { ...base, mmrWad: parseEther("0.0001") },
        { ...base, imrWad: base.mmrWad },
        { ...base, imrWad: parseEther("1.5") },
        { ...base, feeWad: parseEther("0.02") },
        { ...base, liquidationPenaltyWad: parseEther("0.3") },
        { ...base, feeWad: parseEther("0.01"), liquidationPenaltyWad: parseEther("0.015") },
        { ...base, maxOpenInterestWad: 0n },
      ];
      for (const config of bad) {
        await expect(
          f.engine.connect(f.riskAdmin).setMarketConfig(ETH_MARKET, config),
        ).to.be.revertedWithCustomError(f.engine, "MarginEngineInvalidMarketConfig");
      }
    });

    it("lets the risk admin change a market's parameters but not its asset", async () => {
      const f = await loadFixture(deployBallast);
      const config = { ...DEFAULTS.eth.market, feeWad: parseEther("0.001") };
      await expect(f.engine.connect(f.riskAdmin).setMarketConfig(ETH_MARKET, config))
        .to.emit(f.engine, "MarketConfigUpdated")
        .withArgs(ETH_MARKET, Object.values(config));
      expect((await f.engine.marketConfig(ETH_MARKET)).feeWad).to.equal(parseEther("0.001"));
      await expect(f.engine.connect(f.riskAdmin).setMarketConfig(ETH_MARKET, { ...config, asset: BTC }))
        .to.be.revertedWithCustomError(f.engine, "MarginEngineInvalidAsset")
        .withArgs(BTC);
      await expect(f.engine.connect(f.riskAdmin).setMarketConfig(9n, config))
        .to.be.revertedWithCustomError(f.engine, "MarginEngineUnknownMarket")
        .withArgs(9n);
      await expect(
        f.engine.connect(f.outsider).setMarketConfig(ETH_MARKET, config),
      ).to.be.revertedWithCustomError(f.engine, "MarginEngineUnauthorized");
    });

    it("bounds liquidation parameters and the reserve factor", async () => {
      const f = await loadFixture(deployBallast);
      const p = DEFAULTS.liquidation;
      const next = { ...p, targetHealthWad: parseEther("1.5") };
      await expect(f.engine.connect(f.riskAdmin).setLiquidationParams(next))
        .to.emit(f.engine, "LiquidationParamsUpdated")
        .withArgs(Object.values(next));
      for (const bad of [
        { ...p, targetHealthWad: WAD },
        { ...p, targetHealthWad: parseEther("3.1") },
        { ...p, liquidatorShareWad: parseEther("1.1") },
        { ...p, maxLiquidatorRewardTokens: 0n },
      ]) {
        await expect(f.engine.connect(f.riskAdmin).setLiquidationParams(bad)).to.be.revertedWithCustomError(
          f.engine,
          "MarginEngineInvalidLiquidationParams",
        );
      }
      await expect(f.engine.connect(f.riskAdmin).setLiquidityReserveFactor(parseEther("0.5")))
        .to.emit(f.engine, "LiquidityReserveFactorUpdated")
        .withArgs(parseEther("0.5"));
      await expect(f.engine.connect(f.riskAdmin).setLiquidityReserveFactor(parseEther("1.01")))
        .to.be.revertedWithCustomError(f.engine, "MarginEngineInvalidReserveFactor")
        .withArgs(parseEther("1.01"));
      await expect(f.engine.connect(f.outsider).setLiquidityReserveFactor(WAD)).to.be.revertedWithCustomError(
        f.engine,
        "MarginEngineUnauthorized",
      );
    });
  });

  describe("trading", () => {
    it("opens a long at the oracle price and charges the fee", async () => {
      const f = await loadFixture(deployFunded);
      await f.vault.connect(f.alice).depositMargin(f.alice.address, usdc(10_000));
      const poolBefore = await f.pool.cashAssets();
      const size = parseEther("10");
      // fee = 10 × 3,000 × 0.0005 = 15 USDC
      await expect(trade(f, f.alice, ETH_MARKET, size))
        .to.emit(f.engine, "PositionModified")
        .withArgs(
          f.alice.address,
          ETH_MARKET,
          size,
          size,
          parseEther("3000"),
          parseEther("3000"),
          0n,
          usdc(15),
        );
      expect(await f.vault.marginOf(f.alice.address)).to.equal(usdc(10_000 - 15));
      expect(await f.pool.cashAssets()).to.equal(poolBefore + usdc(15));
      const pos = await f.engine.position(f.alice.address, ETH_MARKET);
      expect(pos.sizeWad).to.equal(size);
      expect(pos.entryPriceWad).to.equal(parseEther("3000"));
      expect((await f.engine.marketState(ETH_MARKET)).longOpenInterestWad).to.equal(size);
      expect(await f.engine.accountMarkets(f.alice.address)).to.deep.equal([ETH_MARKET]);
      expect(await f.engine.activeAccountCount()).to.equal(1n);
      expect(await f.engine.activeAccounts(0, 10)).to.deep.equal([f.alice.address]);
      expect(await f.engine.activeAccounts(1, 10)).to.deep.equal([]);
      expect(await f.engine.totalEntryNotional()).to.equal(parseEther("30000"));
      expect(await f.engine.requiredLiquidity()).to.equal(usdc(6_000));
      await expectConservation(f, [f.alice.address]);
    });

    it("averages the entry price when a position grows", async () => {
      const f = await loadFixture(aliceLong);
      await movePrice(f.ethFeed, 3_300);
      await trade(f, f.alice, ETH_MARKET, parseEther("10"));
      const pos = await f.engine.position(f.alice.address, ETH_MARKET);
      expect(pos.sizeWad).to.equal(parseEther("20"));
      expect(pos.entryPriceWad).to.equal(parseEther("3150"));
    });

    it("realises profit from the pool when a position shrinks", async () => {
      const f = await loadFixture(aliceLong);
      await movePrice(f.ethFeed, 3_300);
      const margin = await f.vault.marginOf(f.alice.address);
      const poolBefore = await f.pool.cashAssets();
      // close 4 ETH: pnl = 4 × 300 = 1,200; fee = 4 × 3,300 × 0.0005 = 6.6
      await expect(trade(f, f.alice, ETH_MARKET, parseEther("-4")))
        .to.emit(f.engine, "PositionModified")
        .withArgs(
          f.alice.address,
          ETH_MARKET,
          parseEther("-4"),
          parseEther("6"),
          parseEther("3300"),
          parseEther("3000"),
          parseEther("1200"),
          usdc("6.6"),
        );
      expect(await f.vault.marginOf(f.alice.address)).to.equal(margin + usdc("1193.4"));
      expect(await f.pool.cashAssets()).to.equal(poolBefore - usdc("1193.4"));
      await expectConservation(f, [f.alice.address]);
    });

    it("pays losses to the pool when a position closes", async () => {
      const f = await loadFixture(aliceLong);
      await movePrice(f.ethFeed, 2_900);
      const margin = await f.vault.marginOf(f.alice.address);
      // loss = 10 × 100 = 1,000; fee = 10 × 2,900 × 0.0005 = 14.5
      await closeAll(f, f.alice, ETH_MARKET);
      expect(await f.vault.marginOf(f.alice.address)).to.equal(margin - usdc("1014.5"));
      expect((await f.engine.position(f.alice.address, ETH_MARKET)).sizeWad).to.equal(0n);
      expect(await f.engine.accountMarkets(f.alice.address)).to.deep.equal([]);
      expect(await f.engine.activeAccountCount()).to.equal(0n);
      expect(await f.engine.totalEntryNotional()).to.equal(0n);
      expect(await f.engine.health(f.alice.address)).to.equal(ethers.MaxUint256);
      await expectConservation(f, [f.alice.address]);
    });

    it("flips a long into a short at the oracle price", async () => {
      const f = await loadFixture(aliceLong);
      await movePrice(f.ethFeed, 3_100);
      await trade(f, f.alice, ETH_MARKET, parseEther("-15"));
      const pos = await f.engine.position(f.alice.address, ETH_MARKET);
      expect(pos.sizeWad).to.equal(parseEther("-5"));
      expect(pos.entryPriceWad).to.equal(parseEther("3100"));
      const state = await f.engine.marketState(ETH_MARKET);
      expect(state.longOpenInterestWad).to.equal(0n);
      expect(state.shortOpenInterestWad).to.equal(parseEther("5"));
    });

    it("keeps the active-account list consistent when accounts leave out of order", async () => {
      const f = await loadFixture(deployFunded);
      for (const s of [f.alice, f.bob, f.carol]) {
        await f.vault.connect(s).depositMargin(s.address, usdc(1_000));
        await trade(f, s, ETH_MARKET, parseEther("1"));
      }
      await closeAll(f, f.alice, ETH_MARKET);
      expect(await f.engine.activeAccounts(0, 10)).to.deep.equal([f.carol.address, f.bob.address]);
      await closeAll(f, f.carol, ETH_MARKET);
      expect(await f.engine.activeAccounts(0, 10)).to.deep.equal([f.bob.address]);
      await trade(f, f.alice, BTC_MARKET, parseEther("0.01"));
      expect(await f.engine.activeAccounts(0, 1)).to.deep.equal([f.bob.address]);
      expect(await f.engine.activeAccounts(1, 1)).to.deep.equal([f.alice.address]);
    });

    it("cross-margins positions in two markets on one margin balance", async () => {
      const f = await loadFixture(aliceLong);
      await trade(f, f.alice, BTC_MARKET, parseEther("-0.5"));
      expect(await f.engine.accountMarkets(f.alice.address)).to.deep.equal([ETH_MARKET, BTC_MARKET]);
      const margin = await f.engine.marginWad(f.alice.address);
      // ETH +10 at 3,000 → 3,300: +3,000; BTC −0.5 at 60,000 → 62,000: −1,000
      await movePrice(f.ethFeed, 3_300);
      await movePrice(f.btcFeed, 62_000);
      expect(await f.engine.equity(f.alice.address)).to.equal(margin + parseEther("2000"));
      // MM = 10 × 3,300 × 0.02 + 0.5 × 62,000 × 0.02 = 660 + 620
      expect(await f.engine.maintenanceRequirement(f.alice.address)).to.equal(parseEther("1280"));
      expect(await f.engine.initialRequirement(f.alice.address)).to.equal(parseEther("2560"));
      expect(await f.engine.health(f.alice.address)).to.equal(
        ((margin + parseEther("2000")) * WAD) / parseEther("1280"),
      );
    });

    it("reports liquidation prices at which health reaches 1", async () => {
      const f = await loadFixture(aliceLong);
      const liq = await f.engine.liquidationPrice(f.alice.address, ETH_MARKET);
      // E = 9,985 + 10(P − 3,000), MM = 0.2·P → P = (30,000 − 9,985) / 9.8
      expect(liq).to.be.closeTo(((parseEther("30000") - parseEther("9985")) * WAD) / parseEther("9.8"), 10n);
      await movePrice(f.ethFeed, toAnswer(liq) + 1n);
      expect(await f.engine.health(f.alice.address)).to.be.gte(WAD);
      await movePrice(f.ethFeed, toAnswer(liq) - 1n);
      expect(await f.engine.health(f.alice.address)).to.be.lt(WAD);
      await expect(f.engine.liquidationPrice(f.alice.address, BTC_MARKET))
        .to.be.revertedWithCustomError(f.engine, "MarginEngineNoPosition")
        .withArgs(f.alice.address, BTC_MARKET);
    });

    it("reports a short's liquidation price above the market", async () => {
      const f = await loadFixture(deployFunded);
      await f.vault.connect(f.bob).depositMargin(f.bob.address, usdc(5_000));
      await trade(f, f.bob, ETH_MARKET, parseEther("-10"));
      const liq = await f.engine.liquidationPrice(f.bob.address, ETH_MARKET);
      expect(liq).to.be.gt(parseEther("3000"));
      await movePrice(f.ethFeed, toAnswer(liq) - 1n);
      expect(await f.engine.health(f.bob.address)).to.be.gte(WAD);
      await movePrice(f.ethFeed, toAnswer(liq) + 1n);
      expect(await f.engine.health(f.bob.address)).to.be.lt(WAD);
    });

    describe("validations", () => {
      it("rejects unknown markets, missing positions and sizes out of range", async () => {
        const f = await loadFixture(aliceLong);
        // A zero size is a close-all order: refused at submission without a position.
        await expect(f.engine.connect(f.bob).submitOrder(ETH_MARKET, 0n, 0n, 2n ** 39n))
          .to.be.revertedWithCustomError(f.engine, "MarginEngineNoPosition")
          .withArgs(f.bob.address, ETH_MARKET);
        for (const id of [0n, 3n]) {
          await expect(trade(f, f.alice, id, 1n))
            .to.be.revertedWithCustomError(f.engine, "MarginEngineUnknownMarket")
            .withArgs(id);
        }
        await expect(closeAll(f, f.bob, ETH_MARKET))
          .to.be.revertedWithCustomError(f.engine, "MarginEngineNoPosition")
          .withArgs(f.bob.address, ETH_MARKET);
        await expect(trade(f, f.alice, ETH_MARKET, 2n ** 127n - 1n))
          .to.be.revertedWithCustomError(f.engine, "MarginEngineSizeOutOfRange")
          .withArgs(2n ** 127n - 1n + parseEther("10"));
        await expect(trade(f, f.alice, ETH_MARKET, 2n ** 127n)).to.be.reverted; // not an int128
      });

      it("requires equity to cover the initial requirement", async () => {
        const f = await loadFixture(deployFunded);
        await f.vault.connect(f.alice).depositMargin(f.alice.address, usdc(1_000));
        // 9 ETH: IM = 27,000 × 0.04 = 1,080 > 1,000 − 13.5 fee
        await expect(trade(f, f.alice, ETH_MARKET, parseEther("9")))
          .to.be.revertedWithCustomError(f.engine, "MarginEngineInsufficientMargin")
          .withArgs(parseEther("1000") - parseEther("13.5"), parseEther("1080"));
        expect(await f.engine.activeAccountCount()).to.equal(0n);
        expect(await f.vault.marginOf(f.alice.address)).to.equal(usdc(1_000));
      });

      it("refuses a reduce that leaves a liquidatable account less healthy", async () => {
        const f = await loadFixture(aliceLong);
        // At 2,002: equity 5, maintenance 400.4, health 0.0125 — below fee/mmr (0.025), where a partial
        // reduce costs more equity (fee) than it frees requirement, relative to health.
        await movePrice(f.ethFeed, 2_002);
        const before = await f.engine.health(f.alice.address);
        await expect(trade(f, f.alice, ETH_MARKET, parseEther("-0.1")))
          .to.be.revertedWithCustomError(f.engine, "MarginEngineHealthWorsened")
          .withArgs(before, anyUint);
        // A reduce at a healthier price is allowed and raises health.
        await movePrice(f.ethFeed, 2_100);
        const h = await f.engine.health(f.alice.address);
        await trade(f, f.alice, ETH_MARKET, parseEther("-1"));
        expect(await f.engine.health(f.alice.address)).to.be.gt(h);
      });

      it("refuses a close whose loss exceeds the margin", async () => {
        const f = await loadFixture(aliceLong);
        await movePrice(f.ethFeed, 1_900); // loss 11,000 > margin 9,985
        await expect(closeAll(f, f.alice, ETH_MARKET))
          .to.be.revertedWithCustomError(f.engine, "MarginEngineLossExceedsMargin")
          .withArgs(usdc("11009.5"), usdc(9_985));
      });

      it("caps open interest per side", async () => {
        const f = await loadFixture(deployFunded);
        await f.engine
          .connect(f.riskAdmin)
          .setMarketConfig(ETH_MARKET, { ...DEFAULTS.eth.market, maxOpenInterestWad: parseEther("5") });
        await f.vault.connect(f.alice).depositMargin(f.alice.address, usdc(10_000));
        await expect(trade(f, f.alice, ETH_MARKET, parseEther("6")))
          .to.be.revertedWithCustomError(f.engine, "MarginEngineOpenInterestCapExceeded")
          .withArgs(ETH_MARKET, parseEther("6"), parseEther("5"));
        await expect(trade(f, f.alice, ETH_MARKET, parseEther("-6")))
          .to.be.revertedWithCustomError(f.engine, "MarginEngineOpenInterestCapExceeded")
          .withArgs(ETH_MARKET, parseEther("6"), parseEther("5"));
      });

      it("caps open notional by pool liquidity", async () => {
        const f = await loadFixture(deployBallast);
        await f.pool.connect(f.lp).deposit(usdc(1_000), f.lp.address);
        await f.vault.connect(f.alice).depositMargin(f.alice.address, usdc(10_000));
        // 2 ETH: notional 6,000 × 20% = 1,200 required > 1,000 + 3 fee
        await expect(trade(f, f.alice, ETH_MARKET, parseEther("2")))
          .to.be.revertedWithCustomError(f.engine, "MarginEngineInsufficientPoolLiquidity")
          .withArgs(usdc(1_200), usdc(1_003));
      });

      it("bounds the number of markets per account", async () => {
        const f = await loadFixture(deployFunded);
        await f.vault.connect(f.alice).depositMargin(f.alice.address, usdc(100_000));
        const listExtra = async (i: number) => {
          const asset = ethers.encodeBytes32String(`X${i}`);
          const feed = await new MockV3Aggregator__factory(f.deployer).deploy(8, answer(100));
          await f.oracle.setFeed(asset, feed, 3600, parseEther("1"), parseEther("10000"), parseEther("0.02"));
          await f.engine.listMarket({ ...DEFAULTS.eth.market, asset });
        };
        for (let i = 0; i < 7; i++) await listExtra(i);
        for (let id = 1n; id <= 8n; id++) {
          await trade(f, f.alice, id, parseEther(id <= 2n ? "0.01" : "1"));
        }
        await listExtra(7);
        await expect(trade(f, f.alice, 9n, parseEther("1")))
          .to.be.revertedWithCustomError(f.engine, "MarginEngineTooManyMarkets")
          .withArgs(f.alice.address);
      });

      it("requires Ok prices for every market the account holds", async () => {
        const f = await loadFixture(aliceLong);
        await trade(f, f.alice, BTC_MARKET, parseEther("0.1"));
        await time.increase(DEFAULTS.heartbeat + 1);
        await f.ethFeed.updateAnswer(answer(3_000)); // ETH fresh again, BTC stale
        await expect(trade(f, f.alice, ETH_MARKET, parseEther("1")))
          .to.be.revertedWithCustomError(f.engine, "MarginEngineBadPrice")
          .withArgs(BTC, Status.Stale);
        await f.btcFeed.updateAnswer(answer(60_000));
        await f.ethFeed.updateAnswer(0);
        await expect(closeAll(f, f.alice, BTC_MARKET))
          .to.be.revertedWithCustomError(f.engine, "MarginEngineBadPrice")
          .withArgs(ETH, Status.Invalid);
      });

      it("honours the pause flags", async () => {
        const f = await loadFixture(aliceLong);
        await f.guardian.connect(f.guardianAccount).pauseAction(Action.Open);
        await expect(trade(f, f.alice, ETH_MARKET, parseEther("1")))
          .to.be.revertedWithCustomError(f.engine, "MarginEnginePaused")
          .withArgs(ETH_MARKET, Action.Open);
        // Reducing is still possible while only opening is paused.
        await trade(f, f.alice, ETH_MARKET, parseEther("-1"));
        await f.guardian.connect(f.guardianAccount).pauseMarket(ETH_MARKET);
        await expect(closeAll(f, f.alice, ETH_MARKET))
          .to.be.revertedWithCustomError(f.engine, "MarginEnginePaused")
          .withArgs(ETH_MARKET, Action.Close);
        expect((await f.engine.position(f.alice.address, ETH_MARKET)).sizeWad).to.equal(parseEther("9"));
      });
    });
  });

  describe("margin withdrawals", () => {
    it("withdraws freely without positions, and needs no price", async () => {
      const f = await loadFixture(deployFunded);
      await f.vault.connect(f.alice).depositMargin(f.alice.address, usdc(1_000));
      await f.ethFeed.updateAnswer(0);
      await expect(f.engine.connect(f.alice).withdrawMargin(usdc(400), f.bob.address))
        .to.emit(f.engine, "MarginWithdrawn")
        .withArgs(f.alice.address, f.bob.address, usdc(400))
        .and.to.emit(f.vault, "MarginTransferred")
        .withArgs(f.alice.address, f.bob.address, usdc(400));
      expect(await f.vault.marginOf(f.alice.address)).to.equal(usdc(600));
      await expectConservation(f, [f.alice.address]);
    });

    it("keeps the initial requirement covered", async () => {
      const f = await loadFixture(aliceLong);
      // margin 9,985, IM 1,200: 8,785 is free
      await expect(f.engine.connect(f.alice).withdrawMargin(usdc(8_786), f.alice.address))
        .to.be.revertedWithCustomError(f.engine, "MarginEngineInsufficientMargin")
        .withArgs(parseEther("1199"), parseEther("1200"));
      await f.engine.connect(f.alice).withdrawMargin(usdc(8_785), f.alice.address);
      expect(await f.vault.marginOf(f.alice.address)).to.equal(usdc(1_200));
    });

    it("cannot withdraw unrealised profit", async () => {
      const f = await loadFixture(aliceLong);
      await movePrice(f.ethFeed, 4_000);
      await expect(f.engine.connect(f.alice).withdrawMargin(usdc(10_000), f.alice.address))
        .to.be.revertedWithCustomError(f.vault, "CollateralVaultInsufficientMargin")
        .withArgs(f.alice.address, usdc(10_000), usdc(9_985));
    });

    it("validates amount, recipient, pause and price", async () => {
      const f = await loadFixture(aliceLong);
      await expect(
        f.engine.connect(f.alice).withdrawMargin(0, f.alice.address),
      ).to.be.revertedWithCustomError(f.engine, "MarginEngineZeroAmount");
      await expect(
        f.engine.connect(f.alice).withdrawMargin(1, ethers.ZeroAddress),
      ).to.be.revertedWithCustomError(f.engine, "MarginEngineZeroAddress");
      await f.ethFeed.updateAnswer(-1);
      await expect(f.engine.connect(f.alice).withdrawMargin(1, f.alice.address))
        .to.be.revertedWithCustomError(f.engine, "MarginEngineBadPrice")
        .withArgs(ETH, Status.Invalid);
      await f.guardian.connect(f.guardianAccount).pauseAction(Action.Withdraw);
      await expect(f.engine.connect(f.alice).withdrawMargin(1, f.alice.address))
        .to.be.revertedWithCustomError(f.engine, "MarginEnginePaused")
        .withArgs(0n, Action.Withdraw);
    });
  });

  describe("liquidation", () => {
    it("refuses healthy accounts", async () => {
      const f = await loadFixture(aliceLong);
      const h = await f.engine.health(f.alice.address);
      await expect(f.engine.connect(f.keeper).liquidate(f.alice.address))
        .to.be.revertedWithCustomError(f.engine, "MarginEngineNotLiquidatable")
        .withArgs(f.alice.address, h);
      await expect(f.engine.connect(f.keeper).liquidate(f.bob.address))
        .to.be.revertedWithCustomError(f.engine, "MarginEngineNotLiquidatable")
        .withArgs(f.bob.address, ethers.MaxUint256);
    });

    it("closes only enough to restore the target health, and pays a bounded reward", async () => {
      const f = await loadFixture(aliceLong);
      const liq = await f.engine.liquidationPrice(f.alice.address, ETH_MARKET);
      await movePrice(f.ethFeed, toAnswer(liq) - answer(5)); // $5 under the liquidation price
      const before = await f.engine.health(f.alice.address);
      expect(before).to.be.lt(WAD);
      const keeperBefore = await f.token.balanceOf(f.keeper.address);
      const insuranceBefore = await f.pool.insuranceBalance();
      const tx = await f.engine.connect(f.keeper).liquidate(f.alice.address);
      const receipt = await tx.wait();
      const event = receipt!.logs
        .map((l) => f.engine.interface.parseLog(l))
        .find((e) => e?.name === "Liquidated")!;
      const [account, liquidator, hBefore, hAfter, closedNotional, penalty, reward, badDebt] = event.args;
      expect(account).to.equal(f.alice.address);
      expect(liquidator).to.equal(f.keeper.address);
      expect(hBefore).to.equal(before);
      expect(hAfter).to.equal(await f.engine.health(f.alice.address));
      // Token rounding (6 decimals) may leave it a few billionths under the target.
      expect(hAfter).to.be.closeTo(DEFAULTS.liquidation.targetHealthWad, parseEther("0.000001"));
      expect(badDebt).to.equal(0n);
      // Part of the position survives.
      const remaining = (await f.engine.position(f.alice.address, ETH_MARKET)).sizeWad;
      expect(remaining).to.be.gt(0n);
      expect(remaining).to.be.lt(parseEther("10"));
      // Penalty 1% of closed notional, half to the liquidator, half to insurance.
      expect(penalty).to.be.closeTo(closedNotional / 10n ** 12n / 100n, 2n);
      expect(reward).to.equal((penalty * DEFAULTS.liquidation.liquidatorShareWad) / WAD);
      expect(await f.token.balanceOf(f.keeper.address)).to.equal(keeperBefore + reward);
      expect(await f.pool.insuranceBalance()).to.equal(insuranceBefore + penalty - reward);
      await expectConservation(f, [f.alice.address]);
    });

    it("caps the liquidator reward", async () => {
      const f = await loadFixture(aliceLong);
      await f.engine
        .connect(f.riskAdmin)
        .setLiquidationParams({ ...DEFAULTS.liquidation, maxLiquidatorRewardTokens: usdc(1) });
      await movePrice(f.ethFeed, 2_020);
      await expect(f.engine.connect(f.keeper).liquidate(f.alice.address))
        .to.emit(f.engine, "Liquidated")
        .withArgs(f.alice.address, f.keeper.address, anyUint, anyUint, anyUint, anyUint, usdc(1), 0n);
    });

    it("closes everything and records bad debt, absorbed by insurance first", async () => {
      const f = await loadFixture(aliceLong);
      await f.pool.connect(f.lp).fundInsurance(usdc(300));
      await movePrice(f.ethFeed, 1_950); // loss 10,500 > margin 9,985
      const lpAssetsBefore = await f.pool.cashAssets();
      const tx = f.engine.connect(f.keeper).liquidate(f.alice.address);
      // The loss owed to LPs comes first: all 9,985 of margin pays 9,985 of the 10,500 loss; nothing is
      // left for the fee, the reward (penalty 1% × 19,500 = 195, half 97.5, on the old main paid first)
      // or insurance.
      const reward = 0n;
      const badDebt = usdc(10_500) - usdc(9_985);
      await expect(tx)
        .to.emit(f.engine, "Liquidated")
        .withArgs(
          f.alice.address,
          f.keeper.address,
          0n,
          ethers.MaxUint256,
          parseEther("19500"),
          reward,
          reward,
          badDebt,
        );
      await expect(tx)
        .to.emit(f.pool, "BadDebtRecorded")
        .withArgs(f.alice.address, badDebt, usdc(300), badDebt - usdc(300));
      expect(await f.vault.marginOf(f.alice.address)).to.equal(0n);
      expect(await f.engine.activeAccountCount()).to.equal(0n);
      expect(await f.pool.insuranceBalance()).to.equal(0n);
      // LPs received the margin (minus the reward) and the insurance buffer.
      expect(await f.pool.cashAssets()).to.equal(lpAssetsBefore + usdc(9_985) - reward + usdc(300));
      await expectConservation(f, [f.alice.address]);
    });

    it("pays a liquidated account its realised profit, less the close fee and the penalty", async () => {
      const f = await loadFixture(aliceLong);
      await movePrice(f.ethFeed, 3_100); // 1,000 USDC of open profit
      // Governance raises ETH's margin ratios: the account is in profit and under health 1.
      const config = { ...DEFAULTS.eth.market, imrWad: parseEther("0.6"), mmrWad: parseEther("0.5") };
      await f.engine.connect(f.riskAdmin).setMarketConfig(ETH_MARKET, config);
      expect(await f.engine.health(f.alice.address)).to.be.lt(WAD);
      const marginBefore = await f.vault.marginOf(f.alice.address);
      const keeperBefore = await f.token.balanceOf(f.keeper.address);
      const insuranceBefore = await f.pool.insuranceBalance();
      const cashBefore = await f.pool.cashAssets();

      const receipt = await (await f.engine.connect(f.keeper).liquidate(f.alice.address)).wait();
      const event = receipt!.logs
        .map((l) => f.engine.interface.parseLog(l))
        .find((e) => e?.name === "Liquidated")!;
      const [, , , hAfter, closedNotional, penalty, reward, badDebt] = event.args;
      expect(hAfter).to.be.closeTo(DEFAULTS.liquidation.targetHealthWad, parseEther("0.000001"));
      expect(badDebt).to.equal(0n);
      const closed = parseEther("10") - (await f.engine.position(f.alice.address, ETH_MARKET)).sizeWad;
      expect(closed).to.be.gt(0n);
      expect(closedNotional).to.equal((closed * parseEther("3100")) / WAD);
      // Gain rounded down to the token unit, fee and penalty up (6 decimals: 1e12 WAD per unit).
      const unit = 10n ** 12n;
      const profit = (closed * 100n) / unit;
      const fee = (closedNotional * BigInt(config.feeWad) + WAD * unit - 1n) / (WAD * unit);
      expect(profit).to.be.gt(fee + penalty); // the account is paid on balance
      expect(await f.vault.marginOf(f.alice.address)).to.equal(marginBefore + profit - fee - penalty);
      expect(await f.token.balanceOf(f.keeper.address)).to.equal(keeperBefore + reward);
      expect(await f.pool.insuranceBalance()).to.equal(insuranceBefore + penalty - reward);
      // The pool pays the profit net of the fee it keeps.
      expect(await f.pool.cashAssets()).to.equal(cashBefore - (profit - fee));
      await expectConservation(f, [f.alice.address]);
    });

    it("liquidates a cross-margined account across both markets", async () => {
      const f = await loadFixture(aliceLong);
      await trade(f, f.alice, BTC_MARKET, parseEther("1"));
      await movePrice(f.ethFeed, 2_700);
      await movePrice(f.ethFeed, 2_400);
      await movePrice(f.btcFeed, 57_000);
      expect(await f.engine.health(f.alice.address)).to.be.lt(WAD);
      await f.engine.connect(f.keeper).liquidate(f.alice.address);
      expect(await f.engine.health(f.alice.address)).to.be.closeTo(
        DEFAULTS.liquidation.targetHealthWad,
        parseEther("0.000001"),
      );
      await expectConservation(f, [f.alice.address]);
    });

    it("requires Ok prices and an unpaused action", async () => {
      const f = await loadFixture(aliceLong);
      await movePrice(f.ethFeed, 2_000);
      await time.increase(DEFAULTS.heartbeat + 1);
      await expect(f.engine.liquidate(f.alice.address))
        .to.be.revertedWithCustomError(f.engine, "MarginEngineBadPrice")
        .withArgs(ETH, Status.Stale);
      await f.ethFeed.updateAnswer(answer(2_000)); // fresh round, same price
      await f.guardian.connect(f.guardianAccount).pauseMarket(ETH_MARKET);
      await expect(f.engine.liquidate(f.alice.address))
        .to.be.revertedWithCustomError(f.engine, "MarginEnginePaused")
        .withArgs(ETH_MARKET, Action.Liquidate);
      await f.guardian.unpauseMarket(ETH_MARKET);
      await f.guardian.connect(f.guardianAccount).pauseAction(Action.Liquidate);
      await expect(f.engine.liquidate(f.alice.address))
        .to.be.revertedWithCustomError(f.engine, "MarginEnginePaused")
        .withArgs(0n, Action.Liquidate);
    });
  });
});
