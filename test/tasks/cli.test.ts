import { expect } from "chai";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../scripts/soak/processes";
import { sh } from "../helpers/shell";

/** What an operator sees from the command line when a task fails: one line, exit code 1, no stack. */
describe("task failures on the command line", function () {
  this.timeout(300_000);
  const dir = mkdtempSync(join(tmpdir(), "ballast-cli-"));

  const expectOneLine = (r: { code: number | null; stderr: string }, line: string) => {
    expect(r.code, r.stderr).to.equal(1);
    expect(r.stderr).to.not.match(/\n\s+at /); // no stack trace
    expect(r.stderr).to.not.match(/unexpected error|For more info/i);
    expect(r.stderr.trim().split("\n")).to.deep.equal([line]);
  };

  it("a missing --prices CSV", async () => {
    const missing = join(dir, "nope.csv");
    const r = await sh(`npx hardhat demo --prices ${missing}`);
    expectOneLine(r, `Error: --prices ${missing}: no such file`);
    expect(r.stdout.trim()).to.equal("");
  });

  it("a malformed --prices CSV, with --json", async () => {
    const csv = join(dir, "bad.csv");
    writeFileSync(csv, "timestamp,price\n1,100\n2,abc\n");
    const r = await sh(`npx hardhat backtest --prices ${csv} --out ${join(dir, "o.json")} --json`);
    const message = `--prices ${csv}:3: expected "timestamp,price", got "2,abc"`;
    expectOneLine(r, `Error: ${message}`);
    expect(JSON.parse(r.stdout)).to.deep.equal({
      task: "backtest",
      network: "hardhat",
      error: { message, name: "TaskError" },
    });
  });

  it("an option Hardhat refuses before the task runs", async () => {
    const r = await sh("npx hardhat backtest --out x.json --json");
    expectOneLine(
      r,
      "Error: HH306: The '--prices' parameter of task 'backtest' expects a value, but none was passed.",
    );
    expect(JSON.parse(r.stdout).error.message).to.match(/^HH306: /);
    const seed = await sh("npx hardhat demo --seed abc");
    expectOneLine(seed, "Error: HH301: Invalid value abc for argument seed of type int");
  });

  it("an unreachable node, and --show-stack-traces restoring Hardhat's own output", async () => {
    const port = await freePort();
    const r = await sh("npx hardhat account-status --account 1 --network localhost", {
      LOCAL_RPC_URL: `http://127.0.0.1:${port}`,
    });
    expect(r.code, r.stderr).to.equal(1);
    expect(r.stderr.trim().split("\n")).to.have.length(1);
    expect(r.stderr).to.match(/^Error: .*(connect|ECONNREFUSED)/i);
    const traced = await sh(`npx hardhat demo --prices ${join(dir, "nope.csv")} --show-stack-traces`);
    expect(traced.code).to.equal(1);
    expect(traced.stderr).to.match(/\n\s+at /);
  });
});
