// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title ReentrantToken
/// @notice Test token (6 decimals, like USDC) whose transfers call back into a scripted target with
///         scripted calldata before moving the balance, as a token with transfer hooks (ERC-777 style)
///         would let an attacker do. The callback runs once per arming. Its outcome is recorded; when
///         `bubble` is set a failed callback reverts the transfer with the callback's revert data.
///         The token itself is the caller of the callback, so `act` lets tests give it balances in the
///         protocol (margin, reserve, LP shares) beforehand. Never deploy outside tests.
contract ReentrantToken is ERC20 {
    address private _target;
    bytes private _data;
    bool private _bubble;
    bool private _armed;
    bool private _afterTransfer;

    /// @notice Whether the last callback succeeded.
    bool public lastSuccess;
    /// @notice Return or revert data of the last callback.
    bytes public lastReturnData;
    /// @notice Number of callbacks made.
    uint256 public reentries;

    /// @notice Emitted after each callback.
    /// @param target The contract called back.
    /// @param success Whether the callback succeeded.
    /// @param returnData Its return or revert data.
    event Reentered(address indexed target, bool success, bytes returnData);

    constructor() ERC20("Reentrant Token", "REENT") {}

    /// @notice Six decimals, like USDC.
    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice Mints `amount` to `to` (test token: unrestricted).
    /// @param to The recipient.
    /// @param amount The amount.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Arms one callback to `target` with `data` on the next transfer between two non-zero
    ///         addresses.
    /// @param target The contract to call back.
    /// @param data The calldata.
    /// @param bubble Whether a failed callback reverts the transfer with its revert data.
    /// @param afterTransfer Whether the callback runs after the balances moved (as ERC-777's
    ///        `tokensReceived`) rather than before (as `tokensToSend`).
    function arm(address target, bytes calldata data, bool bubble, bool afterTransfer) external {
        _target = target;
        _data = data;
        _bubble = bubble;
        _afterTransfer = afterTransfer;
        _armed = true;
    }

    /// @notice Calls `target` with `data` as this token (test setup: unrestricted); bubbles a revert.
    /// @param target The contract to call.
    /// @param data The calldata.
    /// @return result The call's return data.
    function act(address target, bytes calldata data) external returns (bytes memory result) {
        bool ok;
        // solhint-disable-next-line avoid-low-level-calls
        (ok, result) = target.call(data);
        if (!ok) _revertWith(result);
    }

    /// @dev Runs the armed callback (once) before or after moving the balance.
    function _update(address from, address to, uint256 value) internal override {
        bool hook = _armed && from != address(0) && to != address(0);
        if (hook) _armed = false;
        if (hook && !_afterTransfer) _callBack();
        super._update(from, to, value);
        if (hook && _afterTransfer) _callBack();
    }

    function _callBack() private {
        address target = _target;
        // solhint-disable-next-line avoid-low-level-calls
        (bool ok, bytes memory ret) = target.call(_data);
        ++reentries;
        lastSuccess = ok;
        lastReturnData = ret;
        emit Reentered(target, ok, ret);
        if (!ok && _bubble) _revertWith(ret);
    }

    function _revertWith(bytes memory data) private pure {
        assembly ("memory-safe") {
            revert(add(data, 0x20), mload(data))
        }
    }
}
