/**
 * The project's Hardhat configuration for the soak's `hardhat node`, with the in-process network's
 * hardfork and block gas limit optionally overridden (SOAK_NODE_HARDFORK, SOAK_NODE_BLOCK_GAS_LIMIT).
 * Without either it is the project's configuration unchanged.
 */
import { resolve } from "node:path";
import type { HardhatUserConfig } from "hardhat/config";
import config from "../../hardhat.config";

const hardhat = { ...config.networks!.hardhat };
if (process.env.SOAK_NODE_HARDFORK) hardhat.hardfork = process.env.SOAK_NODE_HARDFORK;
if (process.env.SOAK_NODE_BLOCK_GAS_LIMIT)
  hardhat.blockGasLimit = Number(process.env.SOAK_NODE_BLOCK_GAS_LIMIT);

const nodeConfig: HardhatUserConfig = {
  ...config,
  paths: { ...config.paths, root: resolve(__dirname, "..", "..") },
  networks: { ...config.networks, hardhat },
};

export default nodeConfig;
