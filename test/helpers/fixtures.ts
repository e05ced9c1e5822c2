import { ethers, ignition } from "hardhat";
import { ContractTransactionResponse, Signer, parseUnits } from "ethers";
import BallastLocalModule from "../../ignition/modules/BallastLocal";
import {
  ChainlinkOracleAdapter__factory,
  CollateralVault__factory,
  LiquidityPool__factory,
  MarginEngine__factory,
  MockUSDC__factory,
  MockV3Aggregator__factory,
  PauseGuardian__factory,
  RebalanceKeeper__factory,
  AccountLens__factory,
  ThresholdStrategy__factory,
  VolatilityScaledStrategy__factory,
} from "../../typechain-types";

export { ETH, BTC, DEFAULTS } from "../../ignition/modules/core";

/** Market ids as listed by the module. */
export const ETH_MARKET = 1n;
export const BTC_MARKET = 2n;

/** USDC amount (6 decimals) from a decimal string. */
export const usdc = (amount: string | number) => parseUnits(String(amount), 6);
/** 8-decimals Chainlink answer from a decimal string. */
export const answer = (price: string | number) => parseUnits(String(price), 8);

/**
 * Deploys the protocol through the `BallastLocal` Ignition module (the module is what is tested) and
 * returns TypeChain-typed contracts. Use with `loadFixture`.
 */
export async function deployBallast(options: { sequencerFeed?: string; sequencerGracePeriod?: number } = {}) {
  const signers = await ethers.getSigners();
  const [deployer, alice, bob, carol, lp, keeper, guardianAccount, riskAdmin, outsider] = signers;
  const deployed = await ignition.deploy(BallastLocalModule, {
    parameters: {
      BallastLocal: {
        guardianAccount: guardianAccount.address,
        riskAdmin: riskAdmin.address,
        ...options,
      },
    },
  });
  const at = async (c: { getAddress(): Promise<string> }) => c.getAddress();
  const token = MockUSDC__factory.connect(await at(deployed.usdc), deployer);
  const ethFeed = MockV3Aggregator__factory.connect(await at(deployed.ethFeed), deployer);
  const btcFeed = MockV3Aggregator__factory.connect(await at(deployed.btcFeed), deployer);
  const guardian = PauseGuardian__factory.connect(await at(deployed.guardian), deployer);
  const oracle = ChainlinkOracleAdapter__factory.connect(await at(deployed.oracle), deployer);
  const vault = CollateralVault__factory.connect(await at(deployed.vault), deployer);
  const pool = LiquidityPool__factory.connect(await at(deployed.pool), deployer);
  const engine = MarginEngine__factory.connect(await at(deployed.engine), deployer);
  const keeperContract = RebalanceKeeper__factory.connect(await at(deployed.keeper), deployer);
  const lens = AccountLens__factory.connect(await at(deployed.lens), deployer);
  const thresholdStrategy = ThresholdStrategy__factory.connect(
    await at(deployed.thresholdStrategy),
    deployer,
  );
  const volatilityStrategy = VolatilityScaledStrategy__factory.connect(
    await at(deployed.volatilityStrategy),
    deployer,
  );

  // Every trader and LP gets tokens and approves the vault and the pool.
  for (const s of [alice, bob, carol, lp, keeper, outsider]) {
    await token.mint(s.address, usdc(10_000_000));
    await token.connect(s).approve(await vault.getAddress(), ethers.MaxUint256);
    await token.connect(s).approve(await pool.getAddress(), ethers.MaxUint256);
  }

  return {
    deployer,
    alice,
    bob,
    carol,
    lp,
    keeper,
    guardianAccount,
    riskAdmin,
    outsider,
    token,
    ethFeed,
    btcFeed,
    guardian,
    oracle,
    vault,
    pool,
    engine,
    keeperContract,
    lens,
    thresholdStrategy,
    volatilityStrategy,
  };
}

/** The protocol with 1,000,000 USDC of LP liquidity. */
export async function deployFunded(options: Parameters<typeof deployBallast>[0] = {}) {
  const f = await deployBallast(options);
  await f.pool.connect(f.lp).deposit(usdc(1_000_000), f.lp.address);
  return f;
}

export type Ballast = Awaited<ReturnType<typeof deployBallast>>;

/**
 * Token conservation: the vault holds exactly the sum of margins and reserves of `accounts` (which must
 * be every account that ever held a balance), and the pool exactly its LP assets plus insurance.
 */
export async function expectConservation(f: Ballast, accounts: string[]) {
  const { expect } = await import("chai");
  let sum = 0n;
  for (const a of accounts) sum += (await f.vault.marginOf(a)) + (await f.vault.reserveOf(a));
  const vaultBalance = await f.token.balanceOf(await f.vault.getAddress());
  expect(vaultBalance, "vault balance == Σ margin + Σ reserve").to.equal(sum);
  expect(vaultBalance, "vault balance == totalHeld").to.equal(await f.vault.totalHeld());
  const poolBalance = await f.token.balanceOf(await f.pool.getAddress());
  expect(poolBalance, "pool balance == LP assets + insurance").to.equal(
    (await f.pool.cashAssets()) + (await f.pool.insuranceBalance()),
  );
  expect(await f.token.balanceOf(await f.engine.getAddress()), "engine holds no tokens").to.equal(0n);
}

