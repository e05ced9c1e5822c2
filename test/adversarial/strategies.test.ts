import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { AbiCoder, parseEther, type Result } from "ethers";
import {
  BTC_MARKET,
  ETH_MARKET,
  deployFunded,
  expectConservation,
  movePrice,
  standardPolicy,
  usdc,
  trade,
} from "../helpers/fixtures";
import type { HostileStrategy, ScriptedStrategy } from "../../typechain-types";
import { ledger, own, selectorOf } from "./helpers";

/**
 * Threat: a strategy is external code. An unapproved one must be refused at `setPolicy`; an approved
 * one that turns malicious (or is simply wrong) can only propose a plan, which the engine simulates and
 * refuses unless it is safe: "a harmful strategy can therefore do no worse than nothing". Each refused
 * plan must leave every balance and position as it was, must not be offered to keepers by
 * `keeperAction`, and is skipped by `performUpkeep` without paying anyone.
 */

const PlanError = {
  TargetBelowPolicy: 0,
  TargetTooHigh: 1,
  TopUpNotAllowed: 2,
  TopUpExceedsReserve: 3,
  DeleverageNotAllowed: 4,
  InvalidClose: 5,
  DeleverageCapExceeded: 6,
  StepLowersHealth: 7,
  Overshoot: 8,
  Undershoot: 9,
  NoImprovement: 10,
  SweepNotAllowed: 11,
  SweepTooLarge: 12,
  LossExceedsMargin: 13,
};
const coder = AbiCoder.defaultAbiCoder();
const perform = (r: string[]) =>
  coder.encode(["address[]", "address[]", "address[]"], [r, [] as string[], [] as string[]]);
const eth = (x: string) => parseEther(x);

/**
 * ETH at 2,060. Alice (10 ETH long at 3,000, 10,000 margin, 5,000 reserve, health ≈ 1.42) names the
 * scripted strategy; carol, same book, names the threshold strategy (an honest neighbour in batches).
 * Keeper reward 2 USDC.
 */
async function book() {
  const f = await deployFunded();
  const scripted: ScriptedStrategy = await ethers.deployContract("ScriptedStrategy");
  const hostile: HostileStrategy = await ethers.deployContract("HostileStrategy");
  await f.engine.setStrategyApproval(scripted, true);
  await f.engine.setStrategyApproval(hostile, true);
  await f.engine.connect(f.riskAdmin).setKeeperReward(usdc(2));
  for (const s of [f.alice, f.carol]) {
    await f.vault.connect(s).depositMargin(s.address, usdc(10_000));
    await f.vault.connect(s).depositReserve(s.address, usdc(5_000));
    await trade(f, s, ETH_MARKET, eth("10"));
  }
  const policy = standardPolicy(await scripted.getAddress());
  await f.engine.connect(f.alice).setPolicy(policy);
  await f.engine.connect(f.carol).setPolicy(standardPolicy(await f.thresholdStrategy.getAddress()));
  await movePrice(f.ethFeed, 2_060);
  return { ...f, scripted, hostile, policy };
}
type F = Awaited<ReturnType<typeof book>>;
const accounts = (f: F) => [f.alice.address, f.carol.address, f.keeper.address, f.lp.address];

/** The plan is refused with `reason` by `rebalance`, hidden by `keeperAction`, skipped by upkeeps. */
async function expectRefused(f: F, reason: number, keeperAction = 0n) {
  const before = await ledger(f, accounts(f));
  await expect(f.engine.connect(f.keeper).rebalance(f.alice.address), `reason ${reason}`)
    .to.be.revertedWithCustomError(f.engine, "MarginEngineInvalidPlan")
    .withArgs(reason);
  expect((await f.engine.keeperAction(f.alice.address)).action, "keeperAction").to.equal(keeperAction);
  await expect(f.keeperContract.connect(f.keeper).performUpkeep(perform([f.alice.address])))
    .to.emit(f.keeperContract, "AccountSkipped")
    .withArgs(f.alice.address, 0, selectorOf(f.engine, "MarginEngineInvalidPlan"))
    .and.to.emit(f.keeperContract, "UpkeepPerformed")
    .withArgs(f.keeper.address, 0, 0, 1, 0);
  expect(await ledger(f, accounts(f))).to.deep.equal(before);
}

