import {
  deploy,
  DeploymentResultType,
  type DeploymentParameters,
  type EIP1193Provider,
  type SolidityParameterType,
} from "@nomicfoundation/ignition-core";
import { BrowserProvider, MaxUint256, type Signer } from "ethers";
import BallastLocalModule from "../ignition/modules/BallastLocal";
import { BTC, ETH } from "../ignition/modules/core";
import {
  AccountLens__factory,
  ChainlinkOracleAdapter__factory,
  CollateralVault__factory,
  LiquidityPool__factory,
  MarginEngine__factory,
  PauseGuardian__factory,
  RebalanceKeeper__factory,
  ThresholdStrategy__factory,
  VolatilityScaledStrategy__factory,
  type AccountLens,
  type ChainlinkOracleAdapter,
  type CollateralVault,
  type LiquidityPool,
  type MarginEngine,
  type PauseGuardian,
  type RebalanceKeeper,
  type ThresholdStrategy,
  type VolatilityScaledStrategy,
} from "../typechain-types";
import { ballastArtifactResolver } from "./artifacts";
import { MockUSDC__factory, MockV3Aggregator__factory, type MockUSDC, type MockV3Aggregator } from "./mocks";

/** Market ids of the local deployment (listed in this order by the module). */
export const ETH_MARKET = 1n;
export const BTC_MARKET = 2n;

/** What `deployBallast` needs of a Hardhat runtime environment (`import hre from "hardhat"`). */
export interface HardhatRuntimeLike {
  network: { provider: EIP1193Provider };
  /** With `@nomicfoundation/hardhat-ethers` loaded, signers come from it. */
  ethers?: { getSigner(address: string): Promise<Signer> };
}

export interface DeployBallastOptions {
  /** Initial answer of the mock ETH/USD feed, 8 decimals (default 3,000 USD). */
  ethPrice?: bigint;
  /** Initial answer of the mock BTC/USD feed, 8 decimals (default 60,000 USD). */
  btcPrice?: bigint;
  /**
   * Deploying account, first admin of every contract (default: the node's first account). With a
   * Hardhat runtime only: an address the node manages.
   */
  deployer?: string;
  /**
   * Overrides of the `BallastLocal` Ignition module's parameters, e.g. `guardianAccount`, `riskAdmin`,
   * `keeperRewardTokens`, `ethMarket`, `heartbeat` (every default is in `DEFAULTS`).
   */
  parameters?: Record<string, SolidityParameterType>;
  /** Mints `amount` mock USDC (6 decimals) to each of `accounts`, which approve the vault and the pool. */
  fund?: { accounts: Signer[]; amount: bigint };
}

/** The protocol deployed on local mocks, as TypeChain-typed contracts connected to the deployer. */
export interface BallastDeployment {
  deployer: Signer;
  /** Mock 6-decimals settlement token: `usdc.mint(to, amount)` is open to anyone. */
  usdc: MockUSDC;
  /** Chainlink `MockV3Aggregator`s: `updateAnswer(answer8Decimals)` publishes a round. */
  ethFeed: MockV3Aggregator;
  btcFeed: MockV3Aggregator;
  guardian: PauseGuardian;
  oracle: ChainlinkOracleAdapter;
  vault: CollateralVault;
  pool: LiquidityPool;
  engine: MarginEngine;
  keeper: RebalanceKeeper;
  lens: AccountLens;
  thresholdStrategy: ThresholdStrategy;
  volatilityStrategy: VolatilityScaledStrategy;
  /** Market ids and oracle asset keys. */
  markets: { ETH: bigint; BTC: bigint };
  assets: { ETH: string; BTC: string };
}

function isSigner(x: unknown): x is Signer {
  return (
    typeof (x as Signer)?.getAddress === "function" && typeof (x as Signer)?.sendTransaction === "function"
  );
}

/** An EIP-1193 view of an ethers provider that speaks JSON-RPC (ethers' and Hardhat's both have `send`). */
function eip1193(signer: Signer): EIP1193Provider {
  const provider = signer.provider as unknown as {
    send?: (method: string, params: unknown[]) => Promise<unknown>;
  };
  if (typeof provider?.send !== "function") {
    throw new Error("deployBallast: the signer's provider must be a JSON-RPC provider (it has no `send`)");
  }
  return {
    request: async ({ method, params }) => provider.send!(method, (params as unknown[] | undefined) ?? []),
  } as EIP1193Provider;
}

/**
 * Deploys the whole protocol on local mocks (mock USDC, Chainlink `MockV3Aggregator` feeds for
 * ETH/USD and BTC/USD), wired and configured exactly as the `BallastLocal` Ignition module of this
 * package does it, from the compiled artifacts shipped in the package: the downstream project
 * compiles nothing of Ballast.
 *
 * `target` is a Hardhat runtime environment (`hre`), or an ethers signer whose node manages its
 * account (Hardhat network, `hardhat node`, anvil): transactions go out as `eth_sendTransaction`.
 */