/**
 * Publishes rounds on `feed` that walk its answer to `price` in steps of at most 2%, as a live feed
 * would during a fast move (a single round beyond the adapter's deviation bound, 2%, reads `Deviation`).
 * `price` is a decimal USD price, or a raw 8-decimals answer as a bigint.
 */
export async function movePrice(
  feed: { latestAnswer(): Promise<bigint>; updateAnswer(a: bigint): Promise<unknown> },
  price: string | number | bigint,
) {
  const target = typeof price === "bigint" ? price : answer(price);
  let current = await feed.latestAnswer();
  while (current !== target) {
    const step = current / 50n;
    if (target > current) current = target - current > step ? current + step : target;
    else current = current - target > step ? current - step : target;
    await feed.updateAnswer(current);
  }
}

/**
 * The policy most specs use: trigger 1.5, target 2.0, no sweep, top-up and deleverage allowed, keeper
 * reward up to 5 USDC, on `strategy`; `overrides` changes any field.
 */
export function standardPolicy(strategy: string, overrides: Partial<Record<string, unknown>> = {}) {
  return {
    triggerHealthWad: parseUnits("1.5", 18),
    targetHealthWad: parseUnits("2", 18),
    sweepHealthWad: 0n,
    allowTopUp: true,
    allowDeleverage: true,
    maxKeeperRewardTokens: usdc(5),
    strategy,
    ...overrides,
  };
}

/** The two ways a policy can name the threshold rule: the engine's built-in planner or the contract. */
export const THRESHOLD_PLANNERS = ["built-in", "contract"] as const;
export type ThresholdPlanner = (typeof THRESHOLD_PLANNERS)[number];

/** The strategy address of `planner`: the engine itself, or the deployed `ThresholdStrategy`. */
export async function thresholdStrategyOf(f: Ballast, planner: ThresholdPlanner): Promise<string> {
  return planner === "built-in" ? f.engine.builtinStrategy() : f.thresholdStrategy.getAddress();
}

/** Options of `trade` and `closeAll`. */
export interface TradeOptions {
  /** Publish a round after the order (at the feed's latest answer) before executing it; default true.
   *  Without it the execution reads whatever round is current, e.g. to assert an oracle refusal. */
  publish?: boolean;
  /** Who executes the order (default `f.keeper`). */
  executor?: Signer;
  /** Overrides of the execution transaction (e.g. a gas limit). */
  overrides?: { gasLimit?: bigint | number };
  /** Acceptable price (WAD; default 0: any). */
  acceptablePriceWad?: bigint;
}

type Trading = Pick<Ballast, "engine" | "oracle" | "keeper">;

/** Seconds an order made by the helpers stays executable. */
export const ORDER_TTL = 3_600n;

/** The `MockV3Aggregator` interface of `marketId`'s feed. */
export async function marketFeed(f: Trading, marketId: bigint) {
  const asset = (await f.engine.marketConfig(marketId)).asset;
  const feed = (await f.oracle.feedConfig(asset)).feed;
  return MockV3Aggregator__factory.connect(feed, f.keeper);
}

/** Publishes a new round on `marketId`'s feed at its latest answer (the price does not move). */
export async function publishRound(f: Trading, marketId: bigint) {
  const feed = await marketFeed(f, marketId);
  await (await feed.updateAnswer(await feed.latestAnswer())).wait();
}

/** The id of the order submitted by `tx` (from its `OrderSubmitted` event). */
export async function orderIdOf(f: Pick<Ballast, "engine">, tx: ContractTransactionResponse) {
  const receipt = await tx.wait();
  for (const log of receipt!.logs) {
    const parsed = f.engine.interface.parseLog(log);
    if (parsed?.name === "OrderSubmitted") return parsed.args.orderId as bigint;
  }
  throw new Error("no OrderSubmitted event");
}

/**
 * Trades through a two-step order: `signer` submits `sizeDeltaWad` (0 closes the whole position) on
 * `marketId`, a round at the same answer is published on the market's feed, and `f.keeper` (or
 * `options.executor`) executes the order. Returns the execution transaction (use it with `.to.emit` or
 * `.to.be.revertedWithCustomError`; a refusal at submission rejects the same way).
 */
export async function trade(
  f: Trading,
  signer: Signer,
  marketId: bigint,
  sizeDeltaWad: bigint,
  options: TradeOptions = {},
): Promise<ContractTransactionResponse> {
  const latest = await ethers.provider.getBlock("latest");
  const expiry = BigInt(latest!.timestamp) + ORDER_TTL;
  const submitted = await f.engine
    .connect(signer)
    .submitOrder(marketId, sizeDeltaWad, options.acceptablePriceWad ?? 0n, expiry);
  const orderId = await orderIdOf(f, submitted);
  if (options.publish ?? true) await publishRound(f, marketId);
  return f.engine.connect(options.executor ?? f.keeper).executeOrder(orderId, options.overrides ?? {});
}

/** Closes `signer`'s whole position in `marketId` through an order (see `trade`). */
export function closeAll(f: Trading, signer: Signer, marketId: bigint, options: TradeOptions = {}) {
  return trade(f, signer, marketId, 0n, options);
}
