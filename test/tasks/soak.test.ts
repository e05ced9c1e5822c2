import { expect } from "chai";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { underCoverage } from "../helpers/coverage";
import { freePort } from "../../scripts/soak/processes";

const root = join(__dirname, "..", "..");
const run = promisify(execFile);

/** The soak at a small scale: a node, a deployment, the keeper process and 40 rounds. */
describe("soak script", function () {
  this.timeout(420_000); // a node start and a deployment: slow on a loaded machine

  it("replays rounds against a node with the keeper running and conserves every token", async function () {
    // The soak runs the compiled contracts on its own node; coverage instruments nothing there.
    if (underCoverage()) this.skip();
    const dir = mkdtempSync(join(tmpdir(), "ballast-soak-"));
    const json = join(dir, "soak.json");
    const port = await freePort();
    const { stderr } = await run(
      join(root, "node_modules", ".bin", "ts-node"),
      [
        "--transpile-only",
        "scripts/soak.ts",
        "--accounts",
        "12",
        "--rounds",
        "40",
        "--port",
        String(port),
        "--json",
        json,
      ],
      { cwd: root, maxBuffer: 16 * 1024 * 1024 },
    );
    const r = JSON.parse(readFileSync(json, "utf8"));

    expect(r.ok, stderr).to.equal(true);
    expect(r.conservation.ok).to.equal(true);
    expect(r.conservation.checks.length).to.be.greaterThan(5);
    for (const c of r.conservation.checks) expect(c.actual, c.name).to.equal(c.expected);
    expect(r.unexpectedReverts).to.equal(0);
    expect(r.transactions.reverted.onChain).to.equal(0);
    expect(r.keeper.exitCode).to.equal(0);
    expect(r.keeper.nonJsonStdoutLines).to.equal(0);

    // The book: 12 accounts, a third per policy, every one opened.
    expect(r.book.accounts).to.equal(12);
    expect(r.book.policies).to.deep.equal({ none: 4, threshold: 4, volatility: 4 });
    expect(r.book.longs + r.book.shorts).to.equal(12);
    expect(r.series.replayedRounds).to.equal(40);
    expect(r.series.complete).to.equal(true);
    expect(r.rounds.pushed).to.equal(40);

    // The keeper rebalanced, and its log agrees with the chain.
    expect(r.actions.rebalances).to.be.greaterThan(0);
    expect(r.actions.rebalancesInKeeperLog).to.equal(r.actions.rebalances);
    expect(r.actions.liquidationsInKeeperLog).to.equal(r.actions.liquidations);
    expect(r.actions.rebalancedAccounts).to.be.at.most(r.actions.rebalances);
    expect(r.actions.rebalancedAccountsByPolicy.none).to.equal(0);

    // Transactions: the soak's count and the keeper's log match what the chain holds.
    const t = r.transactions;
    expect(t.soak.onChain).to.equal(t.soak.total);
    expect(t.soak.replay).to.equal(2 * 40); // each round and its oracle.update
    expect(t.keeper.onChain).to.equal(t.keeper.total);
    expect(t.keeper.nonceDelta).to.equal(t.keeper.total);
    expect(t.keeper.performUpkeep).to.be.greaterThan(0);
    expect(t.total).to.equal(t.soak.total + t.keeper.total);
    expect(t.otherOnChain).to.equal(0);

    // Nothing is left for a keeper, and the stated skips are all listed.
    expect(r.end.checkUpkeepLiquidate).to.equal(0);
    expect(r.keeper.skips.list.length).to.equal(r.keeper.skips.total);
    expect(r.timing.wallSeconds).to.be.greaterThan(0);
    expect(existsSync(join(dir, "soak.keeper.log"))).to.equal(true);
    expect(existsSync(join(root, "ignition", "deployments", `soak-${port}`))).to.equal(false);
  });
});
