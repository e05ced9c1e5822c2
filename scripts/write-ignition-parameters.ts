/**
 * Writes `ignition/parameters/*.json` from the module defaults (`ignition/modules/core.ts`) and each
 * network's addresses, so that every parameter is visible and the files never drift from the code.
 * Run: `npx ts-node scripts/write-ignition-parameters.ts`.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { DEFAULTS } from "../ignition/modules/core";

const ZERO = "0x0000000000000000000000000000000000000000";

/** JSON with bigints in Ignition's `123n` notation. */
const json = (value: unknown) =>
  JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? `${v}n` : v), 2) + "\n";

function core(overrides: Record<string, unknown>) {
  const v = DEFAULTS.volatilityStrategy;
  return {
    liquidationParams: DEFAULTS.liquidation,
    reserveFactorWad: DEFAULTS.reserveFactorWad,
    keeperRewardTokens: DEFAULTS.keeperRewardTokens,
    heartbeat: DEFAULTS.heartbeat,
    maxDeviationWad: DEFAULTS.maxDeviationWad,
    sequencerFeed: ZERO,
    sequencerGracePeriod: DEFAULTS.sequencerGracePeriod,
    ethMinPriceWad: DEFAULTS.eth.minPriceWad,
    ethMaxPriceWad: DEFAULTS.eth.maxPriceWad,
    btcMinPriceWad: DEFAULTS.btc.minPriceWad,
    btcMaxPriceWad: DEFAULTS.btc.maxPriceWad,
    ethMarket: DEFAULTS.eth.market,
    btcMarket: DEFAULTS.btc.market,
    ethVolatility: DEFAULTS.eth.volatility,
    btcVolatility: DEFAULTS.btc.volatility,
    pMaxWad: v.pMaxWad,
    pTargetWad: v.pTargetWad,
    horizonSeconds: v.horizonSeconds,
    turbulenceVolatilityWad: v.turbulenceVolatilityWad,
    turbulenceTargetMultiplierWad: v.turbulenceTargetMultiplierWad,
    lensHorizonSeconds: DEFAULTS.lensHorizonSeconds,
    poolName: "Ballast LP",
    poolSymbol: "blLP",
    ...overrides,
  };
}

const dir = join(__dirname, "..", "ignition", "parameters");
writeFileSync(
  join(dir, "local.json"),
  json({
    Mocks: { ethInitialAnswer: 3_000n * 10n ** 8n, btcInitialAnswer: 60_000n * 10n ** 8n },
    BallastLocal: core({}),
  }),
);
// Sepolia: Circle's USDC and Chainlink's ETH/USD and BTC/USD (8 decimals); L1, no sequencer feed.
writeFileSync(
  join(dir, "sepolia.json"),
  json({
    Ballast: core({
      token: "0x1c7D4B196Cb0C7B01d743Fbc6116a902379C7238",
      ethFeed: "0x694AA1769357215DE4FAC081bf1f309aDC325306",
      btcFeed: "0x1b44F3514812d835EB1BDB0acB33d3fA3351eE43",
    }),
  }),
);
// Arbitrum Sepolia (L2): Circle's USDC and Chainlink's ETH/USD and BTC/USD. Chainlink publishes no L2
// sequencer uptime feed on this testnet; on Arbitrum One set `sequencerFeed` to
// 0xFdB631F5EE196F0ed6FAa767959853A9F217697D.
writeFileSync(
  join(dir, "arbitrumSepolia.json"),
  json({
    Ballast: core({
      token: "0x75faf114eafb1BDbe2F0316DF893fd58CE46AA4d",
      ethFeed: "0xd30e2101a97dcbAeBCBC04F14C3f624E67A35165",
      btcFeed: "0x56a43EB56Da12C0dc1D972ACb089c06a5dEF8e69",
      sequencerFeed: ZERO,
    }),
  }),
);
console.log(`wrote ${dir}/{local,sepolia,arbitrumSepolia}.json`);
