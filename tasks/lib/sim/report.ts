import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { PolicyMetrics, SimResult } from "./runner";
import { FeedEmulation, PricePoint, pathStats } from "./prices";
import { formatTable } from "./table";

/** What the report says about where the rounds came from. */
export interface ReportContext {
  /** The price series as given (CSV rows or the synthetic path), before the feed emulation. */
  rows?: PricePoint[];
  /** How rounds were published from those rows. */
  feed?: FeedEmulation;
}

const usd = (x: number) => x.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const int = (x: number) => x.toLocaleString("en-US");
const pct = (x: number, digits = 1) => `${(x * 100).toFixed(digits)}%`;

interface MetricColumn {
  /** Terminal header ("\n" splits it over lines). */
  text: string;
  /** HTML header and the group it sits under. */
  html: string;
  group: string;
  /** What the figure means (HTML header tooltip and the definitions under the table). */
  note: string;
  cell: (m: PolicyMetrics) => string;
}

/** The per-policy figures, in table order (terminal and report). */
const METRIC_COLUMNS: MetricColumn[] = [
  {
    text: "accounts",
    html: "accounts",
    group: "Accounts",
    note: "accounts opened under the policy",
    cell: (m) => int(m.accounts),
  },
  {
    text: "liquidated\naccounts",
    html: "liquidated",
    group: "Accounts",
    note: "accounts liquidated at least once",
    cell: (m) => int(m.liquidatedAccounts),
  },
  {
    text: "liquidated\n≤10x",
    html: "of them ≤10x",
    group: "Accounts",
    note: "liquidated accounts opened at 10x leverage or less",
    cell: (m) => int(m.liquidationsAtOrBelow10x),
  },
  {
    text: "liquidated\nkeeper-first",
    html: "keeper first",
    group: "Accounts",
    note:
      "accounts liquidated in a second replay without the competing liquidator, where the keeper acts " +
      "first on every round (– when not run); the other figures are from the replay with the liquidator",
    cell: (m) => (m.liquidatedKeeperFirst === undefined ? "–" : int(m.liquidatedKeeperFirst)),
  },
  {
    text: "liquidation\nevents",
    html: "liquidations",
    group: "Events",
    note: "liquidation transactions (one account can be liquidated more than once)",
    cell: (m) => int(m.liquidations),
  },
  {
    text: "rebalance\nevents",
    html: "rebalances",
    group: "Events",
    note: "rebalance transactions sent by the keeper",
    cell: (m) => int(m.rebalances),
  },
  {
    text: "top-up\nUSD",
    html: "top-up",
    group: "USD",
    note: "reserve moved into margin by rebalances and rescues",
    cell: (m) => usd(m.topUpVolume),
  },
  {
    text: "closed\nUSD",
    html: "closed",
    group: "USD",
    note: "notional closed by rebalances and liquidations",
    cell: (m) => usd(m.deleveragedNotional),
  },
  {
    text: "fees\nUSD",
    html: "fees",
    group: "USD",
    note: "trading fees on rebalance closes plus liquidation penalties",
    cell: (m) => usd(m.feesPaid),
  },
  {
    text: "keeper\nUSD",
    html: "keeper rewards",
    group: "USD",
    note: "rewards paid to the keeper",
    cell: (m) => usd(m.keeperRewards),
  },
  {
    text: "bad debt\nUSD",
    html: "bad debt",
    group: "USD",
    note: "losses beyond an account's margin, covered by the insurance buffer then LPs",
    cell: (m) => usd(m.badDebt),
  },
  {
    text: "min\nhealth",
    html: "min health",
    group: "Outcome",
    note:
      "lowest health read right after a new round, before the keeper acted; below 1 an account is " +
      "liquidatable, but it is liquidated only when a liquidator acts",
    cell: (m) => m.minHealth.toFixed(4),
  },
  {
    text: "exposure\nkept",
    html: "exposure kept",
    group: "Outcome",
    note: "time-weighted share of the initial positions still open (100% = never reduced)",
    cell: (m) => pct(m.exposureRetained),
  },
  {
    text: "hindsight\nexposure",
    html: "hindsight",
    group: "Outcome",
    note:
      "the yardstick: the largest share of each opening position that one cut at the first round, at the " +
      "same fee and with the reserve in margin, would have kept out of liquidation on this path (mean)",
    cell: (m) => pct(m.hindsightExposure),
  },
  {
    text: "kept /\nhindsight",
    html: "kept / hindsight",
    group: "Outcome",
    note:
      "exposure kept over the hindsight yardstick, summed over the accounts: 100% kept as much as hindsight " +
      "would have; above 100% the policy reduced only when it had to",
    cell: (m) => pct(m.exposureVsHindsight),
  },
  {
    text: "cost /\nnotional",
    html: "cost / notional",
    group: "Outcome",
    note: "fees and keeper rewards over the notional opened",
    cell: (m) => pct(m.costShare, 3),
  },
];

