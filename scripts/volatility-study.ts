/**
 * Adapter EWMA against a GARCH(1,1) fitted off-chain: does either warn of a liquidation-sized move within
 * the next hour early enough? Fits GARCH on the training series (hourly closes), then scores both on the
 * test series it never saw. Writes `reports/volatility-study.json` and prints a Markdown table.
 *
 *   npm run volatility-study [-- --train a.csv,b.csv --test c.csv,d.csv]
 *
 * The EWMA is the adapter's (6-hour window from 80%, the deployment defaults) driven by the rounds the
 * backtest publishes (0.5% deviation, 1 h heartbeat). The touch level is a fall of `drop` from the hour's
 * close at any point of the next hour (the series' intra-hour lows count); an alarm is a probability of
 * at least the volatility strategy's `pMax` (1%).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { MAINNET_ETH_USD, emulateRounds, readPriceCsv } from "../tasks/lib/sim/prices";
import {
  YEAR_SECONDS,
  ewmaVariances,
  fitGarch,
  garchVariances,
  hourlyCloses,
  logReturns,
  scoreTouches,
} from "../tasks/lib/sim/volatility-models";

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return (i >= 0 ? process.argv[i + 1] : fallback).split(",").map((f) => resolve(f));
};
const train = arg(
  "train",
  "data/prices/eth-usd-2018-11-capitulation.csv,data/prices/btc-usd-2020-03-black-thursday.csv",
);
const test = arg(
  "test",
  "data/prices/eth-usd-2020-03-black-thursday.csv,data/prices/eth-usd-2020-hourly-close.csv,data/prices/eth-usd-2021-01-rally.csv",
);
const EWMA_WINDOW = 21_600;
const INITIAL_VOLATILITY = 0.8;
const ALARM = 0.01;
const DROPS = [0.01, 0.02, 0.05];

const trainReturns = train.map((f) => logReturns(hourlyCloses(readPriceCsv(f))));
const garch = fitGarch(trainReturns);
const persistence = garch.alpha + garch.beta;
// Where the recursion starts on a test series: the training sample's hourly variance (the long-run
// variance ω / (1 − α − β) is unbounded when the fit is integrated, α + β → 1).
const trainVariance = trainReturns.flat().reduce((s, r) => s + r * r, 0) / trainReturns.flat().length;
const longRunVolatility =
  persistence < 0.999 ? Math.sqrt((garch.omega / (1 - persistence)) * (YEAR_SECONDS / 3600)) : null;
console.log(
  `GARCH(1,1) on ${train.map((f) => basename(f)).join(", ")} (hourly closes): ω=${garch.omega.toExponential(3)} ` +
    `α=${garch.alpha.toFixed(4)} β=${garch.beta.toFixed(4)} (α+β=${persistence.toFixed(4)}; ` +
    (longRunVolatility === null
      ? "integrated: no long-run level"
      : `long-run volatility ${(longRunVolatility * 100).toFixed(0)}%/year`) +
    `; training sample ${(Math.sqrt(trainVariance * (YEAR_SECONDS / 3600)) * 100).toFixed(0)}%/year)`,
);

const results = [];
const lines = [
  "| series | drop | hours | touches | estimator | Brier | log loss | touches caught | false alarms | mean p on touches |",
  "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
];
for (const file of test) {
  const points = readPriceCsv(file);
  const closes = hourlyCloses(points);
  // EWMA: the adapter's state after the last round at or before each hour's close.
  const rounds = emulateRounds(points, MAINNET_ETH_USD);
  const variances = ewmaVariances(rounds, EWMA_WINDOW, INITIAL_VOLATILITY);
  const ewma: number[] = [];
  let r = 0;
  for (const c of closes) {
    while (r + 1 < rounds.length && rounds[r + 1].timestamp <= c.timestamp) r++;
    ewma.push(Math.sqrt((variances[r] * 3600) / YEAR_SECONDS));
  }
  // GARCH: the one-step forecast made at each close, started at the training sample's variance.
  const returns = logReturns(closes);
  const h = garchVariances(garch, returns, trainVariance);
  const garchSigmas = closes.map((_, k) => Math.sqrt(h[k + 1] ?? h[k]));
  for (const drop of DROPS) {
    for (const [name, sigmas] of [
      ["EWMA (adapter)", ewma],
      ["GARCH(1,1)", garchSigmas],
    ] as const) {
      const s = scoreTouches(closes, sigmas, points, drop, ALARM);
      results.push({ series: basename(file, ".csv"), drop, estimator: name, ...s });
      lines.push(
        `| \`${basename(file, ".csv")}\` | ${drop * 100}% | ${s.hours} | ${s.touches} | ${name} | ${s.brier.toFixed(5)} | ` +
          `${s.logLoss.toFixed(4)} | ${(s.caught * 100).toFixed(1)}% | ${(s.falseAlarms * 100).toFixed(1)}% | ` +
          `${(s.meanOnTouches * 100).toFixed(2)}% |`,
      );
    }
  }
}
const out = resolve("reports/volatility-study.json");
mkdirSync(join(out, ".."), { recursive: true });
writeFileSync(
  out,
  JSON.stringify(
    {
      train: train.map((f) => basename(f)),
      garch: { ...garch, persistence, longRunVolatility, trainVariance },
      ewma: { windowSeconds: EWMA_WINDOW, initialVolatility: INITIAL_VOLATILITY },
      alarm: ALARM,
      results,
    },
    null,
    2,
  ) + "\n",
);
console.log("\n" + lines.join("\n") + "\n");
console.log(`wrote ${out}`);
