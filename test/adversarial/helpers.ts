import { ethers, ignition } from "hardhat";
import { parseUnits } from "ethers";
import BallastModule from "../../ignition/modules/Ballast";
import {
  ChainlinkOracleAdapter__factory,
  CollateralVault__factory,
  LiquidityPool__factory,
  MarginEngine__factory,
  MockV3Aggregator__factory,
  PauseGuardian__factory,
  RebalanceKeeper__factory,
  ThresholdStrategy__factory,
} from "../../typechain-types";
import type { Ballast } from "../helpers/fixtures";

/** An ERC-20 the tests can mint. */
export interface MintableToken {
  getAddress(): Promise<string>;
  balanceOf(account: string): Promise<bigint>;
  mint(to: string, amount: bigint): Promise<unknown>;
}

/**
 * Deploys the whole protocol through the parameterised `Ballast` Ignition module on `token` (any
 * ERC-20, e.g. a hostile one) with fresh `MockV3Aggregator` feeds at ETH 3,000 and BTC 60,000, and
 * returns the contracts the adversarial specs use.
 */
export async function deployOnToken(token: string) {
  const [deployer, alice, bob, carol, lp, keeper, guardianAccount, riskAdmin, outsider] =
    await ethers.getSigners();
  const ethFeed = await ethers.deployContract("MockV3Aggregator", [8, parseUnits("3000", 8)]);
  const btcFeed = await ethers.deployContract("MockV3Aggregator", [8, parseUnits("60000", 8)]);
  const d = await ignition.deploy(BallastModule, {
    parameters: {
      Ballast: {
        token,
        ethFeed: await ethFeed.getAddress(),
        btcFeed: await btcFeed.getAddress(),
        guardianAccount: guardianAccount.address,
        riskAdmin: riskAdmin.address,
      },
    },
  });
  const at = (c: { getAddress(): Promise<string> }) => c.getAddress();
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
    ethFeed: MockV3Aggregator__factory.connect(await ethFeed.getAddress(), deployer),
    btcFeed: MockV3Aggregator__factory.connect(await btcFeed.getAddress(), deployer),
    guardian: PauseGuardian__factory.connect(await at(d.guardian), deployer),
    oracle: ChainlinkOracleAdapter__factory.connect(await at(d.oracle), deployer),
    vault: CollateralVault__factory.connect(await at(d.vault), deployer),
    pool: LiquidityPool__factory.connect(await at(d.pool), deployer),
    engine: MarginEngine__factory.connect(await at(d.engine), deployer),
    keeperContract: RebalanceKeeper__factory.connect(await at(d.keeper), deployer),
    thresholdStrategy: ThresholdStrategy__factory.connect(await at(d.thresholdStrategy), deployer),
  };
}

/** Everything an attacker could move, read at once so that before/after can be compared exactly. */
export async function ledger(
  f: Pick<Ballast, "vault" | "pool" | "engine"> & { token: { balanceOf(a: string): Promise<bigint> } },
  accounts: string[],
) {
  const out: Record<string, bigint> = {};
  for (const a of accounts) {
    out[`${a}.wallet`] = await f.token.balanceOf(a);
    out[`${a}.margin`] = await f.vault.marginOf(a);
    out[`${a}.reserve`] = await f.vault.reserveOf(a);
    out[`${a}.lpShares`] = await f.pool.balanceOf(a);
    for (const m of [1n, 2n]) {
      const p = await f.engine.position(a, m);
      out[`${a}.size${m}`] = p.sizeWad;
      out[`${a}.entry${m}`] = p.entryPriceWad;
    }
  }
  out.vaultBalance = await f.token.balanceOf(await f.vault.getAddress());
  out.poolBalance = await f.token.balanceOf(await f.pool.getAddress());
  out.totalHeld = await f.vault.totalHeld();
  out.poolAssets = await f.pool.cashAssets();
  out.insurance = await f.pool.insuranceBalance();
  out.lpSupply = await f.pool.totalSupply();
  out.entryNotional = await f.engine.totalEntryNotional();
  out.active = await f.engine.activeAccountCount();
  return out;
}

/** The 4-byte selector of a custom error declared by `contract`'s interface. */
export function selectorOf(
  contract: { interface: { getError(name: string): { selector: string } | null } },
  name: string,
) {
  const e = contract.interface.getError(name);
  if (!e) throw new Error(`no error ${name}`);
  return e.selector;
}

/** The entries of a `ledger` that belong to `account`. */
export function own(l: Record<string, bigint>, account: string) {
  return Object.fromEntries(Object.entries(l).filter(([k]) => k.startsWith(`${account}.`)));
}