/** The per-policy figures as an aligned plain-text table, with what the less obvious ones mean. */
export function metricsText(metrics: Record<string, PolicyMetrics>): string {
  const table = formatTable(
    [{ header: "policy" }, ...METRIC_COLUMNS.map((c) => ({ header: c.text, align: "right" as const }))],
    Object.entries(metrics).map(([policy, m]) => [policy, ...METRIC_COLUMNS.map((c) => c.cell(m))]),
  );
  return (
    table +
    "\nmin health: lowest health right after a round, before anyone acted (below 1: liquidatable)." +
    "\nliquidations: a competing liquidator acts first on every round; keeper-first: the same replay " +
    "without it." +
    "\nhindsight: the share of each position one cut at the start would have kept out of liquidation " +
    "on this path." +
    "\nclosed USD: notional closed by rebalances and liquidations; fees include liquidation penalties."
  );
}

/** Sentences under the table: what each policy's figures mean together. */
function policySentences(result: SimResult): string[] {
  return Object.entries(result.metrics).map(([policy, m]) => {
    const mine = result.accounts.filter((a) => a.policy === policy);
    const below = mine.filter((a) => result.health[a.address].some((h) => h < 1)).length;
    const rescues = result.events.filter(
      (e) => e.kind === "rescue" && mine.some((a) => a.address === e.account),
    ).length;
    const parts = [
      `<b>${escapeHtml(policy)}</b>: lowest health seen between rounds ${m.minHealth.toFixed(4)}`,
    ];
    if (below === 0) {
      parts.push("; no account went below 1, so none could be liquidated.");
    } else {
      parts.push(
        `; ${below} of ${mine.length} accounts went below 1 (liquidatable) at least once, ` +
          `${m.liquidatedAccounts} ${m.liquidatedAccounts === 1 ? "was" : "were"} liquidated ` +
          `(${m.liquidations} liquidation ${m.liquidations === 1 ? "event" : "events"}).`,
      );
      if (below > m.liquidatedAccounts) {
        parts.push(
          result.liquidatorFirst
            ? ` A liquidator called every account below 1 first; the others were not liquidated because ` +
                (rescues > 0
                  ? `the liquidation call topped them up from their reserve first (${rescues} ` +
                    `${rescues === 1 ? "rescue" : "rescues"}) or `
                  : "") +
                "the engine refused a round it did not grade Ok."
            : " An account below 1 is liquidatable but is only liquidated when a liquidator acts; in this " +
                "replay without one the keeper reached the others first and restored them (rebalance" +
                (rescues > 0 ? `, or ${rescues} reserve ${rescues === 1 ? "rescue" : "rescues"}` : "") +
                ") before any penalty.",
        );
      }
      if (m.liquidatedKeeperFirst !== undefined) {
        parts.push(
          ` Without the competing liquidator (keeper first) ${m.liquidatedKeeperFirst} ` +
            `${m.liquidatedKeeperFirst === 1 ? "account was" : "accounts were"} liquidated.`,
        );
      }
    }
    parts.push(
      ` ${m.rebalances} ${m.rebalances === 1 ? "rebalance" : "rebalances"}, ` +
        `${pct(m.exposureRetained)} of the exposure kept on average, ${pct(m.exposureVsHindsight)} of what ` +
        `hindsight would have kept (${pct(m.hindsightExposure)}).`,
    );
    return parts.join("");
  });
}

