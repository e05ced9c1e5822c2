/**
 * Writes the ABI of every protocol contract and interface to `abi/<Name>.json`, for integrators who do
 * not use TypeChain, and `abi/errors.json`: every custom error of every compiled contract and library
 * (Ballast's and the OpenZeppelin and Chainlink code it builds on; test mocks excepted), deduplicated
 * by selector, to decode any revert. Run after `hardhat compile` (the package's `prepack` does both).
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { ErrorFragment, type JsonFragment } from "ethers";

const root = join(__dirname, "..");
const artifacts = join(root, "artifacts", "contracts");
const out = join(root, "abi");
const skip = ["mocks"];

function walk(dir: string, skipDirs: string[] = skip): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return skipDirs.includes(name) ? [] : walk(path, skipDirs);
    return name.endsWith(".json") && !name.endsWith(".dbg.json") ? [path] : [];
  });
}

/** Test-only sources: Ballast's mocks and harnesses, Chainlink's test contracts. */
export function isTestSource(sourceName: string): boolean {
  return (
    sourceName.startsWith("contracts/mocks/") ||
    /^@chainlink\/contracts\/src\/v0\.8\/tests\//.test(sourceName)
  );
}

/** Every custom error in `artifactFiles`, one entry a selector (the first ABI entry seen), by signature. */
export function collectErrors(artifactFiles: string[]): JsonFragment[] {
  const bySelector = new Map<string, { signature: string; fragment: JsonFragment }>();
  for (const file of artifactFiles) {
    const artifact = JSON.parse(readFileSync(file, "utf8"));
    if (!Array.isArray(artifact.abi) || isTestSource(artifact.sourceName ?? "")) continue;
    for (const entry of artifact.abi as JsonFragment[]) {
      if (entry.type !== "error") continue;
      const fragment = ErrorFragment.from(entry);
      const seen = bySelector.get(fragment.selector);
      if (seen !== undefined && seen.signature !== fragment.format("sighash")) {
        throw new Error(`selector clash: ${seen.signature} and ${fragment.format("sighash")}`);
      }
      if (seen === undefined)
        bySelector.set(fragment.selector, { signature: fragment.format("sighash"), fragment: entry });
    }
  }
  return [...bySelector.values()]
    .sort((a, b) => a.signature.localeCompare(b.signature))
    .map((e) => e.fragment);
}

/** Every artifact of every compiled source, dependencies included (not build-info). */
export function allArtifactFiles(): string[] {
  return walk(join(root, "artifacts"), ["build-info"]);
}

function main() {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  let count = 0;
  for (const file of walk(artifacts)) {
    const artifact = JSON.parse(readFileSync(file, "utf8"));
    if (!Array.isArray(artifact.abi) || artifact.abi.length === 0) continue;
    writeFileSync(join(out, `${artifact.contractName}.json`), JSON.stringify(artifact.abi, null, 2) + "\n");
    count++;
  }
  const errors = collectErrors(allArtifactFiles());
  writeFileSync(join(out, "errors.json"), JSON.stringify(errors, null, 2) + "\n");
  console.log(
    `wrote ${count} ABIs and ${errors.length} errors to ${relative(root, out).split(sep).join("/")}/`,
  );
}

if (require.main === module) main();
