// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {CloseMath} from "../libraries/CloseMath.sol";
import {MarginMath} from "../libraries/MarginMath.sol";

/// @title CloseMathHarness
/// @notice Exposes `CloseMath` for the differential test against its TypeScript reference. Not part of the
///         protocol.
contract CloseMathHarness {
    /// @notice `CloseMath.close`.
    function close(
        MarginMath.PositionData memory p,
        int256 sizeWad,
        int256 closeWad,
        int256 equityWad,
        uint256 maintenanceWad,
        uint256 scale
    ) external pure returns (CloseMath.Effect memory) {
        return CloseMath.close(p, sizeWad, closeWad, equityWad, maintenanceWad, scale);
    }

    /// @notice `CloseMath.feeOn`.
    function feeOn(int256 sizeWad, uint256 priceWad, uint256 feeRateWad) external pure returns (uint256, uint256) {
        return CloseMath.feeOn(sizeWad, priceWad, feeRateWad);
    }

    /// @notice `CloseMath.toTokens`.
    function toTokens(int256 netWad, uint256 scale) external pure returns (int256) {
        return CloseMath.toTokens(netWad, scale);
    }

    /// @notice `CloseMath.healthRelief`.
    function healthRelief(MarginMath.PositionData memory p, uint256 healthWad) external pure returns (uint256) {
        return CloseMath.healthRelief(p, healthWad);
    }
}
