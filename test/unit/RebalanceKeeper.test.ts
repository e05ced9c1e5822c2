import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { AbiCoder, parseEther } from "ethers";
import { ETH_MARKET, deployFunded, movePrice, usdc, standardPolicy, trade } from "../helpers/fixtures";
import { ScriptedStrategy__factory } from "../../typechain-types";

const coder = AbiCoder.defaultAbiCoder();
const page = (start: number, count: number) => coder.encode(["uint256", "uint256"], [start, count]);
const decode = (data: string) => coder.decode(["address[]", "address[]", "address[]"], data);
const perform = (r: string[], l: string[], c: string[] = []) =>
  coder.encode(["address[]", "address[]", "address[]"], [r, l, c]);

/**
 * Three accounts with 10 ETH longs at 3,000: alice (policy, reserve) will need a rebalance, bob (no
 * policy, thin margin: at 2,060 equity 385 against maintenance 412, still solvent, so its liquidator is paid)
 * a liquidation, carol stays healthy. ETH then falls to 2,060.
 */
async function book() {
  const f = await deployFunded();
  const strategy = await new ScriptedStrategy__factory(f.deployer).deploy();
  await f.engine.setStrategyApproval(strategy, true);
  await f.engine.connect(f.riskAdmin).setKeeperReward(usdc(2));
  for (const [s, margin] of [
    [f.alice, 10_000],
    [f.bob, 9_800],
    [f.carol, 30_000],
  ] as const) {
    await f.vault.connect(s).depositMargin(s.address, usdc(margin));
    await trade(f, s, ETH_MARKET, parseEther("10"));
  }
  await f.vault.connect(f.alice).depositReserve(f.alice.address, usdc(5_000));
  await f.engine.connect(f.alice).setPolicy(standardPolicy(await strategy.getAddress()));
  await movePrice(f.ethFeed, 2_060);
  await strategy.setPlan(parseEther("2"), usdc(241), [], 0);
  return { ...f, strategy };
}

