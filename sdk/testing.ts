/**
 * `@ballast/protocol/testing`: the mocks the local deployment stands the protocol up on (mock USDC,
 * Chainlink's `MockV3Aggregator`), for tests that deploy more of them or attach to them.
 */
export * from "./mocks";
