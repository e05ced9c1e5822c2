import { underCoverage } from "../helpers/coverage";
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { AbiCoder, parseEther } from "ethers";
import {
  DEFAULTS,
  ETH,
  ETH_MARKET,
  answer,
  deployFunded,
  expectConservation,
  movePrice,
  standardPolicy,
  usdc,
  trade,
} from "../helpers/fixtures";
import type { ScriptedFeed } from "../../typechain-types";
import { ledger, selectorOf } from "./helpers";

/**
 * Threat: a feed that reverts, returns garbage, burns gas, lags, jumps, or an L2 sequencer that is down
 * must not let anyone open, rebalance, liquidate or run an upkeep at a price the adapter cannot vouch
 * for (the circuit breaker), must not make those calls run out of gas, and must never lock the owners'
 * reserve (deposits and reserve withdrawals need no price).
 */

const Status = { Ok: 0n, Stale: 1n, Invalid: 2n, Deviation: 3n, SequencerDown: 4n, GracePeriod: 5n };
const coder = AbiCoder.defaultAbiCoder();
const page = coder.encode(["uint256", "uint256"], [0, 100]);
const perform = (r: string[], l: string[]) =>
  coder.encode(["address[]", "address[]", "address[]"], [r, l, [] as string[]]);

/**
 * ETH at 2,060 with a live feed: alice (10 ETH long, 10,000 margin, 5,000 reserve, threshold policy) is
 * due for a rebalance, bob (10 ETH long, 9,000 margin) for a liquidation; carol has idle margin.
 */
async function book(options: Parameters<typeof deployFunded>[0] = {}) {
  const f = await deployFunded(options);
  await f.engine.connect(f.riskAdmin).setKeeperReward(usdc(2));
  for (const [s, margin] of [
    [f.alice, 10_000],
    [f.bob, 9_000],
  ] as const) {
    await f.vault.connect(s).depositMargin(s.address, usdc(margin));
    await trade(f, s, ETH_MARKET, parseEther("10"));
  }
  await f.vault.connect(f.alice).depositReserve(f.alice.address, usdc(5_000));
  await f.engine.connect(f.alice).setPolicy(standardPolicy(await f.thresholdStrategy.getAddress()));
  await f.vault.connect(f.carol).depositMargin(f.carol.address, usdc(10_000));
  await movePrice(f.ethFeed, 2_060);
  await f.oracle.update(ETH);
  const [, data] = await f.keeperContract.checkUpkeep(page);
  const [r, l] = coder.decode(["address[]", "address[]", "address[]"], data);
  expect([...r, ...l]).to.deep.equal([f.alice.address, f.bob.address]);
  return f;
}
type F = Awaited<ReturnType<typeof book>>;

/** Points the ETH market at `feed` (same risk parameters as deployed). */
async function useFeed(f: F, feed: string) {
  await f.oracle.setFeed(
    ETH,
    feed,
    DEFAULTS.heartbeat,
    DEFAULTS.eth.minPriceWad,
    DEFAULTS.eth.maxPriceWad,
    DEFAULTS.maxDeviationWad,
  );
}

async function scripted(f: F): Promise<ScriptedFeed> {
  const feed: ScriptedFeed = await ethers.deployContract("ScriptedFeed");
  await useFeed(f, await feed.getAddress());
  return feed;
}

/**
 * Every price-trusting action is refused with `MarginEngineBadPrice(ETH, status)`, the upkeep skips both
 * accounts and pays nothing, `checkUpkeep` finds nothing, and alice can still move her reserve.
 */
