import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { parseEther } from "ethers";
import { deployFunded, expectConservation, usdc } from "../helpers/fixtures";
import type { Ballast } from "../helpers/fixtures";
import type { FeeOnTransferToken, MockYieldVault, RebasingToken } from "../../typechain-types";
import { deployOnToken, ledger } from "./helpers";

/**
 * Threat: a settlement token that delivers less (or more) than the amount transferred — fee-on-transfer,
 * share-based rebasing (stETH-style rounding) — would let deposits credit tokens the protocol never
 * received. The vault and the pool measure the balance delta of every pull (`_pullExact`) and revert
 * with `CollateralVaultFeeOnTransfer` / `LiquidityPoolFeeOnTransfer(expected, received)`. ERC-4626
 * reserve vaults must be approved by governance and hold the settlement token.
 */

async function onFeeToken() {
  const token: FeeOnTransferToken = await ethers.deployContract("FeeOnTransferToken");
  const p = await deployOnToken(await token.getAddress());
  for (const s of [p.alice, p.lp]) {
    await token.mint(s.address, parseEther("1000000"));
    await token.connect(s).approve(await p.vault.getAddress(), ethers.MaxUint256);
    await token.connect(s).approve(await p.pool.getAddress(), ethers.MaxUint256);
  }
  return { ...p, token };
}

async function onRebasingToken() {
  const token: RebasingToken = await ethers.deployContract("RebasingToken");
  const p = await deployOnToken(await token.getAddress());
  for (const s of [p.alice, p.lp]) {
    await token.mint(s.address, usdc(1_000_000));
    await token.connect(s).approve(await p.vault.getAddress(), ethers.MaxUint256);
    await token.connect(s).approve(await p.pool.getAddress(), ethers.MaxUint256);
  }
  return { ...p, token };
}

type Hostile = Awaited<ReturnType<typeof onFeeToken>> | Awaited<ReturnType<typeof onRebasingToken>>;

/** Every entry point that pulls tokens, for `amount`. */
function pulls(f: Hostile, amount: bigint) {
  const a = f.alice.address;
  return [
    {
      name: "vault.depositMargin",
      send: () => f.vault.connect(f.alice).depositMargin(a, amount),
      by: f.vault,
    },
    {
      name: "vault.depositReserve",
      send: () => f.vault.connect(f.alice).depositReserve(a, amount),
      by: f.vault,
    },
    { name: "pool.deposit", send: () => f.pool.connect(f.alice).deposit(amount, a), by: f.pool },
    { name: "pool.fundInsurance", send: () => f.pool.connect(f.alice).fundInsurance(amount), by: f.pool },
  ] as const;
}

const errorOf = (f: Hostile, by: unknown) =>
  by === f.vault ? "CollateralVaultFeeOnTransfer" : "LiquidityPoolFeeOnTransfer";

