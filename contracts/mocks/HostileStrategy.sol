// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IRebalanceStrategy} from "../interfaces/IRebalanceStrategy.sol";
import {AccountSnapshot, Plan} from "../interfaces/RebalanceTypes.sol";

/// @title HostileStrategy
/// @notice Test strategy whose `plan` misbehaves at the ABI level: returns malformed data (too short,
///         an out-of-range offset, a `closes` length past the end), burns all the gas it is given, or
///         returns a large blob. Used to check that the engine fails closed. Never approve it on a real
///         deployment.
contract HostileStrategy is IRebalanceStrategy {
    /// @notice What `plan` does.
    enum Mode {
        ShortData,
        BadOffset,
        BadClosesLength,
        BurnGas,
        HugeReturn
    }

    /// @notice The current behaviour.
    Mode public mode;

    /// @notice Sets the behaviour of `plan`.
    /// @param newMode The behaviour.
    function setMode(Mode newMode) external {
        mode = newMode;
    }

    /// @inheritdoc IRebalanceStrategy
    function plan(AccountSnapshot calldata) external view returns (Plan memory) {
        Mode m = mode;
        if (m == Mode.BurnGas) {
            uint256 spins;
            while (gasleft() > 0) ++spins;
        }
        assembly ("memory-safe") {
            switch m
            case 0 {
                // One word: a plausible target health, nothing else.
                mstore(0x00, 2000000000000000000)
                return(0x00, 0x20)
            }
            case 1 {
                // The head's offset points far outside the data.
                mstore(0x00, 0xffffffffffff)
                mstore(0x20, 0)
                return(0x00, 0x40)
            }
            case 2 {
                // A well-formed head whose `closes` claims 2**32 entries.
                let p := mload(0x40)
                mstore(p, 0x20)
                mstore(add(p, 0x20), 2000000000000000000)
                mstore(add(p, 0x40), 1)
                mstore(add(p, 0x60), 0x80)
                mstore(add(p, 0x80), 0)
                mstore(add(p, 0xa0), 0x100000000)
                return(p, 0xc0)
            }
            default {
                // 64 KiB of 0xff words.
                let p := mload(0x40)
                for {
                    let i := 0
                } lt(i, 0x10000) {
                    i := add(i, 0x20)
                } {
                    mstore(add(p, i), not(0))
                }
                return(p, 0x10000)
            }
        }
    }

    /// @inheritdoc IRebalanceStrategy
    function hitProbability(AccountSnapshot calldata) external pure returns (uint256) {
        return 0;
    }

    /// @inheritdoc IRebalanceStrategy
    function usesVolatility() external pure returns (bool) {
        return false;
    }

    /// @inheritdoc IRebalanceStrategy
    function name() external pure returns (string memory) {
        return "hostile";
    }
}
