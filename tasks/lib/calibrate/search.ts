/**
 * The policy calibration behind `npx hardhat calibrate`: a grid search of policy parameters per leverage
 * tier, on training price series replayed with the fast engine (`tasks/lib/fast/runner.ts`), then a
 * walk-forward check of the chosen parameters on test series the search never saw.
 *
 * Objective, per policy and tier (the tier's long and short accounts over every training series):
 *
 *     score = Σ exposure kept / Σ hindsight exposure − costWeight × Σ (fees + keeper rewards) / Σ notional
 *
 * subject to no account of the tier liquidated (by the competing liquidator, which acts first on every
 * round) on any training series when the tier is at most 10x; above 10x the constraint is relaxed to the
 * fewest liquidated accounts any candidate reached. The best score wins; equal scores go to the lower cost.
 * With `costWeight` 100, one basis point of cost weighs as much as 1% of the hindsight exposure.
 *
 * The threshold policy is searched per tier. The volatility-scaled strategy's deployment parameters are one
 * contract's, shared by every tier: each deployment is scored by the sum over the tiers of its best
 * feasible policy per tier, and the deployment with the best sum wins (one with a tier of at most 10x that
 * no policy keeps free of liquidations is out; among the rest, fewer liquidated accounts above 10x come
 * first).
 *
 * Pure functions: no Hardhat runtime, no files. Accounts of a book are independent of each other, so one
 * replay with every tier in the book gives every tier's outcome at once.
 */
import { formatEther, parseEther } from "ethers";
import { DEFAULTS } from "../../../ignition/modules/core";
import { runFastSimulation, type FastOptions } from "../fast/runner";
import type { VolatilityScaledParams } from "../fast/strategies";
import type { PricePoint } from "../sim/prices";
import type { BookSpec, SimResult } from "../sim/runner";

/** The policies the calibration searches. */
export type CalibratedPolicy = "threshold" | "volatility";
export const CALIBRATED_POLICIES: CalibratedPolicy[] = ["threshold", "volatility"];

/** Leverage tiers searched by default. */
export const DEFAULT_TIERS = [2, 3, 5, 10, 20];
/** Reserve shares (of margin) searched by default. */
export const DEFAULT_RESERVE_SHARES = [0.25, 0.5, 1];
/** Default weight of the cost share in the objective (1 bp of cost = 1% of the hindsight exposure). */
export const DEFAULT_COST_WEIGHT = 100;
/** Tiers up to this leverage must keep every account out of liquidation; above it, as few as possible. */
export const STRICT_MAX_LEVERAGE = 10;
/** Margin of every calibration account (USD). */
export const CALIBRATION_MARGIN_USD = 10_000;

/** A training or test series: its name (the path given) and the oracle rounds emulated from it. */
export interface Series {
  name: string;
  rounds: PricePoint[];
}

/** The per-account policy a candidate sets, and the reserve the account holds beside its margin. */
export interface PolicyParams {
  triggerHealth: number;
  targetHealth: number;
  /** 0: never sweep. */
  sweepHealth: number;
  /** Reserve as a share of margin. */
  reserveShare: number;
}

/** A `VolatilityScaledStrategy` deployment, in decimals (`pTarget` is `pMax / 10` in the grid). */
export interface Deployment {
  pMax: number;
  pTarget: number;
  horizonSeconds: number;
  turbulenceVolatility: number;
  turbulenceTargetMultiplier: number;
}

/** The grid searched (reserve shares are given apart: they are a user option). */
export interface CalibrationGrid {
  name: string;
  threshold: {
    triggers: number[];
    /** Target − trigger. */
    gaps: number[];
    /** Sweep − target; `null`: never sweep. */
    sweepOffsets: (number | null)[];
  };
  volatility: {
    /** `pTarget` is `pMax / 10`. */
    pMax: number[];
    horizons: number[];
    turbulenceMultipliers: number[];
    triggers: number[];
    gaps: number[];
  };
}

/** The grid of `npx hardhat calibrate` (see docs/CALIBRATION.md). */
export const DEFAULT_GRID: CalibrationGrid = {
  name: "default",
  threshold: { triggers: [1.15, 1.3, 1.5, 1.8], gaps: [0.15, 0.3, 0.6], sweepOffsets: [null, 0.5] },
  volatility: {
    pMax: [0.005, 0.01, 0.02],
    horizons: [3_600, 14_400],
    turbulenceMultipliers: [1, 1.25],
    triggers: [1.2, 1.4],
    gaps: [0.2, 0.4],
  },
};