async function expectFailsClosed(f: F, status: bigint) {
  const accounts = [f.alice.address, f.bob.address, f.carol.address, f.keeper.address];
  const before = await ledger(f, accounts);
  // No round is published after the order: the execution reads the broken round.
  await expect(trade(f, f.carol, ETH_MARKET, parseEther("1"), { publish: false }))
    .to.be.revertedWithCustomError(f.engine, "MarginEngineBadPrice")
    .withArgs(ETH, status);
  await expect(f.engine.connect(f.keeper).rebalance(f.alice.address))
    .to.be.revertedWithCustomError(f.engine, "MarginEngineBadPrice")
    .withArgs(ETH, status);
  await expect(f.engine.connect(f.keeper).liquidate(f.bob.address))
    .to.be.revertedWithCustomError(f.engine, "MarginEngineBadPrice")
    .withArgs(ETH, status);
  await expect(f.engine.connect(f.alice).withdrawMargin(1n, f.alice.address))
    .to.be.revertedWithCustomError(f.engine, "MarginEngineBadPrice")
    .withArgs(ETH, status);
  const bad = selectorOf(f.engine, "MarginEngineBadPrice");
  await expect(f.keeperContract.connect(f.keeper).performUpkeep(perform([f.alice.address], [f.bob.address])))
    .to.emit(f.keeperContract, "AccountSkipped")
    .withArgs(f.alice.address, 0, bad)
    .and.to.emit(f.keeperContract, "AccountSkipped")
    .withArgs(f.bob.address, 1, bad)
    .and.to.emit(f.keeperContract, "UpkeepPerformed")
    .withArgs(f.keeper.address, 0, 0, 2, 0);
  expect(await ledger(f, accounts)).to.deep.equal(before);
  expect((await f.keeperContract.checkUpkeep(page))[0]).to.equal(false);
  expect((await f.engine.keeperAction(f.alice.address)).action).to.equal(0n);

  // The reserve is never locked: out and back in, at any price status.
  await expect(f.vault.connect(f.alice).withdrawReserve(usdc(5_000), f.alice.address)).to.changeTokenBalance(
    f.token,
    f.alice,
    usdc(5_000),
  );
  await f.vault.connect(f.alice).depositReserve(f.alice.address, usdc(5_000));
  await f.vault.connect(f.carol).depositMargin(f.carol.address, 1n);
  await expectConservation(f, accounts);
}

