/**
 * What `npx hardhat calibrate` hands its user: the Ignition parameters fragment of the volatility
 * strategy's chosen deployment, a `set-policy` command line and a reserve sentence per tier, the
 * train/test table for the terminal, and a self-contained HTML page (inline SVG, no scripts) with the
 * cost/exposure frontier of every policy and tier.
 */
import { formatTable } from "../sim/table";
import {
  CALIBRATION_MARGIN_USD,
  deploymentParams,
  isStrictTier,
  paretoFrontier,
  type CalibrationResult,
  type Candidate,
  type Deployment,
  type PolicyChoice,
  type PolicyParams,
  type TierFigures,
} from "./search";

/** The Ignition parameters of module `Ballast` for the volatility strategy (bigints as "…n" strings). */
export interface IgnitionFragment {
  Ballast: {
    pMaxWad: string;
    pTargetWad: string;
    horizonSeconds: number;
    turbulenceVolatilityWad: string;
    turbulenceTargetMultiplierWad: string;
  };
}

/** How the run went, for the page and the JSON (the search itself knows nothing of time or files). */
export interface RunInfo {
  wallSeconds: number;
  /** Logical CPUs and the 1-minute load average at the start and the end. */
  cpus: number;
  load: [number, number];
  /** Price-series rows per file, by name. */
  rows: Record<string, number>;
}

const pct = (x: number, digits = 1) => `${(x * 100).toFixed(digits)}%`;
const trim = (x: number) => String(Math.round(x * 1e6) / 1e6);
const escapeHtml = (s: string) =>
  s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);

/** The `Ballast` module's parameters for deployment `d`, as in `ignition/parameters/*.json`. */
export function ignitionFragment(d: Deployment): IgnitionFragment {
  const p = deploymentParams(d);
  return {
    Ballast: {
      pMaxWad: `${p.pMaxWad}n`,
      pTargetWad: `${p.pTargetWad}n`,
      horizonSeconds: Number(p.horizonSeconds),
      turbulenceVolatilityWad: `${p.turbulenceVolatilityWad}n`,
      turbulenceTargetMultiplierWad: `${p.turbulenceTargetMultiplierWad}n`,
    },
  };
}

/** The `set-policy` command that sets `params` under `policy` (top-ups and deleverage both allowed). */
export function setPolicyCommand(policy: string, params: PolicyParams): string {
  return (
    `npx hardhat set-policy --strategy ${policy} --trigger ${trim(params.triggerHealth)} ` +
    `--target ${trim(params.targetHealth)} --sweep ${trim(params.sweepHealth)} --top-up --deleverage`
  );
}

/** The reserve to hold beside the policy (a deposit, not a policy field). */
export function reserveSentence(params: PolicyParams, marginUsd: number): string {
  const amount = Math.round(marginUsd * params.reserveShare);
  return (
    `hold a reserve of ${pct(params.reserveShare, 0)} of margin ` +
    `(${amount.toLocaleString("en-US")} for ${marginUsd.toLocaleString("en-US")} of margin: ` +
    `npx hardhat deposit-reserve --amount ${amount})`
  );
}

/** "trigger 1.3, target 1.6, sweep never, reserve 50%". */
export function paramsText(p: PolicyParams): string {
  const sweep = p.sweepHealth === 0 ? "never" : trim(p.sweepHealth);
  return `trigger ${trim(p.triggerHealth)}, target ${trim(p.targetHealth)}, sweep ${sweep}, reserve ${pct(p.reserveShare, 0)}`;
}

/** "pMax 1%, pTarget 0.1%, horizon 1 h, turbulence ×1.25 above 150%". */
export function deploymentText(d: Deployment): string {
  const horizon = d.horizonSeconds % 3_600 === 0 ? `${d.horizonSeconds / 3_600} h` : `${d.horizonSeconds} s`;
  return (
    `pMax ${trim(d.pMax * 100)}%, pTarget ${trim(d.pTarget * 100)}%, horizon ${horizon}, ` +
    `turbulence ×${trim(d.turbulenceTargetMultiplier)} above ${pct(d.turbulenceVolatility, 0)}`
  );
}

