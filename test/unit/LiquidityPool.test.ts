import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";

import {
  FeeOnTransferToken,
  LiquidityPool,
  MockLiquidityRequirement,
  MockUSDC,
  PauseGuardian,
} from "../../typechain-types";

/** Mirrors `IPauseGuardian.Action`. */
const Action = { Open: 0, Close: 1, Deposit: 2, Withdraw: 3, Rebalance: 4, Liquidate: 5 } as const;
const usdc = (amount: number | string) => ethers.parseUnits(amount.toString(), 6);
const STARTING_BALANCE = usdc(100_000_000);
/** `_decimalsOffset()` of the pool: shares per asset unit on the first deposit. */
const VIRTUAL_SHARES = 10n ** 6n;

describe("LiquidityPool", function () {
  async function deployFixture() {
    const [admin, guardianSigner, riskAdmin, , alice, bob, carol] = await ethers.getSigners();
    // The engine is a test double (`requiredLiquidity()` and `traderPnl()` the pool reads, 0 and no PnL
    // unless set) whose address the tests impersonate to call the engine-only functions.
    const engineDouble: MockLiquidityRequirement = await ethers.deployContract("MockLiquidityRequirement");
    const engine = await ethers.getImpersonatedSigner(await engineDouble.getAddress());
    await ethers.provider.send("hardhat_setBalance", [engine.address, "0x56BC75E2D63100000"]);
    const token: MockUSDC = await ethers.deployContract("MockUSDC");
    const guardian: PauseGuardian = await ethers.deployContract("PauseGuardian", [
      admin.address,
      guardianSigner.address,
      riskAdmin.address,
    ]);
    const pool: LiquidityPool = await ethers.deployContract("LiquidityPool", [
      await token.getAddress(),
      await guardian.getAddress(),
      "Ballast LP",
      "bLP",
    ]);
    for (const user of [alice, bob, carol, engine]) {
      await token.mint(user.address, STARTING_BALANCE);
      await token.connect(user).approve(await pool.getAddress(), ethers.MaxUint256);
    }
    return {
      token,
      guardian,
      pool,
      admin,
      guardianSigner,
      riskAdmin,
      engine,
      engineDouble,
      alice,
      bob,
      carol,
    };
  }

  /** Engine wired to the impersonated test double, to call the engine-only functions; alice has deposited 1,000. */
  async function withEngineFixture() {
    const fixture = await deployFixture();
    await fixture.pool.connect(fixture.admin).setEngine(fixture.engine.address);
    await fixture.pool.connect(fixture.alice).deposit(usdc(1_000), fixture.alice.address);
    return fixture;
  }

  /** As `withEngineFixture`, plus 500 in the insurance buffer. */
  async function insuredFixture() {
    const fixture = await withEngineFixture();
    await fixture.pool.connect(fixture.bob).fundInsurance(usdc(500));
    return fixture;
  }

  /** Engine wired to a `requiredLiquidity()` test double; alice has deposited 1,000. */
  async function withRequirementFixture() {
    const fixture = await deployFixture();
    const requirement: MockLiquidityRequirement = await ethers.deployContract("MockLiquidityRequirement");
    await fixture.pool.connect(fixture.admin).setEngine(await requirement.getAddress());
    await fixture.pool.connect(fixture.alice).deposit(usdc(1_000), fixture.alice.address);
    return { ...fixture, requirement };
  }

  /** A pool over a token that burns 1% per transfer. */
  async function feeOnTransferFixture() {
    const [admin, guardianSigner, riskAdmin, alice] = await ethers.getSigners();
    const token: FeeOnTransferToken = await ethers.deployContract("FeeOnTransferToken");
    const guardian: PauseGuardian = await ethers.deployContract("PauseGuardian", [
      admin.address,
      guardianSigner.address,
      riskAdmin.address,
    ]);
    const pool: LiquidityPool = await ethers.deployContract("LiquidityPool", [
      await token.getAddress(),
      await guardian.getAddress(),
      "Ballast LP",
      "bLP",
    ]);
    await token.mint(alice.address, STARTING_BALANCE);
    await token.connect(alice).approve(await pool.getAddress(), ethers.MaxUint256);
    return { token, pool, alice };
  }

  describe("deployment", function () {
    it("stores the wiring and starts empty", async function () {
      const { token, guardian, pool } = await loadFixture(deployFixture);
      expect(await pool.asset()).to.equal(await token.getAddress());
      expect(await pool.guardian()).to.equal(await guardian.getAddress());
      expect(await pool.engine()).to.equal(ethers.ZeroAddress);
      expect(await pool.name()).to.equal("Ballast LP");
      expect(await pool.symbol()).to.equal("bLP");
      expect(await pool.totalAssets()).to.equal(0n);
      expect(await pool.totalSupply()).to.equal(0n);
      expect(await pool.insuranceBalance()).to.equal(0n);
      expect(await pool.freeLiquidity()).to.equal(0n);
    });

    it("gives shares 6 more decimals than the token (virtual shares)", async function () {
      const { token, pool } = await loadFixture(deployFixture);
      expect(await token.decimals()).to.equal(6n);
      expect(await pool.decimals()).to.equal(12n);
      expect(await pool.convertToShares(usdc(1))).to.equal(usdc(1) * VIRTUAL_SHARES);
    });

    it("requires no liquidity while the engine is unset", async function () {
      const { pool, alice } = await loadFixture(deployFixture);
      await pool.connect(alice).deposit(usdc(1_000), alice.address);
      expect(await pool.freeLiquidity()).to.equal(usdc(1_000));
      expect(await pool.maxWithdraw(alice.address)).to.equal(usdc(1_000));
    });

    it("rejects a zero token or guardian", async function () {
      const { token, guardian } = await loadFixture(deployFixture);
      const factory = await ethers.getContractFactory("LiquidityPool");
      await expect(
        factory.deploy(ethers.ZeroAddress, await guardian.getAddress(), "Ballast LP", "bLP"),
      ).to.be.revertedWithCustomError(factory, "LiquidityPoolZeroAddress");
      await expect(
        factory.deploy(await token.getAddress(), ethers.ZeroAddress, "Ballast LP", "bLP"),
      ).to.be.revertedWithCustomError(factory, "LiquidityPoolZeroAddress");
    });
  });

  describe("validations", function () {
    describe("setEngine", function () {
      it("is admin only: the guardian, the risk admin and outsiders are refused", async function () {
        const { pool, guardianSigner, riskAdmin, alice, engine } = await loadFixture(deployFixture);
        for (const caller of [guardianSigner, riskAdmin, alice]) {
          await expect(pool.connect(caller).setEngine(engine.address))
            .to.be.revertedWithCustomError(pool, "LiquidityPoolUnauthorized")
            .withArgs(caller.address);
        }
      });

      it("rejects the zero address", async function () {
        const { pool, admin } = await loadFixture(deployFixture);
        await expect(pool.connect(admin).setEngine(ethers.ZeroAddress)).to.be.revertedWithCustomError(
          pool,
          "LiquidityPoolZeroAddress",
        );
      });

      it("can be called only once", async function () {
        const { pool, admin, alice } = await loadFixture(withEngineFixture);
        await expect(pool.connect(admin).setEngine(alice.address)).to.be.revertedWithCustomError(
          pool,
          "LiquidityPoolEngineAlreadySet",
        );
      });
    });

    describe("engine-only functions", function () {
      it("refuse everyone while the engine is unset", async function () {
        const { pool, engine, admin, alice } = await loadFixture(deployFixture);
        await pool.connect(alice).deposit(usdc(10), alice.address);
        for (const caller of [engine, admin]) {
          await expect(pool.connect(caller).payTrader(caller.address, 1n))
            .to.be.revertedWithCustomError(pool, "LiquidityPoolUnauthorized")
            .withArgs(caller.address);
        }
      });

      it("refuse the admin and outsiders", async function () {
        const { pool, admin, alice } = await loadFixture(insuredFixture);
        for (const caller of [admin, alice]) {
          const p = pool.connect(caller);
          await expect(p.payTrader(caller.address, 1n))
            .to.be.revertedWithCustomError(pool, "LiquidityPoolUnauthorized")
            .withArgs(caller.address);
          await expect(p.recordIncome(1n, 0n))
            .to.be.revertedWithCustomError(pool, "LiquidityPoolUnauthorized")
            .withArgs(caller.address);
          await expect(p.recordBadDebt(alice.address, 1n))
            .to.be.revertedWithCustomError(pool, "LiquidityPoolUnauthorized")
            .withArgs(caller.address);
        }
      });
    });

    it("rejects zero amounts in the engine functions", async function () {
      const { pool, engine, alice } = await loadFixture(insuredFixture);
      const e = pool.connect(engine);
      for (const call of [
        () => e.payTrader(alice.address, 0),
        () => e.recordIncome(0, 0),
        () => e.recordBadDebt(alice.address, 0),
      ]) {
        await expect(call()).to.be.revertedWithCustomError(pool, "LiquidityPoolZeroAmount");
      }
    });

    it("rejects zero amounts in the LP functions", async function () {
      const { pool, alice } = await loadFixture(withRequirementFixture);
      const a = pool.connect(alice);
      for (const call of [
        () => a.fundInsurance(0),
        () => a.deposit(0, alice.address),
        () => a.mint(0, alice.address),
        () => a.withdraw(0, alice.address, alice.address),
        () => a.redeem(0, alice.address, alice.address),
      ]) {
        await expect(call()).to.be.revertedWithCustomError(pool, "LiquidityPoolZeroAmount");
      }
    });

    it("refuses a redemption that would pay zero assets", async function () {
      const { pool, alice } = await loadFixture(withRequirementFixture);
      expect(await pool.previewRedeem(1n)).to.equal(0n);
      await expect(
        pool.connect(alice).redeem(1n, alice.address, alice.address),
      ).to.be.revertedWithCustomError(pool, "LiquidityPoolZeroAmount");
    });

    it("rejects paying a trader at the zero address", async function () {
      const { pool, engine } = await loadFixture(withEngineFixture);
      await expect(pool.connect(engine).payTrader(ethers.ZeroAddress, 1n)).to.be.revertedWithCustomError(
        pool,
        "LiquidityPoolZeroAddress",
      );
    });

    it("pays traders from LP assets only, never from insurance", async function () {
      const { token, pool, engine, carol } = await loadFixture(insuredFixture);
      expect(await token.balanceOf(await pool.getAddress())).to.equal(usdc(1_500));
      await expect(pool.connect(engine).payTrader(carol.address, usdc(1_000) + 1n))
        .to.be.revertedWithCustomError(pool, "LiquidityPoolInsufficientLiquidity")
        .withArgs(usdc(1_000) + 1n, usdc(1_000));
    });

    it("rejects income whose insurance part exceeds the total", async function () {
      const { pool, engine } = await loadFixture(withEngineFixture);
      await expect(pool.connect(engine).recordIncome(usdc(10), usdc(10) + 1n))
        .to.be.revertedWithCustomError(pool, "LiquidityPoolInvalidIncome")
        .withArgs(usdc(10) + 1n, usdc(10));
    });

    describe("pauses", function () {
      it("refuse deposits and mints while LP deposits are paused", async function () {
        const { pool, guardian, guardianSigner, bob } = await loadFixture(withEngineFixture);
        await guardian.connect(guardianSigner).pauseAction(Action.Deposit);
        await expect(pool.connect(bob).deposit(usdc(1), bob.address)).to.be.revertedWithCustomError(
          pool,
          "LiquidityPoolPaused",
        );
        await expect(pool.connect(bob).mint(usdc(1), bob.address)).to.be.revertedWithCustomError(
          pool,
          "LiquidityPoolPaused",
        );
      });

      it("refuse withdrawals and redemptions while withdrawals are paused", async function () {
        const { pool, guardian, guardianSigner, alice } = await loadFixture(withEngineFixture);
        await guardian.connect(guardianSigner).pauseAction(Action.Withdraw);
        await expect(
          pool.connect(alice).withdraw(usdc(1), alice.address, alice.address),
        ).to.be.revertedWithCustomError(pool, "LiquidityPoolPaused");
        await expect(
          pool.connect(alice).redeem(usdc(1) * VIRTUAL_SHARES, alice.address, alice.address),
        ).to.be.revertedWithCustomError(pool, "LiquidityPoolPaused");
      });

      it("refuse all four under the global pause", async function () {
        const { pool, guardian, guardianSigner, alice } = await loadFixture(withEngineFixture);
        await guardian.connect(guardianSigner).pauseAll();
        const a = pool.connect(alice);
        for (const call of [
          () => a.deposit(usdc(1), alice.address),
          () => a.mint(usdc(1), alice.address),
          () => a.withdraw(usdc(1), alice.address, alice.address),
          () => a.redeem(usdc(1), alice.address, alice.address),
        ]) {
          await expect(call()).to.be.revertedWithCustomError(pool, "LiquidityPoolPaused");
        }
      });
    });

    describe("withdrawal limit", function () {
      it("refuses withdrawing more than the free liquidity", async function () {
        const { pool, requirement, alice } = await loadFixture(withRequirementFixture);
        await requirement.setRequiredLiquidity(usdc(600));
        await expect(pool.connect(alice).withdraw(usdc(400) + 1n, alice.address, alice.address))
          .to.be.revertedWithCustomError(pool, "ERC4626ExceededMaxWithdraw")
          .withArgs(alice.address, usdc(400) + 1n, usdc(400));
      });

      it("refuses redeeming more shares than the free liquidity buys", async function () {
        const { pool, requirement, alice } = await loadFixture(withRequirementFixture);
        await requirement.setRequiredLiquidity(usdc(600));
        const maxShares = await pool.maxRedeem(alice.address);
        await expect(pool.connect(alice).redeem(maxShares + 1n, alice.address, alice.address))
          .to.be.revertedWithCustomError(pool, "ERC4626ExceededMaxRedeem")
          .withArgs(alice.address, maxShares + 1n, maxShares);
      });
    });

    describe("fee-on-transfer tokens", function () {
      it("are refused by deposit, mint and fundInsurance, and nothing changes", async function () {
        const { token, pool, alice } = await loadFixture(feeOnTransferFixture);
        const amount = usdc(1_000);
        const received = amount - amount / 100n;
        await expect(pool.connect(alice).deposit(amount, alice.address))
          .to.be.revertedWithCustomError(pool, "LiquidityPoolFeeOnTransfer")
          .withArgs(amount, received);
        await expect(pool.connect(alice).mint(amount * VIRTUAL_SHARES, alice.address))
          .to.be.revertedWithCustomError(pool, "LiquidityPoolFeeOnTransfer")
          .withArgs(amount, received);
        await expect(pool.connect(alice).fundInsurance(amount))
          .to.be.revertedWithCustomError(pool, "LiquidityPoolFeeOnTransfer")
          .withArgs(amount, received);
        expect(await token.balanceOf(alice.address)).to.equal(STARTING_BALANCE);
        expect(await token.balanceOf(await pool.getAddress())).to.equal(0n);
        expect(await pool.balanceOf(alice.address)).to.equal(0n);
        expect(await pool.totalSupply()).to.equal(0n);
        expect(await pool.insuranceBalance()).to.equal(0n);
      });
    });
  });

  describe("events", function () {
    it("emits EngineSet", async function () {
      const { pool, admin, engine } = await loadFixture(deployFixture);
      await expect(pool.connect(admin).setEngine(engine.address))
        .to.emit(pool, "EngineSet")
        .withArgs(engine.address);
    });

    it("emits ERC-4626 Deposit and Withdraw with exact amounts", async function () {
      const { pool, bob, carol } = await loadFixture(deployFixture);
      await expect(pool.connect(bob).deposit(usdc(5), carol.address))
        .to.emit(pool, "Deposit")
        .withArgs(bob.address, carol.address, usdc(5), usdc(5) * VIRTUAL_SHARES);
      await expect(pool.connect(carol).withdraw(usdc(2), bob.address, carol.address))
        .to.emit(pool, "Withdraw")
        .withArgs(carol.address, bob.address, carol.address, usdc(2), usdc(2) * VIRTUAL_SHARES);
    });

    it("emits TraderPaid", async function () {
      const { pool, engine, carol } = await loadFixture(withEngineFixture);
      await expect(pool.connect(engine).payTrader(carol.address, usdc(7)))
        .to.emit(pool, "TraderPaid")
        .withArgs(carol.address, usdc(7));
    });

    it("emits IncomeRecorded with the LP and insurance parts", async function () {
      const { token, pool, engine } = await loadFixture(withEngineFixture);
      await token.connect(engine).transfer(await pool.getAddress(), usdc(100));
      await expect(pool.connect(engine).recordIncome(usdc(100), usdc(30)))
        .to.emit(pool, "IncomeRecorded")
        .withArgs(usdc(70), usdc(30));
    });

    it("emits InsuranceFunded with the payer", async function () {
      const { pool, bob } = await loadFixture(withEngineFixture);
      await expect(pool.connect(bob).fundInsurance(usdc(9)))
        .to.emit(pool, "InsuranceFunded")
        .withArgs(bob.address, usdc(9));
    });

    it("emits BadDebtRecorded with the covered and borne parts", async function () {
      const { pool, engine, carol } = await loadFixture(insuredFixture);
      await expect(pool.connect(engine).recordBadDebt(carol.address, usdc(200)))
        .to.emit(pool, "BadDebtRecorded")
        .withArgs(carol.address, usdc(200), usdc(200), 0n);
      await expect(pool.connect(engine).recordBadDebt(carol.address, usdc(450)))
        .to.emit(pool, "BadDebtRecorded")
        .withArgs(carol.address, usdc(450), usdc(300), usdc(150));
      await expect(pool.connect(engine).recordBadDebt(carol.address, usdc(1)))
        .to.emit(pool, "BadDebtRecorded")
        .withArgs(carol.address, usdc(1), 0n, usdc(1));
    });
  });

  describe("effects", function () {
    it("a first deposit mints 10**6 shares per token unit", async function () {
      const { token, pool, bob } = await loadFixture(deployFixture);
      await expect(pool.connect(bob).deposit(usdc(250), bob.address)).to.changeTokenBalances(
        token,
        [bob, pool],
        [-usdc(250), usdc(250)],
      );
      expect(await pool.balanceOf(bob.address)).to.equal(usdc(250) * VIRTUAL_SHARES);
      expect(await pool.totalAssets()).to.equal(usdc(250));
      expect(await pool.convertToAssets(await pool.balanceOf(bob.address))).to.equal(usdc(250));
    });

    it("mint pulls the previewed assets", async function () {
      const { token, pool, bob } = await loadFixture(withEngineFixture);
      const shares = usdc(40) * VIRTUAL_SHARES;
      const assets = await pool.previewMint(shares);
      expect(assets).to.equal(usdc(40));
      await expect(pool.connect(bob).mint(shares, bob.address)).to.changeTokenBalances(
        token,
        [bob, pool],
        [-assets, assets],
      );
      expect(await pool.balanceOf(bob.address)).to.equal(shares);
    });

    it("totalAssets excludes the insurance buffer, and funding it leaves the share price alone", async function () {
      const { token, pool, alice, bob } = await loadFixture(withEngineFixture);
      const shares = await pool.balanceOf(alice.address);
      const valueBefore = await pool.convertToAssets(shares);
      await expect(pool.connect(bob).fundInsurance(usdc(500))).to.changeTokenBalances(
        token,
        [bob, pool],
        [-usdc(500), usdc(500)],
      );
      expect(await token.balanceOf(await pool.getAddress())).to.equal(usdc(1_500));
      expect(await pool.insuranceBalance()).to.equal(usdc(500));
      expect(await pool.totalAssets()).to.equal(usdc(1_000));
      expect(await pool.convertToAssets(shares)).to.equal(valueBefore);
      expect(await pool.balanceOf(bob.address)).to.equal(0n);
    });

    it("payTrader pays from LP assets and lowers the share price", async function () {
      const { token, pool, engine, alice, carol } = await loadFixture(insuredFixture);
      const shares = await pool.balanceOf(alice.address);
      await expect(pool.connect(engine).payTrader(carol.address, usdc(250))).to.changeTokenBalances(
        token,
        [pool, carol],
        [-usdc(250), usdc(250)],
      );
      expect(await pool.totalAssets()).to.equal(usdc(750));
      expect(await pool.insuranceBalance()).to.equal(usdc(500));
      expect(await pool.convertToAssets(shares)).to.be.closeTo(usdc(750), 1n);

      await pool.connect(engine).payTrader(carol.address, usdc(750));
      expect(await pool.totalAssets()).to.equal(0n);
      expect(await token.balanceOf(await pool.getAddress())).to.equal(usdc(500));
      expect(await pool.insuranceBalance()).to.equal(usdc(500));
    });

    it("recordIncome adds the insurance part to the buffer and the rest to LPs", async function () {
      const { token, pool, engine, alice } = await loadFixture(insuredFixture);
      await token.connect(engine).transfer(await pool.getAddress(), usdc(100));
      await expect(pool.connect(engine).recordIncome(usdc(100), usdc(30))).to.changeTokenBalance(
        token,
        pool,
        0n,
      );
      expect(await pool.insuranceBalance()).to.equal(usdc(530));
      expect(await pool.totalAssets()).to.equal(usdc(1_070));
      expect(await pool.convertToAssets(await pool.balanceOf(alice.address))).to.be.closeTo(usdc(1_070), 1n);
    });

    it("recordIncome may send everything to LPs or everything to insurance", async function () {
      const { token, pool, engine } = await loadFixture(withEngineFixture);
      await token.connect(engine).transfer(await pool.getAddress(), usdc(20));
      await pool.connect(engine).recordIncome(usdc(10), 0n);
      await pool.connect(engine).recordIncome(usdc(10), usdc(10));
      expect(await pool.insuranceBalance()).to.equal(usdc(10));
      expect(await pool.totalAssets()).to.equal(usdc(1_010));
    });

    it("recordBadDebt moves covered insurance to LPs and returns the covered part", async function () {
      const { token, pool, engine, carol } = await loadFixture(insuredFixture);
      const e = pool.connect(engine);
      expect(await e.recordBadDebt.staticCall(carol.address, usdc(200))).to.equal(usdc(200));
      await expect(e.recordBadDebt(carol.address, usdc(200))).to.changeTokenBalance(token, pool, 0n);
      expect(await pool.insuranceBalance()).to.equal(usdc(300));
      expect(await pool.totalAssets()).to.equal(usdc(1_200));

      expect(await e.recordBadDebt.staticCall(carol.address, usdc(450))).to.equal(usdc(300));
      await e.recordBadDebt(carol.address, usdc(450));
      expect(await pool.insuranceBalance()).to.equal(0n);
      expect(await pool.totalAssets()).to.equal(usdc(1_500));

      expect(await e.recordBadDebt.staticCall(carol.address, usdc(5))).to.equal(0n);
      await e.recordBadDebt(carol.address, usdc(5));
      expect(await pool.insuranceBalance()).to.equal(0n);
      expect(await pool.totalAssets()).to.equal(usdc(1_500));
    });

    it("totalAssets does not revert if the engine over-records insurance", async function () {
      const { token, pool, engine } = await loadFixture(withEngineFixture);
      await pool.connect(engine).recordIncome(usdc(2_000), usdc(2_000));
      expect(await token.balanceOf(await pool.getAddress())).to.equal(usdc(1_000));
      expect(await pool.totalAssets()).to.equal(0n);
    });

    describe("pauses", function () {
      it("zero maxDeposit and maxMint while LP deposits are paused, leaving withdrawals open", async function () {
        const { token, pool, guardian, admin, guardianSigner, alice } =
          await loadFixture(withRequirementFixture);
        await guardian.connect(guardianSigner).pauseAction(Action.Deposit);
        expect(await pool.maxDeposit(alice.address)).to.equal(0n);
        expect(await pool.maxMint(alice.address)).to.equal(0n);
        expect(await pool.maxWithdraw(alice.address)).to.equal(usdc(1_000));
        await expect(
          pool.connect(alice).withdraw(usdc(100), alice.address, alice.address),
        ).to.changeTokenBalance(token, alice, usdc(100));

        await guardian.connect(admin).unpauseAction(Action.Deposit);
        expect(await pool.maxDeposit(alice.address)).to.equal(ethers.MaxUint256);
        expect(await pool.maxMint(alice.address)).to.equal(ethers.MaxUint256);
        await pool.connect(alice).deposit(usdc(100), alice.address);
        expect(await pool.totalAssets()).to.equal(usdc(1_000));
      });

      it("zero maxWithdraw and maxRedeem while withdrawals are paused, leaving deposits open", async function () {
        const { pool, guardian, admin, guardianSigner, alice, bob } =
          await loadFixture(withRequirementFixture);
        await guardian.connect(guardianSigner).pauseAction(Action.Withdraw);
        expect(await pool.maxWithdraw(alice.address)).to.equal(0n);
        expect(await pool.maxRedeem(alice.address)).to.equal(0n);
        expect(await pool.maxDeposit(bob.address)).to.equal(ethers.MaxUint256);
        await pool.connect(bob).deposit(usdc(100), bob.address);
        expect(await pool.totalAssets()).to.equal(usdc(1_100));

        await guardian.connect(admin).unpauseAction(Action.Withdraw);
        expect(await pool.maxWithdraw(alice.address)).to.equal(usdc(1_000));
        expect(await pool.maxRedeem(alice.address)).to.equal(await pool.balanceOf(alice.address));
        await pool.connect(alice).redeem(await pool.balanceOf(alice.address), alice.address, alice.address);
        expect(await pool.balanceOf(alice.address)).to.equal(0n);
      });

      it("zero every max view under the global pause", async function () {
        const { pool, guardian, guardianSigner, alice } = await loadFixture(withRequirementFixture);
        await guardian.connect(guardianSigner).pauseAll();
        expect(await pool.maxDeposit(alice.address)).to.equal(0n);
        expect(await pool.maxMint(alice.address)).to.equal(0n);
        expect(await pool.maxWithdraw(alice.address)).to.equal(0n);
        expect(await pool.maxRedeem(alice.address)).to.equal(0n);
      });

      it("ignore market pauses and other actions", async function () {
        const { pool, guardian, guardianSigner, alice } = await loadFixture(withRequirementFixture);
        const g = guardian.connect(guardianSigner);
        await g.pauseMarket(1);
        for (const action of [Action.Open, Action.Close, Action.Rebalance, Action.Liquidate]) {
          await g.pauseAction(action);
        }
        expect(await pool.maxDeposit(alice.address)).to.equal(ethers.MaxUint256);
        expect(await pool.maxWithdraw(alice.address)).to.equal(usdc(1_000));
        await pool.connect(alice).deposit(usdc(1), alice.address);
        await pool.connect(alice).withdraw(usdc(1), alice.address, alice.address);
        expect(await pool.totalAssets()).to.equal(usdc(1_000));
      });
    });

    describe("withdrawal limit", function () {
      it("freeLiquidity is totalAssets minus the required liquidity, floored at 0", async function () {
        const { pool, requirement, alice, bob } = await loadFixture(withRequirementFixture);
        await pool.connect(bob).fundInsurance(usdc(300));
        expect(await pool.freeLiquidity()).to.equal(usdc(1_000));
        await requirement.setRequiredLiquidity(usdc(600));
        expect(await pool.freeLiquidity()).to.equal(usdc(400));
        await requirement.setRequiredLiquidity(usdc(1_000));
        expect(await pool.freeLiquidity()).to.equal(0n);
        await requirement.setRequiredLiquidity(usdc(5_000));
        expect(await pool.freeLiquidity()).to.equal(0n);
        expect(await pool.maxWithdraw(alice.address)).to.equal(0n);
      });

      it("maxWithdraw is the smaller of the position and the free liquidity", async function () {
        const { pool, requirement, alice, bob } = await loadFixture(withRequirementFixture);
        await pool.connect(bob).deposit(usdc(100), bob.address);
        await requirement.setRequiredLiquidity(usdc(600));
        expect(await pool.freeLiquidity()).to.equal(usdc(500));
        expect(await pool.maxWithdraw(alice.address)).to.equal(usdc(500));
        expect(await pool.maxWithdraw(bob.address)).to.equal(usdc(100));
        expect(await pool.maxRedeem(bob.address)).to.equal(await pool.balanceOf(bob.address));
        expect(await pool.maxRedeem(alice.address)).to.be.lessThan(await pool.balanceOf(alice.address));
      });

      it("lets LPs withdraw down to the required liquidity and no further", async function () {
        const { token, pool, requirement, alice } = await loadFixture(withRequirementFixture);
        await requirement.setRequiredLiquidity(usdc(600));
        await expect(
          pool.connect(alice).withdraw(usdc(400), alice.address, alice.address),
        ).to.changeTokenBalances(token, [pool, alice], [-usdc(400), usdc(400)]);
        expect(await pool.totalAssets()).to.equal(usdc(600));
        expect(await pool.freeLiquidity()).to.equal(0n);
        expect(await pool.maxWithdraw(alice.address)).to.equal(0n);
        expect(await pool.maxRedeem(alice.address)).to.equal(0n);
        await expect(pool.connect(alice).withdraw(1n, alice.address, alice.address))
          .to.be.revertedWithCustomError(pool, "ERC4626ExceededMaxWithdraw")
          .withArgs(alice.address, 1n, 0n);

        await requirement.setRequiredLiquidity(usdc(100));
        expect(await pool.maxWithdraw(alice.address)).to.equal(usdc(500));
      });

      it("redeeming maxRedeem pays no more than the free liquidity", async function () {
        const { token, pool, requirement, engine, alice } = await loadFixture(withRequirementFixture);
        // Make the share price uneven so conversions round.
        await token.connect(engine).transfer(await pool.getAddress(), 333_333n);
        await requirement.setRequiredLiquidity(usdc(600) + 7n);
        const free = await pool.freeLiquidity();
        expect(await pool.maxWithdraw(alice.address)).to.equal(free);
        const maxShares = await pool.maxRedeem(alice.address);
        const assetsOut = await pool.previewRedeem(maxShares);
        expect(assetsOut).to.be.at.most(free);
        expect(free - assetsOut).to.be.at.most(1n);
        await expect(
          pool.connect(alice).redeem(maxShares, alice.address, alice.address),
        ).to.changeTokenBalance(token, alice, assetsOut);
        expect(await pool.totalAssets()).to.be.at.least(usdc(600) + 7n);
      });
    });

    describe("first-depositor inflation attack", function () {
      it("costs the attacker about half the donation and the victim a negligible amount", async function () {
        const { token, pool, bob: attacker, carol: victim } = await loadFixture(deployFixture);
        const poolAddress = await pool.getAddress();
        const donation = usdc(10_000);
        const deposit = usdc(10_000);

        await pool.connect(attacker).deposit(1n, attacker.address);
        expect(await pool.balanceOf(attacker.address)).to.equal(VIRTUAL_SHARES);
        await token.connect(attacker).transfer(poolAddress, donation);

        await pool.connect(victim).deposit(deposit, victim.address);
        const victimShares = await pool.balanceOf(victim.address);
        expect(victimShares).to.be.greaterThan(0n);

        await pool.connect(victim).redeem(victimShares, victim.address, victim.address);
        const victimLoss = STARTING_BALANCE - (await token.balanceOf(victim.address));
        // Less than one part per million of the deposit (0.01 USDC on 10,000 USDC).
        expect(victimLoss).to.be.at.most(deposit / 1_000_000n);

        await pool
          .connect(attacker)
          .redeem(await pool.balanceOf(attacker.address), attacker.address, attacker.address);
        const attackerLoss = STARTING_BALANCE - (await token.balanceOf(attacker.address));
        expect(attackerLoss).to.be.greaterThan(donation / 3n);
      });

      it("bounds the victim's loss by one share even against a donation far above the deposit", async function () {
        const { token, pool, bob: attacker, carol: victim } = await loadFixture(deployFixture);
        const donation = usdc(10_000_000);
        const deposit = usdc(1_000);

        await pool.connect(attacker).deposit(1n, attacker.address);
        await token.connect(attacker).transfer(await pool.getAddress(), donation);
        await pool.connect(victim).deposit(deposit, victim.address);
        const victimAssets = await pool.previewRedeem(await pool.balanceOf(victim.address));
        // One share is worth about donation / (2 * 10**6) = 5 USDC here; the attacker pays 10,000,000 for it.
        expect(deposit - victimAssets).to.be.at.most(donation / VIRTUAL_SHARES);
        expect(victimAssets).to.be.at.least((deposit * 99n) / 100n);
      });

      it("refuses a deposit that would mint zero shares instead of taking it as a gift", async function () {
        const { token, pool, bob: attacker, carol: victim } = await loadFixture(deployFixture);
        await pool.connect(attacker).deposit(1n, attacker.address);
        await token.connect(attacker).transfer(await pool.getAddress(), usdc(1_000_000));
        expect(await pool.previewDeposit(1n)).to.equal(0n);
        await expect(pool.connect(victim).deposit(1n, victim.address)).to.be.revertedWithCustomError(
          pool,
          "LiquidityPoolZeroAmount",
        );
      });
    });
  });

  describe("marking open trader PnL", function () {
    it("subtracts a profit traders are owed and adds a loss they owe, in token units", async function () {
      const { pool, engineDouble } = await loadFixture(withEngineFixture);
      expect(await pool.totalAssets()).to.equal(usdc(1_000));
      await engineDouble.setTraderPnl(ethers.parseEther("250.0000001"), true); // owed: rounded up
      expect(await pool.cashAssets()).to.equal(usdc(1_000));
      expect(await pool.totalAssets()).to.equal(usdc(1_000) - usdc("250.000001"));
      await engineDouble.setTraderPnl(-ethers.parseEther("250.0000009"), true); // owed to the pool: down
      expect(await pool.totalAssets()).to.equal(usdc(1_000) + usdc(250));
      await engineDouble.setTraderPnl(ethers.parseEther("5000"), true); // more than the pool holds
      expect(await pool.totalAssets()).to.equal(0n);
    });

    it("refuses deposits while its marked assets are 0, so nobody pays what it owes", async function () {
      const { pool, engineDouble, bob } = await loadFixture(withEngineFixture);
      await engineDouble.setTraderPnl(ethers.parseEther("1000"), true); // owes exactly its cash
      expect(await pool.totalAssets()).to.equal(0n);
      expect(await pool.maxDeposit(bob.address)).to.equal(0n);
      expect(await pool.maxMint(bob.address)).to.equal(0n);
      await expect(pool.connect(bob).deposit(usdc(100), bob.address)).to.be.revertedWithCustomError(
        pool,
        "LiquidityPoolInsolvent",
      );
      await expect(pool.connect(bob).mint(10n ** 6n, bob.address)).to.be.revertedWithCustomError(
        pool,
        "LiquidityPoolInsolvent",
      );
      await engineDouble.setTraderPnl(ethers.parseEther("999.999999"), true); // one unit left
      await expect(pool.connect(bob).deposit(usdc(100), bob.address)).to.emit(pool, "Deposit");
    });

    it("prices shares at the marked assets", async function () {
      const { pool, engineDouble, bob } = await loadFixture(withEngineFixture);
      await engineDouble.setTraderPnl(ethers.parseEther("500"), true); // half the pool is owed
      const shares = await pool.previewDeposit(usdc(500));
      await pool.connect(bob).deposit(usdc(500), bob.address);
      expect(await pool.balanceOf(bob.address)).to.equal(shares);
      // 500 marked assets held by alice's 1e9 shares: bob's 500 buys about as many again.
      expect(shares).to.be.closeTo(usdc(1_000) * VIRTUAL_SHARES, VIRTUAL_SHARES * 2n);
    });

    it("never frees more than its cash when traders owe it", async function () {
      const { pool, engineDouble, alice } = await loadFixture(withEngineFixture);
      await engineDouble.setTraderPnl(-ethers.parseEther("1000"), true);
      expect(await pool.totalAssets()).to.equal(usdc(2_000));
      expect(await pool.freeLiquidity()).to.equal(usdc(1_000));
      expect(await pool.maxWithdraw(alice.address)).to.equal(usdc(1_000));
      await engineDouble.setRequiredLiquidity(usdc(400));
      expect(await pool.freeLiquidity()).to.equal(usdc(600));
    });

    it("refuses entries and exits without Ok prices, and its max views answer 0", async function () {
      const { pool, engineDouble, alice, bob } = await loadFixture(withEngineFixture);
      await engineDouble.setTraderPnl(ethers.parseEther("100"), false);
      expect(await pool.totalAssets()).to.equal(usdc(900)); // the views still answer
      for (const view of [pool.maxDeposit(bob.address), pool.maxMint(bob.address)])
        expect(await view).to.equal(0n);
      for (const view of [pool.maxWithdraw(alice.address), pool.maxRedeem(alice.address)])
        expect(await view).to.equal(0n);
      await expect(pool.connect(bob).deposit(usdc(1), bob.address)).to.be.revertedWithCustomError(
        pool,
        "LiquidityPoolBadPrice",
      );
      await expect(pool.connect(bob).mint(10n ** 6n, bob.address)).to.be.revertedWithCustomError(
        pool,
        "LiquidityPoolBadPrice",
      );
      await expect(
        pool.connect(alice).withdraw(usdc(1), alice.address, alice.address),
      ).to.be.revertedWithCustomError(pool, "LiquidityPoolBadPrice");
      await expect(
        pool.connect(alice).redeem(10n ** 6n, alice.address, alice.address),
      ).to.be.revertedWithCustomError(pool, "LiquidityPoolBadPrice");
      await engineDouble.setTraderPnl(ethers.parseEther("100"), true);
      await expect(pool.connect(bob).deposit(usdc(1), bob.address)).to.emit(pool, "Deposit");
    });

    it("refuses a token with more than 18 decimals", async function () {
      const { guardian } = await loadFixture(deployFixture);
      // Any contract answering `decimals()` with 19 stands in for such a token (a Chainlink mock here).
      const wide = await ethers.deployContract("MockV3Aggregator", [19, 1]);
      const factory = await ethers.getContractFactory("LiquidityPool");
      await expect(
        ethers.deployContract("LiquidityPool", [
          await wide.getAddress(),
          await guardian.getAddress(),
          "x",
          "x",
        ]),
      )
        .to.be.revertedWithCustomError(factory, "LiquidityPoolUnsupportedDecimals")
        .withArgs(19);
    });
  });
});
