import { task } from "hardhat/config";
import type { HardhatRuntimeEnvironment } from "hardhat/types";

/** Names of `IChainlinkOracleAdapter.Status` values. */
export const STATUS_NAMES = ["Ok", "Stale", "Invalid", "Deviation", "SequencerDown", "GracePeriod"];

/**
 * Deploys the whole protocol on local mocks through the `BallastLocal` Ignition module and prints every
 * address and parameter.
 */
export async function deployLocal(hre: HardhatRuntimeEnvironment) {
  const { default: BallastLocalModule } = await import("../ignition/modules/BallastLocal");
  const deployed = await hre.ignition.deploy(BallastLocalModule);
  const addresses: Record<string, string> = {};
  for (const [name, contract] of Object.entries(deployed)) {
    addresses[name] = await (contract as { getAddress(): Promise<string> }).getAddress();
  }
  return { deployed, addresses };
}

task("demo", "Deploys Ballast on the in-process network and prints its addresses and parameters").setAction(
  async (_args, hre) => {
    const { addresses } = await deployLocal(hre);
    const engine = await hre.ethers.getContractAt("MarginEngine", addresses.engine);
    const oracle = await hre.ethers.getContractAt("ChainlinkOracleAdapter", addresses.oracle);
    const { formatEther, decodeBytes32String } = hre.ethers;

    console.log(`Ballast deployed on ${hre.network.name}`);
    console.table(addresses);
    const markets = [];
    for (let id = 1n; id <= (await engine.marketCount()); id++) {
      const m = await engine.marketConfig(id);
      const [price, status] = await oracle.price(m.asset);
      markets.push({
        id: Number(id),
        asset: decodeBytes32String(m.asset),
        price: formatEther(price),
        status: STATUS_NAMES[Number(status)],
        imr: formatEther(m.imrWad),
        mmr: formatEther(m.mmrWad),
        fee: formatEther(m.feeWad),
        penalty: formatEther(m.liquidationPenaltyWad),
        maxOpenInterest: formatEther(m.maxOpenInterestWad),
      });
    }
    console.table(markets);
    const p = await engine.liquidationParams();
    console.log(
      `liquidation: target health ${formatEther(p.targetHealthWad)}, liquidator share ${formatEther(
        p.liquidatorShareWad,
      )}, max reward ${hre.ethers.formatUnits(p.maxLiquidatorRewardTokens, 6)} USDC; ` +
        `pool reserve factor ${formatEther(await engine.liquidityReserveFactor())}`,
    );
  },
);
