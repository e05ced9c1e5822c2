import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { parseEther } from "ethers";
import {
  ETH,
  ETH_MARKET,
  answer,
  deployFunded,
  expectConservation,
  standardPolicy,
  usdc,
  trade,
  closeAll,
  publishRound,
} from "../helpers/fixtures";

/**
 * Threat: extracting value one rounding unit at a time through many tiny operations. Every conversion
 * rounds against the account (`toTokenDown` for what it receives, `toTokenUp` for what it owes, fees
 * `mulWadUp`, long entries averaged up and short entries down, LP shares OpenZeppelin's
 * deposit/redeem down and mint/withdraw up). Each spec runs a long loop of the smallest operations and
 * checks that the attacker ends with at most what it put in and that the books balance to the unit.
 */

const WAD = 10n ** 18n;

async function protocol() {
  const f = await deployFunded();
  return f;
}
type F = Awaited<ReturnType<typeof protocol>>;
const book = (f: F) => [
  f.alice.address,
  f.bob.address,
  f.carol.address,
  f.keeper.address,
  f.outsider.address,
];

/** Wallet plus margin plus reserve plus LP value of `who` (the attacker's whole position, no open trades). */
async function worth(f: F, who: string) {
  return (
    (await f.token.balanceOf(who)) +
    (await f.vault.marginOf(who)) +
    (await f.vault.reserveOf(who)) +
    (await f.pool.previewRedeem(await f.pool.balanceOf(who)))
  );
}

