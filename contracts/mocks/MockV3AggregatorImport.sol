// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

// Makes Chainlink's MockV3Aggregator (real round semantics) available as a Hardhat artifact for
// local deployments and tests.
import {MockV3Aggregator} from "@chainlink/contracts/src/v0.8/tests/MockV3Aggregator.sol";