/** `--grid small`: two candidates of each kind, for tests and quick looks. */
export const SMALL_GRID: CalibrationGrid = {
  name: "small",
  threshold: { triggers: [1.3, 1.8], gaps: [0.3], sweepOffsets: [null] },
  volatility: {
    pMax: [0.01],
    horizons: [3_600],
    turbulenceMultipliers: [1, 1.25],
    triggers: [1.4],
    gaps: [0.2],
  },
};

/** A tier's accounts summed over series. */
export interface TierFigures {
  tier: number;
  /** Accounts evaluated (long and short, once per series). */
  accounts: number;
  /** Accounts liquidated at least once, summed over the series. */
  liquidated: number;
  /** The same per series, in the order given. */
  liquidatedBySeries: number[];
  /** Σ time-weighted exposure kept and Σ hindsight exposure (shares of the opening size). */
  kept: number;
  hindsight: number;
  keptOverHindsight: number;
  /** Σ fees (liquidation penalties included) and keeper rewards, and Σ opening notional (USD). */
  costUsd: number;
  notionalUsd: number;
  costShare: number;
  /** The objective (see the file notes). */
  score: number;
  /** Within its candidate set: no liquidated account (≤ 10x), or the fewest any candidate reached (> 10x). */
  feasible: boolean;
}

/** One point of the grid and its training figures per tier (in the order of the tiers). */
export interface Candidate {
  id: number;
  policy: CalibratedPolicy;
  /** The volatility strategy's deployment (index into the deployments searched). */
  deployment?: number;
  params: PolicyParams;
  tiers: TierFigures[];
}

/** How a volatility deployment fared: its best feasible policy per tier and their summed score. */
export interface DeploymentSummary {
  index: number;
  deployment: Deployment;
  /** Every tier of at most 10x has a policy without liquidated accounts. */
  feasible: boolean;
  /** Liquidated accounts of its chosen policies in the tiers above 10x. */
  relaxedLiquidated: number;
  score: number;
  costShare: number;
  /** The candidate chosen per tier (`null`: none feasible). */
  choices: (number | null)[];
}

/** The parameters chosen for one tier, with their training and test figures. */
export interface TierChoice {
  tier: number;
  candidate: number;
  params: PolicyParams;
  train: TierFigures;
  test?: TierFigures;
}

/** What the search chose for one policy. */
export interface PolicyChoice {
  policy: CalibratedPolicy;
  /** The volatility strategy's deployment chosen (volatility only; absent when none is feasible). */
  deployment?: Deployment;
  /** Per tier, in the order of the tiers; `null` where no candidate is feasible. */
  tiers: (TierChoice | null)[];
  /** Test totals: liquidated accounts at ≤ 10x and in all tiers. */
  test?: { liquidatedStrict: number; liquidated: number };
}

/** The replay function (the fast engine; tests spy on it). */
export type Simulate = (rounds: PricePoint[], options: FastOptions) => SimResult;

export interface CalibrationOptions {
  tiers: number[];
  policies: CalibratedPolicy[];
  reserveShares: number[];
  costWeight: number;
  grid: CalibrationGrid;
  simulate?: Simulate;
  /** Called after every training replay. */
  onTrainRun?: (done: number, total: number) => void;
  /** Called after every test replay. */
  onTestRun?: (done: number, total: number) => void;
}

export interface CalibrationResult {
  tiers: number[];
  policies: CalibratedPolicy[];
  reserveShares: number[];
  costWeight: number;
  grid: CalibrationGrid;
  gridSize: GridSize;
  train: { name: string; rounds: number }[];
  test: { name: string; rounds: number }[];
  candidates: Partial<Record<CalibratedPolicy, Candidate[]>>;
  deployments?: DeploymentSummary[];
  choices: PolicyChoice[];
  testRuns: number;
}

/** Candidates and replays of a grid on `series` training series. */
export interface GridSize {
  threshold: { candidates: number; runs: number };
  volatility: { deployments: number; policiesPerDeployment: number; candidates: number; runs: number };
  trainingRuns: number;
}

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;
/** A decimal as WAD, without binary noise (1.3 → 1.3e18 exactly). */
const wad = (x: number) => parseEther(x.toFixed(12));
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** Whether `tier` must keep every account out of liquidation (≤ 10x) rather than as many as possible. */
export function isStrictTier(tier: number): boolean {
  return tier <= STRICT_MAX_LEVERAGE;
}

