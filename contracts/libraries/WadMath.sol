// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {ConstantsLib} from "./ConstantsLib.sol";

/// @title WadMath
/// @notice Fixed-point helpers whose names carry their rounding direction.
/// @dev Rule: what a user receives rounds down, what a user owes rounds up.
library WadMath {
    /// @notice `x * y / WAD`, rounded down.
    function mulWadDown(uint256 x, uint256 y) internal pure returns (uint256) {
        return Math.mulDiv(x, y, ConstantsLib.WAD);
    }

    /// @notice `x * y / WAD`, rounded up.
    function mulWadUp(uint256 x, uint256 y) internal pure returns (uint256) {
        return Math.mulDiv(x, y, ConstantsLib.WAD, Math.Rounding.Ceil);
    }

    /// @notice `x * WAD / y`, rounded down.
    function divWadDown(uint256 x, uint256 y) internal pure returns (uint256) {
        return Math.mulDiv(x, ConstantsLib.WAD, y);
    }

    /// @notice `x * WAD / y`, rounded up.
    function divWadUp(uint256 x, uint256 y) internal pure returns (uint256) {
        return Math.mulDiv(x, ConstantsLib.WAD, y, Math.Rounding.Ceil);
    }

    /// @notice `x * y / d`, rounded down.
    function mulDivDown(uint256 x, uint256 y, uint256 d) internal pure returns (uint256) {
        return Math.mulDiv(x, y, d);
    }

    /// @notice `x * y / d`, rounded up.
    function mulDivUp(uint256 x, uint256 y, uint256 d) internal pure returns (uint256) {
        return Math.mulDiv(x, y, d, Math.Rounding.Ceil);
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
