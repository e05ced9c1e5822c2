// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {FixedPointMathLib} from "solady/src/utils/FixedPointMathLib.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {ConstantsLib} from "./ConstantsLib.sol";

/// @title RiskMath
/// @notice WAD fixed-point risk math: ln, exp, √, the standard normal CDF Φ and its inverse, and the
///         probability that a driftless Brownian price path moves by a given distance within a horizon.
/// @dev Every argument and result is WAD (1e18 = 1.0) unless its name says otherwise. Primitives (ln, exp,
///      integer √, 512-bit mulDiv) come from solady's `FixedPointMathLib`.
///
///      Φ uses the Chebyshev fit `erfcc` of Numerical Recipes (Press et al., 2nd ed., §6.2):
///
///          erfc(z) ≈ t·exp(−z² + P(t)),   t = 1 / (1 + z/2),   z ≥ 0,
///
///      with P a degree-9 polynomial; its fractional error is below 1.2e-7 for every z ≥ 0, so Φ keeps a
///      bounded RELATIVE error in the left tail. The exponential is evaluated 1e36 times larger
///      (`expWad(arg + 2·ln 1e18)`) so the tail keeps 17+ significant digits before the final rounding.
///      Φ⁻¹ uses P. J. Acklam's rational approximation (relative error < 1.15e-9), without a refinement
///      step: a Newton step through the Φ above (1.2e-7) would make it less accurate, not more.
///
///      `test/unit/RiskMath.test.ts` compares every function with a double-precision reference
///      (`test/helpers/riskMathReference.ts`) on thousands of inputs and prints the measured maxima; the
///      bounds quoted below were also checked against 50-digit arithmetic.
library RiskMath {
    /// @notice Seconds in a year of 365 days: the time unit of every annualised volatility.
    uint256 internal constant SECONDS_PER_YEAR = 365 days;

    /// @notice |x| at and beyond which Φ(x) is returned as exactly 0 (x < 0) or 1e18 (x > 0) (9.0 WAD).
    /// @dev Φ(−9) ≈ 1.13e-19 and 2·Φ(−9) ≈ 2.3e-19 are below one wei of WAD, so the cut-off changes no
    ///      result: the formula itself already rounds to 0 from x ≈ −8.8 on.
    int256 internal constant NORM_TAIL_CUTOFF_WAD = 9e18;

    /// @notice |x| at and beyond which `normCdfE36` returns exactly 0 or 1e36 (13.0 WAD; Φ(−13) ≈ 6e-39).
    int256 internal constant NORM_E36_CUTOFF_WAD = 13e18;

    /// @dev √SECONDS_PER_YEAR in WAD, rounded down (5615.692299262843336293…).
    uint256 private constant SQRT_SECONDS_PER_YEAR_WAD = 5615692299262843336293;
    /// @dev √SECONDS_PER_YEAR · 1e36, rounded down: the divisor that turns `x·σ·√τ` (1e54) into WAD.
    uint256 private constant SQRT_SECONDS_PER_YEAR_E36 = 5615692299262843336293247410755814529759;
    /// @dev √SECONDS_PER_YEAR · 1e54, rounded down: the divisor that turns `x·σ·√τ` (1e72) into WAD.
    uint256 private constant SQRT_SECONDS_PER_YEAR_E54 = 5615692299262843336293247410755814529759117488577938123120;
    /// @dev ln 2 in WAD, rounded down.
    int256 private constant LN2_WAD = 693147180559945309;
    /// @dev ln 1e18 in WAD, rounded down: shifting exp's argument by 2·ln 1e18 scales the result by 1e36.
    int256 private constant LN_1E18_WAD = 41446531673892822312;
    /// @dev 2·√2 in WAD, rounded down: t = 1 / (1 + z/2) with z = |x|/√2 is `2√2 / (2√2 + |x|)`.
    uint256 private constant TWO_SQRT2_WAD = 2828427124746190097;
    /// @dev Smallest argument solady's `expWad` rejects: ⌊ln((2²⁵⁵ − 1) / 1e18)·1e18⌋ + 1.
    int256 private constant EXP_INT256_LIMIT_WAD = 135305999368893231589;
    /// @dev Smallest argument `expWad` rejects, ⌊ln(2²⁵⁶ / 1e18)·1e18⌋; below it exp(x) fits in uint256.
    int256 private constant EXP_UINT256_LIMIT_WAD = 135999146549453176898;
    /// @dev Acklam's split between the central and tail formulas, as a doubled probability (2 · 0.02425).
    uint256 private constant ACKLAM_TWO_P_LOW = 48500000000000000;
    /// @dev Above this doubled probability (2 − 2 · 0.02425) the upper-tail formula applies.
    uint256 private constant ACKLAM_TWO_P_HIGH = 1951500000000000000;
    /// @dev `D / σ` at and above which `hitProbabilityWad` is 0 for every horizon < 2²⁵⁶ s (z ≥ 16).
    uint256 private constant MAX_DISTANCE_PER_RISK = 1e36;

    /// @notice Thrown when an argument is outside the function's mathematical domain.
    error RiskMathDomain();
    /// @notice Thrown when a result does not fit in its return type.
    error RiskMathOverflow();

    // ------------------------------------------------------------------------------------------------
    // Primitives
    // ------------------------------------------------------------------------------------------------

    /// @notice Natural logarithm: `ln(x / 1e18)` in WAD.
    /// @dev Domain: 0 < x ≤ 2²⁵⁶ − 1 (≈ 1.2e59 WAD); reverts `RiskMathDomain()` for x = 0. Result in
    ///      [−41.45, 136.0] WAD. Not directionally rounded: solady's (8, 8) rational approximation in a 2⁹⁶
    ///      basis, absolute error ≤ 2 wei (1.05 wei measured), so relative error ≤ 2e-16 wherever
    ///      |ln x| ≥ 0.01. Inputs above 2²⁵⁵ − 1 use ln x = ln(x/2) + ln 2.
    /// @param x WAD argument.
    /// @return ln(x) in WAD.
    function lnWad(uint256 x) internal pure returns (int256) {
        if (x == 0) revert RiskMathDomain();
        if (x > uint256(type(int256).max)) return FixedPointMathLib.lnWad(int256(x >> 1)) + LN2_WAD;
        return FixedPointMathLib.lnWad(int256(x));
    }

    /// @notice Exponential: `exp(x / 1e18)` in WAD.
    /// @dev Domain: x < 135.999146549453176898e18 (≈ ln(2²⁵⁶ / 1e18)); reverts `RiskMathOverflow()` at and
    ///      above it, where the result would not fit in uint256. Returns 0 for x ≤ −41.446531673892822313e18,
    ///      where exp(x) < 0.5 wei. Not directionally rounded: relative error ≤ 1e-15 (5e-16 measured;
    ///      solady's (6, 7) rational approximation) plus one wei. Above solady's int256 limit
    ///      (x ≥ 135.306e18) the result is `2·exp(x − ln 2)`, so it is even.
    /// @param x WAD exponent.
    /// @return exp(x) in WAD.
    function expWad(int256 x) internal pure returns (uint256) {
        if (x < EXP_INT256_LIMIT_WAD) return uint256(FixedPointMathLib.expWad(x));
        if (x >= EXP_UINT256_LIMIT_WAD) revert RiskMathOverflow();
        return uint256(FixedPointMathLib.expWad(x - LN2_WAD)) * 2;
    }

    /// @notice Square root of a WAD value: `√(x / 1e18)` in WAD, i.e. `⌊√(x · 1e18)⌋`.
    /// @dev Domain: every uint256 (x · 1e18 is evaluated without overflow). Rounded down; exact.
    /// @param x WAD argument.
    /// @return √x in WAD, rounded down.
    function sqrtWad(uint256 x) internal pure returns (uint256) {
        return FixedPointMathLib.sqrtWad(x);
    }

    // ------------------------------------------------------------------------------------------------
    // Normal distribution
    // ------------------------------------------------------------------------------------------------

    /// @notice Standard normal CDF: Φ(x) = P(N(0, 1) ≤ x), in WAD.
    /// @dev Domain: every int256 (x in standard deviations, WAD). Φ(x) = ½·erfc(−x/√2) for x ≤ 0 and
    ///      1 − Φ(−x) for x > 0, so Φ(x) + Φ(−x) = 1e18 exactly for x ≠ 0. Returns exactly 0 for
    ///      x ≤ −9e18 and 1e18 for x ≥ 9e18 (in particular below −38 and above +38), where the true tail is
    ///      under 0.12 wei. Error: |Φ̂ − Φ| ≤ 1.2e-7·min(Φ(x), Φ(−x)) + 1 wei (9.4e-8 measured), so the
    ///      relative error is ≤ 1e-6 wherever Φ(x) ≥ 1.2e-12 (x ≥ −7.0); further left the one wei of WAD
    ///      quantisation dominates (Φ(−8) ≈ 622 wei; use `normCdfE36` where the deep tail needs relative
    ///      precision). The tail term Φ(−|x|) is rounded down, so Φ(x) rounds down for x ≤ 0 and up for
    ///      x > 0.
    /// @param x WAD argument.
    /// @return Φ(x) in WAD, in [0, 1e18].
    function normCdfWad(int256 x) internal pure returns (uint256) {
        if (x <= -NORM_TAIL_CUTOFF_WAD) return 0;
        if (x >= NORM_TAIL_CUTOFF_WAD) return ConstantsLib.WAD;
        // `_erfcE72` is erfc(|x|/√2) = 2·Φ(−|x|) scaled by 1e72.
        unchecked {
            if (x <= 0) return _erfcE72(uint256(-x)) / 2e54;
            return ConstantsLib.WAD - _erfcE72(uint256(x)) / 2e54;
        }
    }

    /// @notice Standard normal CDF Φ(x) with 36 decimals (1e36 = 1), for callers that need relative
    ///         precision in the deep left tail, where WAD runs out of digits.
    /// @dev Same approximation as `normCdfWad`: relative error ≤ 1.2e-7 on the smaller of Φ(x), Φ(−x) for
    ///      |x| < 13 (Φ(−13) ≈ 6e-39), plus one unit of 1e-36 (1.05e-7 measured on [−13, 13]). Returns 0
    ///      for x ≤ −13e18 and 1e36 for x ≥ 13e18. Φ(x) + Φ(−x) = 1e36 exactly for x ≠ 0; the tail term is
    ///      rounded down.
    /// @param x WAD argument.
    /// @return Φ(x) scaled by 1e36, in [0, 1e36].
    function normCdfE36(int256 x) internal pure returns (uint256) {
        if (x <= -NORM_E36_CUTOFF_WAD) return 0;
        if (x >= NORM_E36_CUTOFF_WAD) return 1e36;
        unchecked {
            if (x <= 0) return _erfcE72(uint256(-x)) / 2e36;
            return 1e36 - _erfcE72(uint256(x)) / 2e36;
        }
    }

    /// @notice Inverse standard normal CDF: the x with Φ(x) = p, in WAD.
    /// @dev Domain: 0 < p < 1e18; reverts `RiskMathDomain()` otherwise. Result in about [−8.84, 8.84] WAD
    ///      (p = 1 wei gives −8.8357). Acklam's rational approximation: relative error ≤ 1.15e-9 for every p
    ///      (1.13e-9 measured), plus < 1 wei from truncating toward zero (relevant only when |x| < 1e-9, p
    ///      within 4e-10 of ½). The upper tail uses 1 − p, which is exact for a WAD p, and
    ///      Φ⁻¹(p) = −Φ⁻¹(1 − p) exactly. Not directionally rounded.
    /// @param p WAD probability.
    /// @return Φ⁻¹(p) in WAD.
    function normInvWad(uint256 p) internal pure returns (int256) {
        if (p == 0 || p >= ConstantsLib.WAD) revert RiskMathDomain();
        unchecked {
            return _normInvOfHalfE36(2 * p) / 1e18;
        }
    }

    // ------------------------------------------------------------------------------------------------
    // Barrier hitting
    // ------------------------------------------------------------------------------------------------

    /// @notice Probability that a driftless Brownian motion with annualised volatility `riskWad` moves by
    ///         `distanceWad` (reaches a level D away, in one given direction) at some time within
    ///         `horizonSeconds`, by the reflection principle: P = 2·Φ(−D / (σ·√(τ / SECONDS_PER_YEAR))).
    /// @dev Domain: all inputs. Returns 1e18 when D ≤ 0; 0 when σ = 0 or τ = 0 (and D > 0); 0 when
    ///      z = D / (σ√(τ/YEAR)) ≥ 9 (true P < 0.23 wei) or D/σ ≥ 1e36. Capped at 1e18. Error: as Φ,
    ///      |P̂ − P| ≤ 1.2e-7·P + 1 wei (9.4e-8 measured), plus the rounding of z to WAD (≤ 2 wei of z,
    ///      i.e. ≤ 1.6e-18 of P absolute). P is rounded down from the approximation.
    /// @param distanceWad Distance D (USD, WAD) the price must move.
    /// @param riskWad Annualised volatility σ of the price (USD per √year, WAD).
    /// @param horizonSeconds Horizon τ in seconds.
    /// @return Hit probability in WAD, in [0, 1e18].
    function hitProbabilityWad(
        int256 distanceWad,
        uint256 riskWad,
        uint256 horizonSeconds
    ) internal pure returns (uint256) {
        if (distanceWad <= 0) return ConstantsLib.WAD;
        if (riskWad == 0 || horizonSeconds == 0) return 0;
        uint256 distance = uint256(distanceWad);
        if (distance / riskWad >= MAX_DISTANCE_PER_RISK) return 0;
        // z = (D/σ)·√YEAR / √τ. The first factor is < 1e36 · 5616, so `scaled · 1e18` cannot overflow.
        uint256 scaled = FixedPointMathLib.fullMulDiv(distance, SQRT_SECONDS_PER_YEAR_WAD, riskWad);
        uint256 z = (scaled * ConstantsLib.WAD) / _sqrtSecondsWad(horizonSeconds);
        if (z >= uint256(NORM_TAIL_CUTOFF_WAD)) return 0;
        uint256 p = _erfcE72(z) / 1e54;
        return p > ConstantsLib.WAD ? ConstantsLib.WAD : p;
    }

    /// @notice The distance D at which `hitProbabilityWad(D, riskWad, horizonSeconds)` equals `pWad`:
    ///         D = Φ⁻¹(1 − p/2)·σ·√(τ / SECONDS_PER_YEAR).
    /// @dev Domain: 0 < p < 1e18, else reverts `RiskMathDomain()`; returns 0 when σ = 0 or τ = 0. Reverts
    ///      `RiskMathOverflow()` if D does not fit in uint256. Error: relative ≤ 1.15e-9 (Acklam) plus one
    ///      wei; rounded up from the approximation (a larger distance is the conservative buffer). The
    ///      quantile keeps 36 decimals, so p near 1 (tiny D) stays relatively precise.
    ///      Φ⁻¹(1 − p/2) is evaluated as −Φ⁻¹(p/2) without rounding p/2, so p = 1 wei is allowed.
    /// @param pWad Hit probability in WAD.
    /// @param riskWad Annualised volatility σ (USD per √year, WAD).
    /// @param horizonSeconds Horizon τ in seconds.
    /// @return Distance D in WAD (USD), rounded up.
    function distanceForProbabilityWad(
        uint256 pWad,
        uint256 riskWad,
        uint256 horizonSeconds
    ) internal pure returns (uint256) {
        if (pWad == 0 || pWad >= ConstantsLib.WAD) revert RiskMathDomain();
        if (riskWad == 0 || horizonSeconds == 0) return 0;
        int256 quantileE36 = -_normInvOfHalfE36(pWad);
        if (quantileE36 <= 0) return 0;
        // D = x·σ·√τ / √YEAR. The quantile x < 9 keeps 36 decimals (so a tiny x, p near 1, stays
        // relatively precise) unless √τ ≥ 2¹²⁸ WAD (τ ≥ 1.1e41 s), where it drops to WAD to keep
        // `scaled` within 256 bits.
        uint256 rootTauWad = _sqrtSecondsWad(horizonSeconds);
        uint256 scaled;
        uint256 divisor;
        if (rootTauWad < 1 << 128) {
            (scaled, divisor) = (uint256(quantileE36) * rootTauWad, SQRT_SECONDS_PER_YEAR_E54);
        } else {
            (scaled, divisor) = ((uint256(quantileE36) / 1e18) * rootTauWad, SQRT_SECONDS_PER_YEAR_E36);
        }
        (uint256 high, ) = Math.mul512(scaled, riskWad);
        if (high >= divisor) revert RiskMathOverflow();
        return FixedPointMathLib.fullMulDivUp(scaled, riskWad, divisor);
    }

    // ------------------------------------------------------------------------------------------------
    // Internals
    // ------------------------------------------------------------------------------------------------

    /// @dev erfc(a/√2) = 2·Φ(−a) for 0 ≤ a < 13e18 (WAD), scaled by 1e72 (t in WAD times exp in 1e54),
    ///      via Numerical Recipes' `erfcc` (fractional error < 1.2e-7). With z = a/√2: z² = a²/2 and
    ///      t = 1/(1 + z/2) = 2√2/(2√2 + a). The exponent lies in (−86, 0.1), so adding 2·ln 1e18 keeps it
    ///      in solady's domain (< 135.3) and returns exp·1e54 with ≥ 17 significant digits down to a = 13.
    function _erfcE72(uint256 a) private pure returns (uint256) {
        unchecked {
            int256 t = int256((TWO_SQRT2_WAD * ConstantsLib.WAD) / (TWO_SQRT2_WAD + a));
            int256 w = 1e18;
            int256 poly = 170872770000000000;
            poly = (poly * t) / w - 822152230000000000;
            poly = (poly * t) / w + 1488515870000000000;
            poly = (poly * t) / w - 1135203980000000000;
            poly = (poly * t) / w + 278868070000000000;
            poly = (poly * t) / w - 186288060000000000;
            poly = (poly * t) / w + 96784180000000000;
            poly = (poly * t) / w + 374091960000000000;
            poly = (poly * t) / w + 1000023680000000000;
            poly = (poly * t) / w - 1265512230000000000;
            int256 exponent = poly - int256((a * a) / 2e18);
            return uint256(t) * uint256(FixedPointMathLib.expWad(exponent + 2 * LN_1E18_WAD));
        }
    }

    /// @dev Φ⁻¹(twoP / 2) for 0 < twoP < 2e18 (WAD), scaled by 1e36, by Acklam's algorithm. Taking the
    ///      doubled probability lets `distanceForProbabilityWad` use p/2 without rounding it: the tails use
    ///      ln(h) = ln(2h) − ln 2 and the centre q = h − ½ = (2h − 1)/2. The 36 decimals keep x relatively
    ///      precise near p = ½, where x → 0. |result| < 9e36; truncated toward zero.
    function _normInvOfHalfE36(uint256 twoP) private pure returns (int256) {
        unchecked {
            int256 w = 1e18;
            if (twoP < ACKLAM_TWO_P_LOW) return _acklamTail(lnWad(twoP) - LN2_WAD);
            if (twoP > ACKLAM_TWO_P_HIGH) return -_acklamTail(lnWad(2e18 - twoP) - LN2_WAD);
            // Central region: x = q·A(r)/B(r) with q = h − ½ = q2/2 and r = q².
            int256 q2 = int256(twoP) - w;
            int256 r = (q2 * q2) / 4e18;
            int256 num = -39696830286653760000;
            num = (num * r) / w + 220946098424520500000;
            num = (num * r) / w - 275928510446968700000;
            num = (num * r) / w + 138357751867269000000;
            num = (num * r) / w - 30664798066147160000;
            num = (num * r) / w + 2506628277459239000;
            int256 den = -54476098798224060000;
            den = (den * r) / w + 161585836858040900000;
            den = (den * r) / w - 155698979859886600000;
            den = (den * r) / w + 66801311887719720000;
            den = (den * r) / w - 13280681552885720000;
            den = (den * r) / w + w;
            return (num * q2 * w) / (2 * den);
        }
    }

    /// @dev Acklam's lower-tail formula for a tail probability h with ln h = `lnP` (WAD, ≤ ln 0.02425):
    ///      q = √(−2 ln h), x = C(q)/D(q) < 0, returned scaled by 1e36 (|C| < 5e21 WAD, so C·1e36 fits).
    function _acklamTail(int256 lnP) private pure returns (int256) {
        unchecked {
            int256 w = 1e18;
            int256 q = int256(FixedPointMathLib.sqrtWad(uint256(-2 * lnP)));
            int256 num = -7784894002430293;
            num = (num * q) / w - 322396458041136500;
            num = (num * q) / w - 2400758277161838000;
            num = (num * q) / w - 2549732539343734000;
            num = (num * q) / w + 4374664141464968000;
            num = (num * q) / w + 2938163982698783000;
            int256 den = 7784695709041462;
            den = (den * q) / w + 322467129070039800;
            den = (den * q) / w + 2445134137142996000;
            den = (den * q) / w + 3754408661907416000;
            den = (den * q) / w + w;
            return (num * 1e36) / den;
        }
    }

    /// @dev √τ in WAD for τ in seconds, rounded down (relative error < 1e-18 for every τ).
    function _sqrtSecondsWad(uint256 horizonSeconds) private pure returns (uint256) {
        if (horizonSeconds < 1 << 128) return FixedPointMathLib.sqrt(horizonSeconds * 1e36);
        return FixedPointMathLib.sqrt(horizonSeconds) * ConstantsLib.WAD;
    }
}