/** The threshold policy's candidates: trigger × (target − trigger) × sweep × reserve share. */
export function thresholdCandidates(grid: CalibrationGrid, reserveShares: number[]): PolicyParams[] {
  const out: PolicyParams[] = [];
  const g = grid.threshold;
  for (const triggerHealth of g.triggers)
    for (const gap of g.gaps)
      for (const offset of g.sweepOffsets)
        for (const reserveShare of reserveShares) {
          const targetHealth = round(triggerHealth + gap, 6);
          const sweepHealth = offset === null ? 0 : round(targetHealth + offset, 6);
          out.push({ triggerHealth, targetHealth, sweepHealth, reserveShare });
        }
  return out;
}

/** The volatility strategy's deployments: pMax (pTarget = pMax / 10) × horizon × turbulence multiplier. */
export function volatilityDeployments(grid: CalibrationGrid): Deployment[] {
  const turbulenceVolatility = Number(formatEther(DEFAULTS.volatilityStrategy.turbulenceVolatilityWad));
  const out: Deployment[] = [];
  for (const pMax of grid.volatility.pMax)
    for (const horizonSeconds of grid.volatility.horizons)
      for (const turbulenceTargetMultiplier of grid.volatility.turbulenceMultipliers) {
        const pTarget = Number(formatEther(wad(pMax) / 10n));
        out.push({ pMax, pTarget, horizonSeconds, turbulenceVolatility, turbulenceTargetMultiplier });
      }
  return out;
}

/** The per-account policies tried under every volatility deployment (never sweeping). */
export function volatilityPolicies(grid: CalibrationGrid, reserveShares: number[]): PolicyParams[] {
  const out: PolicyParams[] = [];
  for (const triggerHealth of grid.volatility.triggers)
    for (const gap of grid.volatility.gaps)
      for (const reserveShare of reserveShares)
        out.push({
          triggerHealth,
          targetHealth: round(triggerHealth + gap, 6),
          sweepHealth: 0,
          reserveShare,
        });
  return out;
}

/** The strategy's constructor arguments (WAD) for a deployment: `pTarget` is `pMax / 10` exactly. */
export function deploymentParams(d: Deployment): VolatilityScaledParams {
  return {
    pMaxWad: wad(d.pMax),
    pTargetWad: wad(d.pTarget),
    horizonSeconds: BigInt(d.horizonSeconds),
    turbulenceVolatilityWad: wad(d.turbulenceVolatility),
    turbulenceTargetMultiplierWad: wad(d.turbulenceTargetMultiplier),
  };
}

/** The number of candidates and training replays of `grid` over `series` series. */
export function gridSize(
  grid: CalibrationGrid,
  reserveShares: number[],
  policies: CalibratedPolicy[],
  series: number,
): GridSize {
  const threshold = policies.includes("threshold") ? thresholdCandidates(grid, reserveShares).length : 0;
  const deployments = policies.includes("volatility") ? volatilityDeployments(grid).length : 0;
  const perDeployment = policies.includes("volatility") ? volatilityPolicies(grid, reserveShares).length : 0;
  const volatility = deployments * perDeployment;
  return {
    threshold: { candidates: threshold, runs: threshold * series },
    volatility: {
      deployments,
      policiesPerDeployment: perDeployment,
      candidates: volatility,
      runs: volatility * series,
    },
    trainingRuns: (threshold + volatility) * series,
  };
}

/** The book of one replay: every tier, long and short, one account each, under `policy` and `params`. */
export function calibrationBook(policy: CalibratedPolicy, params: PolicyParams, tiers: number[]): BookSpec {
  return {
    policies: [policy],
    leverages: tiers,
    sides: [1, -1],
    marginUsd: CALIBRATION_MARGIN_USD,
    reserveShare: params.reserveShare,
    triggerHealth: params.triggerHealth,
    targetHealth: params.targetHealth,
    sweepHealth: params.sweepHealth,
  };
}

