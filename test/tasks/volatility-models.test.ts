import { expect } from "chai";
import { join } from "node:path";
import { readPriceCsv, seededRandom } from "../../tasks/lib/sim/prices";
import {
  ewmaVariances,
  fitGarch,
  garchLogLikelihood,
  garchVariances,
  garchVolatilityAt,
  hourlyCloses,
  logReturns,
  normCdf,
  scoreTouches,
  touchProbability,
} from "../../tasks/lib/sim/volatility-models";
import { ewmaVolatilityPath } from "../helpers/volatility";
import { normCdf as referenceCdf } from "../helpers/riskMathReference";

/** Standard normal draws (Box–Muller) from a seeded uniform source. */
function normals(seed: number) {
  const u = seededRandom(seed);
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

describe("volatility models: adapter EWMA and GARCH(1,1)", () => {
  it("the EWMA is the adapter's recursion (the reference its Solidity version is tested against)", () => {
    const points = readPriceCsv(join(__dirname, "../../data/prices/eth-usd-2020-03-black-thursday.csv"));
    const ours = ewmaVariances(points, 21_600, 0.8).map(Math.sqrt);
    const reference = ewmaVolatilityPath(
      0.8,
      21_600,
      points.map((p) => ({ price: p.price, updatedAt: p.timestamp })),
    );
    expect(ours[0]).to.equal(0.8);
    for (let i = 0; i < reference.length; i++) expect(ours[i + 1]).to.be.closeTo(reference[i], 1e-12);
  });

  it("recovers the parameters of a simulated GARCH(1,1) by maximum likelihood", () => {
    const truth = { omega: 2e-6, alpha: 0.08, beta: 0.9 };
    const z = normals(11);
    const returns: number[] = [];
    let h = truth.omega / (1 - truth.alpha - truth.beta);
    for (let t = 0; t < 20_000; t++) {
      const r = Math.sqrt(h) * z();
      returns.push(r);
      h = truth.omega + truth.alpha * r * r + truth.beta * h;
    }
    const fit = fitGarch([returns]);
    expect(fit.alpha).to.be.closeTo(truth.alpha, 0.02);
    expect(fit.beta).to.be.closeTo(truth.beta, 0.03);
    expect(fit.alpha + fit.beta).to.be.lessThan(1);
    // The optimum beats the truth's likelihood on the sample (it is the maximum) and nearby points.
    expect(fit.logLikelihood).to.be.at.least(garchLogLikelihood(truth, returns) - 1e-6);
    expect(fit.logLikelihood).to.be.greaterThan(
      garchLogLikelihood({ ...fit, alpha: fit.alpha * 1.2 }, returns),
    );
    expect(fit.logLikelihood).to.be.greaterThan(
      garchLogLikelihood({ ...fit, beta: fit.beta * 0.98 }, returns),
    );
    // One-step variances follow the recursion.
    const v = garchVariances(truth, [0.01, -0.02], 1e-4);
    expect(v[1]).to.be.closeTo(2e-6 + 0.08 * 1e-4 + 0.9 * 1e-4, 1e-18);
    expect(v[2]).to.be.closeTo(2e-6 + 0.08 * 4e-4 + 0.9 * v[1], 1e-18);
  });

  it("touch probability is 2·Φ(−d/σ) with a CDF within 1.5e-7 of the reference", () => {
    for (let x = -6; x <= 6; x += 0.05) expect(normCdf(x)).to.be.closeTo(referenceCdf(x), 1.5e-7);
    expect(touchProbability(0.02, 0.01)).to.be.closeTo(2 * referenceCdf(-2), 3e-7);
    expect(touchProbability(0.01, 0)).to.equal(0);
    expect(touchProbability(0, 0.01)).to.equal(1);
  });

  it("takes each hour's close, and scores a touch on any point within the next hour", () => {
    const h = 3600;
    const points = [
      { timestamp: 0, price: 100 },
      { timestamp: h - 1, price: 100 }, // close of hour 0
      { timestamp: h + 900, price: 97 }, // intra-hour low: a 3% fall
      { timestamp: 2 * h - 1, price: 100 }, // close of hour 1
      { timestamp: 3 * h - 1, price: 99.5 }, // close of hour 2
    ];
    const closes = hourlyCloses(points);
    expect(closes.map((c) => c.timestamp)).to.deep.equal([h - 1, 2 * h - 1, 3 * h - 1]);
    // σ so high that both hours get p ≈ 1, then so low that both get p ≈ 0.
    const loud = scoreTouches(closes, [1, 1, 1], points, 0.02, 0.01);
    expect(loud).to.include({ hours: 2, touches: 1, caught: 1, falseAlarms: 0.5 });
    const quiet = scoreTouches(closes, [1e-9, 1e-9, 1e-9], points, 0.02, 0.01);
    expect(quiet).to.include({ hours: 2, touches: 1, caught: 0, falseAlarms: 0, meanOnTouches: 0 });
    expect(quiet.brier).to.be.closeTo(0.5, 1e-12);
  });
});

describe("GARCH volatility during a replay", () => {
  it("is the forecast of the latest hour close at or before the moment, never a later one", () => {
    const h = 3600;
    const points = [0, 1, 2, 3].map((k) => ({ timestamp: k * h + h - 1, price: 100 * 1.01 ** k }));
    const fit = { omega: 1e-6, alpha: 0.1, beta: 0.85, trainVariance: 4e-5 };
    const at = garchVolatilityAt(points, fit);
    const perYear = (365 * 24 * 3600) / h;
    const v = garchVariances(fit, logReturns(points), fit.trainVariance);
    expect(at(0)).to.be.closeTo(Math.sqrt(fit.trainVariance * perYear), 1e-12); // before the first close
    expect(at(h - 1)).to.be.closeTo(Math.sqrt(v[1] * perYear), 1e-12);
    expect(at(2 * h - 2)).to.be.closeTo(Math.sqrt(v[1] * perYear), 1e-12);
    expect(at(2 * h - 1)).to.be.closeTo(Math.sqrt(v[2] * perYear), 1e-12);
    expect(at(10 * h)).to.be.closeTo(Math.sqrt(v[3] * perYear), 1e-12); // the last close's own forecast
  });
});
