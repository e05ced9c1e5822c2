// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {RiskMath} from "../libraries/RiskMath.sol";

/// @title RiskMathHarness
/// @notice Exposes the internal `RiskMath` library for tests only; it is not part of the protocol and is
///         never deployed outside test networks. The batch functions evaluate many inputs in one `eth_call`;
///         the `gas*` functions measure one library call with `gasleft()`.
contract RiskMathHarness {
    /// @notice Thrown when the argument arrays of a batch function differ in length.
    error RiskMathHarnessLengthMismatch();

    /// @notice Seconds per year used to annualise volatility.
    function secondsPerYear() external pure returns (uint256) {
        return RiskMath.SECONDS_PER_YEAR;
    }

    /// @notice `RiskMath.lnWad`.
    function lnWad(uint256 x) external pure returns (int256) {
        return RiskMath.lnWad(x);
    }

    /// @notice `RiskMath.expWad`.
    function expWad(int256 x) external pure returns (uint256) {
        return RiskMath.expWad(x);
    }

    /// @notice `RiskMath.sqrtWad`.
    function sqrtWad(uint256 x) external pure returns (uint256) {
        return RiskMath.sqrtWad(x);
    }

    /// @notice `RiskMath.normCdfWad`.
    function normCdfWad(int256 x) external pure returns (uint256) {
        return RiskMath.normCdfWad(x);
    }

    /// @notice `RiskMath.normCdfE36`.
    function normCdfE36(int256 x) external pure returns (uint256) {
        return RiskMath.normCdfE36(x);
    }

    /// @notice `RiskMath.normInvWad`.
    function normInvWad(uint256 p) external pure returns (int256) {
        return RiskMath.normInvWad(p);
    }

    /// @notice `RiskMath.hitProbabilityWad`.
    function hitProbabilityWad(
        int256 distanceWad,
        uint256 riskWad,
        uint256 horizonSeconds
    ) external pure returns (uint256) {
        return RiskMath.hitProbabilityWad(distanceWad, riskWad, horizonSeconds);
    }

    /// @notice `RiskMath.distanceForProbabilityWad`.
    function distanceForProbabilityWad(
        uint256 pWad,
        uint256 riskWad,
        uint256 horizonSeconds
    ) external pure returns (uint256) {
        return RiskMath.distanceForProbabilityWad(pWad, riskWad, horizonSeconds);
    }

    /// @notice `RiskMath.lnWad` over many inputs.
    function lnBatch(uint256[] calldata xs) external pure returns (int256[] memory out) {
        out = new int256[](xs.length);
        for (uint256 i = 0; i < xs.length; ++i) out[i] = RiskMath.lnWad(xs[i]);
    }

    /// @notice `RiskMath.expWad` over many inputs.
    function expBatch(int256[] calldata xs) external pure returns (uint256[] memory out) {
        out = new uint256[](xs.length);
        for (uint256 i = 0; i < xs.length; ++i) out[i] = RiskMath.expWad(xs[i]);
    }

    /// @notice `RiskMath.sqrtWad` over many inputs.
    function sqrtBatch(uint256[] calldata xs) external pure returns (uint256[] memory out) {
        out = new uint256[](xs.length);
        for (uint256 i = 0; i < xs.length; ++i) out[i] = RiskMath.sqrtWad(xs[i]);
    }

    /// @notice `RiskMath.normCdfWad` over many inputs.
    function normCdfBatch(int256[] calldata xs) external pure returns (uint256[] memory out) {
        out = new uint256[](xs.length);
        for (uint256 i = 0; i < xs.length; ++i) out[i] = RiskMath.normCdfWad(xs[i]);
    }

    /// @notice `RiskMath.normCdfE36` over many inputs.
    function normCdfE36Batch(int256[] calldata xs) external pure returns (uint256[] memory out) {
        out = new uint256[](xs.length);
        for (uint256 i = 0; i < xs.length; ++i) out[i] = RiskMath.normCdfE36(xs[i]);
    }

    /// @notice `RiskMath.normInvWad` over many inputs.
    function normInvBatch(uint256[] calldata ps) external pure returns (int256[] memory out) {
        out = new int256[](ps.length);
        for (uint256 i = 0; i < ps.length; ++i) out[i] = RiskMath.normInvWad(ps[i]);
    }

    /// @notice `RiskMath.hitProbabilityWad` over many (distance, risk, horizon) triples.
    function hitProbabilityBatch(
        int256[] calldata distancesWad,
        uint256[] calldata risksWad,
        uint256[] calldata horizonsSeconds
    ) external pure returns (uint256[] memory out) {
        uint256 n = distancesWad.length;
        if (risksWad.length != n || horizonsSeconds.length != n) revert RiskMathHarnessLengthMismatch();
        out = new uint256[](n);
        for (uint256 i = 0; i < n; ++i) {
            out[i] = RiskMath.hitProbabilityWad(distancesWad[i], risksWad[i], horizonsSeconds[i]);
        }
    }

    /// @notice `RiskMath.distanceForProbabilityWad` over many (probability, risk, horizon) triples.
    function distanceForProbabilityBatch(
        uint256[] calldata psWad,
        uint256[] calldata risksWad,
        uint256[] calldata horizonsSeconds
    ) external pure returns (uint256[] memory out) {
        uint256 n = psWad.length;
        if (risksWad.length != n || horizonsSeconds.length != n) revert RiskMathHarnessLengthMismatch();
        out = new uint256[](n);
        for (uint256 i = 0; i < n; ++i) {
            out[i] = RiskMath.distanceForProbabilityWad(psWad[i], risksWad[i], horizonsSeconds[i]);
        }
    }

    /// @notice Gas of one `RiskMath.normCdfWad` call, measured with `gasleft()` (includes ~30 gas of
    ///         measurement overhead).
    function gasNormCdf(int256 x) external view returns (uint256 result, uint256 gasUsed) {
        uint256 before = gasleft();
        result = RiskMath.normCdfWad(x);
        gasUsed = before - gasleft();
    }

    /// @notice Gas of one `RiskMath.normInvWad` call, measured with `gasleft()`.
    function gasNormInv(uint256 p) external view returns (int256 result, uint256 gasUsed) {
        uint256 before = gasleft();
        result = RiskMath.normInvWad(p);
        gasUsed = before - gasleft();
    }

    /// @notice Gas of one `RiskMath.hitProbabilityWad` call, measured with `gasleft()`.
    function gasHitProbability(
        int256 distanceWad,
        uint256 riskWad,
        uint256 horizonSeconds
    ) external view returns (uint256 result, uint256 gasUsed) {
        uint256 before = gasleft();
        result = RiskMath.hitProbabilityWad(distanceWad, riskWad, horizonSeconds);
        gasUsed = before - gasleft();
    }

    /// @notice Gas of one `RiskMath.distanceForProbabilityWad` call, measured with `gasleft()`.
    function gasDistanceForProbability(
        uint256 pWad,
        uint256 riskWad,
        uint256 horizonSeconds
    ) external view returns (uint256 result, uint256 gasUsed) {
        uint256 before = gasleft();
        result = RiskMath.distanceForProbabilityWad(pWad, riskWad, horizonSeconds);
        gasUsed = before - gasleft();
    }
}
