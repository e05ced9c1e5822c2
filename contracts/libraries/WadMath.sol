// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {ConstantsLib} from "./ConstantsLib.sol";

/// @title WadMath
/// @notice Fixed-point helpers whose names carry their rounding direction.
/// @dev Rule: what a user receives rounds down, what a user owes rounds up.
library WadMath {
    /// @notice `x * y / WAD`, rounded down.
    function mulWadDown(uint256 x, uint256 y) internal pure returns (uint256) {
        return mulDivDown(x, y, ConstantsLib.WAD);
    }

    /// @notice `x * y / WAD`, rounded up.
    function mulWadUp(uint256 x, uint256 y) internal pure returns (uint256) {
        return mulDivUp(x, y, ConstantsLib.WAD);
    }

    /// @notice `x * WAD / y`, rounded down.
    function divWadDown(uint256 x, uint256 y) internal pure returns (uint256) {
        return mulDivDown(x, ConstantsLib.WAD, y);
    }

    /// @notice `x * WAD / y`, rounded up.
    function divWadUp(uint256 x, uint256 y) internal pure returns (uint256) {
        return mulDivUp(x, ConstantsLib.WAD, y);
    }

    /// @notice `x * y / d`, rounded down.
    /// @dev When `x * y` fits 256 bits (always, at Ballast's magnitudes) and `d != 0` it divides directly
    ///      (assembly); otherwise it falls back to OpenZeppelin's full-precision `mulDiv`. Same result
    ///      either way; `d == 0` panics (in `mulDiv`).
    function mulDivDown(uint256 x, uint256 y, uint256 d) internal pure returns (uint256 z) {
        bool fast;
        assembly ("memory-safe") {
            let p := mul(x, y)
            fast := and(iszero(iszero(d)), or(iszero(x), eq(div(p, x), y)))
            z := div(p, d)
        }
        if (!fast) return Math.mulDiv(x, y, d);
    }

    /// @notice `x * y / d`, rounded up.
    /// @dev Fast path as `mulDivDown`.
    function mulDivUp(uint256 x, uint256 y, uint256 d) internal pure returns (uint256 z) {
        bool fast;
        assembly ("memory-safe") {
            let p := mul(x, y)
            fast := and(iszero(iszero(d)), or(iszero(x), eq(div(p, x), y)))
            // No overflow: `d == 1` leaves no remainder, and `d ≥ 2` halves `p`.
            z := add(div(p, d), iszero(iszero(mod(p, d))))
        }
        if (!fast) return Math.mulDiv(x, y, d, Math.Rounding.Ceil);
    }

    /// @notice Token units to WAD; exact because `scale = 10**(18 - tokenDecimals)`.
    function toWad(uint256 amountTokens, uint256 scale) internal pure returns (uint256) {
        return amountTokens * scale;
    }

    /// @notice WAD to token units, rounded down (for amounts the user receives).
    function toTokenDown(uint256 amountWad, uint256 scale) internal pure returns (uint256) {
        return amountWad / scale;
    }

    /// @notice WAD to token units, rounded up (for amounts the user owes).
    function toTokenUp(uint256 amountWad, uint256 scale) internal pure returns (uint256) {
        return amountWad == 0 ? 0 : (amountWad - 1) / scale + 1;
    }

    /// @notice Absolute value of a signed integer.
    function abs(int256 x) internal pure returns (uint256) {
        return x >= 0 ? uint256(x) : uint256(-x);
    }
}
