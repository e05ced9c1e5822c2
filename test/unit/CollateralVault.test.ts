import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";

import { CollateralVault, FeeOnTransferToken, MockUSDC, PauseGuardian } from "../../typechain-types";

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
    expect(held).to.equal((await vault.totalMargin()) + (await vault.totalReserve()));
  }

  describe("deployment", function () {
    it("stores the token and the guardian, with no engine and empty books", async function () {
      const { token, guardian, vault, alice } = await loadFixture(deployFixture);
      expect(await vault.token()).to.equal(await token.getAddress());
      expect(await vault.guardian()).to.equal(await guardian.getAddress());
      expect(await vault.engine()).to.equal(ethers.ZeroAddress);
      expect(await vault.totalMargin()).to.equal(0n);
      expect(await vault.totalReserve()).to.equal(0n);
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
      expect(await vault.totalMargin()).to.equal(0n);
      expect(await vault.totalReserve()).to.equal(0n);
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
      expect(await vault.totalMargin()).to.equal(usdc(250));
      expect(await vault.totalReserve()).to.equal(0n);
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
      expect(await vault.totalReserve()).to.equal(usdc(75));
      expect(await vault.totalMargin()).to.equal(0n);
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
      expect(await vault.totalReserve()).to.equal(usdc(380));
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
      expect(await vault.totalMargin()).to.equal(usdc(600));
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
      expect(await vault.totalMargin()).to.equal(usdc(1_042));
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
      expect(await vault.totalMargin()).to.equal(usdc(1_200));
      expect(await vault.totalReserve()).to.equal(usdc(300));

      await expect(vault.connect(engine).marginToReserve(alice.address, usdc(1_200))).to.changeTokenBalance(
        token,
        vault,
        0n,
      );
      expect(await vault.marginOf(alice.address)).to.equal(0n);
      expect(await vault.reserveOf(alice.address)).to.equal(usdc(1_500));
      expect(await vault.totalMargin()).to.equal(0n);
      expect(await vault.totalReserve()).to.equal(usdc(1_500));
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
        expect(await vault.totalMargin(), name).to.equal(sum(margin));
        expect(await vault.totalReserve(), name).to.equal(sum(reserve));
        expect(await token.balanceOf(vaultAddress), name).to.equal(vaultTokens);
        await expectConserved(vault, token);
      }
      expect(vaultTokens).to.equal(usdc(450));
      expect(await vault.reserveOf(alice.address)).to.equal(usdc(450));
    });
  });
});
