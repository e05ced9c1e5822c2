// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IPauseGuardian} from "../interfaces/IPauseGuardian.sol";
import {ConstantsLib} from "../libraries/ConstantsLib.sol";

/// @title RoleCheck
/// @notice The one role check every contract applies: roles live in the `PauseGuardian`; a function open
///         to a role may also be open to the admin. Each contract reverts with its own error when this
///         answers false.
library RoleCheck {
    /// @notice Whether `account` holds `role` in `guardian`, or (when `orAdmin`) the admin role.
    function has(IPauseGuardian guardian, bytes32 role, address account, bool orAdmin) internal view returns (bool) {
        if (guardian.hasRole(role, account)) return true;
        return orAdmin && role != ConstantsLib.ADMIN_ROLE && guardian.hasRole(ConstantsLib.ADMIN_ROLE, account);
    }
}
