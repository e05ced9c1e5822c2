import { expect } from "chai";
import { ethers, ignition } from "hardhat";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import BallastModule from "../../ignition/modules/Ballast";
import { BTC, ETH } from "../../ignition/modules/core";

/** Reads an Ignition parameters file the way `hardhat ignition deploy --parameters` does (`123n`). */
function readParameters(name: string) {
  const text = readFileSync(join(__dirname, "../../ignition/parameters", name), "utf8");
  return JSON.parse(text, (_k, v) =>
    typeof v === "string" && /^\d+n$/.test(v) ? BigInt(v.slice(0, -1)) : v,
  );
}

describe("Ignition: the parameterised Ballast module", () => {
  for (const network of ["sepolia.json", "arbitrumSepolia.json"]) {
    it(`deploys with ${network} (addresses swapped for local mocks) and wires everything`, async () => {
      const params = readParameters(network).Ballast;
      for (const key of ["token", "ethFeed", "btcFeed"]) expect(params[key]).to.match(/^0x[0-9a-fA-F]{40}$/);
      const usdc = await ethers.deployContract("MockUSDC");
      const ethFeed = await ethers.deployContract("MockV3Aggregator", [8, 3_000n * 10n ** 8n]);
      const btcFeed = await ethers.deployContract("MockV3Aggregator", [8, 60_000n * 10n ** 8n]);
      const deployed = await ignition.deploy(BallastModule, {
        parameters: {
          Ballast: {
            ...params,
            token: await usdc.getAddress(),
            ethFeed: await ethFeed.getAddress(),
            btcFeed: await btcFeed.getAddress(),
          },
        },
      });
      const engine = await ethers.getContractAt("MarginEngine", await deployed.engine.getAddress());
      const oracle = await ethers.getContractAt("ChainlinkOracleAdapter", await deployed.oracle.getAddress());
      expect(await engine.marketCount()).to.equal(2n);
      expect((await engine.marketConfig(1n)).asset).to.equal(ETH);
      expect((await engine.marketConfig(2n)).asset).to.equal(BTC);
      expect((await engine.marketConfig(1n)).imrWad).to.equal(params.ethMarket.imrWad);
      expect((await oracle.feedConfig(ETH)).heartbeat).to.equal(BigInt(params.heartbeat));
      const [, status] = await oracle.price(BTC);
      expect(status).to.equal(0n);
      expect(await engine.isStrategyApproved(await deployed.thresholdStrategy.getAddress())).to.equal(true);
      expect(await engine.isStrategyApproved(await deployed.volatilityStrategy.getAddress())).to.equal(true);
      expect(await engine.keeperReward()).to.equal(params.keeperRewardTokens);
      expect((await oracle.sequencerFeed())[0]).to.equal(params.sequencerFeed);
    });
  }
});
