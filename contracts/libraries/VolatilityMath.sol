// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {FixedPointMathLib} from "solady/src/utils/FixedPointMathLib.sol";
import {ConstantsLib} from "./ConstantsLib.sol";

/// @title VolatilityMath
/// @notice Time-normalised EWMA of squared log returns, the volatility estimate of
///         `ChainlinkOracleAdapter`.
/// @dev Variances are annualised and carried in 36 decimals (`varianceWadSq = σ_WAD²`), so that
///      `σ_WAD = √varianceWadSq` needs no rescaling and is exact for a variance set from a WAD
///      volatility. Rounding is upward wherever this library chooses it (ratio, sample, blend, square
///      root), so its own rounding never understates risk; solady's `lnWad` / `expWad` are accurate to a
///      few 1e-18.
library VolatilityMath {
    /// @notice Seconds per year used to annualise variance (365 days).
    uint256 internal constant YEAR = 365 days;

    /// @notice One EWMA step: folds the return from `previousPriceWad` to `priceWad`, observed `dt`
    ///         seconds apart, into `varianceWadSq`.
    /// @dev `r = ln(P₁ / P₀)`, computed as `|r| = lnWad(⌈max(P₀, P₁) · 1e18 / min(P₀, P₁)⌉)` (only `r²` is
    ///      needed; a ratio ≥ 1 keeps full precision and never rounds to zero);
    ///      sample `s = ⌈r² · YEAR / dt⌉` (annualised variance of this return);
    ///      weight `α = 1 − exp(−dt / window)` (WAD);
    ///      result `⌈var · (1 − α) + s · α⌉ = var + α · (s − var)`, a convex combination.
    ///      No overflow for prices in `[1, 2**128)`: the ratio is below `2**188`, `|r| < 88.73e18`,
    ///      `r² < 7.9e39`, `s < 2.5e47`; with `varianceWadSq < 2**160`, `dt < 2**48` and `window > 0`
    ///      every product stays below `2**220`, and the result is at most `max(varianceWadSq, s) + 1`.
    /// @param varianceWadSq Current annualised variance (36 decimals).
    /// @param previousPriceWad Price at the start of the interval (WAD, > 0).
    /// @param priceWad Price at its end (WAD, > 0).
    /// @param dt Interval length in seconds (> 0).
    /// @param window EWMA time constant in seconds (> 0).
    /// @return The new annualised variance (36 decimals).
    function ewmaStep(
        uint256 varianceWadSq,
        uint256 previousPriceWad,
        uint256 priceWad,
        uint256 dt,
        uint256 window
    ) internal pure returns (uint256) {
        uint256 ratioWad =
            priceWad > previousPriceWad
                ? FixedPointMathLib.mulDivUp(priceWad, ConstantsLib.WAD, previousPriceWad)
                : FixedPointMathLib.mulDivUp(previousPriceWad, ConstantsLib.WAD, priceWad);
        int256 logReturnWad = FixedPointMathLib.lnWad(int256(ratioWad));
        uint256 sampleWadSq = FixedPointMathLib.mulDivUp(uint256(logReturnWad * logReturnWad), YEAR, dt);
        // `expWad` of a non-positive argument lies in [0, 1e18]; the floor only guards the subtraction.
        uint256 decayWad = uint256(FixedPointMathLib.expWad(-int256((dt * ConstantsLib.WAD) / window)));
        uint256 alphaWad = FixedPointMathLib.zeroFloorSub(ConstantsLib.WAD, decayWad);
        return
            FixedPointMathLib.divUp(
                varianceWadSq * (ConstantsLib.WAD - alphaWad) + sampleWadSq * alphaWad,
                ConstantsLib.WAD
            );
    }

    /// @notice Annualised volatility (WAD) of an annualised variance (36 decimals): `⌈√varianceWadSq⌉`.
    /// @param varianceWadSq Annualised variance (36 decimals).
    /// @return rootWad The volatility (WAD), rounded up.
    function volatilityWad(uint256 varianceWadSq) internal pure returns (uint256 rootWad) {
        rootWad = FixedPointMathLib.sqrt(varianceWadSq);
        if (rootWad * rootWad < varianceWadSq) ++rootWad;
    }
}
