import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { ContractTransactionResponse, Signer, parseEther } from "ethers";
import { ETH, ETH_MARKET, deployFunded, movePrice, orderIdOf, publishRound, usdc } from "../helpers/fixtures";
import { HedgedVault, HedgedVault__factory } from "../../typechain-types";

/** An integrating contract, driven through its TypeChain bindings. */
describe("Example: HedgedVault", () => {
  async function setup() {
    const f = await deployFunded();
    const hedge: HedgedVault = await new HedgedVault__factory(f.deployer).deploy(
      await f.engine.getAddress(),
      ETH_MARKET,
      parseEther("3"), // 3x short notional per unit of margin
      parseEther("0.3"), // 30% of deposits as reserve
      {
        triggerHealthWad: parseEther("1.5"),
        targetHealthWad: parseEther("2"),
        sweepHealthWad: 0n,
        allowTopUp: true,
        allowDeleverage: true,
        maxKeeperRewardTokens: usdc(5),
        strategy: await f.thresholdStrategy.getAddress(),
      },
    );
    for (const s of [f.alice, f.bob])
      await f.token.connect(s).approve(await hedge.getAddress(), usdc(1_000_000));
    return { ...f, hedge };
  }

  type F = Awaited<ReturnType<typeof setup>>;

  /** Publishes a round after the vault's order and has the keeper execute it. */
  async function executeVaultOrder(f: F, tx: ContractTransactionResponse) {
    const orderId = await orderIdOf(f, tx);
    await publishRound(f, ETH_MARKET);
    return f.engine.connect(f.keeper).executeOrder(orderId);
  }

  /** Deposits `assets` for `s` and executes the hedge order it submitted. */
  async function deposit(f: F, s: Signer, assets: bigint) {
    const tx = await f.hedge.connect(s).deposit(assets);
    await executeVaultOrder(f, tx);
    return tx;
  }

  it("opens the hedge for its depositors and sets its rebalancing policy", async () => {
    const f = await loadFixture(setup);
    expect((await f.engine.policyOf(await f.hedge.getAddress())).strategy).to.equal(
      await f.thresholdStrategy.getAddress(),
    );
    const tx = f.hedge.connect(f.alice).deposit(usdc(10_000));
    await expect(tx).to.emit(f.hedge, "Deposited").withArgs(f.alice.address, usdc(10_000), usdc(10_000));
    // The deposit only submits the hedge order: the short opens when a keeper executes it.
    expect((await f.engine.position(await f.hedge.getAddress(), ETH_MARKET)).sizeWad).to.equal(0n);
    await expect(executeVaultOrder(f, await tx))
      .to.emit(f.engine, "OrderExecuted")
      .withArgs(1n, await f.hedge.getAddress(), f.keeper.address, parseEther("-7"), parseEther("3000"));
    // 7,000 margin × 3 = 21,000 short at 3,000 = 7 ETH; 3,000 reserve.
    const pos = await f.engine.position(await f.hedge.getAddress(), ETH_MARKET);
    expect(pos.sizeWad).to.equal(parseEther("-7"));
    expect(await f.vault.reserveOf(await f.hedge.getAddress())).to.equal(usdc(3_000));
    await deposit(f, f.bob, usdc(5_000));
    expect((await f.engine.position(await f.hedge.getAddress(), ETH_MARKET)).sizeWad).to.equal(
      parseEther("-10.5"),
    );
    expect(await f.hedge.balanceOf(f.bob.address)).to.be.closeTo(usdc(5_000), usdc(20));
  });

  it("is kept out of liquidation by keepers when the price rises, and pays out pro rata", async () => {
    const f = await loadFixture(setup);
    await deposit(f, f.alice, usdc(10_000));
    const account = await f.hedge.getAddress();
    // ETH +38% in 1% rounds: unprotected, the short would be liquidated; the keeper rebalances on the way.
    let price = 3_000;
    while (price < 4_140) {
      price = Math.min(4_140, Math.round(price * 1.01));
      await movePrice(f.ethFeed, price);
      await f.oracle.update(ETH);
      const [action] = await f.engine.keeperAction(account);
      if (action === 1n) await f.engine.connect(f.keeper).rebalance(account);
      expect(await f.engine.health(account)).to.be.gte(parseEther("1"));
    }
    expect(await f.vault.reserveOf(account)).to.be.lt(usdc(3_000));
    const nav = await f.hedge.totalAssets();
    expect(nav).to.be.gt(0n);
    const before = await f.token.balanceOf(f.alice.address);
    const shares = await f.hedge.balanceOf(f.alice.address);
    const request = await f.hedge.connect(f.alice).requestRedeem(shares);
    // Until the closing order executes, the redemption cannot complete.
    const orderId = await orderIdOf(f, request);
    await expect(f.hedge.completeRedeem(f.alice.address))
      .to.be.revertedWithCustomError(f.hedge, "HedgedVaultOrderPending")
      .withArgs(orderId);
    await executeVaultOrder(f, request);
    await expect(f.hedge.connect(f.keeper).completeRedeem(f.alice.address)).to.emit(f.hedge, "Redeemed");
    expect(await f.hedge.balanceOf(account)).to.equal(0n);
    const paid = (await f.token.balanceOf(f.alice.address)) - before;
    // The whole account was hers: she gets its net value less the fee of closing the hedge.
    expect(paid).to.be.closeTo(nav, usdc(50));
    expect(await f.engine.accountMarkets(account)).to.deep.equal([]);
  });

  it("rejects zero amounts", async () => {
    const f = await loadFixture(setup);
    await expect(f.hedge.deposit(0)).to.be.revertedWithCustomError(f.hedge, "HedgedVaultZeroAmount");
    await expect(f.hedge.requestRedeem(0)).to.be.revertedWithCustomError(f.hedge, "HedgedVaultZeroAmount");
    await expect(f.hedge.completeRedeem(f.alice.address)).to.be.revertedWithCustomError(
      f.hedge,
      "HedgedVaultNoRedemption",
    );
  });
});
