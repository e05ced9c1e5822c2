/**
 * `@ballast/protocol`: TypeChain bindings (ethers v6) of every Ballast contract and interface, the
 * one-call local deployment for tests, the Ignition modules it runs and a decoder for every custom
 * error. Test mocks are under `@ballast/protocol/testing`.
 */
export * from "../typechain-types";
export {
  deployBallast,
  createBallastFixture,
  ballastFixture,
  ETH_MARKET,
  BTC_MARKET,
  type BallastDeployment,
  type DeployBallastOptions,
  type HardhatRuntimeLike,
} from "./deploy";
export {
  decodeBallastError,
  ballastErrorsAbi,
  ballastErrorsInterface,
  type DecodedBallastError,
} from "./errors";
export { ballastArtifactResolver } from "./artifacts";
export { ETH, BTC, DEFAULTS } from "../ignition/modules/core";
export { default as BallastModule } from "../ignition/modules/Ballast";
export { default as BallastLocalModule } from "../ignition/modules/BallastLocal";
export { default as MocksModule } from "../ignition/modules/Mocks";
