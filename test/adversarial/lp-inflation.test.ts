import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { deployBallast, expectConservation, usdc } from "../helpers/fixtures";

/**
 * Threat: the first-depositor ("inflation") attack on the ERC-4626 LP pool. The attacker mints the
 * first share for 1 wei, donates a large amount so that one share is worth a fortune, and a victim's
 * deposit then rounds down to few shares, the remainder accruing to the attacker. The pool counts
 * 10**6 virtual shares (`_decimalsOffset() = 6`), so the attacker's 10**6 shares sit next to 10**6
 * virtual ones that absorb about half of every donation, and the victim loses at most about one share.
 * The pool tracks no assets internally: with no open positions `totalAssets() = balance − insurance`, so a donation is LP
 * income by construction (it is not reported as income, and cannot be taken back).
 */

const VIRTUAL_SHARES = 10n ** 6n;
const START = usdc(10_000_000);

async function emptyPool() {
  return deployBallast(); // every signer holds 10,000,000 USDC; the pool is empty
}

describe("adversarial: first-depositor inflation of the LP pool", () => {
  const cases: [string, bigint, bigint][] = [
    ["donation equal to the deposit", usdc(10_000), usdc(10_000)],
    ["donation 100× the deposit", usdc(1_000_000), usdc(10_000)],
    ["donation 90,000× the deposit", usdc(9_000_000), usdc(100)],
    ["small donation, large deposit", usdc(1_000), usdc(5_000_000)],
  ];
  for (const [name, donation, deposit] of cases) {
    it(`bounds the victim's loss to one share and makes the attacker pay (${name})`, async () => {
      const f = await loadFixture(emptyPool);
      const [attacker, victim] = [f.bob, f.carol];
      const poolAddress = await f.pool.getAddress();

      await f.pool.connect(attacker).deposit(1n, attacker.address);
      expect(await f.pool.balanceOf(attacker.address)).to.equal(VIRTUAL_SHARES);
      await f.token.connect(attacker).transfer(poolAddress, donation);
      const sharePrice = (donation + 2n) / (2n * VIRTUAL_SHARES); // ≈ tokens per share now

      await f.pool.connect(victim).deposit(deposit, victim.address);
      // Redeem everything: the victim first, then the attacker.
      await f.pool
        .connect(victim)
        .redeem(await f.pool.balanceOf(victim.address), victim.address, victim.address);
      const victimLoss = START - (await f.token.balanceOf(victim.address));
      expect(victimLoss, "victim loss ≤ one share").to.be.at.most(sharePrice + 1n);
      expect(victimLoss, "victim loss ≤ deposit / 1,000,000 + donation / 1,000,000").to.be.at.most(
        deposit / VIRTUAL_SHARES + donation / VIRTUAL_SHARES + 1n,
      );

      await f.pool
        .connect(attacker)
        .redeem(await f.pool.balanceOf(attacker.address), attacker.address, attacker.address);
      const attackerLoss = START - (await f.token.balanceOf(attacker.address));
      expect(attackerLoss, "attacker loses about half the donation").to.be.greaterThan(donation / 3n);
      expect(attackerLoss, "the attacker pays for more than the victim loses").to.be.greaterThan(victimLoss);

      // Nothing created or destroyed: what both lost stayed in the pool (with the virtual shares).
      expect(await f.token.balanceOf(poolAddress)).to.equal(attackerLoss + victimLoss);
      expect(await f.pool.totalSupply()).to.equal(0n);
      await expectConservation(f, [attacker.address, victim.address]);
    });
  }

  it("a victim using mint() pays at most one share's worth more than its shares redeem for", async () => {
    const f = await loadFixture(emptyPool);
    const [attacker, victim] = [f.bob, f.carol];
    const donation = usdc(1_000_000);
    await f.pool.connect(attacker).deposit(1n, attacker.address);
    await f.token.connect(attacker).transfer(await f.pool.getAddress(), donation);
    const shares = 20_000n;
    const cost = await f.pool.previewMint(shares);
    await expect(f.pool.connect(victim).mint(shares, victim.address)).to.changeTokenBalance(
      f.token,
      victim,
      -cost,
    );
    const value = await f.pool.previewRedeem(shares);
    expect(cost - value).to.be.at.most(donation / VIRTUAL_SHARES + 1n);
  });

  it("donations accrue to existing LPs, are not booked as income or insurance, and cannot be reclaimed", async () => {
    const f = await loadFixture(emptyPool);
    await f.pool.connect(f.lp).deposit(usdc(100_000), f.lp.address);
    const assetsBefore = await f.pool.totalAssets();
    const lpValueBefore = await f.pool.previewRedeem(await f.pool.balanceOf(f.lp.address));
    const tx = f.token.connect(f.outsider).transfer(await f.pool.getAddress(), usdc(5_000));
    await expect(tx).not.to.emit(f.pool, "IncomeRecorded");
    expect(await f.pool.insuranceBalance()).to.equal(0n);
    expect(await f.pool.totalAssets()).to.equal(assetsBefore + usdc(5_000));
    // The LP owns it (less what the virtual shares keep); the donor holds no claim.
    const lpValueAfter = await f.pool.previewRedeem(await f.pool.balanceOf(f.lp.address));
    expect(lpValueAfter - lpValueBefore).to.be.within(usdc(5_000) - 1n, usdc(5_000));
    expect(await f.pool.balanceOf(f.outsider.address)).to.equal(0n);
    expect(await f.pool.maxWithdraw(f.outsider.address)).to.equal(0n);
  });

  it("funding insurance does not move the share price, so it cannot be used to inflate it", async () => {
    const f = await loadFixture(emptyPool);
    const [attacker, victim] = [f.bob, f.carol];
    await f.pool.connect(attacker).deposit(1n, attacker.address);
    await f.pool.connect(attacker).fundInsurance(usdc(1_000_000));
    expect(await f.pool.totalAssets()).to.equal(1n);
    expect(await f.pool.previewDeposit(usdc(100))).to.equal(usdc(100) * VIRTUAL_SHARES);
    await f.pool.connect(victim).deposit(usdc(100), victim.address);
    expect(await f.pool.previewRedeem(await f.pool.balanceOf(victim.address))).to.equal(usdc(100));
    await expectConservation(f, [attacker.address, victim.address]);
  });
});
