/**
 * Runs the `backtest` task over every `*.csv` in a directory (default `data/prices`) with the default
 * book, feed emulation and policies, one series after another, and writes
 * `reports/backtests/<series>.{json,html}` plus a Markdown summary `reports/backtests/summary.md`; then
 * the differential test of the fast engine against the contracts on every series of `data/prices`, whole
 * (`test/tasks/fast-engine.test.ts` with `FAST_DIFF=all`: hours on a 2-core machine).
 *
 *   npm run backtest:all [-- <directory>] [--engine chain] [--skip-differential]
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import type { PolicyMetrics } from "../tasks/lib/sim/runner";

interface BacktestResult {
  rows: number;
  rounds: number;
  priceMin: number;
  priceMax: number;
  maxDrawdown: number;
  wallSeconds: number;
  policies: Record<string, PolicyMetrics>;
}

const argv = process.argv.slice(2);
const flag = (name: string) => {
  const at = argv.indexOf(name);
  if (at < 0) return undefined;
  argv.splice(at, 1);
  return true;
};
const option = (name: string) => {
  const at = argv.indexOf(name);
  if (at < 0) return undefined;
  const [, value] = argv.splice(at, 2);
  return value;
};
const engine = option("--engine") ?? "fast";
const skipDifferential = flag("--skip-differential") ?? false;
const dir = resolve(argv[0] ?? "data/prices");
const out = resolve("reports/backtests");
mkdirSync(out, { recursive: true });
const files = readdirSync(dir)
  .filter((f) => f.endsWith(".csv"))
  .sort();
if (files.length === 0) throw new Error(`no .csv files in ${dir}`);

// Compile once up front (the task compiles only when no artifacts exist).
if (spawnSync("npx", ["hardhat", "compile", "--quiet"], { stdio: "inherit" }).status !== 0) {
  throw new Error("compilation failed");
}

const results: [string, BacktestResult][] = [];
for (const file of files) {
  const name = basename(file, ".csv");
  const json = join(out, `${name}.json`);
  const args = [
    "hardhat",
    "backtest",
    "--prices",
    join(dir, file),
    "--out",
    json,
    "--html",
    join(out, `${name}.html`),
    "--engine",
    engine,
  ];
  console.log(`\n$ npx ${args.join(" ")}`);
  const run = spawnSync("npx", args, { stdio: "inherit" });
  if (run.status !== 0) throw new Error(`backtest of ${file} failed (exit ${run.status})`);
  results.push([name, JSON.parse(readFileSync(json, "utf8")) as BacktestResult]);
}

const usd = (x: number) => Math.round(x).toLocaleString("en-US");
const lines: string[] = [
  "| series | rounds | low – high | drawdown | wall time |",
  "| --- | --- | --- | --- | --- |",
  ...results.map(
    ([name, r]) =>
      `| \`${name}\` | ${r.rounds.toLocaleString("en-US")} | ${r.priceMin.toFixed(2)} – ${r.priceMax.toFixed(2)} | ` +
      `${(r.maxDrawdown * 100).toFixed(1)}% | ${Math.round(r.wallSeconds)} s |`,
  ),
  "",
  "| series | policy | liquidated accounts, liquidator first (≤10x) | keeper first | liquidations | bad debt | rebalances | top-up USD | " +
    "deleveraged or liquidated USD | fees USD | keeper rewards USD | cost / notional | min health | hours below trigger | exposure kept | hindsight | kept / hindsight |",
  "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
];
for (const [name, r] of results) {
  for (const [policy, m] of Object.entries(r.policies)) {
    lines.push(
      `| \`${name}\` | ${policy} | ${m.liquidatedAccounts} (${m.liquidationsAtOrBelow10x}) | ` +
        `${m.liquidatedKeeperFirst ?? "–"} | ${m.liquidations} | ` +
        `${usd(m.badDebt)} | ${m.rebalances} | ${usd(m.topUpVolume)} | ${usd(m.deleveragedNotional)} | ` +
        `${usd(m.feesPaid)} | ${usd(m.keeperRewards)} | ${(m.costShare * 100).toFixed(3)}% | ${m.minHealth} | ` +
        `${(m.secondsBelowTrigger / 3600).toFixed(1)} | ${m.exposureRetained} | ${m.hindsightExposure} | ` +
        `${m.exposureVsHindsight} |`,
    );
  }
}
const summary = lines.join("\n") + "\n";
writeFileSync(join(out, "summary.md"), summary);
console.log("\n" + summary);
console.log(`wrote ${join(out, "summary.md")}`);

if (!skipDifferential) {
  console.log("\n$ FAST_DIFF=all npx hardhat test test/tasks/fast-engine.test.ts");
  const diff = spawnSync("npx", ["hardhat", "test", "test/tasks/fast-engine.test.ts"], {
    stdio: "inherit",
    env: { ...process.env, FAST_DIFF: "all" },
  });
  if (diff.status !== 0) throw new Error(`the differential test failed (exit ${diff.status})`);
}
