import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";

import { PauseGuardian } from "../../typechain-types";

/** Mirrors `IPauseGuardian.Action`. */
const Action = { Open: 0, Close: 1, Deposit: 2, Withdraw: 3, Rebalance: 4, Liquidate: 5 } as const;
const ALL_ACTIONS = Object.values(Action);
const DEFAULT_ADMIN_ROLE = ethers.ZeroHash;
const GUARDIAN_ROLE = ethers.id("GUARDIAN_ROLE");
const RISK_ADMIN_ROLE = ethers.id("RISK_ADMIN_ROLE");
const MARKET = 7n;
const OTHER_MARKET = 8n;

describe("PauseGuardian", function () {
  async function deployFixture() {
    const [admin, guardianSigner, riskAdmin, alice] = await ethers.getSigners();
    const guardian: PauseGuardian = await ethers.deployContract("PauseGuardian", [
      admin.address,
      guardianSigner.address,
      riskAdmin.address,
    ]);
    return { guardian, admin, guardianSigner, riskAdmin, alice };
  }

  /** Every (market, action) pair over market 0, MARKET and OTHER_MARKET. */
  async function pausedMatrix(guardian: PauseGuardian): Promise<Map<string, boolean>> {
    const result = new Map<string, boolean>();
    for (const market of [0n, MARKET, OTHER_MARKET]) {
      for (const action of ALL_ACTIONS) {
        result.set(`${market}:${action}`, await guardian.isPaused(market, action));
      }
    }
    return result;
  }

  describe("deployment", function () {
    it("grants each role to its holder only", async function () {
      const { guardian, admin, guardianSigner, riskAdmin, alice } = await loadFixture(deployFixture);
      expect(await guardian.hasRole(DEFAULT_ADMIN_ROLE, admin.address)).to.equal(true);
      expect(await guardian.hasRole(GUARDIAN_ROLE, guardianSigner.address)).to.equal(true);
      expect(await guardian.hasRole(RISK_ADMIN_ROLE, riskAdmin.address)).to.equal(true);
      expect(await guardian.hasRole(DEFAULT_ADMIN_ROLE, guardianSigner.address)).to.equal(false);
      expect(await guardian.hasRole(DEFAULT_ADMIN_ROLE, riskAdmin.address)).to.equal(false);
      expect(await guardian.hasRole(GUARDIAN_ROLE, admin.address)).to.equal(false);
      expect(await guardian.hasRole(GUARDIAN_ROLE, alice.address)).to.equal(false);
    });

    it("exposes the role identifiers", async function () {
      const { guardian } = await loadFixture(deployFixture);
      expect(await guardian.GUARDIAN_ROLE()).to.equal(GUARDIAN_ROLE);
      expect(await guardian.RISK_ADMIN_ROLE()).to.equal(RISK_ADMIN_ROLE);
      expect(await guardian.DEFAULT_ADMIN_ROLE()).to.equal(DEFAULT_ADMIN_ROLE);
    });

    it("starts with nothing paused", async function () {
      const { guardian } = await loadFixture(deployFixture);
      expect(await guardian.globalPaused()).to.equal(false);
      expect(await guardian.marketPaused(MARKET)).to.equal(false);
      for (const action of ALL_ACTIONS) expect(await guardian.actionPaused(action)).to.equal(false);
      for (const paused of (await pausedMatrix(guardian)).values()) expect(paused).to.equal(false);
    });
  });

  describe("validations", function () {
    it("rejects a zero admin, guardian or risk admin", async function () {
      const [a, b, c] = await ethers.getSigners();
      const factory = await ethers.getContractFactory("PauseGuardian");
      const zero = ethers.ZeroAddress;
      for (const args of [
        [zero, b.address, c.address],
        [a.address, zero, c.address],
        [a.address, b.address, zero],
      ] as const) {
        await expect(factory.deploy(...args)).to.be.revertedWithCustomError(
          factory,
          "PauseGuardianZeroAddress",
        );
      }
    });

    it("lets neither the risk admin nor an outsider pause", async function () {
      const { guardian, riskAdmin, alice } = await loadFixture(deployFixture);
      for (const caller of [riskAdmin, alice]) {
        await expect(guardian.connect(caller).pauseAll())
          .to.be.revertedWithCustomError(guardian, "PauseGuardianNotGuardian")
          .withArgs(caller.address);
        await expect(guardian.connect(caller).pauseMarket(MARKET))
          .to.be.revertedWithCustomError(guardian, "PauseGuardianNotGuardian")
          .withArgs(caller.address);
        await expect(guardian.connect(caller).pauseAction(Action.Open))
          .to.be.revertedWithCustomError(guardian, "PauseGuardianNotGuardian")
          .withArgs(caller.address);
      }
    });

    it("lets the guardian pause but not unpause", async function () {
      const { guardian, guardianSigner } = await loadFixture(deployFixture);
      const g = guardian.connect(guardianSigner);
      await g.pauseAll();
      await g.pauseMarket(MARKET);
      await g.pauseAction(Action.Rebalance);
      await expect(g.unpauseAll())
        .to.be.revertedWithCustomError(guardian, "AccessControlUnauthorizedAccount")
        .withArgs(guardianSigner.address, DEFAULT_ADMIN_ROLE);
      await expect(g.unpauseMarket(MARKET))
        .to.be.revertedWithCustomError(guardian, "AccessControlUnauthorizedAccount")
        .withArgs(guardianSigner.address, DEFAULT_ADMIN_ROLE);
      await expect(g.unpauseAction(Action.Rebalance))
        .to.be.revertedWithCustomError(guardian, "AccessControlUnauthorizedAccount")
        .withArgs(guardianSigner.address, DEFAULT_ADMIN_ROLE);
      expect(await guardian.globalPaused()).to.equal(true);
      expect(await guardian.marketPaused(MARKET)).to.equal(true);
      expect(await guardian.actionPaused(Action.Rebalance)).to.equal(true);
    });

    it("lets only the admin grant roles", async function () {
      const { guardian, guardianSigner, alice } = await loadFixture(deployFixture);
      await expect(guardian.connect(guardianSigner).grantRole(GUARDIAN_ROLE, alice.address))
        .to.be.revertedWithCustomError(guardian, "AccessControlUnauthorizedAccount")
        .withArgs(guardianSigner.address, DEFAULT_ADMIN_ROLE);
    });

    it("refuses to pause market 0", async function () {
      const { guardian, admin, guardianSigner } = await loadFixture(deployFixture);
      for (const caller of [admin, guardianSigner]) {
        await expect(guardian.connect(caller).pauseMarket(0))
          .to.be.revertedWithCustomError(guardian, "PauseGuardianInvalidMarket")
          .withArgs(0);
      }
    });

    it("refuses a pause or unpause that changes nothing", async function () {
      const { guardian, admin, guardianSigner } = await loadFixture(deployFixture);
      await expect(guardian.connect(admin).unpauseAll()).to.be.revertedWithCustomError(
        guardian,
        "PauseGuardianNoChange",
      );
      await expect(guardian.connect(admin).unpauseMarket(MARKET)).to.be.revertedWithCustomError(
        guardian,
        "PauseGuardianNoChange",
      );
      await expect(guardian.connect(admin).unpauseAction(Action.Close)).to.be.revertedWithCustomError(
        guardian,
        "PauseGuardianNoChange",
      );

      const g = guardian.connect(guardianSigner);
      await g.pauseAll();
      await g.pauseMarket(MARKET);
      await g.pauseAction(Action.Close);
      await expect(g.pauseAll()).to.be.revertedWithCustomError(guardian, "PauseGuardianNoChange");
      await expect(g.pauseMarket(MARKET)).to.be.revertedWithCustomError(guardian, "PauseGuardianNoChange");
      await expect(g.pauseAction(Action.Close)).to.be.revertedWithCustomError(
        guardian,
        "PauseGuardianNoChange",
      );
    });
  });

  describe("events", function () {
    it("emits GlobalPaused and GlobalUnpaused with the caller", async function () {
      const { guardian, admin, guardianSigner } = await loadFixture(deployFixture);
      await expect(guardian.connect(guardianSigner).pauseAll())
        .to.emit(guardian, "GlobalPaused")
        .withArgs(guardianSigner.address);
      await expect(guardian.connect(admin).unpauseAll())
        .to.emit(guardian, "GlobalUnpaused")
        .withArgs(admin.address);
    });

    it("emits MarketPaused and MarketUnpaused with the market and the caller", async function () {
      const { guardian, admin, guardianSigner } = await loadFixture(deployFixture);
      await expect(guardian.connect(guardianSigner).pauseMarket(MARKET))
        .to.emit(guardian, "MarketPaused")
        .withArgs(MARKET, guardianSigner.address);
      await expect(guardian.connect(admin).unpauseMarket(MARKET))
        .to.emit(guardian, "MarketUnpaused")
        .withArgs(MARKET, admin.address);
    });

    it("emits ActionPaused and ActionUnpaused with the action and the caller", async function () {
      const { guardian, admin, guardianSigner } = await loadFixture(deployFixture);
      await expect(guardian.connect(guardianSigner).pauseAction(Action.Liquidate))
        .to.emit(guardian, "ActionPaused")
        .withArgs(Action.Liquidate, guardianSigner.address);
      await expect(guardian.connect(admin).unpauseAction(Action.Liquidate))
        .to.emit(guardian, "ActionUnpaused")
        .withArgs(Action.Liquidate, admin.address);
    });
  });

  describe("effects", function () {
    it("lets the admin both pause and unpause each flag", async function () {
      const { guardian, admin } = await loadFixture(deployFixture);
      const a = guardian.connect(admin);
      await a.pauseAll();
      await a.pauseMarket(MARKET);
      await a.pauseAction(Action.Open);
      expect(await guardian.globalPaused()).to.equal(true);
      expect(await guardian.marketPaused(MARKET)).to.equal(true);
      expect(await guardian.actionPaused(Action.Open)).to.equal(true);

      await a.unpauseAll();
      await a.unpauseMarket(MARKET);
      await a.unpauseAction(Action.Open);
      expect(await guardian.globalPaused()).to.equal(false);
      expect(await guardian.marketPaused(MARKET)).to.equal(false);
      expect(await guardian.actionPaused(Action.Open)).to.equal(false);
      for (const paused of (await pausedMatrix(guardian)).values()) expect(paused).to.equal(false);
    });

    it("global pause pauses every action in every market, market 0 included", async function () {
      const { guardian, guardianSigner } = await loadFixture(deployFixture);
      await guardian.connect(guardianSigner).pauseAll();
      for (const paused of (await pausedMatrix(guardian)).values()) expect(paused).to.equal(true);
      expect(await guardian.marketPaused(MARKET)).to.equal(false);
      for (const action of ALL_ACTIONS) expect(await guardian.actionPaused(action)).to.equal(false);
    });

    it("market pause pauses every action in that market only, and never market 0", async function () {
      const { guardian, guardianSigner } = await loadFixture(deployFixture);
      await guardian.connect(guardianSigner).pauseMarket(MARKET);
      for (const action of ALL_ACTIONS) {
        expect(await guardian.isPaused(MARKET, action)).to.equal(true);
        expect(await guardian.isPaused(OTHER_MARKET, action)).to.equal(false);
        expect(await guardian.isPaused(0, action)).to.equal(false);
      }
      expect(await guardian.globalPaused()).to.equal(false);
    });

    it("action pause pauses that action in every market, market 0 included", async function () {
      const { guardian, guardianSigner } = await loadFixture(deployFixture);
      await guardian.connect(guardianSigner).pauseAction(Action.Withdraw);
      for (const [key, paused] of await pausedMatrix(guardian)) {
        const action = Number(key.split(":")[1]);
        expect(paused, key).to.equal(action === Action.Withdraw);
      }
    });

    it("combines flags: lifting one leaves the others in force", async function () {
      const { guardian, admin, guardianSigner } = await loadFixture(deployFixture);
      const g = guardian.connect(guardianSigner);
      await g.pauseAll();
      await g.pauseMarket(MARKET);
      await g.pauseAction(Action.Deposit);

      await guardian.connect(admin).unpauseAll();
      expect(await guardian.isPaused(MARKET, Action.Open)).to.equal(true);
      expect(await guardian.isPaused(OTHER_MARKET, Action.Open)).to.equal(false);
      expect(await guardian.isPaused(OTHER_MARKET, Action.Deposit)).to.equal(true);
      expect(await guardian.isPaused(0, Action.Deposit)).to.equal(true);
      expect(await guardian.isPaused(0, Action.Open)).to.equal(false);

      await guardian.connect(admin).unpauseAction(Action.Deposit);
      expect(await guardian.isPaused(0, Action.Deposit)).to.equal(false);
      expect(await guardian.isPaused(MARKET, Action.Deposit)).to.equal(true);

      await guardian.connect(admin).unpauseMarket(MARKET);
      for (const paused of (await pausedMatrix(guardian)).values()) expect(paused).to.equal(false);
    });

    it("follows role changes: a new guardian can pause, a revoked one cannot", async function () {
      const { guardian, admin, guardianSigner, alice } = await loadFixture(deployFixture);
      await guardian.connect(admin).grantRole(GUARDIAN_ROLE, alice.address);
      await guardian.connect(admin).revokeRole(GUARDIAN_ROLE, guardianSigner.address);
      await expect(guardian.connect(guardianSigner).pauseAll())
        .to.be.revertedWithCustomError(guardian, "PauseGuardianNotGuardian")
        .withArgs(guardianSigner.address);
      await guardian.connect(alice).pauseAll();
      expect(await guardian.globalPaused()).to.equal(true);
    });
  });
});