export async function deployBallast(
  target: HardhatRuntimeLike | Signer,
  options: DeployBallastOptions = {},
): Promise<BallastDeployment> {
  let provider: EIP1193Provider;
  let deployer: Signer;
  if (isSigner(target)) {
    provider = eip1193(target);
    deployer = target;
  } else {
    provider = target.network.provider;
    const address = options.deployer ?? ((await provider.request({ method: "eth_accounts" })) as string[])[0];
    if (address === undefined) throw new Error("deployBallast: the node manages no account");
    deployer = target.ethers
      ? await target.ethers.getSigner(address)
      : await new BrowserProvider(provider).getSigner(address);
  }
  const deployerAddress = await deployer.getAddress();
  const nodeAccounts = (await provider.request({ method: "eth_accounts" })) as string[];
  if (!nodeAccounts.some((a) => a.toLowerCase() === deployerAddress.toLowerCase())) {
    throw new Error(`deployBallast: the node does not manage the deployer ${deployerAddress}`);
  }
  // The module's `m.getAccount(0)` is the deployer.
  const accounts = [
    deployerAddress,
    ...nodeAccounts.filter((a) => a.toLowerCase() !== deployerAddress.toLowerCase()),
  ];

  const deploymentParameters: DeploymentParameters = {
    Mocks: {
      ...(options.ethPrice !== undefined ? { ethInitialAnswer: options.ethPrice } : {}),
      ...(options.btcPrice !== undefined ? { btcInitialAnswer: options.btcPrice } : {}),
    },
    BallastLocal: { ...options.parameters },
  };
  const result = await deploy({
    provider,
    artifactResolver: ballastArtifactResolver,
    ignitionModule: BallastLocalModule,
    deploymentParameters,
    accounts,
    defaultSender: deployerAddress,
  });
  if (result.type !== DeploymentResultType.SUCCESSFUL_DEPLOYMENT) {
    throw new Error(`deployBallast: the BallastLocal deployment failed: ${JSON.stringify(result, null, 2)}`);
  }
  const r = BallastLocalModule.results;
  const at = (future: { id: string }) => result.contracts[future.id].address;

  const deployment: BallastDeployment = {
    deployer,
    usdc: MockUSDC__factory.connect(at(r.usdc), deployer),
    ethFeed: MockV3Aggregator__factory.connect(at(r.ethFeed), deployer),
    btcFeed: MockV3Aggregator__factory.connect(at(r.btcFeed), deployer),
    guardian: PauseGuardian__factory.connect(at(r.guardian), deployer),
    oracle: ChainlinkOracleAdapter__factory.connect(at(r.oracle), deployer),
    vault: CollateralVault__factory.connect(at(r.vault), deployer),
    pool: LiquidityPool__factory.connect(at(r.pool), deployer),
    engine: MarginEngine__factory.connect(at(r.engine), deployer),
    keeper: RebalanceKeeper__factory.connect(at(r.keeper), deployer),
    lens: AccountLens__factory.connect(at(r.lens), deployer),
    thresholdStrategy: ThresholdStrategy__factory.connect(at(r.thresholdStrategy), deployer),
    volatilityStrategy: VolatilityScaledStrategy__factory.connect(at(r.volatilityStrategy), deployer),
    markets: { ETH: ETH_MARKET, BTC: BTC_MARKET },
    assets: { ETH, BTC },
  };

  if (options.fund) {
    const vault = at(r.vault);
    const pool = at(r.pool);
    for (const account of options.fund.accounts) {
      await (await deployment.usdc.mint(await account.getAddress(), options.fund.amount)).wait();
      await (await deployment.usdc.connect(account).approve(vault, MaxUint256)).wait();
      await (await deployment.usdc.connect(account).approve(pool, MaxUint256)).wait();
    }
  }
  return deployment;
}

/**
 * A `loadFixture`-ready fixture deploying Ballast on the Hardhat network of the running Hardhat
 * project (`options` as for `deployBallast`). Create it once, at module level: `loadFixture` caches by
 * function identity.
 */
export function createBallastFixture(options: DeployBallastOptions = {}): () => Promise<BallastDeployment> {
  return async function ballastFixture() {
    // The Hardhat runtime of the project running the tests (resolved from there, not bundled).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const hre: HardhatRuntimeLike = require("hardhat");
    return deployBallast(hre, options);
  };
}

/** `loadFixture(ballastFixture)`: Ballast with the defaults, deployed by the first account. */
export const ballastFixture = createBallastFixture();
