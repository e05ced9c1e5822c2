import { expect } from "chai";
import { execSync } from "node:child_process";
import { join } from "node:path";

/** What `npm pack` gives integrators: Solidity interfaces, ABIs and compiled TypeChain bindings. */
describe("Integrator package", function () {
  this.timeout(180_000);
  const root = join(__dirname, "..", "..");

  it("contains the interfaces, the ABIs and the TypeChain types, and no mocks", () => {
    // The prepack steps after `hardhat compile` (the test run has compiled already).
    execSync("npx ts-node scripts/export-abi.ts && npx tsc -p tsconfig.typechain.json", {
      cwd: root,
      stdio: "pipe",
    });
    const [pack] = JSON.parse(
      execSync("npm pack --dry-run --json --ignore-scripts", {
        cwd: root,
        stdio: ["ignore", "pipe", "ignore"],
      }).toString(),
    );
    const files: string[] = pack.files.map((f: { path: string }) => f.path);
    for (const expected of [
      "contracts/interfaces/IMarginEngine.sol",
      "contracts/interfaces/IRebalanceStrategy.sol",
      "contracts/interfaces/RebalanceTypes.sol",
      "contracts/libraries/MarginMath.sol",
      "contracts/examples/HedgedVault.sol",
      "abi/MarginEngine.json",
      "abi/IMarginEngine.json",
      "abi/RebalanceKeeper.json",
      "dist/typechain/index.d.ts",
      "dist/typechain/factories/contracts/core/MarginEngine__factory.js",
      "README.md",
    ]) {
      expect(files, expected).to.include(expected);
    }
    expect(files.some((f) => f.startsWith("contracts/mocks/") || f.startsWith("contracts/core/"))).to.equal(
      false,
    );
    // The bindings load and carry the ABI.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const typechain = require(join(root, "dist/typechain"));
    expect(
      typechain.MarginEngine__factory.abi.some((x: { name?: string }) => x.name === "rebalance"),
    ).to.equal(true);
  });
});
