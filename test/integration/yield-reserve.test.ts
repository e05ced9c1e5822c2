import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { anyValue } from "@nomicfoundation/hardhat-chai-matchers/withArgs";
import { parseEther } from "ethers";
import { ETH, ETH_MARKET, deployFunded, movePrice, usdc, standardPolicy, trade } from "../helpers/fixtures";
import { MockYieldVault__factory } from "../../typechain-types";

/**
 * A reserve kept as shares of a governance-approved ERC-4626 vault earns yield, and a top-up rebalance
 * redeems exactly the tokens it needs from it.
 */
describe("Integration: a yield-bearing reserve", () => {
  async function setup() {
    const f = await deployFunded();
    const yieldVault = await new MockYieldVault__factory(f.deployer).deploy(await f.token.getAddress());
    await f.vault.setReserveVaultApproval(yieldVault, true);
    await f.engine.connect(f.riskAdmin).setKeeperReward(usdc(2));
    await f.vault.connect(f.keeper).depositMargin(f.keeper.address, usdc(1));
    await f.vault.connect(f.alice).depositMargin(f.alice.address, usdc(10_000));
    await f.vault.connect(f.alice).selectReserveVault(yieldVault);
    await f.vault.connect(f.alice).depositReserve(f.alice.address, usdc(5_000));
    await trade(f, f.alice, ETH_MARKET, parseEther("10"));
    await f.engine
      .connect(f.alice)
      .setPolicy(standardPolicy(await f.thresholdStrategy.getAddress(), { allowDeleverage: false }));
    return { ...f, yieldVault };
  }

  it("earns yield on the reserve and tops up by redeeming exactly what the plan needs", async () => {
    const f = await loadFixture(setup);
    // 10% yield on the vault.
    await f.token.connect(f.lp).approve(await f.yieldVault.getAddress(), usdc(500));
    await f.yieldVault.connect(f.lp).accrue(usdc(500));
    const reserveBefore = await f.vault.reserveOf(f.alice.address);
    expect(reserveBefore).to.be.closeTo(usdc(5_500), 1n);

    await movePrice(f.ethFeed, 2_060);
    await f.oracle.update(ETH);
    const shares = await f.vault.reserveSharesOf(f.alice.address);
    const vaultBalance = await f.token.balanceOf(await f.vault.getAddress());
    // Target 2.0: equity 585 → 824 + 2 reward: top up 241 USDC.
    const expectedShares = await f.yieldVault.previewWithdraw(usdc(241));
    await expect(f.engine.connect(f.keeper).rebalance(f.alice.address))
      .to.emit(f.engine, "Rebalanced")
      .withArgs(f.alice.address, f.keeper.address, anyValue, parseEther("2"), usdc(241), 0n, 0n, usdc(2));
    expect(await f.vault.reserveSharesOf(f.alice.address)).to.equal(shares - expectedShares);
    // Exactly 241 tokens came out of the yield vault into the collateral vault.
    expect(await f.token.balanceOf(await f.vault.getAddress())).to.equal(vaultBalance + usdc(241));
    expect(await f.engine.health(f.alice.address)).to.equal(parseEther("2"));
    // Shares held by the collateral vault equal the sum of its accounts' shares.
    expect(await f.yieldVault.balanceOf(await f.vault.getAddress())).to.equal(
      await f.vault.reserveSharesOf(f.alice.address),
    );
    // Tokens held as plain balances still match the vault's ledger exactly.
    expect(await f.token.balanceOf(await f.vault.getAddress())).to.equal(
      await f.vault.totalHeld(),
    );
  });
});