/** The objective: exposure kept over hindsight, less `costWeight` times the cost share. */
export function objective(figures: { keptOverHindsight: number; costShare: number }, costWeight: number) {
  return figures.keptOverHindsight - costWeight * figures.costShare;
}

/**
 * A tier's accounts (every account of leverage `tier`) summed over the replays `results` (one per
 * series): liquidated accounts, exposure kept against hindsight, fees and rewards against notional.
 * `feasible` is left false: it depends on the other candidates (`markFeasible`).
 */
export function tierFigures(results: SimResult[], tier: number, costWeight: number): TierFigures {
  let accounts = 0;
  let kept = 0;
  let hindsight = 0;
  let costUsd = 0;
  let notionalUsd = 0;
  const liquidatedBySeries: number[] = [];
  for (const r of results) {
    const mine = new Set(r.accounts.filter((a) => a.leverage === tier).map((a) => a.address));
    const outcomes = r.outcomes.filter((o) => mine.has(o.address));
    accounts += outcomes.length;
    liquidatedBySeries.push(outcomes.filter((o) => o.liquidations > 0).length);
    kept += sum(outcomes.map((o) => o.exposureKept));
    hindsight += sum(outcomes.map((o) => o.hindsightExposure));
    notionalUsd += sum(r.accounts.filter((a) => mine.has(a.address)).map((a) => a.initialNotionalUsd));
    costUsd += sum(r.events.filter((e) => mine.has(e.account)).map((e) => e.feesUsd + e.rewardUsd));
  }
  const keptOverHindsight = hindsight > 0 ? kept / hindsight : 0;
  const costShare = notionalUsd > 0 ? costUsd / notionalUsd : 0;
  return {
    tier,
    accounts,
    liquidated: sum(liquidatedBySeries),
    liquidatedBySeries,
    kept: round(kept, 4),
    hindsight: round(hindsight, 4),
    keptOverHindsight: round(keptOverHindsight, 6),
    costUsd: round(costUsd, 2),
    notionalUsd: round(notionalUsd, 2),
    costShare: round(costShare, 8),
    score: round(objective({ keptOverHindsight, costShare }, costWeight), 6),
    feasible: false,
  };
}

/** One replay per series of `policy` with `params` (and the strategy `deployment`), every tier in the book. */
export function replay(
  simulate: Simulate,
  series: Series[],
  policy: CalibratedPolicy,
  params: PolicyParams,
  tiers: number[],
  deployment?: Deployment,
  onRun?: () => void,
): SimResult[] {
  return series.map((s) => {
    const result = simulate(s.rounds, {
      book: calibrationBook(policy, params, tiers),
      replicas: 1,
      sampleEvery: s.rounds.length,
      volatilityStrategy: deployment ? deploymentParams(deployment) : undefined,
    });
    onRun?.();
    return result;
  });
}

/**
 * Sets `feasible` on every candidate's figures for each tier: no liquidated account at ≤ 10x; above 10x,
 * as few liquidated accounts as the fewest of any candidate.
 */
export function markFeasible(candidates: Candidate[], tiers: number[]): void {
  tiers.forEach((tier, k) => {
    const fewest = Math.min(...candidates.map((c) => c.tiers[k].liquidated));
    for (const c of candidates) {
      const f = c.tiers[k];
      f.feasible = isStrictTier(tier) ? f.liquidated === 0 : f.liquidated === fewest;
    }
  });
}

/** Whether `a` beats `b`: the higher score, or at equal scores the lower cost share. */
function better(a: { score: number; costShare: number }, b: { score: number; costShare: number }) {
  if (a.score !== b.score) return a.score > b.score;
  return a.costShare < b.costShare;
}

/**
 * The index of the best of `entries` that are allowed: the argmax of the score, equal scores to the lower
 * cost share, then to the first. -1 when none is allowed.
 */
export function bestIndex(
  entries: { score: number; costShare: number }[],
  allowed: (k: number) => boolean = () => true,
): number {
  let best = -1;
  entries.forEach((e, k) => {
    if (allowed(k) && (best < 0 || better(e, entries[best]))) best = k;
  });
  return best;
}

/**
 * The Pareto frontier of points scored by cost `x` (lower is better) and exposure `y` (higher is better):
 * the points no other point matches or beats on both with one strictly better, sorted by `x`. Of exact
 * duplicates one is kept.
 */
