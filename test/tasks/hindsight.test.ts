import { expect } from "chai";
import { join } from "node:path";
import { HindsightAccount, HindsightMarket, hindsightExposure } from "../../tasks/lib/sim/hindsight";
import { readPriceCsv, seededRandom } from "../../tasks/lib/sim/prices";

const MARKET: HindsightMarket = { mmr: 0.02, fee: 0.0005 };

/** Equity ≥ maintenance at every price, holding `share` of the size after a cut at the first price. */
function survives(a: HindsightAccount, m: HindsightMarket, prices: number[], share: number): boolean {
  const abs = Math.abs(a.size);
  const margin = a.marginUsd + a.reserveUsd - m.fee * abs * prices[0] * (1 - share);
  return prices.every((p) => margin + share * a.size * (p - a.entryPrice) >= share * abs * p * m.mmr - 1e-6);
}

/** The largest surviving share by bisection (independent of the closed form). */
function bisect(a: HindsightAccount, m: HindsightMarket, prices: number[]): number {
  if (survives(a, m, prices, 1)) return 1;
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (survives(a, m, prices, mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

describe("hindsight exposure yardstick", () => {
  it("is the break-even share for a hand-worked long", () => {
    // 10x long: 1,000 USD margin, 10 ETH at 1,000, no reserve; the price falls to 900.
    // k(900) = 5 + 10·(−100) − 10·900·0.02 = −1,175, capital 1,000 − 5 = 995 → 995 / 1,175.
    const a = { marginUsd: 1_000, reserveUsd: 0, size: 10, entryPrice: 1_000 };
    expect(hindsightExposure(a, MARKET, [1_000, 950, 900, 980])).to.be.closeTo(995 / 1_175, 1e-12);
    // A path that never threatens the account keeps all of it.
    expect(hindsightExposure(a, MARKET, [1_000, 1_010, 1_100])).to.equal(1);
    // A short is threatened by the rise, not the fall.
    const short = { ...a, size: -10 };
    expect(hindsightExposure(short, MARKET, [1_000, 900])).to.equal(1);
    expect(hindsightExposure(short, MARKET, [1_000, 1_100])).to.be.lessThan(1);
  });

  it("counts the reserve as capital and never goes below zero", () => {
    const a = { marginUsd: 500, reserveUsd: 500, size: 10, entryPrice: 1_000 };
    const b = { ...a, marginUsd: 1_000, reserveUsd: 0 };
    expect(hindsightExposure(a, MARKET, [1_000, 900])).to.equal(hindsightExposure(b, MARKET, [1_000, 900]));
    expect(hindsightExposure(a, MARKET, [1_000, 0.01])).to.be.within(0, 0.11);
    expect(hindsightExposure({ ...a, marginUsd: 0, reserveUsd: 0 }, MARKET, [1_000, 999])).to.equal(0);
  });

  it("matches a brute-force search on a real series, both sides, every book leverage", () => {
    const prices = readPriceCsv(join(__dirname, "../../data/prices/eth-usd-2020-03-black-thursday.csv")).map(
      (p) => p.price,
    );
    const random = seededRandom(3);
    let cut = 0;
    for (const leverage of [2, 3, 5, 10, 20]) {
      for (const side of [1, -1]) {
        for (let copy = 0; copy < 5; copy++) {
          const margin = 10_000 * (0.8 + 0.4 * random());
          const path = prices.slice(Math.floor(random() * (prices.length / 2)));
          const a = {
            marginUsd: margin,
            reserveUsd: margin * 0.5 * random(),
            size: (side * margin * leverage) / path[0],
            entryPrice: path[0],
          };
          const closed = hindsightExposure(a, MARKET, path);
          expect(closed, `${leverage}x ${side}`).to.be.closeTo(bisect(a, MARKET, path), 1e-9);
          expect(survives(a, MARKET, path, closed)).to.equal(true);
          if (closed < 1) {
            cut++;
            expect(survives(a, MARKET, path, closed * 1.0001)).to.equal(false);
          }
        }
      }
    }
    expect(cut).to.be.greaterThan(10); // the crash forces a cut on most leveraged longs
  });
});
