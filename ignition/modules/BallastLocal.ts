import { buildModule } from "@nomicfoundation/ignition-core";
import MocksModule from "./Mocks";
import { deployCore } from "./core";

/** The whole protocol on local mocks (in-process Hardhat network, `hardhat node`). */
export default buildModule("BallastLocal", (m) => {
  const { usdc, ethFeed, btcFeed } = m.useModule(MocksModule);
  return { usdc, ethFeed, btcFeed, ...deployCore(m, usdc, ethFeed, btcFeed) };
});
