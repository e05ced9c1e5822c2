import fs from "fs";
import path from "path";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { TaskError } from "./errors";

/** Ignition modules that deploy the protocol, in the order they are looked up. */
export const MODULE_IDS = ["Ballast", "BallastLocal"] as const;

/** Future ids (after `<module>#`) of the contracts the tasks use. */
export const CONTRACT_IDS = {
  guardian: "PauseGuardian",
  oracle: "ChainlinkOracleAdapter",
  vault: "CollateralVault",
  pool: "LiquidityPool",
  engine: "MarginEngine",
  keeper: "RebalanceKeeper",
  lens: "AccountLens",
  thresholdStrategy: "ThresholdStrategy",
  volatilityStrategy: "VolatilityScaledStrategy",
} as const;

export type ContractName = keyof typeof CONTRACT_IDS;

/** Where a deployment was found and what it holds. */
export interface Deployment {
  /** The `deployed_addresses.json` read. */
  file: string;
  /** The module whose addresses are used (`Ballast` or `BallastLocal`). */
  moduleId: string;
  /** Addresses by role; only `engine` is guaranteed (the others may be read from the engine). */
  addresses: Partial<Record<ContractName, string>>;
  /** Every entry of the file, as Ignition wrote it. */
  raw: Record<string, string>;
}

/** `ignition/deployments/chain-<chainId>` under the project's Ignition folder. */
export function defaultDeploymentDir(ignitionRoot: string, chainId: bigint | number): string {
  return path.join(ignitionRoot, "deployments", `chain-${chainId.toString()}`);
}

/**
 * Reads a deployment. `location` is a deployment folder (holding `deployed_addresses.json`) or the
 * file itself. When both modules are present, `preferLocal` picks `BallastLocal` (local chains),
 * otherwise `Ballast`.
 */
export function readDeployment(location: string, preferLocal = false): Deployment {
  const file = location.endsWith(".json") ? location : path.join(location, "deployed_addresses.json");
  if (!fs.existsSync(file)) {
    throw new TaskError(
      `no deployment at ${file}: deploy with \`npx hardhat ignition deploy ignition/modules/<Module>.ts ` +
        "--network <network>` or pass --deployment <dir>",
    );
  }
  let raw: Record<string, string>;
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new TaskError(`${file} is not valid JSON: ${(e as Error).message}`);
  }
  const order = preferLocal ? [...MODULE_IDS].reverse() : [...MODULE_IDS];
  const moduleId = order.find((m) => typeof raw[`${m}#${CONTRACT_IDS.engine}`] === "string");
  if (moduleId === undefined) {
    throw new TaskError(
      `${file} has no ${MODULE_IDS.map((m) => `${m}#${CONTRACT_IDS.engine}`).join(" or ")} entry`,
    );
  }
  const addresses: Deployment["addresses"] = {};
  for (const [name, id] of Object.entries(CONTRACT_IDS) as [ContractName, string][]) {
    const address = raw[`${moduleId}#${id}`];
    if (address !== undefined) addresses[name] = address;
  }
  return { file, moduleId, addresses, raw };
}

/**
 * The deployment of the current network: `--deployment <dir>` when given, else Ignition's folder for
 * the network's chain id. Checks that the engine has code on this network.
 */
export async function findDeployment(hre: HardhatRuntimeEnvironment, override?: string): Promise<Deployment> {
  const { chainId } = await hre.ethers.provider.getNetwork();
  const location =
    override !== undefined && override !== ""
      ? path.resolve(override)
      : defaultDeploymentDir(hre.config.paths.ignition, chainId);
  const deployment = readDeployment(location, chainId === 31337n);
  const engine = deployment.addresses.engine!;
  if ((await hre.ethers.provider.getCode(engine)) === "0x") {
    throw new TaskError(
      `no contract at ${deployment.moduleId}#MarginEngine ${engine} on network "${hre.network.name}" ` +
        `(chain ${chainId}): wrong network, or ${deployment.file} is from an earlier chain`,
    );
  }
  return deployment;
}

/**
 * Writes a `deployed_addresses.json` the tasks can find (Ignition's own format). Used by tests and by
 * anyone who deployed without Ignition.
 */
export function writeDeployment(
  dir: string,
  moduleId: string,
  addresses: Partial<Record<ContractName, string>>,
) {
  fs.mkdirSync(dir, { recursive: true });
  const raw: Record<string, string> = {};
  for (const [name, address] of Object.entries(addresses) as [ContractName, string][]) {
    raw[`${moduleId}#${CONTRACT_IDS[name]}`] = address;
  }
  const file = path.join(dir, "deployed_addresses.json");
  fs.writeFileSync(file, JSON.stringify(raw, null, 2) + "\n");
  return file;
}
