import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { PANIC_CODES } from "@nomicfoundation/hardhat-chai-matchers/panic";
import fc from "fast-check";

const MAX = 2n ** 256n - 1n;
const ceilDiv = (n: bigint, d: bigint) => (n + d - 1n) / d;

/** Any uint256, with small values and the edges as likely as the full range. */
const uint = fc.oneof(
  fc.bigInt({ min: 0n, max: MAX }),
  fc.bigInt({ min: 0n, max: 10n ** 36n }),
  fc.constantFrom(0n, 1n, 2n, 10n ** 18n, MAX, MAX - 1n, 2n ** 128n),
);

describe("WadMath", () => {
  async function deploy() {
    return ethers.deployContract("WadMathHarness");
  }

  describe("mulDivDown / mulDivUp", () => {
    it("equal floor and ceiling of x·y/d, whether x·y fits 256 bits (fast path) or not (full precision)", async () => {
      const m = await loadFixture(deploy);
      let wide = 0;
      await fc.assert(
        fc.asyncProperty(uint, uint, uint, async (x, y, d) => {
          fc.pre(d !== 0n && (x * y) / d <= MAX && ceilDiv(x * y, d) <= MAX);
          if (x * y > MAX) wide++;
          expect(await m.mulDivDown(x, y, d)).to.equal((x * y) / d);
          expect(await m.mulDivUp(x, y, d)).to.equal(ceilDiv(x * y, d));
        }),
        { numRuns: 300, seed: 7 },
      );
      expect(wide).to.be.greaterThan(20); // the full-precision fallback was exercised
    });

    it("round up only when there is a remainder", async () => {
      const m = await loadFixture(deploy);
      expect(await m.mulDivUp(6n, 4n, 3n)).to.equal(8n);
      expect(await m.mulDivUp(7n, 4n, 3n)).to.equal(10n);
      expect(await m.mulDivDown(7n, 4n, 3n)).to.equal(9n);
      // x·y overflows 256 bits, the quotient does not.
      expect(await m.mulDivDown(MAX, MAX, MAX)).to.equal(MAX);
      expect(await m.mulDivUp(MAX, MAX - 1n, MAX)).to.equal(MAX - 1n);
      expect(await m.mulDivUp(MAX, 3n, 2n ** 255n)).to.equal(6n);
    });

    it("panic on a zero divisor and on a quotient above uint256", async () => {
      const m = await loadFixture(deploy);
      await expect(m.mulDivDown(1n, 1n, 0n)).to.be.revertedWithPanic(PANIC_CODES.DIVISION_BY_ZERO);
      await expect(m.mulDivUp(0n, 1n, 0n)).to.be.revertedWithPanic(PANIC_CODES.DIVISION_BY_ZERO);
      await expect(m.mulDivDown(MAX, 2n, 1n)).to.be.revertedWithPanic(PANIC_CODES.ARITHMETIC_OVERFLOW);
      await expect(m.mulDivUp(MAX, MAX, MAX - 1n)).to.be.revertedWithPanic(PANIC_CODES.ARITHMETIC_OVERFLOW);
    });
  });

  describe("token conversions", () => {
    it("round down what a user receives and up what a user owes, 0 staying 0", async () => {
      const m = await loadFixture(deploy);
      const scale = 10n ** 12n; // 6-decimal token
      await fc.assert(
        fc.asyncProperty(fc.bigInt({ min: 0n, max: 10n ** 40n }), async (wad) => {
          expect(await m.toTokenDown(wad, scale)).to.equal(wad / scale);
          expect(await m.toTokenUp(wad, scale)).to.equal(ceilDiv(wad, scale));
        }),
        { numRuns: 100, seed: 7 },
      );
      expect(await m.toTokenUp(0n, scale)).to.equal(0n);
      expect(await m.toTokenUp(1n, scale)).to.equal(1n);
      expect(await m.toTokenUp(scale, scale)).to.equal(1n);
      expect(await m.toTokenUp(MAX, 1n)).to.equal(MAX); // no overflow at the top
    });
  });

  describe("abs", () => {
    it("is |x|, and panics on the one int256 without a positive counterpart", async () => {
      const m = await loadFixture(deploy);
      const MIN = -(2n ** 255n);
      for (const x of [0n, 1n, -1n, MIN + 1n, 2n ** 255n - 1n]) {
        expect(await m.abs(x)).to.equal(x < 0n ? -x : x);
      }
      await expect(m.abs(MIN)).to.be.revertedWithPanic(PANIC_CODES.ARITHMETIC_OVERFLOW);
    });
  });
});
