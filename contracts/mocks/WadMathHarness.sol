// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {WadMath} from "../libraries/WadMath.sol";

/// @title WadMathHarness
/// @notice Exposes the internal `WadMath` library for tests only; never deployed outside test networks.
contract WadMathHarness {
    /// @notice `WadMath.mulDivDown`.
    function mulDivDown(uint256 x, uint256 y, uint256 d) external pure returns (uint256) {
        return WadMath.mulDivDown(x, y, d);
    }

    /// @notice `WadMath.mulDivUp`.
    function mulDivUp(uint256 x, uint256 y, uint256 d) external pure returns (uint256) {
        return WadMath.mulDivUp(x, y, d);
    }

    /// @notice `WadMath.toTokenDown`.
    function toTokenDown(uint256 amountWad, uint256 scale) external pure returns (uint256) {
        return WadMath.toTokenDown(amountWad, scale);
    }

    /// @notice `WadMath.toTokenUp`.
    function toTokenUp(uint256 amountWad, uint256 scale) external pure returns (uint256) {
        return WadMath.toTokenUp(amountWad, scale);
    }

    /// @notice `WadMath.abs`.
    function abs(int256 x) external pure returns (uint256) {
        return WadMath.abs(x);
    }
}