describe("adversarial: rounding extraction", () => {
  it("200 one-unit margin and reserve round trips return exactly what went in", async () => {
    const f = await loadFixture(protocol);
    const a = f.outsider;
    const start = await f.token.balanceOf(a.address);
    for (let i = 0; i < 200; ++i) {
      await f.vault.connect(a).depositMargin(a.address, 1n);
      await f.vault.connect(a).depositReserve(a.address, 1n);
      await f.engine.connect(a).withdrawMargin(1n, a.address);
      await f.vault.connect(a).withdrawReserve(1n, a.address);
    }
    expect(await f.token.balanceOf(a.address)).to.equal(start);
    expect(await f.vault.marginOf(a.address)).to.equal(0n);
    expect(await f.vault.reserveOf(a.address)).to.equal(0n);
    await expectConservation(f, book(f));
  });

  it("tiny position open/close cycles (1 wei to 1e9 wei of ETH) never pay out more than went in", async () => {
    const f = await loadFixture(protocol);
    const a = f.outsider;
    await f.vault.connect(a).depositMargin(a.address, usdc(100));
    const start = await worth(f, a.address);
    const poolStart = await f.pool.cashAssets();
    let trades = 0n;
    for (const size of [1n, 333n, 10n ** 9n]) {
      for (let i = 0; i < 25; ++i) {
        const side = i % 2 === 0 ? size : -size;
        await trade(f, a, ETH_MARKET, side);
        await closeAll(f, a, ETH_MARKET);
        trades += 2n;
      }
    }
    const end = await worth(f, a.address);
    // Every trade charged a fee of at least one token unit (the fee rounds up), nothing came back.
    expect(end).to.be.at.most(start - trades);
    expect(await f.pool.cashAssets()).to.equal(poolStart + (start - end));
    await expectConservation(f, book(f));
  });

  it("tiny adds at alternating prices cannot shift the entry price in the trader's favour", async () => {
    const f = await loadFixture(protocol);
    const a = f.outsider;
    await f.vault.connect(a).depositMargin(a.address, usdc(1_000));
    const start = await worth(f, a.address);
    // A 0.1 ETH long, then 60 one-wei adds while the price alternates 3,000 / 3,000.01.
    await trade(f, a, ETH_MARKET, parseEther("0.1"));
    for (let i = 0; i < 60; ++i) {
      await f.ethFeed.updateAnswer(answer(i % 2 === 0 ? "3000.01" : "3000"));
      await trade(f, a, ETH_MARKET, 1n);
    }
    await f.ethFeed.updateAnswer(answer(3_000));
    const entry = (await f.engine.position(a.address, ETH_MARKET)).entryPriceWad;
    expect(entry, "a long's entry never drops below the lowest fill").to.be.at.least(3_000n * WAD);
    await closeAll(f, a, ETH_MARKET);
    expect(await worth(f, a.address)).to.be.lessThan(start);
    await expectConservation(f, book(f));
  });

  it("200 tiny LP deposit/redeem and withdraw cycles at an uneven share price never gain a unit", async () => {
    const f = await loadFixture(protocol);
    const a = f.outsider;
    // Uneven share price: an odd amount of income on top of the LP's 1,000,000.
    await f.token.connect(f.carol).transfer(await f.pool.getAddress(), 333_333n);
    const start = await worth(f, a.address);
    const poolStart = await f.pool.cashAssets();
    let refused = 0;
    for (let i = 0; i < 100; ++i) {
      const amount = BigInt(1 + (i % 7));
      await f.pool.connect(a).deposit(amount, a.address);
      const shares = await f.pool.balanceOf(a.address);
      if ((await f.pool.previewRedeem(shares)) === 0n) {
        // Shares worth less than a unit: redeeming them for nothing is refused, not rounded to a gift.
        await expect(f.pool.connect(a).redeem(shares, a.address, a.address)).to.be.revertedWithCustomError(
          f.pool,
          "LiquidityPoolZeroAmount",
        );
        ++refused;
      } else {
        await f.pool.connect(a).redeem(shares, a.address, a.address);
      }
    }
    expect(refused).to.be.greaterThan(0);
    await f.pool.connect(a).deposit(usdc(1), a.address);
    for (let i = 0; i < 100; ++i) {
      await f.pool.connect(a).withdraw(1n, a.address, a.address);
    }
    await f.pool.connect(a).redeem(await f.pool.balanceOf(a.address), a.address, a.address);
    const end = await f.token.balanceOf(a.address);
    expect(await f.pool.balanceOf(a.address)).to.equal(0n);
    expect(end).to.be.at.most(start);
    expect(await f.pool.cashAssets()).to.equal(poolStart + (start - end));
    await expectConservation(f, book(f));
  });

  it("self-paid tiny rebalances (owner as keeper, 1-unit reward) never return more than went in", async () => {
    const f = await loadFixture(protocol);
    const a = f.outsider;
    await f.engine.connect(f.riskAdmin).setKeeperReward(1n);
    await f.engine.connect(a).setPolicy(
      standardPolicy(await f.thresholdStrategy.getAddress(), {
        triggerHealthWad: parseEther("3"),
        targetHealthWad: parseEther("3.05"),
        allowTopUp: false,
        maxKeeperRewardTokens: 1n,
      }),
    );
    await f.vault.connect(a).depositMargin(a.address, usdc(10));
    const start = await worth(f, a.address);
    const poolStart = await f.pool.cashAssets();
    let rebalances = 0;
    for (let i = 0; i < 30; ++i) {
      // Re-open to 0.001 ETH (3 USD), pull margin down to the initial requirement (health 2 < 3),
      // and rebalance oneself for the reward.
      const size = (await f.engine.position(a.address, ETH_MARKET)).sizeWad;
      if (size !== parseEther("0.001")) await trade(f, a, ETH_MARKET, parseEther("0.001") - size);
      const margin = await f.vault.marginOf(a.address);
      const keep = ((await f.engine.initialRequirement(a.address)) + 10n ** 12n - 1n) / 10n ** 12n;
      if (margin > keep) await f.engine.connect(a).withdrawMargin(margin - keep, a.address);
      // A rebalance closes only at a round published after the owner's withdrawal (same answer).
      await publishRound(f, ETH_MARKET);
      const [action] = await f.engine.keeperAction(a.address);
      if (action !== 1n) continue;
      await expect(f.engine.connect(a).rebalance(a.address)).to.emit(f.engine, "Rebalanced");
      ++rebalances;
      await f.vault.connect(a).depositMargin(a.address, usdc(1));
    }
    expect(rebalances).to.be.greaterThan(20);
    await closeAll(f, a, ETH_MARKET);
    // Deposits and withdrawals only move tokens between the wallet and the margin: `worth` counts both.
    const end = await worth(f, a.address);
    expect(end).to.be.lessThan(start);
    expect(await f.pool.cashAssets()).to.equal(poolStart + (start - end));
    // The oracle was never touched: every fill was at 3,000.
    expect((await f.oracle.price(ETH)).priceWad).to.equal(3_000n * WAD);
    await expectConservation(f, book(f));
  });
});