describe("RebalanceKeeper", () => {
  it("is wired to the engine", async () => {
    const f = await loadFixture(deployFunded);
    expect(await f.keeperContract.engine()).to.equal(await f.engine.getAddress());
    expect(await f.keeperContract.allowListEnabled()).to.equal(false);
    await expect(
      ethers.deployContract("RebalanceKeeper", [ethers.ZeroAddress]),
    ).to.be.revertedWithCustomError(f.keeperContract, "RebalanceKeeperZeroAddress");
  });

  describe("checkUpkeep", () => {
    it("sorts a page into rebalances and liquidations", async () => {
      const f = await loadFixture(book);
      const [needed, data] = await f.keeperContract.checkUpkeep(page(0, 10));
      expect(needed).to.equal(true);
      const [r, l, c] = decode(data);
      expect(r).to.deep.equal([f.alice.address]);
      expect(l).to.deep.equal([f.bob.address]);
      expect(c).to.deep.equal([]);
    });

    it("pages through the active accounts", async () => {
      const f = await loadFixture(book);
      const first = decode((await f.keeperContract.checkUpkeep(page(0, 1)))[1]);
      expect(first[0]).to.deep.equal([f.alice.address]);
      expect(first[1]).to.deep.equal([]);
      const second = decode((await f.keeperContract.checkUpkeep(page(1, 1)))[1]);
      expect(second[1]).to.deep.equal([f.bob.address]);
      const [needed] = await f.keeperContract.checkUpkeep(page(2, 5));
      expect(needed).to.equal(false);
      expect((await f.keeperContract.checkUpkeep(page(50, 5)))[0]).to.equal(false);
    });

    it("rejects empty and oversized pages", async () => {
      const f = await loadFixture(book);
      for (const count of [0, 2_001]) {
        await expect(f.keeperContract.checkUpkeep(page(0, count)))
          .to.be.revertedWithCustomError(f.keeperContract, "RebalanceKeeperInvalidPage")
          .withArgs(count);
      }
    });
  });

  describe("performUpkeep", () => {
    it("rebalances and liquidates, and forwards every reward to the executor", async () => {
      const f = await loadFixture(book);
      const [, data] = await f.keeperContract.checkUpkeep(page(0, 10));
      const before = await f.token.balanceOf(f.outsider.address);
      const tx = f.keeperContract.connect(f.outsider).performUpkeep(data);
      await expect(tx).to.emit(f.engine, "Rebalanced");
      await expect(tx).to.emit(f.engine, "Liquidated");
      const receipt = await (await tx).wait();
      const done = receipt!.logs
        .map((log) => {
          try {
            return f.keeperContract.interface.parseLog(log);
          } catch {
            return null;
          }
        })
        .find((e) => e?.name === "UpkeepPerformed")!;
      const [executor, rebalanced, liquidated, skipped, reward] = done.args;
      expect(executor).to.equal(f.outsider.address);
      expect([rebalanced, liquidated, skipped]).to.deep.equal([1n, 1n, 0n]);
      expect(reward).to.be.gt(usdc(2));
      expect(await f.token.balanceOf(f.outsider.address)).to.equal(before + reward);
      expect(await f.token.balanceOf(await f.keeperContract.getAddress())).to.equal(0n);
      expect(await f.engine.health(f.alice.address)).to.equal(parseEther("2"));
    });

    it("skips, without reverting, accounts that no longer qualify", async () => {
      const f = await loadFixture(book);
      const [, data] = await f.keeperContract.checkUpkeep(page(0, 10));
      // Someone else gets there first.
      await f.engine.connect(f.keeper).rebalance(f.alice.address);
      await f.engine.connect(f.keeper).liquidate(f.bob.address);
      const tx = f.keeperContract.connect(f.outsider).performUpkeep(data);
      const selector = (name: string) => f.engine.interface.getError(name)!.selector;
      await expect(tx)
        .to.emit(f.keeperContract, "AccountSkipped")
        .withArgs(f.alice.address, 0, selector("MarginEngineInvalidPlan"));
      await expect(tx)
        .to.emit(f.keeperContract, "AccountSkipped")
        .withArgs(f.bob.address, 1, selector("MarginEngineNotLiquidatable"));
      await expect(tx).to.emit(f.keeperContract, "UpkeepPerformed").withArgs(f.outsider.address, 0, 0, 2, 0);
    });

    it("reports accounts whose deleverage is capped", async () => {
      const f = await loadFixture(book);
      await expect(f.keeperContract.performUpkeep(perform([], [], [f.carol.address])))
        .to.emit(f.keeperContract, "DeleverageDeferred")
        .withArgs(f.carol.address);
    });

    it("bounds the batch", async () => {
      const f = await loadFixture(book);
      const many = Array(201).fill(f.carol.address);
      await expect(f.keeperContract.performUpkeep(perform(many, [])))
        .to.be.revertedWithCustomError(f.keeperContract, "RebalanceKeeperBatchTooLarge")
        .withArgs(201);
    });

    it("restricts executors when the allow-list is on", async () => {
      const f = await loadFixture(book);
      await expect(f.keeperContract.connect(f.outsider).setAllowListEnabled(true))
        .to.be.revertedWithCustomError(f.keeperContract, "RebalanceKeeperUnauthorized")
        .withArgs(f.outsider.address);
      await expect(f.keeperContract.setAllowListEnabled(true))
        .to.emit(f.keeperContract, "ExecutorAllowListEnabled")
        .withArgs(true);
      await expect(f.keeperContract.setExecutor(f.keeper.address, true))
        .to.emit(f.keeperContract, "ExecutorSet")
        .withArgs(f.keeper.address, true);
      await expect(f.keeperContract.setExecutor(ethers.ZeroAddress, true)).to.be.revertedWithCustomError(
        f.keeperContract,
        "RebalanceKeeperZeroAddress",
      );
      expect(await f.keeperContract.isExecutor(f.keeper.address)).to.equal(true);
      const [, data] = await f.keeperContract.checkUpkeep(page(0, 10));
      await expect(f.keeperContract.connect(f.outsider).performUpkeep(data))
        .to.be.revertedWithCustomError(f.keeperContract, "RebalanceKeeperUnauthorizedExecutor")
        .withArgs(f.outsider.address);
      await expect(f.keeperContract.connect(f.keeper).performUpkeep(data)).to.emit(f.engine, "Rebalanced");
    });
  });
});
