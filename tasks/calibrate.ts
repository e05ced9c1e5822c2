import { types } from "hardhat/config";
import { createHash } from "node:crypto";
import { mkdirSync, realpathSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname } from "node:path";
import { defineTask } from "./lib/cli";
import { TaskError } from "./lib/errors";
import { MAINNET_ETH_USD, emulateRounds, readPrices, type PricePoint } from "./lib/sim/prices";
import { progressBar } from "./lib/sim/progress";
import {
  CALIBRATED_POLICIES,
  DEFAULT_COST_WEIGHT,
  DEFAULT_GRID,
  DEFAULT_RESERVE_SHARES,
  DEFAULT_TIERS,
  SMALL_GRID,
  calibrate,
  type CalibratedPolicy,
  type Series,
} from "./lib/calibrate/search";
import {
  choicesText,
  ignitionFragment,
  renderCalibrationHtml,
  setPolicyLines,
  type RunInfo,
} from "./lib/calibrate/report";

interface CalibrateArgs {
  train: string;
  test: string;
  tiers: string;
  policies: string;
  reserveShares: string;
  costWeight: number;
  out: string;
  html: string;
  ignition: string;
  grid: string;
}

/** Tiers above this leverage cannot open: the opening fee leaves margin below the 4% initial margin. */
const MAX_TIER = 24;

defineTask(
  "calibrate",
  "Searches policy parameters per leverage tier on training price series, then checks them on test series",
)
  .addParam("train", "Training series: CSV files of `timestamp,price` (as for backtest), comma-separated")
  .addParam("test", "Test series, comma-separated: replayed only with the chosen parameters (walk-forward)")
  .addOptionalParam("tiers", "Leverage tiers, comma-separated", DEFAULT_TIERS.join(","))
  .addOptionalParam("policies", "Policies to calibrate: threshold, volatility", CALIBRATED_POLICIES.join(","))
  .addOptionalParam(
    "reserveShares",
    "Reserve shares of margin to search, comma-separated",
    DEFAULT_RESERVE_SHARES.join(","),
  )
  .addOptionalParam(
    "costWeight",
    "Objective per tier: maximise exposure kept / hindsight − costWeight × (fees + keeper rewards) / opening " +
      "notional, with no liquidated account at ≤10x (above 10x: the fewest); ties to the lower cost. " +
      "100: 1 basis point of cost weighs as 1% of the hindsight exposure",
    DEFAULT_COST_WEIGHT,
    types.float,
  )
  .addOptionalParam(
    "out",
    "Where to write the results (JSON: grid, every candidate, choices, test)",
    "reports/calibration.json",
  )
  .addOptionalParam(
    "html",
    "Where to write the HTML page (frontiers and the train/test table)",
    "reports/calibration.html",
  )
  .addOptionalParam(
    "ignition",
    "Where to write the Ignition parameters of the chosen volatility deployment",
    "reports/calibration.ignition.json",
  )
  .addOptionalParam(
    "grid",
    "default, or small: a grid of two candidates per policy, for tests and quick looks",
    "default",
  )
  .setAction(async (args: CalibrateArgs) => {
    const started = Date.now();
    const load0 = loadavg()[0];
    const options = parseOptions(args);
    const rows: Record<string, number> = {};
    const train = readSeries(args.train, "--train", rows);
    const test = readSeries(args.test, "--test", rows);
    checkDisjoint(train, test);

    const grid = args.grid === "small" ? SMALL_GRID : DEFAULT_GRID;
    const result = calibrate(
      train.map((s) => s.series),
      test.map((s) => s.series),
      {
        ...options,
        grid,
        onTrainRun: progressBar("training runs"),
        onTestRun: progressBar("test runs"),
      },
    );
    const size = result.gridSize;
    const info: RunInfo = {
      wallSeconds: (Date.now() - started) / 1000,
      cpus: cpus().length,
      load: [load0, loadavg()[0]],
      rows,
    };
    const volatility = result.choices.find((c) => c.policy === "volatility");
    const fragment = volatility?.deployment ? ignitionFragment(volatility.deployment) : undefined;
    const setPolicy = setPolicyLines(result);
    const output = { ...result, run: info, setPolicy, ignition: fragment };
    write(args.out, JSON.stringify(output, null, 2) + "\n");
    write(args.html, renderCalibrationHtml(result, info));
    if (fragment) write(args.ignition, JSON.stringify(fragment, null, 2) + "\n");

    console.log(choicesText(result));
    console.log("");
    for (const line of setPolicy) console.log(line);
    if (fragment) console.log(`volatility deployment: Ignition parameters in ${args.ignition}`);
    else if (volatility) console.log("volatility: no deployment keeps every tier ≤10x free of liquidations");
    console.log(
      `\ngrid ${grid.name}: ${size.trainingRuns} training runs (threshold ${size.threshold.candidates} ` +
        `candidates, volatility ${size.volatility.deployments} deployments × ` +
        `${size.volatility.policiesPerDeployment} policies, on ${train.length} series) and ` +
        `${result.testRuns} test runs in ${info.wallSeconds.toFixed(1)} s`,
    );
    console.error(`wrote ${args.out}, ${args.html}${fragment ? ` and ${args.ignition}` : ""}`);
    return output;
  });

