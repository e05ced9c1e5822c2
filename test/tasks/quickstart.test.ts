import { expect } from "chai";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { JsonRpcProvider, parseEther, parseUnits, ZeroAddress } from "ethers";
import { Child, freePort, ROOT, waitForNode } from "../../scripts/soak/processes";
import { quickstartCommands, sh } from "../helpers/shell";
import {
  CollateralVault__factory,
  LiquidityPool__factory,
  MarginEngine__factory,
  MockUSDC__factory,
  PauseGuardian__factory,
} from "../../typechain-types";

/**
 * The quick start of docs/OPERATIONS.md, command by command, against a `hardhat node` on a free port
 * (the documented `--port` and `LOCAL_RPC_URL`). The commands run as written, with two additions that keep
 * the run apart from a developer's own node: Ignition deploys under its own `--deployment-id`, and the
 * tasks read that folder with `--deployment`.
 */
describe("operating quick start (docs/OPERATIONS.md)", function () {
  this.timeout(600_000);
  const doc = readFileSync(join(ROOT, "docs", "OPERATIONS.md"), "utf8");
  const commands = quickstartCommands(doc);
  const deploymentId = `quickstart-test-${process.pid}`;
  const deploymentDir = join(ROOT, "ignition", "deployments", deploymentId);
  let node: Child | undefined;

  after(async () => {
    await node?.stopGroup(3_000);
    rmSync(deploymentDir, { recursive: true, force: true });
  });

  it("is the README's quick start too", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## Operating"), readme.indexOf("### Keeper service"));
    const block = /```bash\n([\s\S]*?)```/.exec(section)![1];
    const readmeCommands = block.split("\n").filter((l) => l.startsWith("npx "));
    expect(readmeCommands).to.deep.equal(commands.filter((c) => c !== "npx hardhat node"));
  });

  it("deploys, funds, trades, sets a policy, rebalances and pauses", async () => {
    expect(commands[0]).to.equal("npx hardhat node");
    expect(commands.length).to.be.greaterThan(8);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const env = { LOCAL_RPC_URL: url };
    node = new Child("node", ["node", "--port", String(port)], {});
    const provider: JsonRpcProvider = await waitForNode(url, 60_000, () => {
      if (!node!.running) throw new Error(`hardhat node exited: ${node!.stderr}`);
    });

    const outputs: Record<string, string> = {};
    for (const command of commands.slice(1)) {
      const local = command.includes(" ignition deploy ")
        ? `${command} --deployment-id ${deploymentId}`
        : `${command} --deployment ${deploymentDir}`;
      const { code, stdout, stderr } = await sh(local, env);
      expect(code, `${command}\n${stdout}\n${stderr}`).to.equal(0);
      outputs[command] = stdout;
    }
    expect(existsSync(join(deploymentDir, "deployed_addresses.json"))).to.equal(true);

    const at = JSON.parse(readFileSync(join(deploymentDir, "deployed_addresses.json"), "utf8"));
    const [lp, alice, bob] = (await provider.send("eth_accounts", [])) as string[];
    const vault = CollateralVault__factory.connect(at["BallastLocal#CollateralVault"], provider);
    const token = MockUSDC__factory.connect(await vault.token(), provider);
    const pool = LiquidityPool__factory.connect(at["BallastLocal#LiquidityPool"], provider);
    const engine = MarginEngine__factory.connect(at["BallastLocal#MarginEngine"], provider);
    const guardian = PauseGuardian__factory.connect(at["BallastLocal#PauseGuardian"], provider);
    const usdc = (n: number) => parseUnits(String(n), 6);

    // fund: 100,000 USDC to accounts 1-5 (account 1 then moved 15,000 into the vault), 1,000,000 of LP liquidity.
    expect(await token.balanceOf(alice)).to.equal(usdc(100_000 - 10_000 - 5_000));
    expect(await token.balanceOf(bob)).to.equal(usdc(100_000));
    expect(await pool.balanceOf(lp)).to.be.greaterThan(0n);
    expect(await pool.totalAssets()).to.be.greaterThanOrEqual(usdc(1_000_000));
    // the order, filled at the round pushed after it
    expect(outputs["npx hardhat execute-order --order 1 --network localhost"]).to.match(
      /order 1: 0x[0-9a-f]{40} ETH: 0 → 10 at 3000 /i,
    );
    // the position and the policy
    expect((await engine.position(alice, 1)).sizeWad).to.equal(parseEther("10"));
    const policy = await engine.policyOf(alice);
    expect(policy.strategy).to.not.equal(ZeroAddress);
    expect(policy.triggerHealthWad).to.equal(parseEther("1.5"));
    expect(policy.targetHealthWad).to.equal(parseEther("2"));
    // keeper --once rebalanced account 1 from its reserve: 240 USDC topped up, health 2.
    expect(await vault.reserveOf(alice)).to.equal(usdc(5_000 - 240));
    expect(await engine.health(alice)).to.be.within(parseEther("2"), parseEther("2.0001"));
    expect(outputs["npx hardhat keeper --once --network localhost"]).to.match(/ perform .*rebalanced=0x/i);
    expect(outputs["npx hardhat keeper --once --network localhost"]).to.match(
      /reward=1 USDC \(1000000 raw\)/,
    );
    expect(outputs["npx hardhat account-status --account 1 --network localhost"]).to.match(/health 2\.0000/);
    // pause
    expect(await guardian.globalPaused()).to.equal(true);

    // A refused command: one line on stderr, exit code 1, and with --json the error as JSON on stdout.
    const refused = await sh(
      `npx hardhat pause --json --network localhost --deployment ${deploymentDir}`,
      env,
    );
    expect(refused.code).to.equal(1);
    expect(refused.stderr.trim().split("\n")).to.deep.equal([
      "Error: pause all would revert: PauseGuardianNoChange(); nothing was sent",
    ]);
    const json = JSON.parse(refused.stdout);
    expect(json).to.deep.include({ task: "pause", network: "localhost" });
    expect(json.error).to.include({ name: "PauseGuardianNoChange", revert: "PauseGuardianNoChange()" });
  });
});
