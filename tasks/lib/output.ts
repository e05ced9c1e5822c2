import type { ConfigurableTaskDefinition } from "hardhat/types";
import { types } from "hardhat/config";
import type { BaseContract, ContractTransactionReceipt, LogDescription } from "ethers";
import { toJson } from "./units";

/** Flags every task that reads the deployment takes. */
export interface CommonArgs {
  deployment?: string;
  json: boolean;
}

/** Adds `--deployment <dir>` and `--json` to a task. */
export function withCommonParams(t: ConfigurableTaskDefinition, json = true): ConfigurableTaskDefinition {
  t.addOptionalParam(
    "deployment",
    "Ignition deployment folder (or its deployed_addresses.json); default ignition/deployments/chain-<chainId>",
    undefined,
    types.string,
  );
  if (json) t.addFlag("json", "Print JSON instead of text");
  return t;
}

/** Prints `data` as JSON, or `lines` for people; returns `data` (what `hre.run` resolves to). */
export function report<T extends object>(json: boolean, data: T, lines: () => string[]): T {
  if (json) console.log(toJson(data));
  else for (const line of lines()) console.log(line);
  return data;
}

/** Rows as aligned text columns (first row is the header). */
export function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length)));
  const line = (r: string[]) =>
    r
      .map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c])))
      .join("  ")
      .trimEnd();
  return [line(rows[0]), widths.map((w) => "-".repeat(w)).join("  "), ...rows.slice(1).map(line)];
}

/** The events named `name` that `contract` (connected by address) emitted in `receipt`. */
export function eventsOf(
  receipt: ContractTransactionReceipt,
  contract: BaseContract,
  name: string,
): LogDescription[] {
  const address = String(contract.target).toLowerCase();
  const out: LogDescription[] = [];
  for (const log of receipt.logs) {
    if (log.address.toLowerCase() !== address) continue;
    const parsed = contract.interface.parseLog(log);
    if (parsed?.name === name) out.push(parsed);
  }
  return out;
}