/** The list options, checked. */
function parseOptions(args: CalibrateArgs) {
  if (args.grid !== "default" && args.grid !== "small") {
    throw new TaskError(`--grid: expected default or small, got "${args.grid}"`);
  }
  const policies = list(args.policies, "--policies") as CalibratedPolicy[];
  for (const p of policies) {
    if (!CALIBRATED_POLICIES.includes(p)) {
      throw new TaskError(`--policies: unknown policy "${p}" (expected ${CALIBRATED_POLICIES.join(", ")})`);
    }
  }
  const tiers = numbers(args.tiers, "--tiers");
  for (const t of tiers) {
    if (!(t >= 1 && t <= MAX_TIER)) {
      throw new TaskError(
        `--tiers: ${t} is not a leverage from 1 to ${MAX_TIER} (the markets' 4% initial margin)`,
      );
    }
  }
  const reserveShares = numbers(args.reserveShares, "--reserve-shares");
  for (const r of reserveShares) {
    if (!(r >= 0 && r <= 10))
      throw new TaskError(`--reserve-shares: ${r} is not a share of margin from 0 to 10`);
  }
  if (!(Number.isFinite(args.costWeight) && args.costWeight >= 0)) {
    throw new TaskError(`--cost-weight: expected a number ≥ 0, got ${args.costWeight}`);
  }
  return { policies: unique(policies, "--policies"), tiers, reserveShares, costWeight: args.costWeight };
}

/** A comma-separated option as a non-empty list without duplicates. */
function list(value: string, option: string): string[] {
  const items = value
    .split(",")
    .map((x) => x.trim())
    .filter((x) => x !== "");
  if (items.length === 0) throw new TaskError(`${option}: empty list`);
  return unique(items, option);
}

function unique<T>(items: T[], option: string): T[] {
  const twice = items.find((x, k) => items.indexOf(x) !== k);
  if (twice !== undefined) throw new TaskError(`${option}: "${twice}" is listed twice`);
  return items;
}

/** A comma-separated list of numbers. */
function numbers(value: string, option: string): number[] {
  const out = list(value, option).map((x) => {
    const n = Number(x);
    if (!Number.isFinite(n)) throw new TaskError(`${option}: "${x}" is not a number`);
    return n;
  });
  return unique(out, option);
}

interface ReadSeries {
  series: Series;
  realPath: string;
  digest: string;
}

/** Reads every CSV of a list option and emulates its oracle rounds (mainnet ETH/USD feed rules). */
function readSeries(value: string, option: string, rows: Record<string, number>): ReadSeries[] {
  const out = list(value, option).map((path) => {
    const points = readPrices(path, option);
    rows[path] = points.length;
    return {
      series: { name: path, rounds: emulateRounds(points, MAINNET_ETH_USD) },
      realPath: realpathSync(path),
      digest: digest(points),
    };
  });
  for (const [k, s] of out.entries()) {
    const earlier = out.slice(0, k).find((e) => e.realPath === s.realPath || e.digest === s.digest);
    if (earlier)
      throw new TaskError(`${option}: ${s.series.name} is the same series as ${earlier.series.name}`);
  }
  return out;
}

/** A series in both lists would be tested on what it was trained on. */
function checkDisjoint(train: ReadSeries[], test: ReadSeries[]) {
  for (const t of test) {
    const same = train.find((s) => s.realPath === t.realPath || s.digest === t.digest);
    if (same) {
      throw new TaskError(
        `--test ${t.series.name} is also a training series (${same.series.name}): the test series must be unseen`,
      );
    }
  }
}

const digest = (points: PricePoint[]) => createHash("sha256").update(JSON.stringify(points)).digest("hex");

function write(path: string, text: string) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}
