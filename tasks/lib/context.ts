import type { ContractRunner } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import type {
  AccountLens,
  ChainlinkOracleAdapter,
  CollateralVault,
  IERC20Metadata,
  LiquidityPool,
  MarginEngine,
  PauseGuardian,
  RebalanceKeeper,
} from "../../typechain-types";
import { CONTRACT_IDS, ContractName, Deployment, findDeployment } from "./deployment";
import { ErrorDecoder, TaskError } from "./errors";

/** The deployed protocol, as the tasks see it. */
export interface Ballast {
  deployment: Deployment;
  engine: MarginEngine;
  vault: CollateralVault;
  pool: LiquidityPool;
  oracle: ChainlinkOracleAdapter;
  guardian: PauseGuardian;
  token: IERC20Metadata;
  tokenDecimals: number;
  tokenSymbol: string;
  /** Every custom error of the compiled contracts. */
  decoder: ErrorDecoder;
  /** Address of a contract only the deployment file knows (keeper, lens, strategies). */
  address(name: ContractName): string;
  keeper(): Promise<RebalanceKeeper>;
  lens(): Promise<AccountLens>;
}

let decoderCache: Promise<ErrorDecoder> | undefined;

/** The error decoder over every compiled artifact, built once per process. */
export function errorDecoder(hre: HardhatRuntimeEnvironment): Promise<ErrorDecoder> {
  decoderCache ??= ErrorDecoder.fromArtifacts(hre.artifacts);
  return decoderCache;
}

/**
 * Loads the deployment of the current network (or `deploymentDir`) and connects its contracts to
 * `runner` (a signer for tasks that send; the provider otherwise). The engine's own wiring supplies
 * the vault, pool, oracle and guardian when the file lacks them, and the vault supplies the token.
 */
export async function loadBallast(
  hre: HardhatRuntimeEnvironment,
  deploymentDir: string | undefined,
  runner?: ContractRunner,
): Promise<Ballast> {
  const deployment = await findDeployment(hre, deploymentDir);
  const at = deployment.addresses;
  const signerOrProvider = (runner ?? hre.ethers.provider) as never;
  const engine = await hre.ethers.getContractAt("MarginEngine", at.engine!, signerOrProvider);
  const [vaultAddress, poolAddress, oracleAddress, guardianAddress] = await Promise.all([
    at.vault ?? engine.vault(),
    at.pool ?? engine.pool(),
    at.oracle ?? engine.oracle(),
    at.guardian ?? engine.guardian(),
  ]);
  const vault = await hre.ethers.getContractAt("CollateralVault", vaultAddress, signerOrProvider);
  const token = await hre.ethers.getContractAt("IERC20Metadata", await vault.token(), signerOrProvider);
  const [tokenDecimals, tokenSymbol] = await Promise.all([
    token.decimals(),
    token.symbol().catch(() => "tokens"),
  ]);

  const address = (name: ContractName) => {
    const a = at[name];
    if (a === undefined) {
      throw new TaskError(`${deployment.file} has no ${deployment.moduleId}#${CONTRACT_IDS[name]} address`);
    }
    return a;
  };
  const decoder = await errorDecoder(hre);
  decoder.token = { decimals: Number(tokenDecimals), symbol: tokenSymbol };
  return {
    deployment,
    engine,
    vault,
    pool: await hre.ethers.getContractAt("LiquidityPool", poolAddress, signerOrProvider),
    oracle: await hre.ethers.getContractAt("ChainlinkOracleAdapter", oracleAddress, signerOrProvider),
    guardian: await hre.ethers.getContractAt("PauseGuardian", guardianAddress, signerOrProvider),
    token,
    tokenDecimals: Number(tokenDecimals),
    tokenSymbol,
    decoder,
    address,
    keeper: () => hre.ethers.getContractAt("RebalanceKeeper", address("keeper"), signerOrProvider),
    lens: () => hre.ethers.getContractAt("AccountLens", address("lens"), signerOrProvider),
  };
}
