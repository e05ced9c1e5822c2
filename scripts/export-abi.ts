/**
 * Writes the ABI of every protocol contract and interface to `abi/<Name>.json`, for integrators who do
 * not use TypeChain. Run after `hardhat compile` (the package's `prepack` does both).
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = join(__dirname, "..");
const artifacts = join(root, "artifacts", "contracts");
const out = join(root, "abi");
const skip = ["mocks"];

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return skip.includes(name) ? [] : walk(path);
    return name.endsWith(".json") && !name.endsWith(".dbg.json") ? [path] : [];
  });
}

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
let count = 0;
for (const file of walk(artifacts)) {
  const artifact = JSON.parse(readFileSync(file, "utf8"));
  if (!Array.isArray(artifact.abi) || artifact.abi.length === 0) continue;
  writeFileSync(join(out, `${artifact.contractName}.json`), JSON.stringify(artifact.abi, null, 2) + "\n");
  count++;
}
console.log(`wrote ${count} ABIs to ${out}`);