describe("adversarial: broken and manipulated price feeds", () => {
  it("a reverting feed reads Invalid", async () => {
    const f = await loadFixture(book);
    await useFeed(f, await (await ethers.deployContract("RevertingFeed")).getAddress());
    expect((await f.oracle.price(ETH)).status).to.equal(Status.Invalid);
    await expectFailsClosed(f, Status.Invalid);
  });

  it("malformed return data (one word instead of five) reads Invalid", async () => {
    const f = await loadFixture(book);
    await useFeed(f, await (await ethers.deployContract("MalformedFeed")).getAddress());
    await expectFailsClosed(f, Status.Invalid);
  });

  it("an answer of zero or below reads Invalid", async () => {
    for (const bad of [0n, -answer(2_060)]) {
      const f = await loadFixture(book);
      const feed = await scripted(f);
      const now = BigInt(await time.latest());
      await feed.setRound(10, bad, now, now, 10);
      await expectFailsClosed(f, Status.Invalid);
    }
  });

  it("updatedAt of zero (incomplete round) or in the future reads Invalid", async () => {
    for (const offset of [null, 3_600n]) {
      const f = await loadFixture(book);
      const feed = await scripted(f);
      const now = BigInt(await time.latest());
      await feed.setRound(10, answer(2_060), now, offset === null ? 0n : now + offset, 10);
      await expectFailsClosed(f, Status.Invalid);
    }
  });

  it("a round id beyond uint80 reads Invalid", async () => {
    const f = await loadFixture(book);
    const feed = await scripted(f);
    const now = BigInt(await time.latest());
    await feed.setRound(2n ** 80n, answer(2_060), now, now, 2n ** 80n);
    await expectFailsClosed(f, Status.Invalid);
  });

  it("an answer carried over from an old round (answeredInRound < roundId) is caught by its age: Stale", async () => {
    const f = await loadFixture(book);
    const feed = await scripted(f);
    const old = BigInt(await time.latest()) - BigInt(DEFAULTS.heartbeat) - 1n;
    await feed.setRound(12, answer(2_060), old, old, 9);
    await expectFailsClosed(f, Status.Stale);
  });

  it("a feed that stops updating reads Stale after the heartbeat", async () => {
    const f = await loadFixture(book);
    await time.increase(DEFAULTS.heartbeat + 1);
    await expectFailsClosed(f, Status.Stale);
  });

  it("a jump beyond the deviation bound reads Deviation until confirmed", async () => {
    const f = await loadFixture(book);
    await f.ethFeed.updateAnswer(answer(1_500)); // −27%
    await expectFailsClosed(f, Status.Deviation);
  });

  it("a gas-burning feed reads Invalid within the adapter's gas cap: callers do not run out of gas", async () => {
    const f = await loadFixture(book);
    await useFeed(f, await (await ethers.deployContract("GasBurningFeed")).getAddress());
    const cap = await f.oracle.FEED_GAS_LIMIT();
    // Each refused action costs about one capped feed call, and a 1,000,000 gas limit is plenty.
    for (const send of [
      () =>
        trade(f, f.carol, ETH_MARKET, parseEther("1"), {
          publish: false,
          overrides: { gasLimit: 1_000_000 },
        }),
      () => f.engine.connect(f.keeper).rebalance(f.alice.address, { gasLimit: 1_000_000 }),
      () => f.engine.connect(f.keeper).liquidate(f.bob.address, { gasLimit: 1_000_000 }),
    ]) {
      await expect(send())
        .to.be.revertedWithCustomError(f.engine, "MarginEngineBadPrice")
        .withArgs(ETH, Status.Invalid);
    }
    const receipt = await (
      await f.keeperContract
        .connect(f.keeper)
        .performUpkeep(perform([f.alice.address], [f.bob.address]), { gasLimit: 2_000_000 })
    ).wait();
    if (!underCoverage())
      // One capped call records the round before the batch (it records nothing), one per skipped account.
      expect(receipt!.gasUsed, "two skipped accounts").to.be.lessThan(3n * cap + 200_000n);
    await expectFailsClosed(f, Status.Invalid);
  });

  describe("L2 sequencer uptime feed", () => {
    async function withSequencer() {
      // The sequencer feed is wiring: the protocol is deployed with it (up for two hours).
      const sequencer = await ethers.deployContract("MockV3Aggregator", [0, 0]);
      const now = BigInt(await time.latest());
      await sequencer.updateRoundData(1, 0, now - 7_200n, now - 7_200n);
      const f = await book({
        sequencerFeed: await sequencer.getAddress(),
        sequencerGracePeriod: DEFAULTS.sequencerGracePeriod,
      });
      expect((await f.oracle.price(ETH)).status).to.equal(Status.Ok);
      return { ...f, sequencer };
    }

    it("refuses every price while the sequencer is down", async () => {
      const f = await loadFixture(withSequencer);
      const now = BigInt(await time.latest());
      await f.sequencer.updateRoundData(2, 1, now, now);
      await expectFailsClosed(f as unknown as F, Status.SequencerDown);
    });

    it("refuses every price during the grace period after it comes back, then recovers", async () => {
      const f = await loadFixture(withSequencer);
      const now = BigInt(await time.latest());
      await f.sequencer.updateRoundData(3, 0, now, now);
      await expectFailsClosed(f as unknown as F, Status.GracePeriod);
      await time.increase(DEFAULTS.sequencerGracePeriod);
      await f.ethFeed.updateAnswer(answer(2_060));
      expect((await f.oracle.price(ETH)).status).to.equal(Status.Ok);
      await expect(f.engine.connect(f.keeper).rebalance(f.alice.address)).to.emit(f.engine, "Rebalanced");
    });
  });
});
