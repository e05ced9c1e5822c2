import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { AbiCoder, parseEther } from "ethers";
import { ETH_MARKET, expectConservation, movePrice, standardPolicy, usdc, trade, closeAll } from "../helpers/fixtures";
import type { Ballast } from "../helpers/fixtures";
import type { ReentrantToken } from "../../typechain-types";
import { deployOnToken, ledger, selectorOf } from "./helpers";

/**
 * Threat: a settlement token with transfer hooks (ERC-777 style) lets the party on the other side of a
 * transfer run code in the middle of a protocol call. Every state-changing entry point that moves
 * tokens is guarded (`ReentrancyGuardTransient` in the vault, engine and keeper, `ReentrancyGuard` in
 * the pool); each spec arms the hook to re-enter one of them mid-call, either bubbling the refusal
 * (the outer call reverts, nothing changes) or swallowing it (the outer call completes exactly once and
 * every token is accounted for).
 */

const coder = AbiCoder.defaultAbiCoder();
const perform = (r: string[], l: string[]) =>
  coder.encode(["address[]", "address[]", "address[]"], [r, l, [] as string[]]);

async function reentrantProtocol() {
  const token: ReentrantToken = await ethers.deployContract("ReentrantToken");
  const p = await deployOnToken(await token.getAddress());
  const f = { ...p, token };
  const tokenAddress = await token.getAddress();
  const vaultAddress = await p.vault.getAddress();
  const poolAddress = await p.pool.getAddress();
  for (const s of [p.alice, p.bob, p.carol, p.lp, p.keeper]) {
    await token.mint(s.address, usdc(10_000_000));
    await token.connect(s).approve(vaultAddress, ethers.MaxUint256);
    await token.connect(s).approve(poolAddress, ethers.MaxUint256);
  }
  // The token itself is the attacker: it holds tokens, margin, reserve and LP shares of its own.
  await token.mint(tokenAddress, usdc(1_000_000));
  await token.act(
    tokenAddress,
    token.interface.encodeFunctionData("approve", [vaultAddress, ethers.MaxUint256]),
  );
  await token.act(
    tokenAddress,
    token.interface.encodeFunctionData("approve", [poolAddress, ethers.MaxUint256]),
  );
  await token.act(
    vaultAddress,
    p.vault.interface.encodeFunctionData("depositReserve", [tokenAddress, usdc(1_000)]),
  );
  await token.act(
    vaultAddress,
    p.vault.interface.encodeFunctionData("depositMargin", [tokenAddress, usdc(1_000)]),
  );
  await p.pool.connect(p.lp).deposit(usdc(1_000_000), p.lp.address);
  await token.act(poolAddress, p.pool.interface.encodeFunctionData("deposit", [usdc(10_000), tokenAddress]));
  await p.engine.connect(p.riskAdmin).setKeeperReward(usdc(2));

  // Bob: 10 ETH long at 3,000 on 9,000 margin (liquidatable at 2,030). Alice: 10 ETH long on 10,000
  // margin with a deleverage-only threshold policy (rebalance due at 2,060).
  await p.vault.connect(p.bob).depositMargin(p.bob.address, usdc(9_000));
  await trade(p, p.bob, ETH_MARKET, parseEther("10"));
  await p.vault.connect(p.alice).depositMargin(p.alice.address, usdc(10_000));
  await trade(p, p.alice, ETH_MARKET, parseEther("10"));
  await p.engine
    .connect(p.alice)
    .setPolicy(standardPolicy(await p.thresholdStrategy.getAddress(), { allowTopUp: false }));
  return f;
}

type F = Awaited<ReturnType<typeof reentrantProtocol>>;
const everyone = (f: F, extra: string[] = []) => [
  f.alice.address,
  f.bob.address,
  f.carol.address,
  f.lp.address,
  f.keeper.address,
  ...extra,
];
const conserved = async (f: F) =>
  expectConservation(f as unknown as Ballast, everyone(f, [await f.token.getAddress()]));

/** Asserts the token's last callback was refused by a reentrancy guard. */
async function expectRefusedReentry(f: F) {
  expect(await f.token.reentries()).to.equal(1n);
  expect(await f.token.lastSuccess()).to.equal(false);
  expect(await f.token.lastReturnData()).to.equal(selectorOf(f.vault, "ReentrancyGuardReentrantCall"));
}

