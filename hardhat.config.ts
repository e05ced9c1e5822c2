import { HardhatUserConfig, subtask } from "hardhat/config";
import { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } from "hardhat/builtin-tasks/task-names";
import "@nomicfoundation/hardhat-toolbox";

import "./tasks";

const SOLC_VERSION = "0.8.28";

// Hardhat downloads native compilers by default; the `solc` package ships the same compiler as
// WebAssembly, so builds work offline. The package version must equal SOLC_VERSION.
subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async (args: { solcVersion: string }, _hre, runSuper) => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const solc = require("solc");
  const long: string = solc.version();
  if (!long.startsWith(`${args.solcVersion}+`)) return runSuper();
  return {
    compilerPath: require.resolve("solc/soljson.js"),
    isSolcJs: true,
    version: args.solcVersion,
    longVersion: long.replace(".Emscripten.clang", ""),
  };
});

const accounts = process.env.DEPLOYER_PRIVATE_KEY ? [process.env.DEPLOYER_PRIVATE_KEY] : [];

/**
 * The chain a fork starts from: a real RPC (e.g. mainnet) or, by default, a local `hardhat node`. Start
 * the fork with `npx hardhat node --port 8546 --fork ${FORK_URL:-http://127.0.0.1:8545}` and use
 * `--network fork`; tests fork in-process with `hardhat_reset`.
 */
export const FORK_URL = process.env.FORK_URL ?? "http://127.0.0.1:8545";

const config: HardhatUserConfig = {
  solidity: {
    version: SOLC_VERSION,
    settings: {
      optimizer: { enabled: true, runs: 1000 },
      evmVersion: "cancun",
    },
  },
  networks: {
    hardhat: {
      chainId: 31337,
      // Forking a local `hardhat node` (chain 31337, unknown to Hardhat's hardfork tables).
      chains: { 31337: { hardforkHistory: { cancun: 0 } } },
    },
    localhost: {
      url: process.env.LOCAL_RPC_URL ?? "http://127.0.0.1:8545",
    },
    fork: {
      url: process.env.FORK_RPC_URL ?? "http://127.0.0.1:8546",
    },
    sepolia: {
      url: process.env.SEPOLIA_RPC_URL ?? "https://rpc.sepolia.org",
      accounts,
    },
    arbitrumSepolia: {
      url: process.env.ARBITRUM_SEPOLIA_RPC_URL ?? "https://sepolia-rollup.arbitrum.io/rpc",
      accounts,
    },
  },
  etherscan: {
    apiKey: process.env.ETHERSCAN_API_KEY ?? "",
  },
  typechain: {
    outDir: "typechain-types",
    target: "ethers-v6",
  },
  gasReporter: {
    enabled: process.env.REPORT_GAS === "true",
  },
  mocha: {
    timeout: 300_000,
    // CI uses `dot`: one character a test, then the failures and the "N passing" summary.
    reporter: process.env.MOCHA_REPORTER ?? "spec",
  },
};

export default config;
