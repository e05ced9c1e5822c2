// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {VolatilityMath} from "../libraries/VolatilityMath.sol";

/// @title VolatilityMathHarness
/// @notice Exposes the internal `VolatilityMath` library for tests only; it is not part of the protocol and
///         is never deployed outside test networks. The batch functions evaluate many inputs in one
///         `eth_call`.
contract VolatilityMathHarness {
    /// @notice Thrown when the argument arrays of a batch function differ in length.
    error VolatilityMathHarnessLengthMismatch();

    /// @notice `VolatilityMath.YEAR`.
    function year() external pure returns (uint256) {
        return VolatilityMath.YEAR;
    }

    /// @notice `VolatilityMath.ewmaStep`.
    /// @param varianceWadSq Current annualised variance (36 decimals).
    /// @param previousPriceWad Price at the start of the interval (WAD).
    /// @param priceWad Price at its end (WAD).
    /// @param dt Interval length in seconds.
    /// @param window EWMA time constant in seconds.
    /// @return The new annualised variance (36 decimals).
    function ewmaStep(
        uint256 varianceWadSq,
        uint256 previousPriceWad,
        uint256 priceWad,
        uint256 dt,
        uint256 window
    ) external pure returns (uint256) {
        return VolatilityMath.ewmaStep(varianceWadSq, previousPriceWad, priceWad, dt, window);
    }

    /// @notice `VolatilityMath.volatilityWad`.
    /// @param varianceWadSq Annualised variance (36 decimals).
    /// @return The volatility (WAD), rounded up.
    function volatilityWad(uint256 varianceWadSq) external pure returns (uint256) {
        return VolatilityMath.volatilityWad(varianceWadSq);
    }

    /// @notice `VolatilityMath.ewmaStep` over many independent inputs (one step each).
    /// @return out The new variance of each input.
    function ewmaStepBatch(
        uint256[] calldata variancesWadSq,
        uint256[] calldata previousPricesWad,
        uint256[] calldata pricesWad,
        uint256[] calldata dts,
        uint256[] calldata windows
    ) external pure returns (uint256[] memory out) {
        uint256 n = variancesWadSq.length;
        if (previousPricesWad.length != n || pricesWad.length != n || dts.length != n || windows.length != n)
            revert VolatilityMathHarnessLengthMismatch();
        out = new uint256[](n);
        for (uint256 i = 0; i < n; ++i) {
            out[i] = VolatilityMath.ewmaStep(variancesWadSq[i], previousPricesWad[i], pricesWad[i], dts[i], windows[i]);
        }
    }

    /// @notice `VolatilityMath.volatilityWad` over many inputs.
    /// @return out The volatility of each variance.
    function volatilityBatch(uint256[] calldata variancesWadSq) external pure returns (uint256[] memory out) {
        out = new uint256[](variancesWadSq.length);
        for (uint256 i = 0; i < variancesWadSq.length; ++i) out[i] = VolatilityMath.volatilityWad(variancesWadSq[i]);
    }

    /// @notice Folds a price path into the EWMA, as the adapter does with consecutive last good prices:
    ///         step `i` goes from `pricesWad[i]` to `pricesWad[i + 1]` over `dts[i]` seconds.
    /// @param initialVarianceWadSq Variance before the first step (36 decimals).
    /// @param pricesWad The path (WAD), one more entry than `dts`.
    /// @param dts Seconds between consecutive prices.
    /// @param window EWMA time constant in seconds.
    /// @return variances The variance after each step.
    function ewmaFold(
        uint256 initialVarianceWadSq,
        uint256[] calldata pricesWad,
        uint256[] calldata dts,
        uint256 window
    ) external pure returns (uint256[] memory variances) {
        uint256 n = dts.length;
        if (pricesWad.length != n + 1) revert VolatilityMathHarnessLengthMismatch();
        variances = new uint256[](n);
        uint256 variance = initialVarianceWadSq;
        for (uint256 i = 0; i < n; ++i) {
            variance = VolatilityMath.ewmaStep(variance, pricesWad[i], pricesWad[i + 1], dts[i], window);
            variances[i] = variance;
        }
    }
}