/** The figures of one tier as table cells: liquidated, kept/hindsight, cost share, score. */
function figureCells(f: TierFigures | undefined): string[] {
  if (f === undefined) return ["–", "–", "–", "–"];
  return [`${f.liquidated}/${f.accounts}`, pct(f.keptOverHindsight), pct(f.costShare, 3), f.score.toFixed(3)];
}

/** One row per policy and tier: the parameters chosen, their training and test figures. */
function choiceRows(choices: PolicyChoice[], tiers: number[]): string[][] {
  const rows: string[][] = [];
  for (const c of choices) {
    c.tiers.forEach((t, k) => {
      const tier = `${tiers[k]}x${isStrictTier(tiers[k]) ? "" : "*"}`;
      if (t === null) rows.push([c.policy, tier, "no feasible candidate", "", "", "", "", "", "", ""]);
      else rows.push([c.policy, tier, paramsText(t.params), ...figureCells(t.train), ...figureCells(t.test)]);
    });
  }
  return rows;
}

/** The terminal table of choices with training and test figures, and the test totals per policy. */
export function choicesText(result: CalibrationResult): string {
  const right = "right" as const;
  const table = formatTable(
    [
      { header: "policy" },
      { header: "tier" },
      { header: "chosen" },
      { header: "train\nliquidated", align: right },
      { header: "train kept\n/ hindsight", align: right },
      { header: "train\ncost", align: right },
      { header: "train\nscore", align: right },
      { header: "test\nliquidated", align: right },
      { header: "test kept\n/ hindsight", align: right },
      { header: "test\ncost", align: right },
      { header: "test\nscore", align: right },
    ],
    choiceRows(result.choices, result.tiers),
  );
  const lines = [table];
  for (const c of result.choices) {
    if (c.deployment) lines.push(`${c.policy} deployment: ${deploymentText(c.deployment)}`);
    if (c.test) {
      lines.push(
        `${c.policy} on the test series: ${c.test.liquidatedStrict} liquidated accounts at ≤10x, ` +
          `${c.test.liquidated} in all tiers`,
      );
    }
  }
  lines.push(
    "liquidated: accounts liquidated / accounts (long and short, every series of the split); cost: fees and " +
      "keeper rewards over opening notional.",
    `score: kept/hindsight − ${result.costWeight} × cost; ≤10x tiers must have no liquidated account` +
      (result.tiers.some((t) => !isStrictTier(t))
        ? "; * above 10x the rule is relaxed to the fewest liquidated accounts."
        : "."),
  );
  return lines.join("\n");
}

/** Per tier and policy: the `set-policy` line and the reserve to hold. */
export function setPolicyLines(result: CalibrationResult): string[] {
  const lines: string[] = [];
  for (const c of result.choices) {
    for (const t of c.tiers) {
      if (t === null) continue;
      lines.push(`${c.policy} ${t.tier}x: ${setPolicyCommand(c.policy, t.params)}`);
      lines.push(`  and ${reserveSentence(t.params, CALIBRATION_MARGIN_USD)}`);
    }
  }
  return lines;
}

// ---- HTML ----

interface ScatterPoint {
  x: number;
  y: number;
  feasible: boolean;
  chosen: boolean;
  /** Drawn faded: a volatility candidate of a deployment other than the chosen one. */
  faded?: boolean;
  label: string;
}

const CHART = { width: 380, height: 270, left: 56, right: 14, top: 12, bottom: 42 };
const COLOURS = {
  faded: "#a9b4bf",
  feasible: "#2f5f8f",
  infeasible: "#c53030",
  frontier: "#4e79a7",
  chosen: "#f28e2b",
};

/** About five round tick values covering [min, max]. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? raw;
  const ticks: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step)
    ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

/** [min, max] of `values` widened by 6% (and around a single value). */
function domain(values: number[]): [number, number] {
  const min = Math.min(...values);
  const max = Math.max(...values);
  const pad = max > min ? (max - min) * 0.06 : Math.max(Math.abs(max) * 0.05, 1e-6);
  return [min - pad, max + pad];
}