describe("adversarial: hostile settlement tokens", () => {
  describe("fee-on-transfer (1% burnt on every transfer)", () => {
    it("refuses every pull with the exact shortfall and changes nothing", async () => {
      const f = await loadFixture(onFeeToken);
      const amount = parseEther("1000");
      const before = await ledger(f, [f.alice.address]);
      for (const p of pulls(f, amount)) {
        await expect(p.send(), p.name)
          .to.be.revertedWithCustomError(p.by, errorOf(f, p.by))
          .withArgs(amount, (amount * 99n) / 100n);
      }
      // ERC-4626 `mint` pulls the assets it quotes: refused the same way.
      const shares = await f.pool.previewMint(parseEther("1"));
      await expect(f.pool.connect(f.alice).mint(parseEther("1"), f.alice.address))
        .to.be.revertedWithCustomError(f.pool, "LiquidityPoolFeeOnTransfer")
        .withArgs(shares, (shares * 99n) / 100n);
      expect(await ledger(f, [f.alice.address])).to.deep.equal(before);
    });

    it("accepts only amounts whose fee rounds to zero, crediting exactly what arrived", async () => {
      const f = await loadFixture(onFeeToken);
      await f.vault.connect(f.alice).depositMargin(f.alice.address, 99n);
      await f.vault.connect(f.alice).depositReserve(f.alice.address, 99n);
      await f.pool.connect(f.alice).fundInsurance(99n);
      await expect(f.vault.connect(f.alice).depositMargin(f.alice.address, 100n))
        .to.be.revertedWithCustomError(f.vault, "CollateralVaultFeeOnTransfer")
        .withArgs(100n, 99n);
      expect(await f.vault.marginOf(f.alice.address)).to.equal(99n);
      expect(await f.pool.insuranceBalance()).to.equal(99n);
      await expectConservation(f as unknown as Ballast, [f.alice.address, f.lp.address]);
    });
  });

  describe("share-based rebasing token (stETH-style rounding)", () => {
    it("refuses pulls that arrive one unit short after a rebase", async () => {
      const f = await loadFixture(onRebasingToken);
      await f.token.setIndex(parseEther("1.1"));
      const amount = usdc(1_000);
      const before = await ledger(f, [f.alice.address]);
      for (const p of pulls(f, amount)) {
        await expect(p.send(), p.name)
          .to.be.revertedWithCustomError(p.by, errorOf(f, p.by))
          .withArgs(amount, amount - 1n);
      }
      expect(await ledger(f, [f.alice.address])).to.deep.equal(before);
    });

    it("credits nobody with a positive rebase of the tokens it holds", async () => {
      const f = await loadFixture(onRebasingToken);
      await f.vault.connect(f.alice).depositMargin(f.alice.address, usdc(1_000));
      await f.vault.connect(f.alice).depositReserve(f.alice.address, usdc(500));
      await f.token.setIndex(parseEther("1.5"));
      const vaultBalance = await f.token.balanceOf(await f.vault.getAddress());
      expect(vaultBalance).to.equal(usdc(2_250));
      expect(await f.vault.marginOf(f.alice.address)).to.equal(usdc(1_000));
      expect(await f.vault.reserveOf(f.alice.address)).to.equal(usdc(500));
      expect(await f.vault.totalHeld()).to.equal(usdc(1_500));
      // Withdrawing more than the books say is refused.
      await expect(f.vault.connect(f.alice).withdrawReserve(usdc(500) + 1n, f.alice.address))
        .to.be.revertedWithCustomError(f.vault, "CollateralVaultInsufficientReserve")
        .withArgs(f.alice.address, usdc(500) + 1n, usdc(500));
    });
  });

  describe("ERC-4626 reserve vaults", () => {
    async function withVaults() {
      const f = await deployFunded();
      const tokenAddress = await f.token.getAddress();
      const approved: MockYieldVault = await ethers.deployContract("MockYieldVault", [tokenAddress]);
      const rogue: MockYieldVault = await ethers.deployContract("MockYieldVault", [tokenAddress]);
      const other = await ethers.deployContract("MockUSDC");
      const wrongAsset: MockYieldVault = await ethers.deployContract("MockYieldVault", [
        await other.getAddress(),
      ]);
      await f.vault.setReserveVaultApproval(approved, true);
      await f.vault.connect(f.alice).depositReserve(f.alice.address, usdc(1_000));
      return { ...f, approved, rogue, wrongAsset };
    }

    it("refuses a vault governance has not approved, and leaves the reserve where it was", async () => {
      const f = await loadFixture(withVaults);
      const rogue = await f.rogue.getAddress();
      await expect(f.vault.connect(f.alice).selectReserveVault(rogue))
        .to.be.revertedWithCustomError(f.vault, "CollateralVaultUnapprovedReserveVault")
        .withArgs(rogue);
      // Not even its deployer can approve it.
      await expect(f.vault.connect(f.outsider).setReserveVaultApproval(rogue, true))
        .to.be.revertedWithCustomError(f.vault, "CollateralVaultUnauthorized")
        .withArgs(f.outsider.address);
      expect(await f.vault.reserveVaultOf(f.alice.address)).to.equal(ethers.ZeroAddress);
      expect(await f.vault.reserveOf(f.alice.address)).to.equal(usdc(1_000));
      expect(await f.token.balanceOf(rogue)).to.equal(0n);
      await expectConservation(f, [f.alice.address]);
    });

    it("refuses to approve a vault over another asset or a contract that is no ERC-4626 vault", async () => {
      const f = await loadFixture(withVaults);
      for (const candidate of [
        await f.wrongAsset.getAddress(),
        await f.engine.getAddress(),
        f.outsider.address,
      ]) {
        await expect(f.vault.setReserveVaultApproval(candidate, true))
          .to.be.revertedWithCustomError(f.vault, "CollateralVaultUnapprovedReserveVault")
          .withArgs(candidate);
      }
    });

    it("lets holders of a revoked vault leave in full while refusing new entries", async () => {
      const f = await loadFixture(withVaults);
      const approved = await f.approved.getAddress();
      await f.vault.connect(f.alice).selectReserveVault(approved);
      await f.vault.setReserveVaultApproval(approved, false);
      await f.vault.connect(f.bob).depositReserve(f.bob.address, usdc(10));
      await expect(f.vault.connect(f.bob).selectReserveVault(approved))
        .to.be.revertedWithCustomError(f.vault, "CollateralVaultUnapprovedReserveVault")
        .withArgs(approved);
      await expect(
        f.vault.connect(f.alice).withdrawReserve(usdc(1_000), f.alice.address),
      ).to.changeTokenBalance(f.token, f.alice, usdc(1_000));
      expect(await f.vault.reserveOf(f.alice.address)).to.equal(0n);
    });
  });
});