function metricsHtml(metrics: Record<string, PolicyMetrics>): string {
  const groups: [string, number][] = [];
  for (const c of METRIC_COLUMNS) {
    const last = groups[groups.length - 1];
    if (last && last[0] === c.group) last[1]++;
    else groups.push([c.group, 1]);
  }
  const head1 =
    `<tr><th rowspan="2" class="l">policy</th>` +
    groups.map(([g, n]) => `<th colspan="${n}" class="group">${g}</th>`).join("") +
    `</tr>`;
  const head2 =
    `<tr>` +
    METRIC_COLUMNS.map((c) => `<th title="${escapeHtml(c.note)}">${escapeHtml(c.html)}</th>`).join("") +
    `</tr>`;
  const body = Object.entries(metrics)
    .map(
      ([policy, m]) =>
        `<tr><td class="l">${escapeHtml(policy)}</td>` +
        METRIC_COLUMNS.map((c) => `<td>${escapeHtml(c.cell(m))}</td>`).join("") +
        `</tr>`,
    )
    .join("");
  const notes = METRIC_COLUMNS.map(
    (c) => `<dt>${escapeHtml(c.html)}</dt><dd>${escapeHtml(c.note)}</dd>`,
  ).join("");
  return `<table class="metrics"><thead>${head1}${head2}</thead><tbody>${body}</tbody></table>
<dl class="notes">${notes}</dl>`;
}

const SIDE = (side: number) => (side > 0 ? "long" : "short");
const r4 = (x: number) => Math.round(x * 10_000) / 10_000;
const r2 = (x: number) => Math.round(x * 100) / 100;
/** Health for the page: JSON has no Infinity (no position left: null). */
const healthValue = (h: number) => (Number.isFinite(h) ? r4(h) : null);

/**
 * A self-contained HTML report: the ECharts library and the data are inlined, the page loads nothing at
 * view time. Price with rebalance and liquidation markers, health and exposure per policy (one small chart
 * each, a line per leverage), a drill-down into any account, and the per-policy figures explained.
 */
