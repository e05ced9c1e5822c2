import { expect } from "chai";
import { execFileSync, execSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { ErrorFragment, Interface, parseEther } from "ethers";

const root = join(__dirname, "..", "..");

/** Every compiled artifact (dependencies included, not build-info). */
function artifactFiles(dir = join(root, "artifacts")): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === "build-info" ? [] : artifactFiles(path);
    return name.endsWith(".json") && !name.endsWith(".dbg.json") ? [path] : [];
  });
}

/** The pragma of a Solidity source. */
const pragmaOf = (source: string) => /pragma solidity ([^;]+);/.exec(source)?.[1].trim();

/**
 * What `npm pack` gives integrators: Solidity interfaces, ABIs (and every custom error), TypeChain
 * bindings, and a one-call deployment from compiled artifacts, tried from a separate Hardhat project.
 */
describe("Integrator package", function () {
  this.timeout(600_000);
  let work: string;
  let tarball: string;
  let files: string[];

  before(() => {
    // The prepack steps after `hardhat compile` (the test run has compiled already).
    execSync("npm run build:package", { cwd: root, stdio: "pipe" });
    work = mkdtempSync(join(tmpdir(), "ballast-package-"));
    const [pack] = JSON.parse(
      execSync(`npm pack --json --ignore-scripts --pack-destination ${JSON.stringify(work)}`, {
        cwd: root,
        stdio: ["ignore", "pipe", "ignore"],
      }).toString(),
    );
    tarball = join(work, pack.filename);
    files = pack.files.map((f: { path: string }) => f.path);
  });

  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("contains the interfaces, the ABIs, the bindings, the modules and their artifacts, and no mocks in the index", () => {
    for (const expected of [
      "contracts/interfaces/IMarginEngine.sol",
      "contracts/interfaces/IRebalanceStrategy.sol",
      "contracts/interfaces/RebalanceTypes.sol",
      "contracts/libraries/MarginMath.sol",
      "contracts/examples/HedgedVault.sol",
      "abi/MarginEngine.json",
      "abi/IMarginEngine.json",
      "abi/RebalanceKeeper.json",
      "abi/errors.json",
      "dist/index.js",
      "dist/index.d.ts",
      "dist/typechain/index.d.ts",
      "dist/typechain/factories/contracts/core/MarginEngine__factory.js",
      "dist/ignition/modules/BallastLocal.js",
      "dist/ignition/modules/Ballast.js",
      "dist/artifacts/MarginEngine.json",
      "dist/artifacts/TradeLogic.json",
      "dist/artifacts/MockUSDC.json",
      "dist/testing.js",
      "testing/package.json",
      "README.md",
    ]) {
      expect(files, expected).to.include(expected);
    }
    expect(files.some((f) => f.startsWith("contracts/mocks/") || f.startsWith("contracts/core/"))).to.equal(
      false,
    );
    // The public index: no test mocks, harnesses or Chainlink test contracts.
    for (const index of ["dist/typechain/index.js", "dist/typechain/index.d.ts"]) {
      const text = readFileSync(join(root, index), "utf8");
      expect(text, index).not.to.match(/Mock|Harness|mocks\//);
    }
    expect(readFileSync(join(root, "dist/index.d.ts"), "utf8")).not.to.match(/Mock\w*__factory|\.\/mocks"/);
    expect(files.some((f) => f.startsWith("dist/typechain/") && /mocks\/|Mock|Harness/.test(f))).to.equal(
      false,
    );
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pkg = require(join(root, "dist"));
    expect(pkg.MarginEngine__factory.abi.some((x: { name?: string }) => x.name === "rebalance")).to.equal(
      true,
    );
    expect(Object.keys(pkg).filter((k) => /Mock\w*__factory|Harness/.test(k))).to.deep.equal([]);
    expect(typeof pkg.deployBallast).to.equal("function");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const testing = require(join(root, "testing"));
    expect(Object.keys(testing).sort()).to.deep.equal(["MockUSDC__factory", "MockV3Aggregator__factory"]);
    // Artifacts carry the library link references the deployment resolves.
    const engine = JSON.parse(readFileSync(join(root, "dist/artifacts/MarginEngine.json"), "utf8"));
    expect(Object.values(engine.linkReferences).flatMap((l) => Object.keys(l as object))).to.have.members([
      "TradeLogic",
      "OrderLogic",
      "LiquidationLogic",
      "RebalanceLogic",
      "RebalancePreview",
    ]);
  });

  it("abi/errors.json holds every custom error selector of the artifacts, once, and decodeBallastError decodes them", () => {
    const errors: { type: string; name: string }[] = JSON.parse(
      readFileSync(join(root, "abi/errors.json"), "utf8"),
    );
    const shipped = errors.map((e) => ErrorFragment.from(e).selector);
    expect(new Set(shipped).size, "deduplicated by selector").to.equal(shipped.length);
    const testSource = (s: string) =>
      s.startsWith("contracts/mocks/") || s.startsWith("@chainlink/contracts/src/v0.8/tests/");
    const expected = new Map<string, string>();
    for (const file of artifactFiles()) {
      const artifact = JSON.parse(readFileSync(file, "utf8"));
      if (testSource(artifact.sourceName)) continue;
      for (const entry of artifact.abi) {
        if (entry.type === "error") {
          const f = ErrorFragment.from(entry);
          expected.set(f.selector, `${artifact.contractName}.${f.format("sighash")}`);
        }
      }
    }
    const missing = [...expected].filter(([selector]) => !shipped.includes(selector)).map(([, what]) => what);
    expect(missing).to.deep.equal([]);
    expect(expected.size).to.be.greaterThan(50);

    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { decodeBallastError } = require(join(root, "dist"));
    const engine = new Interface(JSON.parse(readFileSync(join(root, "abi/IMarginEngine.json"), "utf8")));
    const data = engine.encodeErrorResult("MarginEngineInsufficientMargin", [-5n, parseEther("2")]);
    const decoded = decodeBallastError(data);
    expect(decoded.name).to.equal("MarginEngineInsufficientMargin");
    expect(decoded.signature).to.equal("MarginEngineInsufficientMargin(int256,uint256)");
    expect(decoded.args.equityWad).to.equal(-5n);
    expect(decoded.args[1]).to.equal(parseEther("2"));
    // Nested in what ethers throws, and the built-in errors.
    expect(decodeBallastError({ info: { error: { data } } }).name).to.equal("MarginEngineInsufficientMargin");
    expect(
      decodeBallastError("0x4e487b710000000000000000000000000000000000000000000000000000000000000011").name,
    ).to.equal("Panic");
    expect(decodeBallastError("0xdeadbeef")).to.equal(undefined);
    expect(decodeBallastError("0x")).to.equal(undefined);
  });

  it("ships Solidity sources with a ^0.8.24 range, importing nothing with an exact pragma", () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const semver = require("semver");
    const shipped = files.filter((f) => f.endsWith(".sol"));
    expect(shipped.length).to.be.greaterThan(10);
    const seen = new Set<string>();
    const visit = (file: string, from: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const source = readFileSync(file, "utf8");
      const pragma = pragmaOf(source);
      expect(pragma, `${file} (imported by ${from})`).to.be.a("string");
      expect(semver.valid(pragma), `${file}: exact pragma ${pragma}`).to.equal(null);
      expect(semver.satisfies("0.8.24", pragma), `${file}: ${pragma} excludes 0.8.24`).to.equal(true);
      expect(semver.satisfies("0.8.28", pragma), `${file}: ${pragma} excludes 0.8.28`).to.equal(true);
      for (const [, path] of source.matchAll(/import\s+(?:[^"']*from\s+)?["']([^"']+)["']/g)) {
        const target = path.startsWith(".") ? join(dirname(file), path) : join(root, "node_modules", path);
        visit(target, file);
      }
    };
    for (const file of shipped) {
      expect(pragmaOf(readFileSync(join(root, file), "utf8")), file).to.equal("^0.8.24");
      visit(join(root, file), "the package");
    }
    for (const file of seen)
      expect(file, "a shipped file imports an unshipped Ballast source").not.to.match(
        /contracts\/(core|mocks|oracle|strategies|automation|governance)\//,
      );
  });

  it("deploys Ballast in a separate Hardhat project from the packed tarball, and rebalances there", () => {
    // A project with nothing of Ballast's sources: its own package.json, config and test; its
    // dependencies (Hardhat, ethers, ...) linked from this repository's install.
    const project = join(work, "downstream");
    const modules = join(project, "node_modules");
    mkdirSync(modules, { recursive: true });
    const installed = realpathSync(join(root, "node_modules"));
    for (const name of readdirSync(installed)) {
      if (name.startsWith(".") || name === "@ballast") continue;
      if (name.startsWith("@")) {
        mkdirSync(join(modules, name));
        for (const sub of readdirSync(join(installed, name)))
          symlinkSync(join(installed, name, sub), join(modules, name, sub));
      } else symlinkSync(join(installed, name), join(modules, name));
    }
    // Installing the tarball: npm unpacks it as node_modules/@ballast/protocol (no install scripts).
    const target = join(modules, "@ballast", "protocol");
    mkdirSync(target, { recursive: true });
    execFileSync("tar", ["-xzf", tarball, "-C", target, "--strip-components=1"]);
    expect(existsSync(join(target, "contracts", "core")), "no Ballast sources").to.equal(false);

    writeFileSync(
      join(project, "package.json"),
      JSON.stringify(
        { name: "downstream", private: true, dependencies: { "@ballast/protocol": `file:${tarball}` } },
        null,
        2,
      ),
    );
    writeFileSync(
      join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          module: "commonjs",
          moduleResolution: "node",
          target: "es2022",
          strict: true,
          esModuleInterop: true,
          skipLibCheck: true,
        },
        include: ["hardhat.config.ts", "test"],
      }),
    );
    writeFileSync(
      join(project, "hardhat.config.ts"),
      `import "@nomicfoundation/hardhat-ethers";
import "@nomicfoundation/hardhat-chai-matchers";
import type { HardhatUserConfig } from "hardhat/config";

const config: HardhatUserConfig = { mocha: { timeout: 300_000, reporter: "spec" } };
export default config;
`,
    );
    mkdirSync(join(project, "test"));
    writeFileSync(join(project, "test", "ballast.test.ts"), DOWNSTREAM_TEST);

    let output: string;
    try {
      output = execFileSync(
        process.execPath,
        [join(modules, "hardhat", "internal", "cli", "cli.js"), "--typecheck", "test"],
        { cwd: project, env: { ...process.env, HARDHAT_DISABLE_TELEMETRY_PROMPT: "true" }, stdio: "pipe" },
      ).toString();
    } catch (error) {
      const e = error as { stdout?: Buffer; stderr?: Buffer };
      throw new Error(`the downstream test failed:\n${e.stdout?.toString()}\n${e.stderr?.toString()}`);
    }
    const plain = output.replace(/\x1b\[[0-9;]*m/g, "");
    expect(plain, plain).to.match(/^\s+3 passing/m);
    expect(plain, plain).not.to.match(/failing/);
  });
});

/** The downstream project's test: only `@ballast/protocol`'s packaged types and helpers. */
const DOWNSTREAM_TEST = `import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { parseEther, parseUnits } from "ethers";
import * as ballast from "@ballast/protocol";
import {
  ballastFixture,
  createBallastFixture,
  decodeBallastError,
  MarginEngine__factory,
  type BallastDeployment,
  type MarginEngine,
} from "@ballast/protocol";
import { MockUSDC__factory } from "@ballast/protocol/testing";

const usdc = (amount: number) => parseUnits(String(amount), 6);
const cheapEth = createBallastFixture({ ethPrice: parseUnits("2000", 8) });

describe("Ballast from @ballast/protocol", () => {
  it("deploys the protocol in one call, wired", async () => {
    const b: BallastDeployment = await loadFixture(ballastFixture);
    const engine: MarginEngine = MarginEngine__factory.connect(await b.engine.getAddress(), b.deployer);
    expect(await engine.marketCount()).to.equal(2n);
    expect(await engine.isStrategyApproved(await b.thresholdStrategy.getAddress())).to.equal(true);
    expect(await b.usdc.decimals()).to.equal(6n);
    expect((await b.oracle.price(b.assets.ETH))[0]).to.equal(parseEther("3000"));
    expect("MockUSDC__factory" in ballast, "mocks stay out of the main index").to.equal(false);
    expect(await MockUSDC__factory.connect(await b.usdc.getAddress(), b.deployer).symbol()).to.equal("USDC");
  });

  it("takes options", async () => {
    const b = await loadFixture(cheapEth);
    expect((await b.oracle.price(b.assets.ETH))[0]).to.equal(parseEther("2000"));
  });

  it("deposits margin, opens a position, sets a policy and is rebalanced when the price moves", async () => {
    const b = await loadFixture(ballastFixture);
    const [, lp, trader, keeper] = await ethers.getSigners();
    for (const s of [lp, trader]) {
      await b.usdc.mint(s.address, usdc(1_000_000));
      await b.usdc.connect(s).approve(await b.vault.getAddress(), ethers.MaxUint256);
      await b.usdc.connect(s).approve(await b.pool.getAddress(), ethers.MaxUint256);
    }
    await b.pool.connect(lp).deposit(usdc(1_000_000), lp.address);
    await b.vault.connect(trader).depositMargin(trader.address, usdc(10_000));
    await b.vault.connect(trader).depositReserve(trader.address, usdc(5_000));
    // Trading goes through orders: submit, a round published after the order, execution by a keeper.
    const now = (await ethers.provider.getBlock("latest"))!.timestamp;
    await b.engine.connect(trader).submitOrder(b.markets.ETH, parseEther("25"), 0n, BigInt(now) + 3600n);
    const orderId = await b.engine.orderCount();
    await b.ethFeed.updateAnswer(await b.ethFeed.latestAnswer());
    await expect(b.engine.connect(keeper).executeOrder(orderId)).to.emit(b.engine, "OrderExecuted");
    expect((await b.engine.position(trader.address, b.markets.ETH)).sizeWad).to.equal(parseEther("25"));
    await b.engine.connect(trader).setPolicy({
      triggerHealthWad: parseEther("1.5"),
      targetHealthWad: parseEther("2"),
      sweepHealthWad: 0n,
      allowTopUp: true,
      allowDeleverage: true,
      maxKeeperRewardTokens: usdc(5),
      strategy: await b.thresholdStrategy.getAddress(),
    });
    expect(await b.engine.health(trader.address)).to.be.gt(parseEther("1.5"));

    // ETH falls in 0.5% rounds until the account is below its trigger.
    let price = 3_000n * 10n ** 8n;
    while ((await b.engine.health(trader.address)) >= parseEther("1.5")) {
      price -= price / 200n;
      await b.ethFeed.updateAnswer(price);
      await b.oracle.update(b.assets.ETH);
    }
    const before = await b.engine.health(trader.address);
    expect(before).to.be.gte(parseEther("1"));
    const [action] = await b.engine.keeperAction(trader.address);
    expect(action).to.equal(1n);
    const reserve = await b.vault.reserveOf(trader.address);
    await b.engine.connect(keeper).rebalance(trader.address);
    expect(await b.engine.health(trader.address)).to.be.gte(parseEther("1.5"));
    expect(await b.vault.reserveOf(trader.address)).to.be.lt(reserve);

    // A second rebalance has nothing to do: its revert decodes with the packaged errors.
    const failure = await b.engine.connect(keeper).rebalance(trader.address).then(
      () => undefined,
      (error: unknown) => error,
    );
    const decoded = decodeBallastError(failure);
    expect(decoded?.name).to.equal("MarginEngineNothingToRebalance");
    expect(decoded?.args[0]).to.equal(trader.address);
  });
});
`;
