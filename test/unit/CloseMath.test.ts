/**
 * `CloseMath` against its TypeScript reference (`closeEffect` and friends in test/helpers/snapshots.ts):
 * the same results to the wei on random and extreme closes, and the identities the library states (the
 * equity and maintenance after a close equal the account recomputed from its new margin and sizes).
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import fc from "fast-check";
import type { CloseMathHarness } from "../../typechain-types";
import {
  USDC_SCALE,
  WAD,
  closeEffect,
  equityOf,
  feeOn,
  maintenanceOf,
  position,
  settleTokens,
  wad,
  type Position,
} from "../helpers/snapshots";

const RUNS = Number(process.env.PROPERTY_RUNS ?? 300);
const SEED = Number(process.env.PROPERTY_SEED ?? 20261205);

async function harness(): Promise<CloseMathHarness> {
  return ethers.deployContract("CloseMathHarness");
}

const effectOf = (r: Awaited<ReturnType<CloseMathHarness["close"]>>) => ({
  notionalWad: r.notionalWad,
  feeWad: r.feeWad,
  realisedPnlWad: r.realisedPnlWad,
  netTokens: r.netTokens,
  equityAfterWad: r.equityAfterWad,
  maintenanceAfterWad: r.maintenanceAfterWad,
});

/** A position with a random size, entry, price and market parameters, and a close of part of it. */
const closeCase = fc
  .record({
    sizeWad: fc.bigInt({ min: 1n, max: 10n ** 27n }),
    long: fc.boolean(),
    entryPriceWad: fc.bigInt({ min: 1n, max: 10n ** 24n }),
    moveBps: fc.integer({ min: -9_900, max: 20_000 }),
    closeShare: fc.bigInt({ min: 1n, max: WAD }),
    mmrWad: fc.bigInt({ min: wad("0.005"), max: wad("0.5") }),
    feeWad: fc.bigInt({ min: 0n, max: wad("0.01") }),
    marginTokens: fc.bigInt({ min: 0n, max: 10n ** 15n }),
    scale: fc.constantFrom(USDC_SCALE, 1n, 10n ** 10n),
  })
  .map((c) => {
    const sign = c.long ? 1n : -1n;
    const priceWad = (c.entryPriceWad * BigInt(10_000 + c.moveBps)) / 10_000n + 1n;
    const p = position({
      sizeWad: sign * c.sizeWad,
      entryPriceWad: c.entryPriceWad,
      priceWad,
      mmrWad: c.mmrWad,
      imrWad: 2n * c.mmrWad,
      feeWad: c.feeWad,
    });
    const closeAbs = (c.sizeWad * c.closeShare + WAD - 1n) / WAD; // 1 ≤ |close| ≤ |size|
    return { p, closeWad: sign * closeAbs, marginTokens: c.marginTokens, scale: c.scale };
  });

function account(marginTokens: bigint, scale: bigint, positions: Position[]) {
  return { equity: equityOf(marginTokens, scale, positions), maintenance: maintenanceOf(positions) };
}

describe("CloseMath", function () {
  it(`matches the TypeScript reference to the wei, and the account recomputed after the close (${RUNS} runs)`, async function () {
    const h = await loadFixture(harness);
    const other = position({ sizeWad: wad("-2"), priceWad: wad("61000"), entryPriceWad: wad("60000") });
    let gains = 0;
    let losses = 0;
    await fc.assert(
      fc.asyncProperty(closeCase, async ({ p, closeWad, marginTokens, scale }) => {
        // A second position in the account: the close must leave its terms alone.
        const before = account(marginTokens, scale, [p, other]);
        const expected = closeEffect(p, p.sizeWad, closeWad, before.equity, before.maintenance, scale);
        const actual = effectOf(
          await h.close(p, p.sizeWad, closeWad, before.equity, before.maintenance, scale),
        );
        expect(actual).to.deep.equal(expected);

        // The identities the library states: the new equity and maintenance are the account recomputed.
        const closed = { ...p, sizeWad: p.sizeWad - closeWad };
        const after = account(marginTokens + expected.netTokens, scale, [closed, other]);
        expect(actual.equityAfterWad, "equity after == recomputed").to.equal(after.equity);
        expect(actual.maintenanceAfterWad, "maintenance after == recomputed").to.equal(after.maintenance);
        if (expected.netTokens >= 0n) gains++;
        else losses++;
      }),
      { numRuns: RUNS, seed: SEED },
    );
    // Both branches of the settlement rounding were exercised.
    expect(gains).to.be.greaterThan(RUNS / 10);
    expect(losses).to.be.greaterThan(RUNS / 10);
  });

  it("settles a net gain rounded down and a net loss rounded up, in token units", async function () {
    const h = await loadFixture(harness);
    const cases: [bigint, bigint][] = [
      [0n, 0n],
      [1n, 0n],
      [USDC_SCALE - 1n, 0n],
      [USDC_SCALE, 1n],
      [USDC_SCALE + 1n, 1n],
      [-1n, -1n],
      [-USDC_SCALE, -1n],
      [-USDC_SCALE - 1n, -2n],
      [10n ** 30n + 1n, 10n ** 18n],
    ];
    for (const [netWad, tokens] of cases) {
      expect(await h.toTokens(netWad, USDC_SCALE), `toTokens(${netWad})`).to.equal(tokens);
      expect(settleTokens(netWad, USDC_SCALE), `reference(${netWad})`).to.equal(tokens);
    }
  });

  it("charges the fee on the notional rounded up, itself rounded up", async function () {
    const h = await loadFixture(harness);
    // |size|·P = 1e-18·1.5 → 2 wei of notional (rounded up); 2 wei × 0.1% → 1 wei of fee (rounded up).
    expect(await h.feeOn(-1n, wad("1.5"), wad("0.001"))).to.deep.equal([2n, 1n]);
    expect(feeOn(-1n, wad("1.5"), wad("0.001"))).to.deep.equal({ notionalWad: 2n, feeWad: 1n });
    // 3 ETH at 3,000 with a 5 bp fee: 9,000 of notional, 4.5 of fee, exact.
    expect(await h.feeOn(wad("3"), wad("3000"), wad("0.0005"))).to.deep.equal([wad("9000"), wad("4.5")]);
  });

  it("closing a whole position at its entry price costs exactly the fee and releases its requirement", async function () {
    const h = await loadFixture(harness);
    const p = position({ sizeWad: wad("10"), priceWad: wad("3000"), entryPriceWad: wad("3000") });
    const { equity, maintenance } = account(5_000n * 10n ** 6n, USDC_SCALE, [p]);
    const e = effectOf(await h.close(p, p.sizeWad, p.sizeWad, equity, maintenance, USDC_SCALE));
    expect(e.notionalWad).to.equal(wad("30000"));
    expect(e.feeWad).to.equal(wad("30")); // 10 bp of 30,000
    expect(e.realisedPnlWad).to.equal(0n);
    expect(e.netTokens).to.equal(-30n * 10n ** 6n);
    expect(e.equityAfterWad).to.equal(equity - wad("30"));
    expect(e.maintenanceAfterWad).to.equal(0n);
  });

  it("states the health relief per unit of notional closed as h·mmr − fee", async function () {
    const h = await loadFixture(harness);
    const p = position({ sizeWad: wad("1"), priceWad: wad("3000") }); // mmr 5%, fee 0.1%
    expect(await h.healthRelief(p, wad("1.5"))).to.equal(wad("0.075") - wad("0.001"));
    await expect(h.healthRelief({ ...p, feeWad: wad("0.1") }, wad("1"))).to.be.revertedWithPanic(0x11);
  });
});
