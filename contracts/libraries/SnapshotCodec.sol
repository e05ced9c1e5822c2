// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IRebalanceStrategy} from "../interfaces/IRebalanceStrategy.sol";
import {AccountSnapshot, Plan} from "../interfaces/RebalanceTypes.sol";

/// @title SnapshotCodec
/// @notice The strategy call's snapshot encoding with block copies instead of the field-by-field ABI
///         coder: the engine encodes `plan(snapshot)` (`encodePlanCall`) and decodes the returned plan
///         (`decodePlan`), strategies copy the snapshot to memory (`decode`).
/// @dev Same result and same checks as `AccountSnapshot memory s = snapshot`: every value range (address,
///      `uint64`, `bool`, `uint96` fields) and every array's bounds within calldata; a violation reverts
///      without data, as the ABI decoder does. Layouts: the ABI head is the 9 leading words, the policy's
///      7 words inline, then the offsets of `positions`, `volatilityWad` and `deleverageRoomWad`
///      (relative to the head); `PositionData` is 8 static words. In memory the snapshot is those 9
///      words followed by 4 pointers.
library SnapshotCodec {
    /// @notice `snapshot`, copied to memory.
    function decode(AccountSnapshot calldata snapshot) internal pure returns (AccountSnapshot memory s) {
        assembly ("memory-safe") {
            let p := snapshot
            let end := calldatasize()
            // The head (19 words) is already checked to lie within calldata by the caller's decoder.
            let bad := gt(calldataload(p), 0xffffffffffffffffffffffffffffffffffffffff)
            let q := add(p, 0x120)
            bad := or(bad, gt(calldataload(q), 0xffffffffffffffff))
            bad := or(bad, gt(calldataload(add(q, 0x20)), 0xffffffffffffffff))
            bad := or(bad, gt(calldataload(add(q, 0x40)), 0xffffffffffffffff))
            bad := or(bad, gt(calldataload(add(q, 0x60)), 1))
            bad := or(bad, gt(calldataload(add(q, 0x80)), 1))
            bad := or(bad, gt(calldataload(add(q, 0xa0)), 0xffffffffffffffffffffffff))
            bad := or(bad, gt(calldataload(add(q, 0xc0)), 0xffffffffffffffffffffffffffffffffffffffff))

            s := mload(0x40)
            calldatacopy(s, p, 0x120)
            let policy := add(s, 0x1a0)
            calldatacopy(policy, q, 0xe0)
            mstore(add(s, 0x120), policy)
            let free := add(policy, 0xe0)

            // positions: n pointers, then the n structs.
            let off := calldataload(add(p, 0x200))
            bad := or(bad, gt(off, 0xffffffffffffffff))
            let a := add(p, off)
            bad := or(bad, gt(add(a, 0x20), end))
            let n := calldataload(a)
            bad := or(bad, gt(n, 0xffffffffffffffff))
            bad := or(bad, gt(add(add(a, 0x20), mul(n, 0x100)), end))
            if bad {
                revert(0, 0)
            }
            mstore(add(s, 0x140), free)
            mstore(free, n)
            let ptrs := add(free, 0x20)
            let data := add(ptrs, mul(n, 0x20))
            calldatacopy(data, add(a, 0x20), mul(n, 0x100))
            for {
                let i := 0
            } lt(i, n) {
                i := add(i, 1)
            } {
                mstore(add(ptrs, mul(i, 0x20)), add(data, mul(i, 0x100)))
            }
            mstore(0x40, add(data, mul(n, 0x100)))
        }
        _copyWordArrays(snapshot, s);
    }

    /// @dev Copies `volatilityWad` and `deleverageRoomWad` (length and words, as they are) to free memory.
    function _copyWordArrays(AccountSnapshot calldata snapshot, AccountSnapshot memory s) private pure {
        assembly ("memory-safe") {
            let p := snapshot
            let end := calldatasize()
            let free := mload(0x40)
            for {
                let k := 0
            } lt(k, 2) {
                k := add(k, 1)
            } {
                let off := calldataload(add(p, add(0x220, mul(k, 0x20))))
                let bad := gt(off, 0xffffffffffffffff)
                let a := add(p, off)
                bad := or(bad, gt(add(a, 0x20), end))
                let m := calldataload(a)
                bad := or(bad, gt(m, 0xffffffffffffffff))
                let size := mul(add(m, 1), 0x20)
                bad := or(bad, gt(add(a, size), end))
                if bad {
                    revert(0, 0)
                }
                mstore(add(s, add(0x160, mul(k, 0x20))), free)
                calldatacopy(free, a, size)
                free := add(free, size)
            }
            mstore(0x40, free)
        }
    }

    /// @notice `abi.encodeCall(IRebalanceStrategy.plan, (s))`.
    /// @dev Memory values are clean (written by Solidity), so the words are copied as they are.
    function encodePlanCall(AccountSnapshot memory s) internal pure returns (bytes memory data) {
        bytes4 selector = IRebalanceStrategy.plan.selector;
        assembly ("memory-safe") {
            data := mload(0x40)
            let o := add(data, 0x20)
            mstore(o, selector)
            mstore(add(o, 4), 0x20)
            let t := add(o, 0x24)
            mcopy(t, s, 0x120)
            mcopy(add(t, 0x120), mload(add(s, 0x120)), 0xe0)
            let tail := 0x260
            let positions := mload(add(s, 0x140))
            let n := mload(positions)
            mstore(add(t, 0x200), tail)
            mstore(add(t, tail), n)
            tail := add(tail, 0x20)
            for {
                let i := 0
            } lt(i, n) {
                i := add(i, 1)
            } {
                mcopy(add(t, tail), mload(add(positions, mul(add(i, 1), 0x20))), 0x100)
                tail := add(tail, 0x100)
            }
            for {
                let k := 0
            } lt(k, 2) {
                k := add(k, 1)
            } {
                let array := mload(add(s, add(0x160, mul(k, 0x20))))
                let size := mul(add(mload(array), 1), 0x20)
                mstore(add(t, add(0x220, mul(k, 0x20))), tail)
                mcopy(add(t, tail), array, size)
                tail := add(tail, size)
            }
            let length := add(0x24, tail)
            mstore(data, length)
            mstore(0x40, and(add(add(o, length), 0x1f), not(0x1f)))
        }
    }

    /// @notice `abi.decode(ret, (Plan))`, with the same checks (every offset and length within `ret`;
    ///         a violation reverts without data).
    function decodePlan(bytes memory ret) internal pure returns (Plan memory plan) {
        assembly ("memory-safe") {
            let len := mload(ret)
            let base := add(ret, 0x20)
            let end := add(base, len)
            let bad := lt(len, 0x20)
            let o := mload(base)
            bad := or(bad, gt(o, 0xffffffffffffffff))
            let t := add(base, o)
            bad := or(bad, gt(add(t, 0x80), end))
            if bad {
                revert(0, 0)
            }
            let co := mload(add(t, 0x40))
            bad := gt(co, 0xffffffffffffffff)
            let a := add(t, co)
            bad := or(bad, gt(add(a, 0x20), end))
            if bad {
                revert(0, 0)
            }
            let n := mload(a)
            bad := gt(n, 0xffffffffffffffff)
            bad := or(bad, gt(add(add(a, 0x20), mul(n, 0x40)), end))
            if bad {
                revert(0, 0)
            }
            // `plan` is already allocated (zero); the closes go to free memory.
            mstore(plan, mload(t))
            mstore(add(plan, 0x20), mload(add(t, 0x20)))
            mstore(add(plan, 0x60), mload(add(t, 0x60)))
            let closes := mload(0x40)
            mstore(add(plan, 0x40), closes)
            mstore(closes, n)
            let ptrs := add(closes, 0x20)
            let data := add(ptrs, mul(n, 0x20))
            mcopy(data, add(a, 0x20), mul(n, 0x40))
            for {
                let i := 0
            } lt(i, n) {
                i := add(i, 1)
            } {
                mstore(add(ptrs, mul(i, 0x20)), add(data, mul(i, 0x40)))
            }
            mstore(0x40, add(data, mul(n, 0x40)))
        }
    }
}
