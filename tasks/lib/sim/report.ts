import type { PolicyMetrics, SimResult } from "./runner";
import { pathStats } from "./prices";

const COLORS: Record<string, string> = { none: "#9a9a9a", threshold: "#2b6cb0", volatility: "#2f855a" };
const W = 960;
const H = 300;
const PAD = { left: 60, right: 20, top: 20, bottom: 30 };

/** One row per policy: the table printed on the terminal and in the report. */
export function metricsTable(metrics: Record<string, PolicyMetrics>) {
  return Object.entries(metrics).map(([policy, m]) => ({
    policy,
    accounts: m.accounts,
    liquidations: m.liquidations,
    "liquidated ≤10x": m.liquidationsAtOrBelow10x,
    rebalances: m.rebalances,
    "top-up USD": m.topUpVolume,
    "deleveraged USD": m.deleveragedNotional,
    "fees USD": m.feesPaid,
    "keeper rewards USD": m.keeperRewards,
    "bad debt USD": m.badDebt,
    "min health": m.minHealth,
    "exposure kept": m.exposureRetained,
    "cost / notional": `${(m.costShare * 100).toFixed(3)}%`,
  }));
}

/** A self-contained HTML report (inline SVG, no external resources). */
export function renderReport(result: SimResult, title: string, subtitle: string): string {
  const { rounds } = result;
  const stats = pathStats(rounds);
  const t0 = rounds[0].timestamp;
  const t1 = rounds[rounds.length - 1].timestamp;
  const x = (t: number) => PAD.left + ((t - t0) / Math.max(1, t1 - t0)) * (W - PAD.left - PAD.right);

  // Price chart with rebalance and liquidation markers.
  const pMin = stats.min * 0.97;
  const pMax = stats.max * 1.03;
  const yP = (p: number) => PAD.top + (1 - (p - pMin) / (pMax - pMin)) * (H - PAD.top - PAD.bottom);
  const pricePath = rounds
    .map((r, i) => `${i ? "L" : "M"}${x(r.timestamp).toFixed(1)},${yP(r.price).toFixed(1)}`)
    .join("");
  const policyOf = new Map(result.accounts.map((a) => [a.address, a.policy]));
  const markers = result.events
    .map((e) => {
      const cx = x(e.timestamp);
      const cy = yP(rounds[e.round].price);
      const color = COLORS[policyOf.get(e.account) ?? "none"];
      if (e.kind === "liquidation") {
        return `<path d="M${cx - 5},${cy - 5}L${cx + 5},${cy + 5}M${cx - 5},${cy + 5}L${cx + 5},${cy - 5}" stroke="#c53030" stroke-width="2"><title>liquidation (${policyOf.get(e.account)})</title></path>`;
      }
      return `<circle cx="${cx.toFixed(1)}" cy="${(cy - 8).toFixed(1)}" r="2.5" fill="${color}" opacity="0.7"><title>${e.kind} (${policyOf.get(e.account)})</title></circle>`;
    })
    .join("");

  // Health per account (clipped to [0, 4]; accounts without positions are drawn at the top).
  const hMax = 4;
  const yH = (h: number) => PAD.top + (1 - Math.min(h, hMax) / hMax) * (H - PAD.top - PAD.bottom);
  const sampleTimes = result.sampledRounds.map((i) => rounds[i].timestamp);
  const healthLines = result.accounts
    .map((a) => {
      const d = result.health[a.address]
        .map(
          (h, i) =>
            `${i ? "L" : "M"}${x(sampleTimes[i]).toFixed(1)},${yH(Number.isFinite(h) ? h : hMax).toFixed(1)}`,
        )
        .join("");
      return `<path d="${d}" fill="none" stroke="${COLORS[a.policy]}" stroke-width="1" opacity="0.6"><title>${a.policy} ${a.leverage}x ${a.side > 0 ? "long" : "short"}</title></path>`;
    })
    .join("");

  // Exposure kept per account.
  const yE = (e: number) => PAD.top + (1 - Math.min(e, 1)) * (H - PAD.top - PAD.bottom);
  const exposureLines = result.accounts
    .map((a) => {
      const d = result.exposure[a.address]
        .map((e, i) => `${i ? "L" : "M"}${x(sampleTimes[i]).toFixed(1)},${yE(e).toFixed(1)}`)
        .join("");
      return `<path d="${d}" fill="none" stroke="${COLORS[a.policy]}" stroke-width="1" opacity="0.6"><title>${a.policy} ${a.leverage}x ${a.side > 0 ? "long" : "short"}</title></path>`;
    })
    .join("");

  const axes = (yLabel: string, ticks: [number, string][]) =>
    `<line x1="${PAD.left}" y1="${H - PAD.bottom}" x2="${W - PAD.right}" y2="${H - PAD.bottom}" stroke="#444"/>` +
    `<line x1="${PAD.left}" y1="${PAD.top}" x2="${PAD.left}" y2="${H - PAD.bottom}" stroke="#444"/>` +
    ticks
      .map(
        ([y, label]) =>
          `<text x="${PAD.left - 6}" y="${y + 4}" font-size="11" text-anchor="end">${label}</text><line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y}" y2="${y}" stroke="#eee"/>`,
      )
      .join("") +
    `<text x="12" y="${PAD.top + 10}" font-size="11">${yLabel}</text>` +
    `<text x="${PAD.left}" y="${H - 8}" font-size="11">${new Date(t0 * 1000).toISOString().slice(0, 16).replace("T", " ")} UTC</text>` +
    `<text x="${W - PAD.right}" y="${H - 8}" font-size="11" text-anchor="end">${new Date(t1 * 1000).toISOString().slice(0, 16).replace("T", " ")} UTC</text>`;
  const priceTicks: [number, string][] = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const p = pMin + f * (pMax - pMin);
    return [yP(p), p.toFixed(p < 100 ? 2 : 0)];
  });
  const healthTicks: [number, string][] = [0, 1, 2, 3, 4].map((h) => [yH(h), h === 4 ? "≥4" : String(h)]);
  const exposureTicks: [number, string][] = [0, 0.25, 0.5, 0.75, 1].map((e) => [yE(e), `${e * 100}%`]);

  const rows = metricsTable(result.metrics);
  const head = Object.keys(rows[0] ?? {});
  const table =
    `<table><tr>${head.map((h) => `<th>${h}</th>`).join("")}</tr>` +
    rows
      .map((r) => `<tr>${head.map((h) => `<td>${(r as Record<string, unknown>)[h]}</td>`).join("")}</tr>`)
      .join("") +
    `</table>`;
  const legend = Object.entries(COLORS)
    .map(
      ([p, c]) =>
        `<span><svg width="14" height="4"><rect width="14" height="4" fill="${c}"/></svg> ${p}</span>`,
    )
    .join(" ");

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1000px}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}
th{background:#f4f4f4}td:first-child{text-align:left}h2{margin-top:28px}p{line-height:1.45}
svg{background:#fff}.legend span{margin-right:14px;font-size:13px}
</style></head><body>
<h1>${escapeHtml(title)}</h1>
<p>${escapeHtml(subtitle)}</p>
<p>${rounds.length} Chainlink rounds from ${stats.max.toFixed(2)} high to ${stats.min.toFixed(2)} low
(largest fall from a peak: ${(stats.maxDrawdown * 100).toFixed(1)}%). ${result.accounts.length} accounts, the same
leverage ladder under each policy: <b>none</b> (no automation: liquidation is the only protection),
<b>threshold</b> (rebalance below a fixed health) and <b>volatility</b> (rebalance on the probability of touching
liquidation within an hour). A keeper scanned every account after every round.</p>
<h2>Outcome per policy</h2>${table}
<p>Liquidations count liquidation events (an account can be liquidated more than once); "fees" are trading fees
on rebalance closes plus liquidation penalties; "exposure kept" is the time-weighted share of each account's
initial position still open (1 = never reduced).</p>
<h2>Price, rebalances and liquidations</h2>
<p class="legend">${legend} <span>● rebalance</span> <span style="color:#c53030">✕ liquidation</span></p>
<svg width="${W}" height="${H}" role="img" aria-label="price">${axes("USD", priceTicks)}<path d="${pricePath}" fill="none" stroke="#222" stroke-width="1.5"/>${markers}</svg>
<h2>Health of every account</h2>
<p>Health is equity over the maintenance requirement; below 1 (red line) an account can be liquidated. Lines
end at the top once an account has no position left.</p>
<svg width="${W}" height="${H}" role="img" aria-label="health">${axes("health", healthTicks)}<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${yH(1)}" y2="${yH(1)}" stroke="#c53030" stroke-dasharray="4 3"/>${healthLines}</svg>
<h2>Exposure kept</h2>
<p>Share of each account's initial position still open. Deleveraging lowers it; a liquidation cuts it.</p>
<svg width="${W}" height="${H}" role="img" aria-label="exposure">${axes("size", exposureTicks)}${exposureLines}</svg>
</body></html>
`;
}

function escapeHtml(s: string) {
  return s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
}
