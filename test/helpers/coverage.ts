import hre from "hardhat";

/**
 * Whether the suite runs under solidity-coverage, whose instrumentation adds storage reads, writes and
 * gas to every statement: gas ceilings and storage-access counts only hold for the real bytecode.
 */
export function underCoverage(): boolean {
  return Boolean((hre as unknown as { __SOLIDITY_COVERAGE_RUNNING?: boolean }).__SOLIDITY_COVERAGE_RUNNING);
}