describe("adversarial: reentrancy through a hooked settlement token", () => {
  it("deploys on a hooked 6-decimals token (the vault checks no token property, the engine only decimals)", async () => {
    const f = await loadFixture(reentrantProtocol);
    expect(await f.vault.token()).to.equal(await f.token.getAddress());
    expect(await f.engine.marginWad(f.alice.address)).to.equal(parseEther("9985"));
    await conserved(f);
  });

  describe("CollateralVault", () => {
    it("refuses a second withdrawReserve from inside the first (no double spend of the reserve)", async () => {
      const f = await loadFixture(reentrantProtocol);
      const tokenAddress = await f.token.getAddress();
      const vaultAddress = await f.vault.getAddress();
      const withdraw = f.vault.interface.encodeFunctionData("withdrawReserve", [usdc(600), tokenAddress]);
      const before = await ledger(f, [tokenAddress]);

      await f.token.arm(vaultAddress, withdraw, true, false);
      await expect(f.token.act(vaultAddress, withdraw)).to.be.revertedWithCustomError(
        f.vault,
        "ReentrancyGuardReentrantCall",
      );
      expect(await ledger(f, [tokenAddress])).to.deep.equal(before);

      // Swallowed: the outer withdrawal happens once, the inner one never.
      await f.token.arm(vaultAddress, withdraw, false, false);
      await expect(f.token.act(vaultAddress, withdraw))
        .to.emit(f.vault, "ReserveWithdrawn")
        .withArgs(tokenAddress, tokenAddress, usdc(600));
      await expectRefusedReentry(f);
      expect(await f.vault.reserveOf(tokenAddress)).to.equal(usdc(400));
      expect(await f.token.balanceOf(tokenAddress)).to.equal(before[`${tokenAddress}.wallet`] + usdc(600));
      await conserved(f);
    });

    it("refuses a reserve withdrawal re-entered from a deposit's pull, before anything is credited", async () => {
      const f = await loadFixture(reentrantProtocol);
      const tokenAddress = await f.token.getAddress();
      const vaultAddress = await f.vault.getAddress();
      await f.token.arm(
        vaultAddress,
        f.vault.interface.encodeFunctionData("withdrawReserve", [usdc(1_000), tokenAddress]),
        false,
        true,
      );
      await f.token.act(
        vaultAddress,
        f.vault.interface.encodeFunctionData("depositMargin", [tokenAddress, usdc(500)]),
      );
      await expectRefusedReentry(f);
      expect(await f.vault.marginOf(tokenAddress)).to.equal(usdc(1_500));
      expect(await f.vault.reserveOf(tokenAddress)).to.equal(usdc(1_000));
      await conserved(f);
    });
  });

  describe("MarginEngine", () => {
    it("refuses withdrawMargin re-entered from its own payout, and the vault refuses a nested reserve withdrawal", async () => {
      const f = await loadFixture(reentrantProtocol);
      const tokenAddress = await f.token.getAddress();
      const engineAddress = await f.engine.getAddress();
      const withdraw = f.engine.interface.encodeFunctionData("withdrawMargin", [usdc(700), tokenAddress]);
      const before = await ledger(f, [tokenAddress]);

      await f.token.arm(engineAddress, withdraw, true, false);
      await expect(f.token.act(engineAddress, withdraw)).to.be.revertedWithCustomError(
        f.engine,
        "ReentrancyGuardReentrantCall",
      );
      expect(await ledger(f, [tokenAddress])).to.deep.equal(before);

      await f.token.arm(
        await f.vault.getAddress(),
        f.vault.interface.encodeFunctionData("withdrawReserve", [usdc(1_000), tokenAddress]),
        false,
        false,
      );
      await expect(f.token.act(engineAddress, withdraw)).to.emit(f.engine, "MarginWithdrawn");
      await expectRefusedReentry(f);
      expect(await f.vault.marginOf(tokenAddress)).to.equal(usdc(300));
      expect(await f.vault.reserveOf(tokenAddress)).to.equal(usdc(1_000));
      await conserved(f);
    });

    it("refuses a second liquidation of the same account from inside the first's settlement", async () => {
      const f = await loadFixture(reentrantProtocol);
      await movePrice(f.ethFeed, 2_030);
      const engineAddress = await f.engine.getAddress();
      const liquidate = f.engine.interface.encodeFunctionData("liquidate", [f.bob.address]);

      await f.token.arm(engineAddress, liquidate, true, false);
      await expect(f.token.act(engineAddress, liquidate)).to.be.revertedWithCustomError(
        f.engine,
        "ReentrancyGuardReentrantCall",
      );
      expect((await f.engine.position(f.bob.address, ETH_MARKET)).sizeWad).to.equal(parseEther("10"));

      await f.token.arm(engineAddress, liquidate, false, false);
      const receipt = await (await f.token.act(engineAddress, liquidate)).wait();
      await expectRefusedReentry(f);
      const liquidations = receipt!.logs.filter((l) => f.engine.interface.parseLog(l)?.name === "Liquidated");
      expect(liquidations).to.have.length(1);
      await conserved(f);
    });

    it("refuses a second rebalance (and a liquidation) from inside a rebalance's settlement", async () => {
      const f = await loadFixture(reentrantProtocol);
      await movePrice(f.ethFeed, 2_060);
      const engineAddress = await f.engine.getAddress();
      const rebalance = f.engine.interface.encodeFunctionData("rebalance", [f.alice.address]);

      await f.token.arm(engineAddress, rebalance, true, false);
      await expect(f.token.act(engineAddress, rebalance)).to.be.revertedWithCustomError(
        f.engine,
        "ReentrancyGuardReentrantCall",
      );

      await f.token.arm(
        engineAddress,
        f.engine.interface.encodeFunctionData("liquidate", [f.bob.address]),
        false,
        false,
      );
      const tokenAddress = await f.token.getAddress();
      const marginBefore = await f.vault.marginOf(tokenAddress);
      await expect(f.token.act(engineAddress, rebalance)).to.emit(f.engine, "Rebalanced");
      await expectRefusedReentry(f);
      // Paid exactly one reward (2 USDC), and bob was not liquidated.
      expect(await f.vault.marginOf(tokenAddress)).to.equal(marginBefore + usdc(2));
      expect((await f.engine.position(f.bob.address, ETH_MARKET)).sizeWad).to.equal(parseEther("10"));
      await conserved(f);
    });
  });

  describe("LiquidityPool", () => {
    it("refuses redeem re-entered from a redemption's payout and withdraw re-entered from a deposit's pull", async () => {
      const f = await loadFixture(reentrantProtocol);
      const tokenAddress = await f.token.getAddress();
      const poolAddress = await f.pool.getAddress();
      const shares = await f.pool.balanceOf(tokenAddress);
      const redeemHalf = f.pool.interface.encodeFunctionData("redeem", [
        shares / 2n,
        tokenAddress,
        tokenAddress,
      ]);
      const before = await ledger(f, [tokenAddress]);

      await f.token.arm(poolAddress, redeemHalf, true, false);
      await expect(f.token.act(poolAddress, redeemHalf)).to.be.revertedWithCustomError(
        f.pool,
        "ReentrancyGuardReentrantCall",
      );
      expect(await ledger(f, [tokenAddress])).to.deep.equal(before);

      await f.token.arm(poolAddress, redeemHalf, false, true);
      await f.token.act(poolAddress, redeemHalf);
      await expectRefusedReentry(f);
      expect(await f.pool.balanceOf(tokenAddress)).to.equal(shares - shares / 2n);

      await f.token.arm(
        poolAddress,
        f.pool.interface.encodeFunctionData("withdraw", [usdc(1_000), tokenAddress, tokenAddress]),
        true,
        true,
      );
      await expect(
        f.token.act(poolAddress, f.pool.interface.encodeFunctionData("deposit", [usdc(5_000), tokenAddress])),
      ).to.be.revertedWithCustomError(f.pool, "ReentrancyGuardReentrantCall");
      await conserved(f);
    });

    it("refuses redeem re-entered while the pool pays a trader's profit (no stale share price)", async () => {
      const f = await loadFixture(reentrantProtocol);
      // Carol goes long; ETH rises; her profitable close makes the pool pay out (payTrader).
      await f.vault.connect(f.carol).depositMargin(f.carol.address, usdc(10_000));
      await trade(f, f.carol, ETH_MARKET, parseEther("10"));
      await movePrice(f.ethFeed, 3_300);
      const tokenAddress = await f.token.getAddress();
      const poolAddress = await f.pool.getAddress();
      await f.token.arm(
        poolAddress,
        f.pool.interface.encodeFunctionData("redeem", [
          await f.pool.balanceOf(tokenAddress),
          tokenAddress,
          tokenAddress,
        ]),
        false,
        false,
      );
      await closeAll(f, f.carol, ETH_MARKET);
      await expectRefusedReentry(f);
      await conserved(f);
    });
  });

  describe("RebalanceKeeper", () => {
    it("refuses performUpkeep re-entered from inside a batch; the account is skipped, the reward paid once", async () => {
      const f = await loadFixture(reentrantProtocol);
      await movePrice(f.ethFeed, 2_060);
      const tokenAddress = await f.token.getAddress();
      const keeperAddress = await f.keeperContract.getAddress();
      const data = perform([f.alice.address], []);
      const upkeep = f.keeperContract.interface.encodeFunctionData("performUpkeep", [data]);
      const aliceBefore = await ledger(f, [f.alice.address]);

      // Bubbled: the refusal reverts the rebalance, which the batch skips; nobody is paid.
      await f.token.arm(keeperAddress, upkeep, true, false);
      await expect(f.token.act(keeperAddress, upkeep))
        .to.emit(f.keeperContract, "AccountSkipped")
        .withArgs(f.alice.address, 0, selectorOf(f.keeperContract, "ReentrancyGuardReentrantCall"))
        .and.to.emit(f.keeperContract, "UpkeepPerformed")
        .withArgs(tokenAddress, 0, 0, 1, 0);
      expect(await ledger(f, [f.alice.address])).to.deep.equal(aliceBefore);

      const walletBefore = await f.token.balanceOf(tokenAddress);
      await f.token.arm(keeperAddress, upkeep, false, false);
      await expect(f.token.act(keeperAddress, upkeep))
        .to.emit(f.keeperContract, "UpkeepPerformed")
        .withArgs(tokenAddress, 1, 0, 0, usdc(2));
      await expectRefusedReentry(f);
      expect(await f.token.balanceOf(tokenAddress)).to.equal(walletBefore + usdc(2));
      expect(await f.token.balanceOf(keeperAddress)).to.equal(0n);
      expect(await f.vault.marginOf(keeperAddress)).to.equal(0n);
      await conserved(f);
    });
  });
});
