import { buildModule } from "@nomicfoundation/ignition-core";

/**
 * Local stand-ins for what only exists on real networks: a 6-decimals USDC and Chainlink's own
 * `MockV3Aggregator` (real round semantics) for ETH/USD and BTC/USD, 8 decimals like the live feeds.
 */
export default buildModule("Mocks", (m) => {
  const usdc = m.contract("MockUSDC", []);
  const ethFeed = m.contract("MockV3Aggregator", [8, m.getParameter("ethInitialAnswer", 3_000n * 10n ** 8n)], {
    id: "EthUsdFeed",
  });
  const btcFeed = m.contract("MockV3Aggregator", [8, m.getParameter("btcInitialAnswer", 60_000n * 10n ** 8n)], {
    id: "BtcUsdFeed",
  });
  return { usdc, ethFeed, btcFeed };
});
