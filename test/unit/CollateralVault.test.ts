import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";

import {
  CollateralVault,
  FeeOnTransferToken,
  MockUSDC,
  MockYieldVault,
  PauseGuardian,
} from "../../typechain-types";

/** Mirrors `IPauseGuardian.Action`. */
const Action = { Open: 0, Close: 1, Deposit: 2, Withdraw: 3, Rebalance: 4, Liquidate: 5 } as const;
const usdc = (amount: number | string) => ethers.parseUnits(amount.toString(), 6);
const STARTING_BALANCE = usdc(1_000_000);

describe("CollateralVault", function () {
  async function deployFixture() {
    const [admin, guardianSigner, riskAdmin, engine, alice, bob, carol] = await ethers.getSigners();
    const token: MockUSDC = await ethers.deployContract("MockUSDC");
    const guardian: PauseGuardian = await ethers.deployContract("PauseGuardian", [
      admin.address,
      guardianSigner.address,
      riskAdmin.address,
    ]);
    const vault: CollateralVault = await ethers.deployContract("CollateralVault", [
      await token.getAddress(),
      await guardian.getAddress(),
    ]);
    for (const user of [alice, bob]) {
      await token.mint(user.address, STARTING_BALANCE);
      await token.connect(user).approve(await vault.getAddress(), ethers.MaxUint256);
    }
    return { token, guardian, vault, admin, guardianSigner, riskAdmin, engine, alice, bob, carol };
  }

  /** The base fixture with the engine wired to a plain signer. */
  async function withEngineFixture() {
    const fixture = await deployFixture();
    await fixture.vault.connect(fixture.admin).setEngine(fixture.engine.address);
    return fixture;
  }

  /** Alice holds 1,000 margin and 500 reserve; the engine is wired. */
  async function fundedFixture() {
    const fixture = await withEngineFixture();
    await fixture.vault.connect(fixture.alice).depositMargin(fixture.alice.address, usdc(1_000));
    await fixture.vault.connect(fixture.alice).depositReserve(fixture.alice.address, usdc(500));
    return fixture;
  }

  /** A vault over a token that burns 1% per transfer. */
  async function feeOnTransferFixture() {
    const [admin, guardianSigner, riskAdmin, alice] = await ethers.getSigners();
    const token: FeeOnTransferToken = await ethers.deployContract("FeeOnTransferToken");
    const guardian: PauseGuardian = await ethers.deployContract("PauseGuardian", [
      admin.address,
      guardianSigner.address,
      riskAdmin.address,
    ]);
    const vault: CollateralVault = await ethers.deployContract("CollateralVault", [
      await token.getAddress(),
      await guardian.getAddress(),
    ]);
    await token.mint(alice.address, STARTING_BALANCE);
    await token.connect(alice).approve(await vault.getAddress(), ethers.MaxUint256);
    return { token, vault, alice };
  }

  async function expectConserved(vault: CollateralVault, token: MockUSDC) {
    const held = await token.balanceOf(await vault.getAddress());
    expect(held).to.equal(await vault.totalHeld());
  }

  describe("deployment", function () {
    it("stores the token and the guardian, with no engine and empty books", async function () {
      const { token, guardian, vault, alice } = await loadFixture(deployFixture);
      expect(await vault.token()).to.equal(await token.getAddress());
      expect(await vault.guardian()).to.equal(await guardian.getAddress());
      expect(await vault.engine()).to.equal(ethers.ZeroAddress);
      expect(await vault.totalHeld()).to.equal(0n);
      expect(await vault.marginOf(alice.address)).to.equal(0n);
      expect(await vault.reserveOf(alice.address)).to.equal(0n);
    });

    it("rejects a zero token or guardian", async function () {
      const { token, guardian } = await loadFixture(deployFixture);
      const factory = await ethers.getContractFactory("CollateralVault");
      await expect(
        factory.deploy(ethers.ZeroAddress, await guardian.getAddress()),
      ).to.be.revertedWithCustomError(factory, "CollateralVaultZeroAddress");
      await expect(
        factory.deploy(await token.getAddress(), ethers.ZeroAddress),
      ).to.be.revertedWithCustomError(factory, "CollateralVaultZeroAddress");
    });
  });

  describe("validations", function () {
    describe("setEngine", function () {
      it("is admin only: the guardian, the risk admin and outsiders are refused", async function () {
        const { vault, guardianSigner, riskAdmin, alice, engine } = await loadFixture(deployFixture);
        for (const caller of [guardianSigner, riskAdmin, alice]) {
          await expect(vault.connect(caller).setEngine(engine.address))
            .to.be.revertedWithCustomError(vault, "CollateralVaultUnauthorized")
            .withArgs(caller.address);
        }
      });

      it("rejects the zero address", async function () {
        const { vault, admin } = await loadFixture(deployFixture);
        await expect(vault.connect(admin).setEngine(ethers.ZeroAddress)).to.be.revertedWithCustomError(
          vault,
          "CollateralVaultZeroAddress",
        );
      });

      it("can be called only once", async function () {
        const { vault, admin, alice } = await loadFixture(withEngineFixture);
        await expect(vault.connect(admin).setEngine(alice.address)).to.be.revertedWithCustomError(
          vault,
          "CollateralVaultEngineAlreadySet",
        );
      });
    });

    describe("engine-only functions", function () {
      it("refuse everyone while the engine is unset", async function () {
        const { vault, engine, admin, alice } = await loadFixture(deployFixture);
        for (const caller of [engine, admin]) {
          await expect(vault.connect(caller).creditMargin(alice.address, 1n))
            .to.be.revertedWithCustomError(vault, "CollateralVaultUnauthorized")
            .withArgs(caller.address);
        }
      });

      it("refuse the admin, the account owner and outsiders", async function () {
        const { vault, admin, alice, bob } = await loadFixture(fundedFixture);
        for (const caller of [admin, alice, bob]) {
          const v = vault.connect(caller);
          await expect(v.transferMargin(alice.address, caller.address, 1n))
            .to.be.revertedWithCustomError(vault, "CollateralVaultUnauthorized")
            .withArgs(caller.address);
          await expect(v.creditMargin(alice.address, 1n))
            .to.be.revertedWithCustomError(vault, "CollateralVaultUnauthorized")
            .withArgs(caller.address);
          await expect(v.reserveToMargin(alice.address, 1n))
            .to.be.revertedWithCustomError(vault, "CollateralVaultUnauthorized")
            .withArgs(caller.address);
          await expect(v.marginToReserve(alice.address, 1n))
            .to.be.revertedWithCustomError(vault, "CollateralVaultUnauthorized")
            .withArgs(caller.address);
        }
      });
    });

    it("rejects zero amounts everywhere", async function () {
      const { vault, engine, alice, bob } = await loadFixture(fundedFixture);
      const e = vault.connect(engine);
      const a = vault.connect(alice);
      for (const call of [
        () => a.depositMargin(alice.address, 0),
        () => a.depositReserve(alice.address, 0),
        () => a.withdrawReserve(0, alice.address),
        () => e.transferMargin(alice.address, bob.address, 0),
        () => e.creditMargin(alice.address, 0),
        () => e.reserveToMargin(alice.address, 0),
        () => e.marginToReserve(alice.address, 0),
        () => e.transferMarginAndPay(alice.address, bob.address, 0, bob.address, 1n),
        () => e.moveMargin(alice.address, bob.address, 0),
        () => e.reserveToMarginAndPay(alice.address, 0, bob.address, 1n),
      ]) {
        await expect(call()).to.be.revertedWithCustomError(vault, "CollateralVaultZeroAmount");
      }
    });

    it("rejects zero accounts and recipients", async function () {
      const { vault, engine, alice } = await loadFixture(fundedFixture);
      const zero = ethers.ZeroAddress;
      for (const call of [
        () => vault.connect(alice).depositMargin(zero, 1n),
        () => vault.connect(alice).depositReserve(zero, 1n),
        () => vault.connect(alice).withdrawReserve(1n, zero),
        () => vault.connect(engine).transferMargin(alice.address, zero, 1n),
        () => vault.connect(engine).creditMargin(zero, 1n),
        () => vault.connect(engine).transferMarginAndPay(alice.address, zero, 1n, alice.address, 1n),
        () => vault.connect(engine).transferMarginAndPay(alice.address, alice.address, 1n, zero, 1n),
        () => vault.connect(engine).moveMargin(alice.address, zero, 1n),
        () => vault.connect(engine).reserveToMarginAndPay(alice.address, 1n, zero, 1n),
      ]) {
        await expect(call()).to.be.revertedWithCustomError(vault, "CollateralVaultZeroAddress");
      }
    });

    it("rejects moving more margin than the account holds", async function () {
      const { vault, engine, alice, bob } = await loadFixture(fundedFixture);
      await expect(vault.connect(engine).transferMargin(alice.address, bob.address, usdc(1_000) + 1n))
        .to.be.revertedWithCustomError(vault, "CollateralVaultInsufficientMargin")
        .withArgs(alice.address, usdc(1_000) + 1n, usdc(1_000));
      await expect(vault.connect(engine).marginToReserve(alice.address, usdc(1_000) + 1n))
        .to.be.revertedWithCustomError(vault, "CollateralVaultInsufficientMargin")
        .withArgs(alice.address, usdc(1_000) + 1n, usdc(1_000));
      await expect(vault.connect(engine).transferMargin(bob.address, alice.address, 1n))
        .to.be.revertedWithCustomError(vault, "CollateralVaultInsufficientMargin")
        .withArgs(bob.address, 1n, 0n);
      // The amount sent and the amount paid are debited together.
      await expect(
        vault
          .connect(engine)
          .transferMarginAndPay(alice.address, bob.address, usdc(900), bob.address, usdc(101)),
      )
        .to.be.revertedWithCustomError(vault, "CollateralVaultInsufficientMargin")
        .withArgs(alice.address, usdc(1_001), usdc(1_000));
      await expect(vault.connect(engine).moveMargin(alice.address, bob.address, usdc(1_000) + 1n))
        .to.be.revertedWithCustomError(vault, "CollateralVaultInsufficientMargin")
        .withArgs(alice.address, usdc(1_000) + 1n, usdc(1_000));
      // The payment may use the reserve just moved, and no more.
      await expect(
        vault.connect(engine).reserveToMarginAndPay(alice.address, usdc(500), bob.address, usdc(1_501)),
      )
        .to.be.revertedWithCustomError(vault, "CollateralVaultInsufficientMargin")
        .withArgs(alice.address, usdc(1_501), usdc(1_500));
    });

    it("rejects moving more reserve than the account holds", async function () {
      const { vault, engine, alice, bob } = await loadFixture(fundedFixture);
      await expect(vault.connect(alice).withdrawReserve(usdc(500) + 1n, alice.address))
        .to.be.revertedWithCustomError(vault, "CollateralVaultInsufficientReserve")
        .withArgs(alice.address, usdc(500) + 1n, usdc(500));
      await expect(vault.connect(engine).reserveToMargin(alice.address, usdc(500) + 1n))
        .to.be.revertedWithCustomError(vault, "CollateralVaultInsufficientReserve")
        .withArgs(alice.address, usdc(500) + 1n, usdc(500));
    });

    it("lets an owner withdraw only their own reserve", async function () {
      const { vault, alice, bob } = await loadFixture(fundedFixture);
      await expect(vault.connect(bob).withdrawReserve(1n, bob.address))
        .to.be.revertedWithCustomError(vault, "CollateralVaultInsufficientReserve")
        .withArgs(bob.address, 1n, 0n);
      expect(await vault.reserveOf(alice.address)).to.equal(usdc(500));
    });

    it("refuses fee-on-transfer deposits and changes nothing", async function () {
      const { token, vault, alice } = await loadFixture(feeOnTransferFixture);
      const vaultAddress = await vault.getAddress();
      const amount = usdc(1_000);
      const received = amount - amount / 100n;
      await expect(vault.connect(alice).depositMargin(alice.address, amount))
        .to.be.revertedWithCustomError(vault, "CollateralVaultFeeOnTransfer")
        .withArgs(amount, received);
      await expect(vault.connect(alice).depositReserve(alice.address, amount))
        .to.be.revertedWithCustomError(vault, "CollateralVaultFeeOnTransfer")
        .withArgs(amount, received);
      expect(await token.balanceOf(alice.address)).to.equal(STARTING_BALANCE);
      expect(await token.balanceOf(vaultAddress)).to.equal(0n);
      expect(await vault.marginOf(alice.address)).to.equal(0n);
      expect(await vault.reserveOf(alice.address)).to.equal(0n);
      expect(await vault.totalHeld()).to.equal(0n);
    });
  });

  describe("events", function () {
    it("emits EngineSet", async function () {
      const { vault, admin, engine } = await loadFixture(deployFixture);
      await expect(vault.connect(admin).setEngine(engine.address))
        .to.emit(vault, "EngineSet")
        .withArgs(engine.address);
    });

    it("emits MarginDeposited and ReserveDeposited with the account and the payer", async function () {
      const { vault, alice, bob } = await loadFixture(deployFixture);
      await expect(vault.connect(bob).depositMargin(alice.address, usdc(10)))
        .to.emit(vault, "MarginDeposited")
        .withArgs(alice.address, bob.address, usdc(10));
      await expect(vault.connect(bob).depositReserve(alice.address, usdc(20)))
        .to.emit(vault, "ReserveDeposited")
        .withArgs(alice.address, bob.address, usdc(20));
    });

    it("emits ReserveWithdrawn with the owner and the recipient", async function () {
      const { vault, alice, carol } = await loadFixture(fundedFixture);
      await expect(vault.connect(alice).withdrawReserve(usdc(30), carol.address))
        .to.emit(vault, "ReserveWithdrawn")
        .withArgs(alice.address, carol.address, usdc(30));
    });

    it("emits the engine events", async function () {
      const { vault, engine, alice, carol } = await loadFixture(fundedFixture);
      const e = vault.connect(engine);
      await expect(e.transferMargin(alice.address, carol.address, usdc(1)))
        .to.emit(vault, "MarginTransferred")
        .withArgs(alice.address, carol.address, usdc(1));
      await expect(e.reserveToMargin(alice.address, usdc(2)))
        .to.emit(vault, "ReserveMovedToMargin")
        .withArgs(alice.address, usdc(2));
      await expect(e.marginToReserve(alice.address, usdc(3)))
        .to.emit(vault, "MarginMovedToReserve")
        .withArgs(alice.address, usdc(3));
      await expect(e.creditMargin(alice.address, usdc(4)))
        .to.emit(vault, "MarginCredited")
        .withArgs(alice.address, usdc(4));
    });
  });

  describe("effects", function () {
    it("setEngine wires the engine", async function () {
      const { vault, admin, engine } = await loadFixture(deployFixture);
      await vault.connect(admin).setEngine(engine.address);
      expect(await vault.engine()).to.equal(engine.address);
    });

    it("depositMargin credits the account and charges the payer", async function () {
      const { token, vault, alice, bob } = await loadFixture(deployFixture);
      await expect(vault.connect(bob).depositMargin(alice.address, usdc(250))).to.changeTokenBalances(
        token,
        [bob, vault],
        [-usdc(250), usdc(250)],
      );
      expect(await vault.marginOf(alice.address)).to.equal(usdc(250));
      expect(await vault.marginOf(bob.address)).to.equal(0n);
      expect(await vault.reserveOf(alice.address)).to.equal(0n);
      expect(await vault.totalHeld()).to.equal(usdc(250));
      await expectConserved(vault, token);
    });

    it("depositReserve credits the account and charges the payer", async function () {
      const { token, vault, alice, bob } = await loadFixture(deployFixture);
      await expect(vault.connect(bob).depositReserve(alice.address, usdc(75))).to.changeTokenBalances(
        token,
        [bob, vault],
        [-usdc(75), usdc(75)],
      );
      expect(await vault.reserveOf(alice.address)).to.equal(usdc(75));
      expect(await vault.marginOf(alice.address)).to.equal(0n);
      expect(await vault.totalHeld()).to.equal(usdc(75));
      await expectConserved(vault, token);
    });

    it("withdrawReserve pays the recipient and debits the owner", async function () {
      const { token, vault, alice, carol } = await loadFixture(fundedFixture);
      await expect(vault.connect(alice).withdrawReserve(usdc(120), carol.address)).to.changeTokenBalances(
        token,
        [vault, carol, alice],
        [-usdc(120), usdc(120), 0n],
      );
      expect(await vault.reserveOf(alice.address)).to.equal(usdc(380));
      expect(await vault.marginOf(alice.address)).to.equal(usdc(1_000));
      expect(await vault.totalHeld()).to.equal(usdc(1_380));
      await expectConserved(vault, token);
    });

    it("keeps reserve withdrawable and deposits open while everything is paused", async function () {
      const { token, guardian, vault, guardianSigner, alice } = await loadFixture(fundedFixture);
      const g = guardian.connect(guardianSigner);
      await g.pauseAll();
      await g.pauseAction(Action.Withdraw);
      await g.pauseAction(Action.Deposit);
      expect(await guardian.isPaused(0, Action.Withdraw)).to.equal(true);

      await expect(vault.connect(alice).withdrawReserve(usdc(500), alice.address)).to.changeTokenBalances(
        token,
        [vault, alice],
        [-usdc(500), usdc(500)],
      );
      await vault.connect(alice).depositMargin(alice.address, usdc(5));
      await vault.connect(alice).depositReserve(alice.address, usdc(6));
      expect(await vault.reserveOf(alice.address)).to.equal(usdc(6));
      expect(await vault.marginOf(alice.address)).to.equal(usdc(1_005));
      await expectConserved(vault, token);
    });

    it("transferMargin debits margin and pays the recipient", async function () {
      const { token, vault, engine, alice, carol } = await loadFixture(fundedFixture);
      await expect(
        vault.connect(engine).transferMargin(alice.address, carol.address, usdc(400)),
      ).to.changeTokenBalances(token, [vault, carol, engine], [-usdc(400), usdc(400), 0n]);
      expect(await vault.marginOf(alice.address)).to.equal(usdc(600));
      expect(await vault.reserveOf(alice.address)).to.equal(usdc(500));
      expect(await vault.totalHeld()).to.equal(usdc(1_100));
      await expectConserved(vault, token);
    });

    it("transferMarginAndPay sends margin out and pays another account's margin in one debit", async function () {
      const { token, vault, engine, alice, bob, carol } = await loadFixture(fundedFixture);
      const tx = vault
        .connect(engine)
        .transferMarginAndPay(alice.address, carol.address, usdc(300), bob.address, usdc(2));
      await expect(tx).to.changeTokenBalances(token, [vault, carol], [-usdc(300), usdc(300)]);
      await expect(tx).to.emit(vault, "MarginTransferred").withArgs(alice.address, carol.address, usdc(300));
      await expect(tx).to.emit(vault, "MarginMoved").withArgs(alice.address, bob.address, usdc(2));
      expect(await vault.marginOf(alice.address)).to.equal(usdc(698));
      expect(await vault.marginOf(bob.address)).to.equal(usdc(2));
      expect(await vault.totalHeld()).to.equal(usdc(1_200));
      // Without a payment nothing moves between accounts.
      await expect(
        vault.connect(engine).transferMarginAndPay(alice.address, carol.address, usdc(98), bob.address, 0n),
      )
        .to.emit(vault, "MarginTransferred")
        .and.not.to.emit(vault, "MarginMoved");
      expect(await vault.marginOf(alice.address)).to.equal(usdc(600));
      expect(await vault.marginOf(bob.address)).to.equal(usdc(2));
      await expectConserved(vault, token);
    });

    it("moveMargin moves margin between accounts without moving tokens", async function () {
      const { token, vault, engine, alice, bob } = await loadFixture(fundedFixture);
      const tx = vault.connect(engine).moveMargin(alice.address, bob.address, usdc(250));
      await expect(tx).to.emit(vault, "MarginMoved").withArgs(alice.address, bob.address, usdc(250));
      await expect(tx).to.changeTokenBalance(token, vault, 0n);
      expect(await vault.marginOf(alice.address)).to.equal(usdc(750));
      expect(await vault.marginOf(bob.address)).to.equal(usdc(250));
      expect(await vault.totalHeld()).to.equal(usdc(1_500));
      await expectConserved(vault, token);
    });

    it("refuses a top-up or a payment that would overflow a 128-bit margin instead of truncating it", async function () {
      // The total is 256-bit, so nothing but the per-account casts bounds a margin: an owner with a
      // margin near 2**128 and some reserve must not wrap its margin (or a payee's) to a small number.
      const { token, vault, engine, alice, bob } = await loadFixture(withEngineFixture);
      const max = 2n ** 128n - 1n;
      await token.mint(alice.address, max + 10n);
      await token.connect(alice).approve(await vault.getAddress(), ethers.MaxUint256);
      await vault.connect(alice).depositMargin(alice.address, max);
      await vault.connect(alice).depositReserve(alice.address, 10n);
      await expect(
        vault.connect(engine).reserveToMarginAndPay(alice.address, 10n, bob.address, 0n),
      ).to.be.revertedWithCustomError(vault, "SafeCastOverflowedUintDowncast");
      await expect(vault.connect(engine).reserveToMargin(alice.address, 10n)).to.be.revertedWithPanic(0x11);
      // Bob already holds margin: a reward that would push his past 128 bits is refused too.
      await token.mint(bob.address, 1n);
      await token.connect(bob).approve(await vault.getAddress(), ethers.MaxUint256);
      await vault.connect(bob).depositMargin(bob.address, 1n);
      await expect(vault.connect(engine).moveMargin(alice.address, bob.address, max)).to.be.revertedWithPanic(
        0x11,
      );
      expect(await vault.marginOf(alice.address)).to.equal(max);
      expect(await vault.reserveOf(alice.address)).to.equal(10n);
      expect(await vault.totalHeld()).to.equal(max + 11n);
      await expectConserved(vault, token);
    });

    it("reserveToMarginAndPay moves reserve into margin and pays from the result", async function () {
      const { token, vault, engine, alice, bob } = await loadFixture(fundedFixture);
      const tx = vault.connect(engine).reserveToMarginAndPay(alice.address, usdc(200), bob.address, usdc(3));
      await expect(tx).to.emit(vault, "ReserveMovedToMargin").withArgs(alice.address, usdc(200));
      await expect(tx).to.emit(vault, "MarginMoved").withArgs(alice.address, bob.address, usdc(3));
      expect(await vault.marginOf(alice.address)).to.equal(usdc(1_197));
      expect(await vault.reserveOf(alice.address)).to.equal(usdc(300));
      expect(await vault.marginOf(bob.address)).to.equal(usdc(3));
      expect(await vault.totalHeld(), "a move inside the vault changes no total").to.equal(usdc(1_500));
      await expect(vault.connect(engine).reserveToMarginAndPay(alice.address, usdc(300), bob.address, 0n))
        .to.emit(vault, "ReserveMovedToMargin")
        .and.not.to.emit(vault, "MarginMoved");
      expect(await vault.reserveOf(alice.address)).to.equal(0n);
      expect(await vault.marginOf(alice.address)).to.equal(usdc(1_497));
      await expectConserved(vault, token);
    });

    it("creditMargin credits tokens that arrived from elsewhere without moving any", async function () {
      const { token, vault, engine, bob } = await loadFixture(fundedFixture);
      // Stand-in for the pool paying a trader's profit into the vault.
      await token.mint(await vault.getAddress(), usdc(42));
      await expect(vault.connect(engine).creditMargin(bob.address, usdc(42))).to.changeTokenBalances(
        token,
        [vault, engine, bob],
        [0n, 0n, 0n],
      );
      expect(await vault.marginOf(bob.address)).to.equal(usdc(42));
      expect(await vault.totalHeld()).to.equal(usdc(1_542));
      await expectConserved(vault, token);
    });

    it("reserveToMargin and marginToReserve move balances inside the vault only", async function () {
      const { token, vault, engine, alice } = await loadFixture(fundedFixture);
      await expect(vault.connect(engine).reserveToMargin(alice.address, usdc(200))).to.changeTokenBalance(
        token,
        vault,
        0n,
      );
      expect(await vault.marginOf(alice.address)).to.equal(usdc(1_200));
      expect(await vault.reserveOf(alice.address)).to.equal(usdc(300));
      expect(await vault.totalHeld()).to.equal(usdc(1_500));

      await expect(vault.connect(engine).marginToReserve(alice.address, usdc(1_200))).to.changeTokenBalance(
        token,
        vault,
        0n,
      );
      expect(await vault.marginOf(alice.address)).to.equal(0n);
      expect(await vault.reserveOf(alice.address)).to.equal(usdc(1_500));
      expect(await vault.totalHeld()).to.equal(usdc(1_500));
      await expectConserved(vault, token);
    });

    it("conserves tokens through a multi-account sequence", async function () {
      const { token, vault, engine, alice, bob, carol } = await loadFixture(withEngineFixture);
      const e = vault.connect(engine);
      const vaultAddress = await vault.getAddress();
      // Expected books, updated alongside each step.
      const margin = new Map<string, bigint>([
        [alice.address, 0n],
        [bob.address, 0n],
        [carol.address, 0n],
      ]);
      const reserve = new Map(margin);
      let vaultTokens = 0n;

      const steps: Array<[string, () => Promise<unknown>, () => void]> = [
        [
          "alice deposits margin",
          () => vault.connect(alice).depositMargin(alice.address, usdc(1_000)),
          () => {
            margin.set(alice.address, margin.get(alice.address)! + usdc(1_000));
            vaultTokens += usdc(1_000);
          },
        ],
        [
          "bob deposits reserve for carol",
          () => vault.connect(bob).depositReserve(carol.address, usdc(300)),
          () => {
            reserve.set(carol.address, reserve.get(carol.address)! + usdc(300));
            vaultTokens += usdc(300);
          },
        ],
        [
          "alice deposits reserve",
          () => vault.connect(alice).depositReserve(alice.address, usdc(700)),
          () => {
            reserve.set(alice.address, reserve.get(alice.address)! + usdc(700));
            vaultTokens += usdc(700);
          },
        ],
        [
          "engine tops alice up",
          () => e.reserveToMargin(alice.address, usdc(250)),
          () => {
            reserve.set(alice.address, reserve.get(alice.address)! - usdc(250));
            margin.set(alice.address, margin.get(alice.address)! + usdc(250));
          },
        ],
        [
          "engine pays a fee out of alice's margin",
          () => e.transferMargin(alice.address, bob.address, usdc(15)),
          () => {
            margin.set(alice.address, margin.get(alice.address)! - usdc(15));
            vaultTokens -= usdc(15);
          },
        ],
        [
          "pool pays carol's profit",
          async () => {
            await token.mint(vaultAddress, usdc(60));
            await e.creditMargin(carol.address, usdc(60));
          },
          () => {
            margin.set(carol.address, margin.get(carol.address)! + usdc(60));
            vaultTokens += usdc(60);
          },
        ],
        [
          "engine sweeps carol's margin",
          () => e.marginToReserve(carol.address, usdc(60)),
          () => {
            margin.set(carol.address, margin.get(carol.address)! - usdc(60));
            reserve.set(carol.address, reserve.get(carol.address)! + usdc(60));
          },
        ],
        [
          "carol withdraws all reserve",
          () => vault.connect(carol).withdrawReserve(usdc(360), carol.address),
          () => {
            reserve.set(carol.address, reserve.get(carol.address)! - usdc(360));
            vaultTokens -= usdc(360);
          },
        ],
        [
          "engine closes alice out",
          () => e.transferMargin(alice.address, alice.address, usdc(1_235)),
          () => {
            margin.set(alice.address, margin.get(alice.address)! - usdc(1_235));
            vaultTokens -= usdc(1_235);
          },
        ],
      ];

      for (const [name, act, book] of steps) {
        await act();
        book();
        for (const [account, amount] of margin) expect(await vault.marginOf(account), name).to.equal(amount);
        for (const [account, amount] of reserve)
          expect(await vault.reserveOf(account), name).to.equal(amount);
        const sum = (m: Map<string, bigint>) => [...m.values()].reduce((x, y) => x + y, 0n);
        expect(await vault.totalHeld(), name).to.equal(sum(margin) + sum(reserve));
        expect(await token.balanceOf(vaultAddress), name).to.equal(vaultTokens);
        await expectConserved(vault, token);
      }
      expect(vaultTokens).to.equal(usdc(450));
      expect(await vault.reserveOf(alice.address)).to.equal(usdc(450));
    });
  });

  describe("yield-bearing reserve", function () {
    /**
     * `fundedFixture` (alice: 1,000 margin, 500 plain reserve) plus two approved ERC-4626 vaults over
     * the settlement token, one never-approved vault over it, and one vault over another token.
     */
    async function yieldFixture() {
      const fixture = await fundedFixture();
      const tokenAddress = await fixture.token.getAddress();
      const yv: MockYieldVault = await ethers.deployContract("MockYieldVault", [tokenAddress]);
      const yv2: MockYieldVault = await ethers.deployContract("MockYieldVault", [tokenAddress]);
      const unapproved: MockYieldVault = await ethers.deployContract("MockYieldVault", [tokenAddress]);
      const otherToken: MockUSDC = await ethers.deployContract("MockUSDC");
      const wrongAsset: MockYieldVault = await ethers.deployContract("MockYieldVault", [
        await otherToken.getAddress(),
      ]);
      await fixture.vault.connect(fixture.admin).setReserveVaultApproval(await yv.getAddress(), true);
      await fixture.vault.connect(fixture.admin).setReserveVaultApproval(await yv2.getAddress(), true);
      return { ...fixture, yv, yv2, unapproved, wrongAsset };
    }

    /** `yieldFixture` with alice's 500 reserve moved into `yv` and bob holding 250 of reserve in `yv`. */
    async function inVaultFixture() {
      const fixture = await yieldFixture();
      const yvAddress = await fixture.yv.getAddress();
      await fixture.vault.connect(fixture.alice).selectReserveVault(yvAddress);
      await fixture.vault.connect(fixture.bob).selectReserveVault(yvAddress);
      await fixture.vault.connect(fixture.bob).depositReserve(fixture.bob.address, usdc(250));
      return fixture;
    }

    type YieldFixture = Awaited<ReturnType<typeof yieldFixture>>;

    /** Simulates yield: `amountTokens` of fresh tokens land in `yieldVault` without minting shares. */
    async function accrue(f: YieldFixture, yieldVault: MockYieldVault, amountTokens: bigint) {
      await f.token.mint(f.admin.address, amountTokens);
      await f.token.connect(f.admin).approve(await yieldVault.getAddress(), amountTokens);
      await yieldVault.connect(f.admin).accrue(amountTokens);
    }

    /** Reference math of OpenZeppelin's ERC4626 (decimals offset 0), from the vault's current state. */
    async function reference(f: YieldFixture, yieldVault: MockYieldVault) {
      const assets = (await f.token.balanceOf(await yieldVault.getAddress())) + 1n;
      const supply = (await yieldVault.totalSupply()) + 1n;
      return {
        sharesDown: (amountTokens: bigint) => (amountTokens * supply) / assets,
        sharesUp: (amountTokens: bigint) => (amountTokens * supply + assets - 1n) / assets,
        assetsDown: (shares: bigint) => (shares * assets) / supply,
      };
    }

    /**
     * Both documented invariants, plus the books: plain tokens held == Σ margin + Σ plain reserve (and
     * == the totals), each reserve vault's shares held == Σ shares credited to its accounts, no
     * allowance left on any reserve vault, no shares credited to a plain reserve. `accounts` must be
     * every account that ever held a balance.
     */
    async function expectInvariants(
      f: YieldFixture,
      accounts: string[],
      yieldVaults: MockYieldVault[],
      label = "",
    ) {
      const vaultAddress = await f.vault.getAddress();
      let margin = 0n;
      let plainReserve = 0n;
      const sharesByVault = new Map<string, bigint>();
      for (const account of accounts) {
        margin += await f.vault.marginOf(account);
        const yieldVault = await f.vault.reserveVaultOf(account);
        const shares = await f.vault.reserveSharesOf(account);
        if (yieldVault === ethers.ZeroAddress) {
          expect(shares, `${label}: plain reserve holds no shares`).to.equal(0n);
          plainReserve += await f.vault.reserveOf(account);
        } else {
          sharesByVault.set(yieldVault, (sharesByVault.get(yieldVault) ?? 0n) + shares);
        }
      }
      const held = await f.token.balanceOf(vaultAddress);
      expect(await f.vault.totalHeld(), `${label}: totalHeld == Σ margin + Σ plain reserve`).to.equal(
        margin + plainReserve,
      );
      expect(held, `${label}: token.balanceOf(vault) == totalHeld`).to.equal(margin + plainReserve);
      for (const yieldVault of yieldVaults) {
        const address = await yieldVault.getAddress();
        expect(await yieldVault.balanceOf(vaultAddress), `${label}: V.balanceOf(vault) == Σ shares`).to.equal(
          sharesByVault.get(address) ?? 0n,
        );
        expect(await f.token.allowance(vaultAddress, address), `${label}: no allowance left`).to.equal(0n);
      }
    }

    describe("approval", function () {
      it("is admin only: the guardian, the risk admin and outsiders are refused", async function () {
        const { vault, unapproved, yv, guardianSigner, riskAdmin, alice } = await loadFixture(yieldFixture);
        for (const caller of [guardianSigner, riskAdmin, alice]) {
          await expect(vault.connect(caller).setReserveVaultApproval(await unapproved.getAddress(), true))
            .to.be.revertedWithCustomError(vault, "CollateralVaultUnauthorized")
            .withArgs(caller.address);
          await expect(vault.connect(caller).setReserveVaultApproval(await yv.getAddress(), false))
            .to.be.revertedWithCustomError(vault, "CollateralVaultUnauthorized")
            .withArgs(caller.address);
        }
        expect(await vault.isReserveVaultApproved(await unapproved.getAddress())).to.equal(false);
        expect(await vault.isReserveVaultApproved(await yv.getAddress())).to.equal(true);
      });

      it("approves and revokes with ReserveVaultApproval", async function () {
        const { vault, unapproved, admin } = await loadFixture(yieldFixture);
        const address = await unapproved.getAddress();
        await expect(vault.connect(admin).setReserveVaultApproval(address, true))
          .to.emit(vault, "ReserveVaultApproval")
          .withArgs(address, true);
        expect(await vault.isReserveVaultApproved(address)).to.equal(true);
        await expect(vault.connect(admin).setReserveVaultApproval(address, false))
          .to.emit(vault, "ReserveVaultApproval")
          .withArgs(address, false);
        expect(await vault.isReserveVaultApproved(address)).to.equal(false);
      });

      it("refuses a vault over another asset, a non-vault contract, an account without code and zero", async function () {
        const { vault, token, wrongAsset, admin, alice } = await loadFixture(yieldFixture);
        for (const candidate of [await wrongAsset.getAddress(), await token.getAddress(), alice.address]) {
          await expect(vault.connect(admin).setReserveVaultApproval(candidate, true))
            .to.be.revertedWithCustomError(vault, "CollateralVaultUnapprovedReserveVault")
            .withArgs(candidate);
          expect(await vault.isReserveVaultApproved(candidate)).to.equal(false);
        }
        await expect(
          vault.connect(admin).setReserveVaultApproval(ethers.ZeroAddress, true),
        ).to.be.revertedWithCustomError(vault, "CollateralVaultZeroAddress");
      });
    });

    describe("selection", function () {
      it("refuses an unapproved vault and the vault already selected", async function () {
        const { vault, yv, unapproved, alice } = await loadFixture(yieldFixture);
        const unapprovedAddress = await unapproved.getAddress();
        await expect(vault.connect(alice).selectReserveVault(unapprovedAddress))
          .to.be.revertedWithCustomError(vault, "CollateralVaultUnapprovedReserveVault")
          .withArgs(unapprovedAddress);
        await expect(vault.connect(alice).selectReserveVault(ethers.ZeroAddress))
          .to.be.revertedWithCustomError(vault, "CollateralVaultReserveVaultAlreadySelected")
          .withArgs(alice.address, ethers.ZeroAddress);
        const yvAddress = await yv.getAddress();
        await vault.connect(alice).selectReserveVault(yvAddress);
        await expect(vault.connect(alice).selectReserveVault(yvAddress))
          .to.be.revertedWithCustomError(vault, "CollateralVaultReserveVaultAlreadySelected")
          .withArgs(alice.address, yvAddress);
      });

      it("moves the whole plain reserve into the vault", async function () {
        const f = await loadFixture(yieldFixture);
        const { token, vault, yv, yv2, alice } = f;
        const yvAddress = await yv.getAddress();
        const expectedShares = (await reference(f, yv)).sharesDown(usdc(500));
        const tx = vault.connect(alice).selectReserveVault(yvAddress);
        await expect(tx).to.emit(vault, "ReserveVaultSelected").withArgs(alice.address, yvAddress, usdc(500));
        await expect(tx).to.changeTokenBalances(token, [vault, yv, alice], [-usdc(500), usdc(500), 0n]);
        expect(await vault.reserveVaultOf(alice.address)).to.equal(yvAddress);
        expect(await vault.reserveSharesOf(alice.address)).to.equal(expectedShares);
        expect(await vault.reserveOf(alice.address)).to.equal(usdc(500));
        expect(await vault.totalHeld(), "the reserve left for the yield vault").to.equal(usdc(1_000));
        expect(await vault.marginOf(alice.address)).to.equal(usdc(1_000));
        await expectInvariants(f, [alice.address], [yv, yv2]);
      });

      it("moves the whole reserve, with its yield, back to plain tokens", async function () {
        const f = await loadFixture(inVaultFixture);
        const { token, vault, yv, yv2, alice, bob } = f;
        await accrue(f, yv, usdc("31.415926"));
        const shares = await vault.reserveSharesOf(alice.address);
        const expectedTokens = (await reference(f, yv)).assetsDown(shares);
        expect(expectedTokens).to.be.greaterThan(usdc(500));
        expect(await vault.reserveOf(alice.address)).to.equal(expectedTokens);

        const tx = vault.connect(alice).selectReserveVault(ethers.ZeroAddress);
        await expect(tx)
          .to.emit(vault, "ReserveVaultSelected")
          .withArgs(alice.address, ethers.ZeroAddress, expectedTokens);
        await expect(tx).to.changeTokenBalances(token, [vault, yv], [expectedTokens, -expectedTokens]);
        expect(await vault.reserveVaultOf(alice.address)).to.equal(ethers.ZeroAddress);
        expect(await vault.reserveSharesOf(alice.address)).to.equal(0n);
        expect(await vault.reserveOf(alice.address)).to.equal(expectedTokens);
        expect(await vault.totalHeld()).to.equal(usdc(1_000) + expectedTokens);
        await expectInvariants(f, [alice.address, bob.address], [yv, yv2]);
      });

      it("moves the whole reserve from one vault into another", async function () {
        const f = await loadFixture(inVaultFixture);
        const { token, vault, yv, yv2, alice, bob } = f;
        await accrue(f, yv, usdc(7));
        await accrue(f, yv2, usdc(3)); // yv2 has no shares yet: its first depositor gets most of this
        const yv2Address = await yv2.getAddress();
        const expectedTokens = (await reference(f, yv)).assetsDown(
          await vault.reserveSharesOf(alice.address),
        );
        const expectedShares = (await reference(f, yv2)).sharesDown(expectedTokens);

        const tx = vault.connect(alice).selectReserveVault(yv2Address);
        await expect(tx)
          .to.emit(vault, "ReserveVaultSelected")
          .withArgs(alice.address, yv2Address, expectedTokens);
        await expect(tx).to.changeTokenBalances(
          token,
          [vault, yv, yv2],
          [0n, -expectedTokens, expectedTokens],
        );
        expect(await vault.reserveVaultOf(alice.address)).to.equal(yv2Address);
        expect(await vault.reserveSharesOf(alice.address)).to.equal(expectedShares);
        expect(await vault.reserveOf(alice.address)).to.equal(await yv2.previewRedeem(expectedShares));
        await expectInvariants(f, [alice.address, bob.address], [yv, yv2]);
      });

      it("with an empty reserve only records the choice, which later deposits follow", async function () {
        const f = await loadFixture(yieldFixture);
        const { token, vault, yv, yv2, alice, carol } = f;
        const yvAddress = await yv.getAddress();
        await expect(vault.connect(carol).selectReserveVault(yvAddress))
          .to.emit(vault, "ReserveVaultSelected")
          .withArgs(carol.address, yvAddress, 0n);
        expect(await vault.reserveVaultOf(carol.address)).to.equal(yvAddress);
        expect(await vault.reserveSharesOf(carol.address)).to.equal(0n);
        expect(await vault.reserveOf(carol.address)).to.equal(0n);

        await expect(vault.connect(alice).depositReserve(carol.address, usdc(40))).to.changeTokenBalances(
          token,
          [alice, vault, yv],
          [-usdc(40), 0n, usdc(40)],
        );
        expect(await vault.reserveOf(carol.address)).to.equal(usdc(40));
        await expectInvariants(f, [alice.address, carol.address], [yv, yv2]);
      });
    });

    describe("deposits and withdrawals", function () {
      it("depositReserve puts the tokens into the vault and credits the shares minted", async function () {
        const f = await loadFixture(inVaultFixture);
        const { token, vault, yv, yv2, alice, bob } = f;
        await accrue(f, yv, usdc("12.345678"));
        const amount = usdc("99.999999");
        const expectedShares = (await reference(f, yv)).sharesDown(amount);
        const sharesBefore = await vault.reserveSharesOf(alice.address);

        const tx = vault.connect(bob).depositReserve(alice.address, amount);
        await expect(tx).to.emit(vault, "ReserveDeposited").withArgs(alice.address, bob.address, amount);
        await expect(tx).to.changeTokenBalances(token, [bob, vault, yv], [-amount, 0n, amount]);
        expect(await vault.reserveSharesOf(alice.address)).to.equal(sharesBefore + expectedShares);
        expect(await vault.totalHeld(), "tokens into a yield vault are not held").to.equal(usdc(1_000));
        await expectInvariants(f, [alice.address, bob.address], [yv, yv2]);
      });

      it("withdrawReserve pays exactly the amount from the vault and burns the shares rounded up", async function () {
        const f = await loadFixture(inVaultFixture);
        const { token, vault, yv, yv2, alice, bob, carol } = f;
        await accrue(f, yv, usdc("12.345678"));
        const amount = usdc("123.456789");
        const expectedBurn = (await reference(f, yv)).sharesUp(amount);
        expect(await yv.previewWithdraw(amount)).to.equal(expectedBurn);
        const sharesBefore = await vault.reserveSharesOf(alice.address);

        const tx = vault.connect(alice).withdrawReserve(amount, carol.address);
        await expect(tx).to.emit(vault, "ReserveWithdrawn").withArgs(alice.address, carol.address, amount);
        await expect(tx).to.changeTokenBalances(token, [yv, vault, carol, alice], [-amount, 0n, amount, 0n]);
        expect(await vault.reserveSharesOf(alice.address)).to.equal(sharesBefore - expectedBurn);
        await expectInvariants(f, [alice.address, bob.address, carol.address], [yv, yv2]);
      });

      it("lets an owner withdraw exactly reserveOf, and not one token more", async function () {
        const f = await loadFixture(inVaultFixture);
        const { token, vault, yv, yv2, alice, bob } = f;
        await accrue(f, yv, usdc("0.000007"));
        const available = await vault.reserveOf(alice.address);
        await expect(vault.connect(alice).withdrawReserve(available + 1n, alice.address))
          .to.be.revertedWithCustomError(vault, "CollateralVaultInsufficientReserve")
          .withArgs(alice.address, available + 1n, available);
        await expect(vault.connect(alice).withdrawReserve(available, alice.address)).to.changeTokenBalances(
          token,
          [yv, alice],
          [-available, available],
        );
        // What is left is worth less than one token unit.
        expect(await vault.reserveOf(alice.address)).to.equal(0n);
        await expectInvariants(f, [alice.address, bob.address], [yv, yv2]);
      });

      it("refuses a deposit that would mint no shares", async function () {
        const f = await loadFixture(inVaultFixture);
        const { vault, yv, alice } = f;
        await accrue(f, yv, usdc(1_000)); // one share is now worth more than one token unit
        expect(await yv.previewDeposit(1n)).to.equal(0n);
        await expect(vault.connect(alice).depositReserve(alice.address, 1n)).to.be.revertedWithCustomError(
          vault,
          "CollateralVaultZeroAmount",
        );
      });

      it("keeps refusing fee-on-transfer deposits into a reserve vault", async function () {
        const [admin, guardianSigner, riskAdmin, alice] = await ethers.getSigners();
        const fot: FeeOnTransferToken = await ethers.deployContract("FeeOnTransferToken");
        const guardian = await ethers.deployContract("PauseGuardian", [
          admin.address,
          guardianSigner.address,
          riskAdmin.address,
        ]);
        const vault = await ethers.deployContract("CollateralVault", [
          await fot.getAddress(),
          await guardian.getAddress(),
        ]);
        const fotVault = await ethers.deployContract("MockYieldVault", [await fot.getAddress()]);
        await vault.connect(admin).setReserveVaultApproval(await fotVault.getAddress(), true);
        await vault.connect(alice).selectReserveVault(await fotVault.getAddress());
        await fot.mint(alice.address, usdc(1_000));
        await fot.connect(alice).approve(await vault.getAddress(), ethers.MaxUint256);
        await expect(vault.connect(alice).depositReserve(alice.address, usdc(1_000)))
          .to.be.revertedWithCustomError(vault, "CollateralVaultFeeOnTransfer")
          .withArgs(usdc(1_000), usdc(990));
        expect(await fotVault.totalSupply()).to.equal(0n);
      });
    });

    it("yield accrual raises reserveOf pro rata, without touching margin or the plain totals", async function () {
      const f = await loadFixture(inVaultFixture);
      const { vault, yv, yv2, alice, bob } = f;
      const aliceShares = await vault.reserveSharesOf(alice.address);
      const bobShares = await vault.reserveSharesOf(bob.address);
      expect(await vault.reserveOf(alice.address)).to.equal(usdc(500));
      expect(await vault.reserveOf(bob.address)).to.equal(usdc(250));

      await accrue(f, yv, usdc(75)); // +10% on 750
      const ref = await reference(f, yv);
      expect(await vault.reserveOf(alice.address)).to.equal(ref.assetsDown(aliceShares));
      expect(await vault.reserveOf(bob.address)).to.equal(ref.assetsDown(bobShares));
      // Rounded down, and the virtual share absorbs a sliver of the yield.
      expect(await vault.reserveOf(alice.address)).to.be.within(usdc(550) - 1n, usdc(550));
      expect(await vault.reserveOf(bob.address)).to.be.within(usdc(275) - 1n, usdc(275));
      expect(await vault.reserveSharesOf(alice.address)).to.equal(aliceShares);
      expect(await vault.marginOf(alice.address)).to.equal(usdc(1_000));
      expect(await vault.totalHeld()).to.equal(usdc(1_000));
      await expectInvariants(f, [alice.address, bob.address], [yv, yv2]);
    });

    describe("engine transfers", function () {
      it("reserveToMargin moves exactly the amount into margin and burns previewWithdraw shares", async function () {
        const f = await loadFixture(inVaultFixture);
        const { token, vault, yv, yv2, engine, alice, bob } = f;
        await accrue(f, yv, usdc("41.234567"));
        const topUp = usdc("123.456789");
        const expectedBurn = await yv.previewWithdraw(topUp);
        expect(expectedBurn).to.equal((await reference(f, yv)).sharesUp(topUp));
        const sharesBefore = await vault.reserveSharesOf(alice.address);

        const tx = vault.connect(engine).reserveToMargin(alice.address, topUp);
        await expect(tx).to.emit(vault, "ReserveMovedToMargin").withArgs(alice.address, topUp);
        await expect(tx).to.changeTokenBalances(token, [yv, vault, engine], [-topUp, topUp, 0n]);
        expect(await vault.reserveSharesOf(alice.address)).to.equal(sharesBefore - expectedBurn);
        expect(await vault.marginOf(alice.address)).to.equal(usdc(1_000) + topUp);
        expect(await vault.totalHeld()).to.equal(usdc(1_000) + topUp);
        await expectInvariants(f, [alice.address, bob.address], [yv, yv2]);
      });

      it("reserveToMargin refuses more than reserveOf", async function () {
        const f = await loadFixture(inVaultFixture);
        const { vault, yv, engine, alice } = f;
        await accrue(f, yv, usdc("0.333333"));
        const available = await vault.reserveOf(alice.address);
        await expect(vault.connect(engine).reserveToMargin(alice.address, available + 1n))
          .to.be.revertedWithCustomError(vault, "CollateralVaultInsufficientReserve")
          .withArgs(alice.address, available + 1n, available);
      });

      it("marginToReserve deposits the margin into the account's vault", async function () {
        const f = await loadFixture(inVaultFixture);
        const { token, vault, yv, yv2, engine, alice, bob } = f;
        await accrue(f, yv, usdc("41.234567"));
        const sweep = usdc("333.333333");
        const expectedShares = (await reference(f, yv)).sharesDown(sweep);
        const sharesBefore = await vault.reserveSharesOf(alice.address);

        const tx = vault.connect(engine).marginToReserve(alice.address, sweep);
        await expect(tx).to.emit(vault, "MarginMovedToReserve").withArgs(alice.address, sweep);
        await expect(tx).to.changeTokenBalances(token, [vault, yv], [-sweep, sweep]);
        expect(await vault.reserveSharesOf(alice.address)).to.equal(sharesBefore + expectedShares);
        expect(await vault.marginOf(alice.address)).to.equal(usdc(1_000) - sweep);
        expect(await vault.totalHeld()).to.equal(usdc(1_000) - sweep);
        await expectInvariants(f, [alice.address, bob.address], [yv, yv2]);
      });

      it("are engine only", async function () {
        const { vault, alice, bob } = await loadFixture(inVaultFixture);
        await expect(vault.connect(bob).reserveToMargin(alice.address, 1n))
          .to.be.revertedWithCustomError(vault, "CollateralVaultUnauthorized")
          .withArgs(bob.address);
        await expect(vault.connect(alice).marginToReserve(alice.address, 1n))
          .to.be.revertedWithCustomError(vault, "CollateralVaultUnauthorized")
          .withArgs(alice.address);
      });
    });

    describe("revoked vault", function () {
      it("blocks new selections; holders keep withdrawing, depositing and moving out", async function () {
        const f = await loadFixture(inVaultFixture);
        const { token, vault, yv, yv2, admin, engine, alice, bob, carol } = f;
        const yvAddress = await yv.getAddress();
        await accrue(f, yv, usdc(15));
        await vault.connect(admin).setReserveVaultApproval(yvAddress, false);
        const accounts = [alice.address, bob.address, carol.address];

        await expect(vault.connect(carol).selectReserveVault(yvAddress))
          .to.be.revertedWithCustomError(vault, "CollateralVaultUnapprovedReserveVault")
          .withArgs(yvAddress);
        await expect(vault.connect(alice).selectReserveVault(yvAddress))
          .to.be.revertedWithCustomError(vault, "CollateralVaultReserveVaultAlreadySelected")
          .withArgs(alice.address, yvAddress);

        await expect(vault.connect(alice).withdrawReserve(usdc(100), alice.address)).to.changeTokenBalances(
          token,
          [yv, alice],
          [-usdc(100), usdc(100)],
        );
        await expect(vault.connect(bob).depositReserve(bob.address, usdc(10))).to.changeTokenBalance(
          token,
          yv,
          usdc(10),
        );
        await vault.connect(engine).reserveToMargin(alice.address, usdc(50));
        await expectInvariants(f, accounts, [yv, yv2], "after revoke");

        const bobValue = await vault.reserveOf(bob.address);
        await expect(vault.connect(bob).selectReserveVault(ethers.ZeroAddress))
          .to.emit(vault, "ReserveVaultSelected")
          .withArgs(bob.address, ethers.ZeroAddress, bobValue);
        await expect(vault.connect(bob).selectReserveVault(yvAddress))
          .to.be.revertedWithCustomError(vault, "CollateralVaultUnapprovedReserveVault")
          .withArgs(yvAddress);
        await vault.connect(alice).selectReserveVault(await yv2.getAddress());
        await expectInvariants(f, accounts, [yv, yv2], "after moving out");
      });
    });

    it("keeps reserves in a vault withdrawable and movable while everything is paused", async function () {
      const f = await loadFixture(inVaultFixture);
      const { token, guardian, vault, yv, yv2, guardianSigner, alice, bob } = f;
      const g = guardian.connect(guardianSigner);
      await g.pauseAll();
      await g.pauseAction(Action.Withdraw);
      await g.pauseAction(Action.Deposit);
      expect(await guardian.isPaused(0, Action.Withdraw)).to.equal(true);

      await expect(vault.connect(alice).withdrawReserve(usdc(200), alice.address)).to.changeTokenBalances(
        token,
        [yv, alice],
        [-usdc(200), usdc(200)],
      );
      await vault.connect(alice).depositReserve(alice.address, usdc(20));
      await vault.connect(alice).selectReserveVault(await yv2.getAddress());
      await vault.connect(bob).selectReserveVault(ethers.ZeroAddress);
      expect(await vault.reserveOf(bob.address)).to.equal(usdc(250));
      await expect(vault.connect(bob).withdrawReserve(usdc(250), bob.address)).to.changeTokenBalance(
        token,
        bob,
        usdc(250),
      );
      await expectInvariants(f, [alice.address, bob.address], [yv, yv2]);
    });

    it("keeps both invariants through a multi-account, multi-vault sequence", async function () {
      const f = await loadFixture(yieldFixture);
      const { token, vault, yv, yv2, admin, engine, alice, bob, carol } = f;
      const e = vault.connect(engine);
      const yvAddress = await yv.getAddress();
      const yv2Address = await yv2.getAddress();
      const accounts = [alice.address, bob.address, carol.address];
      const margin = new Map<string, bigint>([
        [alice.address, usdc(1_000)],
        [bob.address, 0n],
        [carol.address, 0n],
      ]);
      const addMargin = (account: string, amount: bigint) =>
        margin.set(account, margin.get(account)! + amount);

      const steps: Array<[string, () => Promise<unknown>, () => void]> = [
        [
          "alice moves her reserve into yv",
          () => vault.connect(alice).selectReserveVault(yvAddress),
          () => {},
        ],
        [
          "bob deposits plain reserve for carol",
          () => vault.connect(bob).depositReserve(carol.address, usdc(300)),
          () => {},
        ],
        ["carol moves into yv2", () => vault.connect(carol).selectReserveVault(yv2Address), () => {}],
        ["yv earns", () => accrue(f, yv, usdc("37.123457")), () => {}],
        ["bob selects yv while empty", () => vault.connect(bob).selectReserveVault(yvAddress), () => {}],
        ["bob deposits into yv", () => vault.connect(bob).depositReserve(bob.address, usdc(250)), () => {}],
        [
          "bob deposits margin",
          () => vault.connect(bob).depositMargin(bob.address, usdc(80)),
          () => addMargin(bob.address, usdc(80)),
        ],
        [
          "engine tops alice up from yv",
          () => e.reserveToMargin(alice.address, usdc("123.456789")),
          () => addMargin(alice.address, usdc("123.456789")),
        ],
        [
          "engine sweeps alice's margin into yv",
          () => e.marginToReserve(alice.address, usdc(200)),
          () => addMargin(alice.address, -usdc(200)),
        ],
        ["yv2 earns", () => accrue(f, yv2, usdc(11)), () => {}],
        ["yv is revoked", () => vault.connect(admin).setReserveVaultApproval(yvAddress, false), () => {}],
        [
          "alice withdraws to carol",
          () => vault.connect(alice).withdrawReserve(usdc("100.000001"), carol.address),
          () => {},
        ],
        [
          "alice moves from revoked yv into yv2",
          () => vault.connect(alice).selectReserveVault(yv2Address),
          () => {},
        ],
        [
          "bob moves back to plain tokens",
          () => vault.connect(bob).selectReserveVault(ethers.ZeroAddress),
          () => {},
        ],
        [
          "engine tops carol up from yv2",
          () => e.reserveToMargin(carol.address, usdc(50)),
          () => addMargin(carol.address, usdc(50)),
        ],
        [
          "engine pays carol's margin out",
          () => e.transferMargin(carol.address, carol.address, usdc(50)),
          () => addMargin(carol.address, -usdc(50)),
        ],
        [
          "engine sweeps bob's margin into his plain reserve",
          () => e.marginToReserve(bob.address, usdc(80)),
          () => addMargin(bob.address, -usdc(80)),
        ],
        [
          "carol withdraws her whole reserve",
          async () =>
            vault.connect(carol).withdrawReserve(await vault.reserveOf(carol.address), carol.address),
          () => {},
        ],
        [
          "bob withdraws his whole plain reserve",
          async () => vault.connect(bob).withdrawReserve(await vault.reserveOf(bob.address), bob.address),
          () => {},
        ],
      ];

      for (const [name, act, book] of steps) {
        await act();
        book();
        for (const [account, amount] of margin) expect(await vault.marginOf(account), name).to.equal(amount);
        for (const account of accounts) {
          const yieldVault = await vault.reserveVaultOf(account);
          if (yieldVault === ethers.ZeroAddress) continue;
          const v = yieldVault === yvAddress ? yv : yv2;
          expect(await vault.reserveOf(account), name).to.equal(
            await v.previewRedeem(await vault.reserveSharesOf(account)),
          );
        }
        await expectInvariants(f, accounts, [yv, yv2], name);
      }
      expect(await vault.reserveVaultOf(alice.address)).to.equal(yv2Address);
      expect(await vault.reserveOf(carol.address)).to.equal(0n);
      expect(await vault.reserveOf(bob.address)).to.equal(0n);
      expect(await token.balanceOf(await vault.getAddress())).to.equal(usdc("923.456789")); // alice's margin
      expect(await yv.balanceOf(await vault.getAddress())).to.equal(0n);
    });
  });
});
