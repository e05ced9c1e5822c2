import { expect } from "chai";
import hre from "hardhat";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { syntheticCrash } from "../../tasks/lib/sim/prices";
import { metricsText } from "../../tasks/lib/sim/report";
import type { PolicyMetrics } from "../../tasks/lib/sim/runner";
import { formatTable } from "../../tasks/lib/sim/table";
import { underCoverage } from "../helpers/coverage";

const root = join(__dirname, "..", "..");
/** Debian's Chromium (`apt-get install chromium`); `.ci/run` installs it when missing. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

describe("terminal table of the demo and backtest", () => {
  it("aligns columns under a header rule, without an index column or quotes", () => {
    const text = formatTable(
      [
        { header: "policy" },
        { header: "liquidated\naccounts", align: "right" },
        { header: "fees", align: "right" },
      ],
      [
        ["none", "3", "1,234.50"],
        ["threshold", "0", "12.00"],
      ],
    );
    expect(text.split("\n")).to.deep.equal([
      "           liquidated",
      "policy       accounts      fees",
      "─────────  ──────────  ────────",
      "none                3  1,234.50",
      "threshold           0     12.00",
    ]);
  });

  it("prints every policy's figures with the units in the header", () => {
    const m: PolicyMetrics = {
      accounts: 7,
      liquidations: 5,
      liquidatedAccounts: 2,
      liquidationsAtOrBelow10x: 1,
      badDebt: 0,
      rebalances: 12,
      topUpVolume: 25_636.95,
      deleveragedNotional: 504_529.08,
      feesPaid: 252.26,
      keeperRewards: 119.93,
      gasUsed: 1,
      minHealth: 0.9479,
      secondsBelowTrigger: 0,
      exposureRetained: 0.752,
      protectedNotional: 630_000,
      costShare: 0.00059,
      hindsightExposure: 0.8,
      exposureVsHindsight: 0.94,
    };
    const lines = metricsText({ none: m, threshold: { ...m, liquidatedKeeperFirst: 1 } }).split("\n");
    const rule = lines.findIndex((l) => l.startsWith("──"));
    expect(rule).to.be.greaterThan(0);
    expect(rule).to.equal(2); // headers on two lines
    expect(lines[0]).to.match(
      /liquidated +liquidated +liquidated +liquidation +rebalance +top-up +closed +fees .* min +exposure +hindsight +kept \//,
    );
    expect(lines[1]).to.match(
      /^policy +accounts +accounts +≤10x +keeper-first +events +events +USD +USD +USD .* health +kept +exposure +hindsight/,
    );
    expect(lines[rule + 1]).to.match(
      /^none +7 +2 +1 +– +5 +12 +25,636\.95 +504,529\.08 .* 0\.9479 +75\.2% +80\.0% +94\.0% +0\.059%$/,
    );
    expect(lines[rule + 2]).to.match(/^threshold +7 +2 +1 +1 +5 +12 /);
    expect(lines.join("\n")).not.to.match(/['"]|\(index\)/);
    // Every row is as wide as the rule: the columns line up.
    expect(lines[rule + 1].length).to.equal(lines[rule].length);
  });
});

/**
 * Each kind of HTML report, from a short run of its task, loaded in headless Chromium: no errors, no
 * request beyond the file, every chart drawn with the expected series; a screenshot of each goes to
 * reports/ for a look.
 */
