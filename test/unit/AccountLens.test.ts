import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { parseEther } from "ethers";
import {
  BTC_MARKET,
  ETH,
  ETH_MARKET,
  deployFunded,
  movePrice,
  usdc,
  standardPolicy,
  trade,
} from "../helpers/fixtures";
import { ScriptedStrategy__factory } from "../../typechain-types";
import { hitProbability } from "../helpers/riskMathReference";

const WAD = 10n ** 18n;

/** Alice: 10 ETH long and 0.5 BTC short on 10,000 USDC, reserve 2,000, a policy; ETH at 2,900. */
async function account() {
  const f = await deployFunded();
  const strategy = await new ScriptedStrategy__factory(f.deployer).deploy();
  await f.engine.setStrategyApproval(strategy, true);
  await f.oracle.connect(f.riskAdmin).setVolatilityConfig(ETH, {
    initialVolatilityWad: parseEther("0.8"),
    ewmaWindow: 21_600,
    volatilityFeed: ethers.ZeroAddress,
    volatilityFeedHeartbeat: 0,
  });
  await f.vault.connect(f.alice).depositMargin(f.alice.address, usdc(10_000));
  await f.vault.connect(f.alice).depositReserve(f.alice.address, usdc(2_000));
  await trade(f, f.alice, ETH_MARKET, parseEther("10"));
  await trade(f, f.alice, BTC_MARKET, parseEther("-0.5"));
  await f.engine.connect(f.alice).setPolicy(standardPolicy(await strategy.getAddress()));
  await movePrice(f.ethFeed, 2_900);
  return { ...f, strategy };
}

describe("AccountLens", () => {
  it("is wired to the engine with a horizon", async () => {
    const f = await loadFixture(deployFunded);
    expect(await f.lens.engine()).to.equal(await f.engine.getAddress());
    expect(await f.lens.horizonSeconds()).to.equal(3_600n);
    await expect(
      ethers.deployContract("AccountLens", [await f.engine.getAddress(), 0]),
    ).to.be.revertedWithCustomError(f.lens, "AccountLensInvalidConfig");
  });

  it("reports health, distance, dollar deltas, liquidation prices and hit probability", async () => {
    const f = await loadFixture(account);
    const v = await f.lens.accountView(f.alice.address);
    expect(v.account).to.equal(f.alice.address);
    expect(v.pricesOk).to.equal(true);
    expect(v.marginTokens).to.equal(await f.vault.marginOf(f.alice.address));
    expect(v.reserveTokens).to.equal(usdc(2_000));
    expect(v.equityWad).to.equal(await f.engine.equity(f.alice.address));
    expect(v.maintenanceWad).to.equal(await f.engine.maintenanceRequirement(f.alice.address));
    expect(v.healthWad).to.equal(await f.engine.health(f.alice.address));
    expect(v.distanceToLiquidationWad).to.equal(v.equityWad - v.maintenanceWad);
    expect(v.markets.length).to.equal(2);
    const [eth, btc] = v.markets;
    expect(eth.asset).to.equal(ETH);
    expect(eth.dollarDeltaWad).to.equal(parseEther("29000"));
    expect(eth.unrealizedPnlWad).to.equal(parseEther("-1000"));
    expect(btc.dollarDeltaWad).to.equal(parseEther("-30000"));
    expect(v.netDollarDeltaWad).to.equal(parseEther("-1000"));
    expect(eth.liquidationPriceWad).to.equal(await f.engine.liquidationPrice(f.alice.address, ETH_MARKET));
    expect(btc.liquidationPriceWad).to.equal(await f.engine.liquidationPrice(f.alice.address, BTC_MARKET));
    expect(eth.volatilityWad).to.equal(parseEther("0.8"));
    // BTC has no volatility configured: only ETH's risk counts.
    const risk = (parseEther("29000") * parseEther("0.8")) / WAD;
    const expected = hitProbability(v.distanceToLiquidationWad, risk, 3_600n);
    expect(Number(v.hitProbabilityWad) / 1e18).to.be.closeTo(expected, expected * 1e-6 + 1e-17);
    expect(await f.lens.hitProbability(f.alice.address)).to.equal(v.hitProbabilityWad);
    expect(v.policy.targetHealthWad).to.equal(parseEther("2"));
    expect(v.action).to.equal(0n);
  });

  it("shows what the strategy would do now", async () => {
    const f = await loadFixture(account);
    await movePrice(f.ethFeed, 2_150);
    const before = await f.lens.accountView(f.alice.address);
    expect(before.healthWad).to.be.lt(parseEther("1.5"));
    // Top up exactly to health 2 after the 1 USDC keeper reward.
    const gapWad = 2n * before.maintenanceWad - before.equityWad;
    const topUp = (gapWad + 10n ** 12n - 1n) / 10n ** 12n + usdc(1);
    await f.strategy.setPlan(parseEther("2"), topUp, [], 0);
    const v = await f.lens.accountView(f.alice.address);
    expect(v.action).to.equal(1n);
    expect(v.plan.topUpTokens).to.equal(topUp);
    expect(v.hitProbabilityWad).to.be.gt(0n);
    expect(v.hitProbabilityWad).to.be.lte(WAD);
    // A plan the engine would refuse is not offered.
    await f.strategy.setPlan(parseEther("2"), topUp * 2n, [], 0);
    expect((await f.lens.accountView(f.alice.address)).action).to.equal(0n);
  });

  it("reports an empty account", async () => {
    const f = await loadFixture(account);
    const v = await f.lens.accountView(f.bob.address);
    expect(v.markets.length).to.equal(0);
    expect(v.healthWad).to.equal(ethers.MaxUint256);
    expect(v.hitProbabilityWad).to.equal(0n);
  });
});

describe("AccountLens batch views", () => {
  it("returns health and sizes of many accounts in one call", async () => {
    const f = await loadFixture(account);
    const [health, sizes] = await f.lens.healthAndSizes([f.alice.address, f.bob.address], ETH_MARKET);
    expect(health[0]).to.equal(await f.engine.health(f.alice.address));
    expect(health[1]).to.equal(ethers.MaxUint256);
    expect(sizes[0]).to.equal(parseEther("10"));
    expect(sizes[1]).to.equal(0n);
  });
});
