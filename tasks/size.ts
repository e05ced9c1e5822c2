import { defineTask } from "./lib/cli";
import { TaskError } from "./lib/errors";

/** EIP-170 limit on deployed code. */
const MAX_CODE_SIZE = 24_576;

defineTask("size-check", "Prints the deployed size of every protocol contract and fails above 24 KiB")
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
    const over = rows.filter((r) => r.margin < 0);
    const data = { task: "size-check", limit: MAX_CODE_SIZE, contracts: rows };
    if (args.json && over.length === 0) console.log(JSON.stringify(data, null, 2));
    if (!args.json) console.table(rows);
    if (over.length > 0) {
      // With --json the failure object carries the sizes (tasks/lib/cli.ts).
      throw new TaskError(
        `over the 24 KiB limit: ${over.map((r) => r.contract).join(", ")}`,
        undefined,
        data,
      );
    }
    return data;
  });