export function paretoFrontier<T extends { x: number; y: number }>(points: T[]): T[] {
  const sorted = [...points].sort((a, b) => a.x - b.x || b.y - a.y);
  const out: T[] = [];
  for (const p of sorted) {
    if (out.length === 0 || p.y > out[out.length - 1].y) out.push(p);
  }
  return out;
}

/** The candidate chosen per tier among `candidates` (after `markFeasible`), `null` where none is feasible. */
export function chooseTiers(candidates: Candidate[], tiers: number[]): (Candidate | null)[] {
  return tiers.map((_, k) => {
    const best = bestIndex(
      candidates.map((c) => c.tiers[k]),
      (i) => candidates[i].tiers[k].feasible,
    );
    return best < 0 ? null : candidates[best];
  });
}

/**
 * Every deployment's best policy per tier among its own candidates (≤ 10x: no liquidated account; above:
 * the fewest of its candidates), and the sum of their scores.
 */
export function summarizeDeployments(
  candidates: Candidate[],
  deployments: Deployment[],
  tiers: number[],
): DeploymentSummary[] {
  return deployments.map((deployment, index) => {
    const mine = candidates.filter((c) => c.deployment === index);
    const choices = tiers.map((tier, k) => {
      const fewest = Math.min(...mine.map((c) => c.tiers[k].liquidated));
      const allowed = (i: number) =>
        isStrictTier(tier) ? mine[i].tiers[k].liquidated === 0 : mine[i].tiers[k].liquidated === fewest;
      const best = bestIndex(
        mine.map((c) => c.tiers[k]),
        allowed,
      );
      return best < 0 ? null : mine[best];
    });
    const chosen = choices.flatMap((c, k) => (c === null ? [] : [c.tiers[k]]));
    return {
      index,
      deployment,
      feasible: choices.every((c) => c !== null),
      relaxedLiquidated: sum(chosen.filter((f) => !isStrictTier(f.tier)).map((f) => f.liquidated)),
      score: round(sum(chosen.map((f) => f.score)), 6),
      costShare: round(sum(chosen.map((f) => f.costShare)), 8),
      choices: choices.map((c) => (c === null ? null : c.id)),
    };
  });
}

/**
 * The deployment chosen: among the feasible ones, the fewest liquidated accounts above 10x, then the best
 * summed score, then the lower summed cost. `undefined` when none is feasible.
 */
export function chooseDeployment(summaries: DeploymentSummary[]): DeploymentSummary | undefined {
  let best: DeploymentSummary | undefined;
  for (const s of summaries) {
    if (!s.feasible) continue;
    if (
      best === undefined ||
      s.relaxedLiquidated < best.relaxedLiquidated ||
      (s.relaxedLiquidated === best.relaxedLiquidated && better(s, best))
    ) {
      best = s;
    }
  }
  return best;
}

/** Replays every threshold candidate on the training series. */
export function searchThreshold(
  train: Series[],
  options: CalibrationOptions,
  onRun: () => void,
): Candidate[] {
  const simulate = options.simulate ?? runFastSimulation;
  const candidates = thresholdCandidates(options.grid, options.reserveShares).map((params, id) => {
    const results = replay(simulate, train, "threshold", params, options.tiers, undefined, onRun);
    const tiers = options.tiers.map((t) => tierFigures(results, t, options.costWeight));
    return { id, policy: "threshold" as const, params, tiers };
  });
  markFeasible(candidates, options.tiers);
  return candidates;
}

/** Replays every (deployment, policy) pair of the volatility grid on the training series. */
export function searchVolatility(
  train: Series[],
  deployments: Deployment[],
  options: CalibrationOptions,
  onRun: () => void,
): Candidate[] {
  const simulate = options.simulate ?? runFastSimulation;
  const policies = volatilityPolicies(options.grid, options.reserveShares);
  const candidates: Candidate[] = [];
  deployments.forEach((deployment, d) => {
    for (const params of policies) {
      const results = replay(simulate, train, "volatility", params, options.tiers, deployment, onRun);
      const tiers = options.tiers.map((t) => tierFigures(results, t, options.costWeight));
      candidates.push({ id: candidates.length, policy: "volatility", deployment: d, params, tiers });
    }
  });
  markFeasible(candidates, options.tiers);
  return candidates;
}

