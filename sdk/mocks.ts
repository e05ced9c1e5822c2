/**
 * The local stand-ins the one-call deployment uses: a 6-decimals mock USDC anyone can mint and
 * Chainlink's `MockV3Aggregator`. Test-only contracts: the package exposes them under
 * `@ballast/protocol/testing`, never from its main index.
 */
export { MockUSDC__factory, MockV3Aggregator__factory } from "../typechain-types";
export type { MockUSDC, MockV3Aggregator } from "../typechain-types";