describe("HTML reports in a browser", function () {
  this.timeout(underCoverage() ? 1_200_000 : 300_000);
  let dir: string;
  let profile: string;
  let context: BrowserContext | undefined;

  before(async function () {
    if (!existsSync(CHROMIUM)) {
      const message = `Chromium not found at ${CHROMIUM} (apt-get install chromium)`;
      if (process.env.CI) throw new Error(`${message}: required under CI`);
      console.log(`    skipped: ${message}; CI is not set`);
      this.skip();
    }
    dir = mkdtempSync(join(tmpdir(), "ballast-report-"));
    profile = mkdtempSync(join(tmpdir(), "ballast-chromium-"));
    const { chromium } = await import("playwright-core");
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: FLAGS,
      viewport: { width: 1280, height: 900 },
    });
  });

  after(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  interface Loaded {
    page: Page;
    problems: string[];
  }

  /** Opens `file`, collecting console errors, page errors and any request that leaves the file. */
  async function open(file: string): Promise<Loaded> {
    const page = await context!.newPage();
    const problems: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("request", (r) => {
      if (!r.url().startsWith("file:") && !r.url().startsWith("data:")) problems.push(`request: ${r.url()}`);
    });
    const response = await page.goto(`file://${file}`, { waitUntil: "load" });
    expect(response?.ok() ?? true).to.equal(true);
    await page.waitForSelector("body[data-charts-ready]", { timeout: 30_000 });
    return { page, problems };
  }

  /** Series names per chart, and how many pixels of each chart's canvas are not background. */
  async function charts(page: Page) {
    return page.evaluate(() => {
      const w = window as unknown as {
        echarts: { getInstanceByDom(el: Element): { getOption(): Record<string, unknown> } | undefined };
      };
      const out: Record<string, { series: string[]; legend: string[]; marks: string[]; inked: number }> = {};
      for (const id of ["price", "health", "exposure", "account"]) {
        const el = document.getElementById(id)!;
        const chart = w.echarts.getInstanceByDom(el);
        if (!chart) continue;
        const option = chart.getOption() as {
          series: { name: string; markLine?: { data?: { label?: { formatter?: string } }[] } }[];
          legend: { data?: (string | { name: string })[] }[];
        };
        const canvas = el.querySelector("canvas")!;
        const pixels = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height).data;
        let inked = 0;
        for (let i = 0; i < pixels.length; i += 4) {
          if (pixels[i + 3] > 0 && (pixels[i] < 230 || pixels[i + 1] < 230 || pixels[i + 2] < 230)) inked++;
        }
        out[id] = {
          series: [...new Set(option.series.map((s) => s.name).filter(Boolean))],
          legend: option.legend.flatMap((l) =>
            (l.data ?? []).map((d) => (typeof d === "string" ? d : d.name)),
          ),
          marks: option.series.flatMap((s) =>
            (s.markLine?.data ?? []).map((d) => String(d.label?.formatter ?? "")),
          ),
          inked,
        };
      }
      return out;
    });
  }

  async function expectReport(file: string, lineNames: string[], screenshot: string) {
    const { page, problems } = await open(file);
    const drawn = await charts(page);
    expect(Object.keys(drawn)).to.deep.equal(["price", "health", "exposure", "account"]);
    for (const [id, c] of Object.entries(drawn)) expect(c.inked, `${id} drawn`).to.be.greaterThan(2_000);
    for (const name of ["price-series rows", "oracle rounds", "rebalance", "reserve rescue", "liquidation"]) {
      expect(drawn.price.series).to.include(name);
    }
    expect(drawn.price.legend.length === 0 || drawn.price.legend.includes("liquidation")).to.equal(true);
    // Health: one line per leverage (named "5x" or "5x long"), the markers, the line at 1 labelled.
    expect(drawn.health.series).to.include.members([...lineNames, "rebalance", "liquidation"]);
    expect(drawn.health.legend).to.include.members([...lineNames, "rebalance", "liquidation"]);
    expect(drawn.health.marks).to.include("liquidation");
    expect(drawn.exposure.series).to.include.members(lineNames);
    expect(drawn.account.series).to.include.members([
      "health",
      "margin",
      "reserve",
      "exposure",
      "liquidation",
    ]);

    // Facet titles, one per policy.
    const titles = await page.evaluate(() =>
      (
        (
          window as unknown as {
            ballastCharts: Record<string, { getOption(): { title: { text: string }[] } }>;
          }
        ).ballastCharts.health.getOption().title ?? []
      ).map((t) => t.text),
    );
    expect(titles).to.deep.equal(["policy: none", "policy: threshold", "policy: volatility"]);

    // The drill-down follows the account picked.
    const options = await page.$$eval("#account-pick option", (os) => os.map((o) => o.textContent ?? ""));
    expect(options.length).to.be.greaterThan(5);
    const last = String(options.length - 1);
    await page.selectOption("#account-pick", last);
    const summary = await page.textContent("#account-summary");
    expect(summary).to.contain(options[options.length - 1].split(" · ")[1]);
    expect(await page.$$eval("#account-events tr", (rows) => rows.length)).to.be.greaterThan(0);

    // Figures explained in words next to them.
    const text = await page.textContent("body");
    expect(text).to.contain("price-series rows");
    expect(text).to.contain("emulated oracle rounds");
    expect(text).to.contain("lowest health seen between rounds");

    mkdirSync(join(root, "reports"), { recursive: true });
    await page.screenshot({ path: join(root, "reports", screenshot), fullPage: true });
    await page.close();
    expect(problems).to.deep.equal([]);
  }

  it("draws the demo report", async () => {
    const csv = join(dir, "crash.csv");
    const rows = syntheticCrash(7).slice(0, 40); // calm, then the crash's first leg
    writeFileSync(csv, "timestamp,price\n" + rows.map((p) => `${p.timestamp},${p.price}`).join("\n") + "\n");
    await hre.run("demo", { prices: csv, seed: 7, out: dir });
    await expectReport(join(dir, "demo.html"), ["2x", "5x", "10x", "20x"], "demo-report.png");
  });

  it("draws the backtest report", async () => {
    const source = readFileSync(join(root, "data/prices/eth-usd-2020-03-black-thursday.csv"), "utf8");
    const csv = join(dir, "short.csv");
    writeFileSync(csv, source.split("\n").slice(0, 101).join("\n") + "\n"); // header + 100 rows
    const html = join(dir, "backtest.html");
    await hre.run("backtest", {
      prices: csv,
      out: join(dir, "backtest.json"),
      html,
      policies: "none,threshold,volatility",
      seed: 1,
    });
    await expectReport(html, ["2x long", "2x short", "20x long", "20x short"], "backtest-report.png");
  });
});
