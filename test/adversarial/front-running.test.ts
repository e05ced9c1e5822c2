import { expect } from "chai";
import { ethers, network } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { anyValue } from "@nomicfoundation/hardhat-chai-matchers/withArgs";
import { parseEther, Signer } from "ethers";
import {
  ETH_MARKET,
  answer,
  deployFunded,
  expectConservation,
  orderIdOf,
  publishRound,
  standardPolicy,
  THRESHOLD_PLANNERS,
  thresholdStrategyOf,
  trade,
  usdc,
} from "../helpers/fixtures";
import type { Ballast } from "../helpers/fixtures";

/**
 * The outside review's front-running finding: trades used to fill at the latest Chainlink answer, and the
 * fee (5 bp) is far below the feed's deviation threshold, so a trader who saw the next round coming could
 * open before it and close after it (+1,199 USDC on 12,150 USDC of margin on one +0.5% round, paid by
 * LPs), or close before an adverse round. Trading now goes through two-step orders that fill only at the
 * first round published after the order; these tests replay the attack and its variants.
 */
describe("Adversarial: front-running a visible oracle round", () => {
  // The review's 12,150 (initial margin of 100 ETH at 3,000 plus the open fee) left no room for a fill at
  // a higher price: 12,150 would make the order below refused outright at 3,015 (initial margin 12,060 plus
  // fee). 150 more lets it fill, to show where.
  const MARGIN = usdc(12_300);
  const SIZE = parseEther("100");

  async function setup() {
    const f = await deployFunded();
    await f.vault.connect(f.alice).depositMargin(f.alice.address, MARGIN);
    return f;
  }

  /** Submits an order for `signer` (expiry in an hour unless given) and returns its id. */
  async function submit(
    f: Ballast,
    signer: Signer,
    sizeDeltaWad: bigint,
    opts: { acceptablePriceWad?: bigint; expiry?: bigint } = {},
  ) {
    const now = BigInt(await time.latest());
    const tx = await f.engine
      .connect(signer)
      .submitOrder(ETH_MARKET, sizeDeltaWad, opts.acceptablePriceWad ?? 0n, opts.expiry ?? now + 3_600n);
    return orderIdOf(f, tx);
  }

  /** Alice's margin change over the round trip, net of everything (token units). */
  const netOf = async (f: Ballast) => (await f.vault.marginOf(f.alice.address)) - MARGIN;

  it("an open submitted before a visible +0.5% round fills at that round's price: the round trip gains nothing", async () => {
    const f = await loadFixture(setup);
    // ETH is at 3,000; the +0.5% round (3,015) is visible. The attacker opens before it lands ...
    const open = await submit(f, f.alice, SIZE);
    // ... and cannot fill at the price it saw: nothing executes before a later round.
    const submittedAt = (await f.engine.pendingOrder(open)).submittedAt;
    await expect(f.engine.connect(f.keeper).executeOrder(open))
      .to.be.revertedWithCustomError(f.engine, "MarginEngineOrderAwaitingRound")
      .withArgs(open, submittedAt, anyTimeAtOrBefore(submittedAt));
    await f.ethFeed.updateAnswer(answer(3_015));
    await expect(f.engine.connect(f.keeper).executeOrder(open))
      .to.emit(f.engine, "OrderExecuted")
      .withArgs(open, f.alice.address, f.keeper.address, SIZE, parseEther("3015"));
    expect((await f.engine.position(f.alice.address, ETH_MARKET)).entryPriceWad).to.equal(parseEther("3015"));
    // It closes after the round: the close fills at the next round (same price), not before.
    await trade(f, f.alice, ETH_MARKET, 0n);
    expect((await f.engine.position(f.alice.address, ETH_MARKET)).sizeWad).to.equal(0n);
    // No PnL: two fees of 100 × 3,015 × 5 bp = 150.75 each.
    const net = await netOf(f);
    expect(net).to.equal(-usdc("301.5"));
    expect(net).to.be.lte(0n);
    await expectConservation(f, [f.alice.address]);
  });

  it("with the review's 12,150 of margin, the open submitted before the round is refused at the round's price", async () => {
    const f = await loadFixture(setup);
    await f.engine.connect(f.alice).withdrawMargin(MARGIN - usdc(12_150), f.alice.address);
    const open = await submit(f, f.alice, SIZE);
    await f.ethFeed.updateAnswer(answer(3_015));
    // Equity 12,150 − 150.75 fee against 12,060 of initial margin at 3,015.
    await expect(f.engine.connect(f.keeper).executeOrder(open))
      .to.be.revertedWithCustomError(f.engine, "MarginEngineInsufficientMargin")
      .withArgs(parseEther("11999.25"), parseEther("12060"));
    expect(await f.vault.marginOf(f.alice.address)).to.equal(usdc(12_150));
  });

  it("a close submitted before a visible adverse round fills at that round's price: the loss is not avoided", async () => {
    const f = await loadFixture(setup);
    await trade(f, f.alice, ETH_MARKET, SIZE); // long 100 at 3,000
    const close = await submit(f, f.alice, 0n); // close all, the −0.5% round (2,985) in sight
    await f.ethFeed.updateAnswer(answer(2_985));
    await expect(f.engine.connect(f.keeper).executeOrder(close))
      .to.emit(f.engine, "PositionModified")
      .withArgs(
        f.alice.address,
        ETH_MARKET,
        -SIZE,
        0n,
        parseEther("2985"),
        0n,
        parseEther("-1500"),
        usdc("149.25"),
      );
    // Open fee 150, loss 1,500, close fee 149.25.
    expect(await netOf(f)).to.equal(-usdc("1799.25"));
  });

  it("refuses an execution at the round current at submission, also one published in the same block", async () => {
    const f = await loadFixture(setup);
    const id = await submit(f, f.alice, SIZE);
    await expect(f.engine.connect(f.keeper).executeOrder(id)).to.be.revertedWithCustomError(
      f.engine,
      "MarginEngineOrderAwaitingRound",
    );
    await f.engine.connect(f.alice).cancelOrder(id);

    // The round and the order in one block, the round first (a trader racing a transmission it saw):
    // the round is not after the order.
    await network.provider.send("evm_setAutomine", [false]);
    let second: bigint;
    try {
      await f.ethFeed.updateAnswer(answer(3_015));
      const now = BigInt(await time.latest());
      const tx = await f.engine.connect(f.alice).submitOrder(ETH_MARKET, SIZE, 0n, now + 3_600n);
      await network.provider.send("evm_mine", []);
      second = await orderIdOf(f, tx);
    } finally {
      await network.provider.send("evm_setAutomine", [true]);
    }
    const order = await f.engine.pendingOrder(second);
    const [, , roundAt] = await f.ethFeed.latestRoundData();
    expect(roundAt).to.equal(order.submittedAt);
    await expect(f.engine.connect(f.keeper).executeOrder(second))
      .to.be.revertedWithCustomError(f.engine, "MarginEngineOrderAwaitingRound")
      .withArgs(second, order.submittedAt, roundAt);
    await publishRound(f, ETH_MARKET);
    await expect(f.engine.connect(f.keeper).executeOrder(second)).to.emit(f.engine, "OrderExecuted");
  });

  it("fills only at the first round after the order: an executor cannot wait for a better one", async () => {
    const f = await loadFixture(setup);
    const id = await submit(f, f.alice, SIZE);
    await publishRound(f, ETH_MARKET); // the first round after the order, at 3,000
    // The owner sees the next round coming and would walk away: it can no longer cancel.
    await expect(f.engine.connect(f.alice).cancelOrder(id))
      .to.be.revertedWithCustomError(f.engine, "MarginEngineOrderNotCancellable")
      .withArgs(id, f.alice.address);
    await f.ethFeed.updateAnswer(answer(3_015)); // a second round: the order lapsed
    const [, , firstAt] = await f.ethFeed.getRoundData((await f.ethFeed.latestRound()) - 1n);
    const order = await f.engine.pendingOrder(id);
    await expect(f.engine.connect(f.bob).executeOrder(id))
      .to.be.revertedWithCustomError(f.engine, "MarginEngineOrderRoundPassed")
      .withArgs(id, order.submittedAt, firstAt);
    // Anyone may clean it up.
    await expect(f.engine.connect(f.outsider).cancelOrder(id))
      .to.emit(f.engine, "OrderCancelled")
      .withArgs(id, f.alice.address, f.outsider.address);
    expect((await f.engine.pendingOrder(id)).account).to.equal(ethers.ZeroAddress);
  });

  it("a second account of the attacker executing its orders gains nothing", async () => {
    const f = await loadFixture(setup);
    const executor = f.bob; // the attacker's other account
    const bobBefore = await f.vault.marginOf(executor.address);
    const open = await submit(f, f.alice, SIZE);
    // Before the round: refused. After it: the fill is the round's price, whoever executes.
    await expect(f.engine.connect(executor).executeOrder(open)).to.be.revertedWithCustomError(
      f.engine,
      "MarginEngineOrderAwaitingRound",
    );
    await f.ethFeed.updateAnswer(answer(3_015));
    await expect(f.engine.connect(executor).executeOrder(open))
      .to.emit(f.engine, "OrderExecuted")
      .withArgs(open, f.alice.address, executor.address, SIZE, parseEther("3015"));
    const close = await submit(f, f.alice, 0n);
    await expect(f.engine.connect(executor).executeOrder(close)).to.be.revertedWithCustomError(
      f.engine,
      "MarginEngineOrderAwaitingRound",
    );
    await publishRound(f, ETH_MARKET);
    await f.engine.connect(executor).executeOrder(close);
    // No execution fee either way, and no PnL: the two accounts together lost the fees.
    expect(await f.vault.marginOf(executor.address)).to.equal(bobBefore);
    expect(await netOf(f)).to.equal(-usdc("301.5"));
  });

  for (const planner of THRESHOLD_PLANNERS) {
    it(`an owner cannot arrange a reduce at a price it has seen by setting a policy and rebalancing itself (${planner} threshold planner)`, async () => {
      const f = await loadFixture(setup);
      await trade(f, f.alice, ETH_MARKET, SIZE); // health ≈ 2.0 at 3,000
      // The −0.5% round is in sight: a policy that triggers at once, deleverage only, and its own rebalance.
      const policy = standardPolicy(await thresholdStrategyOf(f, planner), {
        triggerHealthWad: parseEther("2.5"),
        targetHealthWad: parseEther("3"),
        allowTopUp: false,
      });
      const receipt = await (await f.engine.connect(f.alice).setPolicy(policy)).wait();
      const setAt = BigInt((await receipt!.getBlock()).timestamp);
      const [, , roundAt] = await f.ethFeed.latestRoundData();
      expect((await f.engine.keeperAction(f.alice.address)).action).to.equal(0n); // not offered to keepers
      await expect(f.engine.connect(f.alice).rebalance(f.alice.address))
        .to.be.revertedWithCustomError(f.engine, "MarginEngineRoundNotAfterOwnerAction")
        .withArgs(f.alice.address, ETH_MARKET, roundAt, setAt);
      // Once the round lands, the deleverage fills at its price.
      await f.ethFeed.updateAnswer(answer(2_985));
      expect((await f.engine.keeperAction(f.alice.address)).action).to.equal(1n);
      await expect(f.engine.connect(f.keeper).rebalance(f.alice.address))
        .to.emit(f.engine, "PositionModified")
        .withArgs(
          f.alice.address,
          ETH_MARKET,
          anyNegative,
          anyValue,
          parseEther("2985"),
          anyValue,
          anyValue,
          anyValue,
        );
    });

    it(`a withdrawal that pushes health under the trigger cannot be followed by a rebalance at the same round (${planner} threshold planner)`, async () => {
      const f = await loadFixture(setup);
      await f.vault.connect(f.alice).depositMargin(f.alice.address, usdc(9_000));
      await trade(f, f.alice, ETH_MARKET, SIZE); // health ≈ 3.5
      await f.engine.connect(f.alice).setPolicy(
        standardPolicy(await thresholdStrategyOf(f, planner), {
          triggerHealthWad: parseEther("2.5"),
          targetHealthWad: parseEther("3"),
          allowTopUp: false,
        }),
      );
      await publishRound(f, ETH_MARKET); // the policy is old news
      await f.engine.connect(f.alice).withdrawMargin(usdc(8_000), f.alice.address); // health ≈ 2.3
      expect((await f.engine.keeperAction(f.alice.address)).action).to.equal(0n);
      await expect(f.engine.connect(f.alice).rebalance(f.alice.address)).to.be.revertedWithCustomError(
        f.engine,
        "MarginEngineRoundNotAfterOwnerAction",
      );
      await publishRound(f, ETH_MARKET);
      await expect(f.engine.connect(f.keeper).rebalance(f.alice.address)).to.emit(f.engine, "Rebalanced");
    });
  }

  it("checks the acceptable price on both sides", async () => {
    const f = await loadFixture(setup);
    const buy = await submit(f, f.alice, parseEther("10"), { acceptablePriceWad: parseEther("3010") });
    const okBuy = await submit(f, f.alice, parseEther("10"), { acceptablePriceWad: parseEther("3020") });
    const sell = await submit(f, f.alice, -parseEther("10"), { acceptablePriceWad: parseEther("3020") });
    await f.ethFeed.updateAnswer(answer(3_015));
    await expect(f.engine.connect(f.keeper).executeOrder(buy))
      .to.be.revertedWithCustomError(f.engine, "MarginEngineOrderPriceNotAcceptable")
      .withArgs(buy, parseEther("3015"), parseEther("3010"));
    await expect(f.engine.connect(f.keeper).executeOrder(sell))
      .to.be.revertedWithCustomError(f.engine, "MarginEngineOrderPriceNotAcceptable")
      .withArgs(sell, parseEther("3015"), parseEther("3020"));
    await expect(f.engine.connect(f.keeper).executeOrder(okBuy)).to.emit(f.engine, "OrderExecuted");
    // A sell at or above its limit fills.
    const okSell = await submit(f, f.alice, -parseEther("10"), { acceptablePriceWad: parseEther("3015") });
    await publishRound(f, ETH_MARKET);
    await f.engine.connect(f.keeper).executeOrder(okSell);
    expect((await f.engine.position(f.alice.address, ETH_MARKET)).sizeWad).to.equal(0n);
  });

  it("enforces the expiry, and lets anyone clean up an expired order", async () => {
    const f = await loadFixture(setup);
    const now = BigInt(await time.latest());
    for (const expiry of [now, now + 1n]) {
      // `now + 1` is the submission block's own timestamp: not in the future either.
      await expect(f.engine.connect(f.alice).submitOrder(ETH_MARKET, SIZE, 0n, expiry))
        .to.be.revertedWithCustomError(f.engine, "MarginEngineInvalidExpiry")
        .withArgs(expiry);
    }
    const id = await submit(f, f.alice, SIZE, { expiry: BigInt(await time.latest()) + 60n });
    await expect(f.engine.connect(f.outsider).cancelOrder(id))
      .to.be.revertedWithCustomError(f.engine, "MarginEngineOrderNotCancellable")
      .withArgs(id, f.outsider.address);
    await time.increase(120);
    await publishRound(f, ETH_MARKET);
    const expiry = (await f.engine.pendingOrder(id)).expiry;
    await expect(f.engine.connect(f.keeper).executeOrder(id))
      .to.be.revertedWithCustomError(f.engine, "MarginEngineOrderExpired")
      .withArgs(id, expiry);
    await expect(f.engine.connect(f.outsider).cancelOrder(id))
      .to.emit(f.engine, "OrderCancelled")
      .withArgs(id, f.alice.address, f.outsider.address);
    // Nothing was held: the margin is untouched.
    expect(await f.vault.marginOf(f.alice.address)).to.equal(MARGIN);
  });

  it("lets the owner cancel a pending order, and only the owner", async () => {
    const f = await loadFixture(setup);
    const id = await submit(f, f.alice, SIZE);
    expect((await f.engine.pendingOrder(id)).account).to.equal(f.alice.address);
    expect(await f.engine.orderCount()).to.equal(id);
    await expect(f.engine.connect(f.bob).cancelOrder(id)).to.be.revertedWithCustomError(
      f.engine,
      "MarginEngineOrderNotCancellable",
    );
    await expect(f.engine.connect(f.alice).cancelOrder(id))
      .to.emit(f.engine, "OrderCancelled")
      .withArgs(id, f.alice.address, f.alice.address);
    await publishRound(f, ETH_MARKET);
    await expect(f.engine.connect(f.keeper).executeOrder(id))
      .to.be.revertedWithCustomError(f.engine, "MarginEngineUnknownOrder")
      .withArgs(id);
    await expect(f.engine.connect(f.alice).cancelOrder(id))
      .to.be.revertedWithCustomError(f.engine, "MarginEngineUnknownOrder")
      .withArgs(id);
    expect((await f.engine.position(f.alice.address, ETH_MARKET)).sizeWad).to.equal(0n);
  });
});

/** Matches a round time at or before `t` (the round current at submission). */
function anyTimeAtOrBefore(t: bigint) {
  return (x: bigint) => x <= t;
}

/** Matches a negative size change. */
function anyNegative(x: bigint) {
  return x < 0n;
}