describe("adversarial: malicious and broken strategies", () => {
  it("refuses a policy naming an unapproved (or revoked) strategy", async () => {
    const f = await loadFixture(book);
    const rogue = await ethers.deployContract("ScriptedStrategy");
    const rogueAddress = await rogue.getAddress();
    await expect(f.engine.connect(f.bob).setPolicy(standardPolicy(rogueAddress)))
      .to.be.revertedWithCustomError(f.engine, "MarginEngineStrategyNotApproved")
      .withArgs(rogueAddress);
    // Revoking an approved strategy stops rebalances of accounts that already name it.
    await f.scripted.setPlan(eth("2"), usdc(241), [], 0);
    await f.engine.setStrategyApproval(f.scripted, false);
    const scripted = await f.scripted.getAddress();
    await expect(f.engine.connect(f.bob).setPolicy(standardPolicy(scripted)))
      .to.be.revertedWithCustomError(f.engine, "MarginEngineStrategyNotApproved")
      .withArgs(scripted);
    await expect(f.engine.connect(f.keeper).rebalance(f.alice.address))
      .to.be.revertedWithCustomError(f.engine, "MarginEngineStrategyNotApproved")
      .withArgs(scripted);
    expect((await f.engine.keeperAction(f.alice.address)).action).to.equal(0n);
  });

  describe("harmful plans from an approved strategy", () => {
    const cases: [string, bigint, bigint, { index: number; sizeWad: bigint }[], bigint, number][] = [
      [
        "over-close split over two steps",
        eth("2"),
        0n,
        [
          { index: 0, sizeWad: eth("6") },
          { index: 0, sizeWad: eth("5") },
        ],
        0n,
        PlanError.InvalidClose,
      ],
      [
        "close a market the account does not hold",
        eth("2"),
        0n,
        [{ index: 1, sizeWad: eth("1") }],
        0n,
        PlanError.InvalidClose,
      ],
      [
        "increase the position (negative close)",
        eth("2"),
        0n,
        [{ index: 0, sizeWad: eth("-5") }],
        0n,
        PlanError.InvalidClose,
      ],
      [
        "flip the long into a short",
        eth("2"),
        0n,
        [{ index: 0, sizeWad: eth("15") }],
        0n,
        PlanError.InvalidClose,
      ],
      ["zero-size close step", eth("2"), usdc(241), [{ index: 0, sizeWad: 0n }], 0n, PlanError.InvalidClose],
      ["top up more than the reserve", eth("2"), usdc(5_000) + 1n, [], 0n, PlanError.TopUpExceedsReserve],
      ["overshoot the target with the reserve", eth("2"), usdc(5_000), [], 0n, PlanError.Overshoot],
      [
        "close out an account far above dust size",
        eth("2"),
        0n,
        [{ index: 0, sizeWad: eth("10") }],
        0n,
        PlanError.Overshoot,
      ],
      ["aim below the owner's target", eth("1.99"), usdc(233), [], 0n, PlanError.TargetBelowPolicy],
      ["aim at an absurd target", eth("21"), usdc(5_000), [], 0n, PlanError.TargetTooHigh],
      ["do too little while means are left", eth("2"), usdc(100), [], 0n, PlanError.Undershoot],
      ["sweep margin out of an unhealthy account", eth("2"), 0n, [], usdc(100), PlanError.SweepNotAllowed],
      ["sweep and top up at once", eth("2"), usdc(241), [], usdc(1), PlanError.SweepNotAllowed],
    ];
    for (const [name, target, topUp, closes, sweep, reason] of cases) {
      it(`refuses: ${name}`, async () => {
        const f = await loadFixture(book);
        await f.scripted.setPlan(target, topUp, closes, sweep);
        await expectRefused(f, reason);
      });
    }

    it("refuses a close that lowers health, even behind a helpful top-up", async () => {
      const f = await loadFixture(book);
      // At 2,002 health ≈ 0.0125; a 2 USDC top-up lifts it to ≈ 0.0175, still below fee/mmr = 0.025,
      // where every close costs more equity in fee than it frees in requirement.
      await movePrice(f.ethFeed, 2_002);
      await f.scripted.setPlan(eth("2"), usdc(2), [{ index: 0, sizeWad: eth("0.1") }], 0n);
      await expectRefused(f, PlanError.StepLowersHealth, 2n); // the keeper is pointed at liquidation instead
    });

    it("ignores the owner's refusal of top-ups or deleverage at its peril", async () => {
      const f = await loadFixture(book);
      await f.engine.connect(f.alice).setPolicy({ ...f.policy, allowTopUp: false });
      await f.scripted.setPlan(eth("2"), usdc(241), [], 0n);
      await expectRefused(f, PlanError.TopUpNotAllowed);
      await f.engine.connect(f.alice).setPolicy({ ...f.policy, allowDeleverage: false });
      await f.scripted.setPlan(eth("2"), 0n, [{ index: 0, sizeWad: eth("3") }], 0n);
      await expectRefused(f, PlanError.DeleverageNotAllowed);
    });

    it("cannot raise the keeper's pay: the reward is min(engine reward, owner's cap), whatever the plan", async () => {
      const f = await loadFixture(book);
      await f.engine.connect(f.riskAdmin).setKeeperReward(usdc(100));
      await f.scripted.setPlan(eth("2"), usdc(244), [], 0n);
      const margin = await f.vault.marginOf(f.alice.address);
      const reserve = await f.vault.reserveOf(f.alice.address);
      await expect(f.engine.connect(f.keeper).rebalance(f.alice.address))
        .to.emit(f.engine, "Rebalanced")
        .withArgs(
          f.alice.address,
          f.keeper.address,
          (x: bigint) => x > 0n,
          (x: bigint) => x >= eth("2"),
          usdc(244),
          0,
          0,
          usdc(5),
        );
      expect(await f.vault.marginOf(f.keeper.address)).to.equal(usdc(5));
      expect(await f.vault.marginOf(f.alice.address)).to.equal(margin + usdc(244) - usdc(5));
      expect(await f.vault.reserveOf(f.alice.address)).to.equal(reserve - usdc(244));
      await expectConservation(f, accounts(f));
    });
    it("refuses a close whose net loss the margin cannot pay, even when a later close would cover it", async () => {
      // Each close settles on its own (CloseMath): margin never goes negative between steps, so a plan
      // cannot borrow a later step's gain to realise a loss the account could not pay.
      const f = await loadFixture(book);
      await f.vault.connect(f.bob).depositMargin(f.bob.address, usdc(6_000));
      await trade(f, f.bob, ETH_MARKET, eth("10")); // long at 2,060
      await trade(f, f.bob, BTC_MARKET, eth("-0.5")); // short at 60,000
      await f.engine.connect(f.bob).setPolicy(standardPolicy(await f.scripted.getAddress()));
      await movePrice(f.ethFeed, 1_400); // the long loses 6,600 > 6,000 of margin
      await movePrice(f.btcFeed, 45_000); // the short gains 7,500
      const margin = await f.vault.marginOf(f.bob.address);
      expect(margin).to.be.lessThan(usdc(6_600));
      await f.scripted.setPlan(
        eth("2"),
        0n,
        [
          { index: 0, sizeWad: eth("10") },
          { index: 1, sizeWad: eth("-0.5") },
        ],
        0n,
      );
      await expect(f.engine.connect(f.keeper).rebalance(f.bob.address))
        .to.be.revertedWithCustomError(f.engine, "MarginEngineInvalidPlan")
        .withArgs(PlanError.LossExceedsMargin);
      expect((await f.engine.keeperAction(f.bob.address)).action).to.equal(0n);
      // The same closes in the other order settle the gain first: the loss is then paid step by step.
      const snapshot = (
        (await f.engine.accountSnapshot(f.bob.address)).snapshot as unknown as Result
      ).toObject(true);
      const harness = await ethers.deployContract("RebalanceCheckHarness");
      const [ok, err] = await harness.check(snapshot as Parameters<typeof harness.check>[0], {
        targetHealthWad: eth("2"),
        topUpTokens: 0n,
        closes: [
          { index: 1, sizeWad: eth("-0.5") },
          { index: 0, sizeWad: eth("10") },
        ],
        sweepTokens: 0n,
      });
      expect(err, "not refused for the loss").to.not.equal(BigInt(PlanError.LossExceedsMargin));
      expect(ok).to.equal(false); // a close-out of an account this large overshoots any target
      expect(err).to.equal(BigInt(PlanError.Overshoot));
    });
  });

  describe("ABI-level misbehaviour", () => {
    it("bubbles a reverting strategy's error and skips the account in a batch", async () => {
      const f = await loadFixture(book);
      await f.scripted.setRevert(true);
      await expect(f.engine.connect(f.keeper).rebalance(f.alice.address)).to.be.revertedWithCustomError(
        f.scripted,
        "ScriptedStrategyFailed",
      );
      expect((await f.engine.keeperAction(f.alice.address)).action).to.equal(0n);
      const before = own(await ledger(f, [f.alice.address]), f.alice.address);
      await expect(
        f.keeperContract.connect(f.keeper).performUpkeep(perform([f.alice.address, f.carol.address])),
      )
        .to.emit(f.keeperContract, "AccountSkipped")
        .withArgs(f.alice.address, 0, selectorOf(f.scripted, "ScriptedStrategyFailed"))
        .and.to.emit(f.engine, "Rebalanced");
      expect(own(await ledger(f, [f.alice.address]), f.alice.address)).to.deep.equal(before);
    });

    for (const [name, mode] of [
      ["return data one word long", 0],
      ["a plan offset outside the return data", 1],
      ["a closes length past the end of the data", 2],
      ["64 KiB of 0xff words", 4],
    ] as const) {
      it(`refuses malformed plan data (${name}) without executing anything; the batch goes on`, async () => {
        const f = await loadFixture(book);
        await f.engine.connect(f.alice).setPolicy(standardPolicy(await f.hostile.getAddress()));
        await f.hostile.setMode(mode);
        await expect(f.engine.connect(f.keeper).rebalance(f.alice.address)).to.be.revertedWithoutReason();
        // The scan leaves the account out instead of failing the page.
        const [needed, data] = await f.keeperContract.checkUpkeep(
          ethers.AbiCoder.defaultAbiCoder().encode(["uint256", "uint256"], [0, 100]),
        );
        const [toRebalance] = ethers.AbiCoder.defaultAbiCoder().decode(
          ["address[]", "address[]", "address[]"],
          data,
        );
        expect(needed).to.equal(true);
        expect(toRebalance).to.include(f.carol.address);
        expect(toRebalance).to.not.include(f.alice.address);
        const before = own(await ledger(f, [f.alice.address]), f.alice.address);
        const carolBefore = await f.vault.marginOf(f.carol.address);
        await expect(
          f.keeperContract.connect(f.keeper).performUpkeep(perform([f.alice.address, f.carol.address])),
        )
          .to.emit(f.keeperContract, "AccountSkipped")
          .withArgs(f.alice.address, 0, "0x00000000")
          .and.to.emit(f.keeperContract, "UpkeepPerformed")
          .withArgs(f.keeper.address, 1, 0, 1, usdc(2));
        expect(own(await ledger(f, [f.alice.address]), f.alice.address)).to.deep.equal(before);
        expect(await f.vault.marginOf(f.carol.address)).to.be.greaterThan(carolBefore);
        await expectConservation(f, accounts(f));
      });
    }
  });
});
