import { task } from "hardhat/config";

/** EIP-170 limit on deployed code. */
const MAX_CODE_SIZE = 24_576;

task("size-check", "Prints the deployed size of every protocol contract and fails above 24 KiB")
  .addFlag("json", "Print JSON")
  .setAction(async (args: { json: boolean }, hre) => {
    await hre.run("compile", { quiet: true });
    const names = await hre.artifacts.getAllFullyQualifiedNames();
    const rows: { contract: string; bytes: number; margin: number }[] = [];
    for (const name of names) {
      if (!name.startsWith("contracts/") || name.startsWith("contracts/mocks/")) continue;
      const artifact = await hre.artifacts.readArtifact(name);
      const bytes = (artifact.deployedBytecode.length - 2) / 2;
      if (bytes === 0) continue; // interfaces and abstract contracts
      rows.push({ contract: artifact.contractName, bytes, margin: MAX_CODE_SIZE - bytes });
    }
    rows.sort((a, b) => b.bytes - a.bytes);
    if (args.json) console.log(JSON.stringify(rows, null, 2));
    else console.table(rows);
    const over = rows.filter((r) => r.margin < 0);
    if (over.length > 0) {
      throw new Error(`over the 24 KiB limit: ${over.map((r) => r.contract).join(", ")}`);
    }
  });