/** A point's mark: a circle when feasible, a cross when not, with its parameters as a tooltip. */
function mark(p: ScatterPoint, sx: (x: number) => number, sy: (y: number) => number): string {
  const x = sx(p.x).toFixed(1);
  const y = sy(p.y).toFixed(1);
  const title = `<title>${escapeHtml(p.label)}</title>`;
  const opacity = p.faded ? 0.3 : 0.8;
  if (p.feasible) {
    const fill = p.faded ? COLOURS.faded : COLOURS.feasible;
    return `<circle cx="${x}" cy="${y}" r="3.5" fill="${fill}" fill-opacity="${opacity}">${title}</circle>`;
  }
  const d = 3.2;
  const [cx, cy] = [Number(x), Number(y)];
  return (
    `<path d="M${cx - d},${cy - d}L${cx + d},${cy + d}M${cx - d},${cy + d}L${cx + d},${cy - d}" ` +
    `stroke="${COLOURS.infeasible}" stroke-width="1.4" stroke-opacity="${opacity}">${title}</path>`
  );
}

/**
 * An inline SVG scatter of cost share (x, %) against exposure kept over hindsight (y, %): feasible
 * candidates as circles, infeasible as crosses, the Pareto frontier of the feasible ones as a line, the
 * choice ringed.
 */