/** A policy choice from the candidate chosen per tier (no test figures yet). */
function policyChoice(
  policy: CalibratedPolicy,
  chosen: (Candidate | null)[],
  tiers: number[],
  deployment?: Deployment,
): PolicyChoice {
  return {
    policy,
    deployment,
    tiers: chosen.map((c, k) =>
      c === null ? null : { tier: tiers[k], candidate: c.id, params: c.params, train: c.tiers[k] },
    ),
  };
}

/** Tiers sharing the same parameters, so that one replay per test series serves them all. */
function groupByParams(choice: PolicyChoice): { params: PolicyParams; tiers: number[] }[] {
  const groups = new Map<string, { params: PolicyParams; tiers: number[] }>();
  for (const t of choice.tiers) {
    if (t === null) continue;
    const key = JSON.stringify(t.params);
    const group = groups.get(key) ?? { params: t.params, tiers: [] };
    group.tiers.push(t.tier);
    groups.set(key, group);
  }
  return [...groups.values()];
}

/** The number of test replays `walkForward` makes for `choices` on `series` series. */
export function testRunCount(choices: PolicyChoice[], series: number): number {
  return sum(choices.map((c) => groupByParams(c).length)) * series;
}

/**
 * The walk-forward check: replays each policy's chosen parameters per tier on the `test` series only and
 * sets `test` on every tier choice (feasible there means no liquidated account at ≤ 10x) and the policy's
 * test totals. Tiers with the same parameters share a replay.
 */
export function walkForward(
  choices: PolicyChoice[],
  test: Series[],
  costWeight: number,
  simulate: Simulate = runFastSimulation,
  onRun?: () => void,
): void {
  for (const choice of choices) {
    for (const group of groupByParams(choice)) {
      const results = replay(
        simulate,
        test,
        choice.policy,
        group.params,
        group.tiers,
        choice.deployment,
        onRun,
      );
      for (const tier of group.tiers) {
        const figures = tierFigures(results, tier, costWeight);
        figures.feasible = !isStrictTier(tier) || figures.liquidated === 0;
        choice.tiers.find((t) => t?.tier === tier)!.test = figures;
      }
    }
    const tested = choice.tiers.flatMap((t) => (t?.test ? [t.test] : []));
    choice.test = {
      liquidatedStrict: sum(tested.filter((f) => isStrictTier(f.tier)).map((f) => f.liquidated)),
      liquidated: sum(tested.map((f) => f.liquidated)),
    };
  }
}

/**
 * The whole calibration: the grid of each policy on `train`, the choices, and their walk-forward figures
 * on `test` (which the search never replays).
 */
export function calibrate(train: Series[], test: Series[], options: CalibrationOptions): CalibrationResult {
  const size = gridSize(options.grid, options.reserveShares, options.policies, train.length);
  let done = 0;
  const onRun = () => options.onTrainRun?.(++done, size.trainingRuns);
  const candidates: CalibrationResult["candidates"] = {};
  const choices: PolicyChoice[] = [];
  let summaries: DeploymentSummary[] | undefined;
  if (options.policies.includes("threshold")) {
    const found = searchThreshold(train, options, onRun);
    candidates.threshold = found;
    choices.push(policyChoice("threshold", chooseTiers(found, options.tiers), options.tiers));
  }
  if (options.policies.includes("volatility")) {
    const deployments = volatilityDeployments(options.grid);
    const found = searchVolatility(train, deployments, options, onRun);
    candidates.volatility = found;
    summaries = summarizeDeployments(found, deployments, options.tiers);
    const best = chooseDeployment(summaries);
    const chosen = options.tiers.map((_, k) => (best ? found[best.choices[k]!] : null));
    choices.push(policyChoice("volatility", chosen, options.tiers, best?.deployment));
  }
  const testRuns = testRunCount(choices, test.length);
  let tested = 0;
  walkForward(choices, test, options.costWeight, options.simulate, () =>
    options.onTestRun?.(++tested, testRuns),
  );
  return {
    tiers: options.tiers,
    policies: options.policies,
    reserveShares: options.reserveShares,
    costWeight: options.costWeight,
    grid: options.grid,
    gridSize: size,
    train: train.map((s) => ({ name: s.name, rounds: s.rounds.length })),
    test: test.map((s) => ({ name: s.name, rounds: s.rounds.length })),
    candidates,
    deployments: summaries,
    choices,
    testRuns,
  };
}