export function renderReport(
  result: SimResult,
  title: string,
  subtitle: string,
  context: ReportContext = {},
): string {
  const { rounds } = result;
  const stats = pathStats(rounds);
  const rows = context.rows;
  const feed = context.feed;
  const bothSides = new Set(result.accounts.map((a) => a.side)).size > 1;
  const index = new Map(result.accounts.map((a, i) => [a.address, i]));
  const sampleAt = new Map(result.sampledRounds.map((r, i) => [r, i]));
  const sampleEvery = result.sampledRounds.length > 1 ? result.sampledRounds[1] - result.sampledRounds[0] : 1;

  const data = {
    policies: Object.keys(result.metrics),
    trigger: result.book?.triggerHealth ?? null,
    target: result.book?.targetHealth ?? null,
    accounts: result.accounts.map((a) => ({
      address: a.address,
      policy: a.policy,
      leverage: a.leverage,
      side: SIDE(a.side),
      name: bothSides ? `${a.leverage}x ${SIDE(a.side)}` : `${a.leverage}x`,
      notional: r2(a.initialNotionalUsd),
    })),
    leverages: [...new Set(result.accounts.map((a) => a.leverage))].sort((a, b) => a - b),
    bothSides,
    time: result.sampledRounds.map((i) => rounds[i].timestamp * 1000),
    sampledRounds: result.sampledRounds,
    health: result.accounts.map((a) => result.health[a.address].map(healthValue)),
    exposure: result.accounts.map((a) => result.exposure[a.address].map(r4)),
    margin: result.accounts.map((a) => (result.margin?.[a.address] ?? []).map(r2)),
    reserve: result.accounts.map((a) => (result.reserve?.[a.address] ?? []).map(r2)),
    rounds: rounds.map((r) => [r.timestamp * 1000, r.price]),
    rows: rows ? rows.map((r) => [r.timestamp * 1000, r.price]) : null,
    events: result.events.map((e) => ({
      round: e.round,
      time: e.timestamp * 1000,
      price: rounds[e.round].price,
      account: index.get(e.account) ?? -1,
      kind: e.kind,
      // A rescue's event carries no health before it: the health read after that round, when sampled.
      healthBefore:
        e.kind === "rescue"
          ? sampleAt.has(e.round)
            ? healthValue(result.health[e.account][sampleAt.get(e.round)!])
            : undefined
          : healthValue(e.healthBefore),
      healthAfter: healthValue(e.healthAfter),
      toppedUp: r2(e.toppedUpUsd),
      closed: r2(e.deleveragedUsd),
      fees: r2(e.feesUsd),
      reward: r2(e.rewardUsd),
      badDebt: r2(e.badDebtUsd),
    })),
  };

  const date = (t: number) => new Date(t * 1000).toISOString().slice(0, 16).replace("T", " ");
  const t0 = rounds[0].timestamp;
  const t1 = rounds[rounds.length - 1].timestamp;
  const spacing =
    rows && rows.length > 1 ? (rows[rows.length - 1].timestamp - rows[0].timestamp) / (rows.length - 1) : 0;
  const trim = (x: number) => String(Number(x.toFixed(1)));
  const duration = (s: number) =>
    s >= 86_400 * 2
      ? `${trim(s / 86_400)} days`
      : s >= 3_600
        ? `${trim(s / 3_600)} h`
        : `${trim(s / 60)} min`;
  const rule = feed
    ? feed.raw
      ? "one round per row (raw replay)"
      : `a new round whenever the price has moved ${pct(feed.deviation, 1)} since the last round, or ` +
        `${duration(feed.heartbeat)} (the heartbeat) after it; between two rows the price is interpolated ` +
        `every 15 s, so a fast move between two rows yields several rounds and a quiet stretch fewer`
    : "";
  const rowsFigure = rows
    ? `<div class="figure"><span class="num">${int(rows.length)}</span> <span class="what">price-series rows</span>
<p>Points of the price series given to the run (one every ${duration(spacing)} on average): the input,
not what the contracts saw.</p></div>`
    : "";
  const roundsFigure = `<div class="figure"><span class="num">${int(rounds.length)}</span> <span class="what">emulated oracle rounds</span>
<p>Chainlink rounds published on the mock ETH/USD feed${rule ? `: ${escapeHtml(rule)}` : ""}. The keeper ran after each round.</p></div>`;
  const samplesFigure =
    sampleEvery > 1
      ? `<div class="figure"><span class="num">${int(result.sampledRounds.length)}</span> <span class="what">sampled rounds</span>
<p>Health, exposure and balances were recorded every ${sampleEvery} rounds (and at the last one) for the charts and
"min health"; events and the other figures count every round.</p></div>`
      : "";
  const perPolicy = result.accounts.length / Math.max(1, data.policies.length);
  const accountsFigure = `<div class="figure"><span class="num">${int(result.accounts.length)}</span> <span class="what">accounts</span>
<p>${perPolicy} per policy: leverage ${data.leverages.join(", ")}x, ${bothSides ? "long and short" : "long"}, the same
book under each policy${result.book ? `; margin ${int(result.book.marginUsd)} USD and a reserve of ${pct(result.book.reserveShare, 0)} of it each` : ""}.</p></div>`;

  const library = readFileSync(require.resolve("echarts/dist/echarts.min.js"), "utf8");
  const page = readFileSync(join(__dirname, "report-page.js"), "utf8");
  const json = JSON.stringify(data).replace(/</g, "\\u003c");

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;color:#222;max-width:1180px;padding:0 16px}
h1{font-size:24px;margin-bottom:4px}h2{margin-top:36px;font-size:19px;border-bottom:1px solid #ddd;padding-bottom:4px}
p{line-height:1.45}.sub{color:#555;margin-top:0}
.figures{display:grid;grid-template-columns:repeat(auto-fit,minmax(250px,1fr));gap:12px;margin:16px 0}
.figure{border:1px solid #e2e2e2;border-radius:6px;padding:10px 12px;background:#fafafa}
.figure .num{font-size:22px;font-weight:600}.figure .what{font-weight:600;color:#444}
.figure p{margin:6px 0 0;font-size:13px;color:#444}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #d5d5d5;padding:4px 8px;text-align:right}
th{background:#f3f3f3;font-weight:600}th[title]{cursor:help;text-decoration:underline dotted}th.group{text-align:center;background:#e9eef5}
.l{text-align:left}.metrics{margin:8px 0}
dl.notes{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;font-size:13px;color:#444}
dl.notes dt{font-weight:600}dl.notes dd{margin:0}
ul.policies li{margin:4px 0;line-height:1.45}
.chart{width:100%;border:1px solid #eee;border-radius:4px}
.explain{font-size:14px;color:#333;background:#f7f9fc;border-left:3px solid #8aa4c8;padding:6px 10px}
#account-pick{font-size:14px;padding:3px}#account-summary{font-size:14px}
#account-events{margin-top:8px}#account-events td:nth-child(3){text-align:left}
</style></head><body>
<h1>${escapeHtml(title)}</h1>
<p class="sub">${escapeHtml(subtitle)} ${date(t0)} → ${date(t1)} UTC.</p>
<div class="figures">${rowsFigure}${roundsFigure}${samplesFigure}${accountsFigure}</div>
<p>Price from ${stats.max.toFixed(2)} high to ${stats.min.toFixed(2)} low (largest fall from a peak:
${pct(stats.maxDrawdown)}). Policies: <b>none</b> (no automation: liquidation is the only protection),
<b>threshold</b> (rebalance below a fixed health${result.book ? ` of ${result.book.triggerHealth}, back to ${result.book.targetHealth}` : ""}) and
<b>volatility</b> (rebalance on the probability of touching liquidation within an hour). A keeper scanned every account
after every round and sent the rebalances and liquidations it found${
    result.liquidatorFirst
      ? "; before it, a competing liquidator liquidated every account whose health the round took below 1"
      : ""
  }.</p>

<h2>Outcome per policy</h2>
${metricsHtml(result.metrics)}
<ul class="policies">${policySentences(result)
    .map((s) => `<li>${s}</li>`)
    .join("")}</ul>

<h2>Price, rebalances and liquidations</h2>
<p class="explain">The grey line is the price series as given (its rows); the dark step line is the oracle rounds
the contracts saw. Markers sit at the round at which the keeper or the liquidator acted (one marker per round and kind): rebalances
(circles) and reserve rescues (triangles: the reserve topped up margin inside a liquidation call, so no penalty was
due) just above the line, liquidations (crosses) just below it. Drag the slider or scroll to zoom; hover for the
round's price and events.</p>
<div id="price" class="chart" style="height:420px"></div>

<h2>Health by policy and leverage</h2>
<p class="explain">One chart per policy, one line per leverage (health = equity / maintenance requirement, read
right after each round, before the keeper acted; log scale). Below the red line at 1 an account is liquidatable;
it is liquidated only when a liquidator acts. The dashed blue line is the policies' trigger health (the
volatility-scaled strategy may also act above it). Markers show each event at the health it was read at. A line
ends when an account has no position left; health 0 (equity gone) is drawn at the axis floor. Click a line to open
that account below.</p>
<div id="health" class="chart"></div>

<h2>Exposure kept</h2>
<p class="explain">Share of each account's initial position still open. A rebalance that closes part of a position
lowers it a step; a liquidation cuts it further or to zero.</p>
<div id="exposure" class="chart"></div>

<h2>One account</h2>
<p><label for="account-pick">Account: </label><select id="account-pick"></select> <span id="account-summary"></span></p>
<div id="account" class="chart" style="height:620px"></div>
<table id="account-events"></table>

<script>${library}</script>
<script id="report-data" type="application/json">${json}</script>
<script>${page}</script>
</body></html>
`;
}

function escapeHtml(s: string) {
  return s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
}
