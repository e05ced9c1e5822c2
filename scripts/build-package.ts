/**
 * Builds what the npm package ships besides the Solidity sources and `abi/` (run after `hardhat
 * compile` and `scripts/export-abi.ts`; the package's `prepack` runs all three):
 *
 * - `dist/typechain/`: TypeChain bindings (ethers v6) of every contract, test mocks excepted;
 * - `dist/testing/typechain/`: bindings of the two mocks the local deployment uses (mock USDC,
 *   Chainlink's `MockV3Aggregator`), exported only from `@ballast/protocol/testing`;
 * - `dist/ignition/modules/`: the Ignition modules of `ignition/modules/`, compiled;
 * - `dist/artifacts/<Name>.json`: ABI, bytecode and link references of every contract those modules
 *   deploy, so that a downstream project deploys Ballast without compiling its sources;
 * - `dist/index.js`, `dist/testing.js` and the rest of `sdk/` compiled: `deployBallast`, the fixture,
 *   `decodeBallastError`.
 *
 * The sources are staged in `.package/` with the generated bindings beside them (imports of
 * `../typechain-types`, Hardhat's full bindings, point at the package's own), then compiled.
 */
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runTypeChain } from "typechain";
import type { IgnitionModule } from "@nomicfoundation/ignition-core";
import BallastModule from "../ignition/modules/Ballast";
import BallastLocalModule from "../ignition/modules/BallastLocal";
import { allArtifactFiles, isTestSource } from "./export-abi";

const root = join(__dirname, "..");
const stage = join(root, ".package");
const dist = join(root, "dist");
const artifactsDir = join(root, "artifacts");

/** Mocks the local deployment stands the protocol up on (`@ballast/protocol/testing`). */
const TESTING = ["contracts/mocks/MockUSDC.sol", "@chainlink/contracts/src/v0.8/tests/MockV3Aggregator.sol"];

type HardhatArtifact = {
  contractName: string;
  sourceName: string;
  abi: unknown[];
  bytecode: string;
  deployedBytecode: string;
  linkReferences: unknown;
  deployedLinkReferences: unknown;
};
const read = (file: string): HardhatArtifact => JSON.parse(readFileSync(file, "utf8"));

/** Every contract a module (or one of its submodules) deploys by artifact name. */
function contractNames(module: IgnitionModule, names = new Set<string>()): Set<string> {
  for (const future of module.futures) {
    if ("contractName" in future && !("artifact" in future)) names.add(future.contractName);
  }
  for (const sub of module.submodules) contractNames(sub, names);
  return names;
}

async function typechain(files: string[], outDir: string) {
  await runTypeChain({
    cwd: root,
    filesToProcess: files,
    allFiles: files,
    inputDir: artifactsDir,
    outDir,
    target: "ethers-v6",
  });
}

async function main() {
  rmSync(stage, { recursive: true, force: true });
  rmSync(dist, { recursive: true, force: true });
  const files = allArtifactFiles();
  const bySource = files.map((file) => ({ file, artifact: read(file) }));

  // Bindings: everything but the test sources; the two mocks apart.
  await typechain(
    bySource.filter((a) => !isTestSource(a.artifact.sourceName)).map((a) => a.file),
    join(stage, "typechain"),
  );
  await typechain(
    bySource.filter((a) => TESTING.includes(a.artifact.sourceName)).map((a) => a.file),
    join(stage, "testing", "typechain"),
  );

  // The SDK and the Ignition modules, imports pointed at the staged bindings.
  for (const name of readdirSync(join(root, "sdk")).filter((n) => n.endsWith(".ts"))) {
    const bindings = name === "mocks.ts" ? "./testing/typechain" : "./typechain";
    const text = readFileSync(join(root, "sdk", name), "utf8")
      .replaceAll('"../typechain-types"', `"${bindings}"`)
      .replaceAll('"../ignition/modules/', '"./ignition/modules/');
    writeFileSync(join(stage, name), text);
  }
  cpSync(join(root, "ignition", "modules"), join(stage, "ignition", "modules"), { recursive: true });

  // Artifacts of what the modules deploy.
  mkdirSync(join(dist, "artifacts"), { recursive: true });
  for (const name of new Set([...contractNames(BallastLocalModule), ...contractNames(BallastModule)])) {
    const matches = bySource.filter((a) => a.artifact.contractName === name && statSync(a.file).isFile());
    if (matches.length !== 1) throw new Error(`${matches.length} artifacts named ${name}`);
    const {
      contractName,
      sourceName,
      abi,
      bytecode,
      deployedBytecode,
      linkReferences,
      deployedLinkReferences,
    } = matches[0].artifact;
    writeFileSync(
      join(dist, "artifacts", `${name}.json`),
      JSON.stringify({
        _format: "hh-sol-artifact-1",
        contractName,
        sourceName,
        abi,
        bytecode,
        deployedBytecode,
        linkReferences,
        deployedLinkReferences,
      }) + "\n",
    );
  }

  execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", "tsconfig.package.json"], {
    cwd: root,
    stdio: "inherit",
  });
  console.log(`built ${dist}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