export function scatterSvg(points: ScatterPoint[], caption: string): string {
  const { width, height, left, right, top, bottom } = CHART;
  const [x0, x1] = domain(points.map((p) => p.x));
  const [y0, y1] = domain(points.map((p) => p.y));
  const sx = (x: number) => left + ((x - x0) / (x1 - x0)) * (width - left - right);
  const sy = (y: number) => height - bottom - ((y - y0) / (y1 - y0)) * (height - top - bottom);
  const grid: string[] = [];
  for (const t of niceTicks(x0, x1)) {
    const x = sx(t).toFixed(1);
    grid.push(`<line x1="${x}" x2="${x}" y1="${top}" y2="${height - bottom}" stroke="#eee"/>`);
    grid.push(`<text x="${x}" y="${height - bottom + 14}" text-anchor="middle">${trim(t * 100)}</text>`);
  }
  for (const t of niceTicks(y0, y1)) {
    const y = sy(t).toFixed(1);
    grid.push(`<line x1="${left}" x2="${width - right}" y1="${y}" y2="${y}" stroke="#eee"/>`);
    grid.push(`<text x="${left - 5}" y="${Number(y) + 4}" text-anchor="end">${trim(t * 100)}</text>`);
  }
  const frontier = paretoFrontier(points.filter((p) => p.feasible));
  const line =
    frontier.length > 1
      ? `<polyline fill="none" stroke="${COLOURS.frontier}" stroke-width="1.6" points="${frontier
          .map((p) => `${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`)
          .join(" ")}"/>`
      : "";
  const chosen = points
    .filter((p) => p.chosen)
    .map(
      (p) =>
        `<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="8" fill="none" ` +
        `stroke="${COLOURS.chosen}" stroke-width="2.5"><title>chosen: ${escapeHtml(p.label)}</title></circle>`,
    );
  return `<figure><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" font-size="10" font-family="system-ui,sans-serif" fill="#444">
${grid.join("\n")}
<rect x="${left}" y="${top}" width="${width - left - right}" height="${height - top - bottom}" fill="none" stroke="#bbb"/>
${line}
${points.map((p) => mark(p, sx, sy)).join("\n")}
${chosen.join("\n")}
<text x="${(left + width - right) / 2}" y="${height - 6}" text-anchor="middle">cost / notional (%)</text>
<text transform="translate(12 ${(top + height - bottom) / 2}) rotate(-90)" text-anchor="middle">kept / hindsight (%)</text>
</svg><figcaption>${escapeHtml(caption)}</figcaption></figure>`;
}

/** A candidate's tooltip: its parameters and training figures in tier `k`. */
function candidateLabel(c: Candidate, k: number, deployments?: Deployment[]): string {
  const f = c.tiers[k];
  const d = c.deployment !== undefined && deployments ? `${deploymentText(deployments[c.deployment])}; ` : "";
  return (
    `#${c.id} ${d}${paramsText(c.params)} — liquidated ${f.liquidated}/${f.accounts}, ` +
    `kept/hindsight ${pct(f.keptOverHindsight)}, cost ${pct(f.costShare, 3)}, score ${f.score.toFixed(3)}`
  );
}

/** The scatters of one policy, one per tier. */
function policyCharts(result: CalibrationResult, choice: PolicyChoice): string {
  const candidates = result.candidates[choice.policy] ?? [];
  const deployments = result.deployments?.map((d) => d.deployment);
  // Volatility: the choice is among the chosen deployment's policies; the other deployments' are faded.
  const first = choice.tiers.find((t) => t !== null);
  const chosenDeployment = first ? candidates[first.candidate].deployment : undefined;
  const charts = result.tiers.map((tier, k) => {
    const chosen = choice.tiers[k]?.candidate;
    const points = candidates.map((c) => ({
      x: c.tiers[k].costShare,
      y: c.tiers[k].keptOverHindsight,
      feasible: c.tiers[k].feasible,
      chosen: c.id === chosen,
      faded: chosenDeployment !== undefined && c.deployment !== chosenDeployment,
      label: candidateLabel(c, k, deployments),
    }));
    const feasible = points.filter((p) => p.feasible).length;
    const rule = isStrictTier(tier) ? "no liquidated account" : "the fewest liquidated accounts";
    return scatterSvg(
      points,
      `${tier}x: ${points.length} candidates, ${feasible} feasible (${rule})` +
        (chosen === undefined ? "; none chosen" : ""),
    );
  });
  return `<div class="charts">${charts.join("\n")}</div>`;
}

/** The train/test table of the page. */
function choicesHtml(result: CalibrationResult): string {
  const head =
    `<tr><th class="l" rowspan="2">policy</th><th rowspan="2">tier</th><th class="l" rowspan="2">chosen</th>` +
    `<th class="group" colspan="4">train</th><th class="group" colspan="4">test (walk-forward)</th></tr>` +
    `<tr>${"<th>liquidated</th><th>kept / hindsight</th><th>cost / notional</th><th>score</th>".repeat(2)}</tr>`;
  const rows = choiceRows(result.choices, result.tiers).map(
    (r) =>
      `<tr><td class="l">${escapeHtml(r[0])}</td><td>${escapeHtml(r[1])}</td><td class="l">${escapeHtml(r[2])}</td>` +
      r
        .slice(3)
        .map((cell) => `<td>${escapeHtml(cell)}</td>`)
        .join("") +
      "</tr>",
  );
  return `<table>${head}${rows.join("")}</table>`;
}

/** The volatility deployments' summary table. */
function deploymentsHtml(result: CalibrationResult): string {
  if (!result.deployments) return "";
  const chosen = result.choices.find((c) => c.policy === "volatility")?.deployment;
  const rows = result.deployments.map((s) => {
    const mark = JSON.stringify(s.deployment) === JSON.stringify(chosen) ? " ◀ chosen" : "";
    return (
      `<tr><td class="l">${escapeHtml(deploymentText(s.deployment))}${mark}</td><td>${s.feasible ? "yes" : "no"}</td>` +
      `<td>${s.relaxedLiquidated}</td><td>${s.score.toFixed(3)}</td><td>${pct(s.costShare, 3)}</td></tr>`
    );
  });
  return `<h3>Volatility strategy deployments</h3>
<p>The strategy's parameters are one contract's, shared by every tier: each deployment's score is the sum over the
tiers of its best feasible policy's score.</p>
<table><tr><th class="l">deployment</th><th>feasible</th><th>liquidated above 10x</th><th>summed score</th><th>summed cost</th></tr>${rows.join("")}</table>`;
}

/** The set-policy lines, reserve sentences and Ignition fragment as the page shows them. */
function applyHtml(result: CalibrationResult): string {
  const lines = setPolicyLines(result);
  const volatility = result.choices.find((c) => c.policy === "volatility");
  const fragment = volatility?.deployment
    ? `<p>Volatility strategy deployment (merge into the Ignition parameters file):</p><pre>${escapeHtml(
        JSON.stringify(ignitionFragment(volatility.deployment), null, 2),
      )}</pre>`
    : "";
  return `<pre>${escapeHtml(lines.join("\n"))}</pre>${fragment}`;
}

/** The self-contained HTML page (inline SVG and CSS, no scripts). */
export function renderCalibrationHtml(result: CalibrationResult, info: RunInfo): string {
  const series = (list: { name: string; rounds: number }[]) =>
    list
      .map(
        (s) =>
          `<code>${escapeHtml(s.name)}</code> (${(info.rows[s.name] ?? 0).toLocaleString("en-US")} rows, ` +
          `${s.rounds.toLocaleString("en-US")} rounds)`,
      )
      .join(", ");
  const size = result.gridSize;
  const sections = result.choices
    .map((c) => `<h2>${escapeHtml(c.policy)}</h2>\n${policyCharts(result, c)}`)
    .join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Ballast policy calibration</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;color:#222;max-width:1240px;padding:0 16px}
h1{font-size:24px;margin-bottom:4px}h2{margin-top:32px;font-size:19px;border-bottom:1px solid #ddd;padding-bottom:4px}
h3{font-size:16px;margin-top:24px}p{line-height:1.45}
table{border-collapse:collapse;font-size:13px;margin:8px 0}td,th{border:1px solid #d5d5d5;padding:4px 8px;text-align:right}
th{background:#f3f3f3;font-weight:600}th.group{text-align:center;background:#e9eef5}.l{text-align:left}td.l{white-space:nowrap}
.charts{display:flex;flex-wrap:wrap;gap:8px}figure{margin:0;border:1px solid #eee;border-radius:4px;padding:4px}
figcaption{font-size:12px;color:#444;text-align:center;max-width:380px}
pre{background:#f7f9fc;border-left:3px solid #8aa4c8;padding:8px 10px;font-size:12px;overflow-x:auto}
.legend svg{vertical-align:middle}
</style></head><body>
<h1>Ballast policy calibration</h1>
<p>Training series: ${series(result.train)}. Test series (never replayed by the search): ${series(result.test)}.
Grid <b>${escapeHtml(result.grid.name)}</b>: threshold ${size.threshold.candidates} candidates, volatility
${size.volatility.deployments} deployments × ${size.volatility.policiesPerDeployment} policies; ${size.trainingRuns}
training and ${result.testRuns} test replays on the fast engine in ${info.wallSeconds.toFixed(0)} s
(${info.cpus} CPUs, load ${info.load[0].toFixed(1)} → ${info.load[1].toFixed(1)}).</p>
<p><b>Objective</b> per policy and tier, over the tier's long and short accounts on every training series:
maximise exposure kept / hindsight exposure − ${result.costWeight} × (fees + keeper rewards) / opening notional,
with no account liquidated at 10x or less (above 10x: the fewest liquidated accounts); equal scores go to the lower
cost. A competing liquidator acts first on every round.</p>
<p class="legend">Each chart: one mark per candidate, its training cost share (x) and exposure kept over hindsight (y).
<svg width="12" height="12"><circle cx="6" cy="6" r="4" fill="${COLOURS.feasible}"/></svg> feasible,
<svg width="12" height="12"><path d="M2,2L10,10M2,10L10,2" stroke="${COLOURS.infeasible}" stroke-width="1.6"/></svg> infeasible,
<svg width="22" height="12"><line x1="1" y1="6" x2="21" y2="6" stroke="${COLOURS.frontier}" stroke-width="1.6"/></svg> Pareto frontier of the feasible ones,
<svg width="16" height="16"><circle cx="8" cy="8" r="6" fill="none" stroke="${COLOURS.chosen}" stroke-width="2.5"/></svg> the choice.
Hover a mark for its parameters. Volatility charts: the choice is the best policy of the chosen deployment,
whose candidates are drawn solid; the other deployments' are faded (one of them can lie beyond the choice in a
tier, at the price of the other tiers).</p>
<h2>Choices: training and test</h2>
${choicesHtml(result)}
${deploymentsHtml(result)}
<h3>Applying them</h3>
${applyHtml(result)}
${sections}
</body></html>
`;
}
