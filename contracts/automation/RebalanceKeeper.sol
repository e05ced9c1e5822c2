// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IRebalanceKeeper} from "../interfaces/IRebalanceKeeper.sol";
import {IMarginEngine} from "../interfaces/IMarginEngine.sol";
import {ICollateralVault} from "../interfaces/ICollateralVault.sol";
import {IPauseGuardian} from "../interfaces/IPauseGuardian.sol";
import {IChainlinkOracleAdapter} from "../interfaces/IChainlinkOracleAdapter.sol";
import {ConstantsLib} from "../libraries/ConstantsLib.sol";
import {Plan} from "../interfaces/RebalanceTypes.sol";
import {RoleCheck} from "../governance/RoleCheck.sol";

/// @title RebalanceKeeper
/// @notice Pages the engine's active accounts for keepers and executes batches (see `IRebalanceKeeper`).
/// @dev Holds no funds between calls: rewards the engine pays this contract during `performUpkeep`
///      (rebalance rewards as vault margin, which it withdraws; liquidation rewards as tokens) are
///      forwarded to the caller before it returns. While margin withdrawals are paused, rebalance rewards
///      stay in its margin and go to the caller of the next upkeep that can withdraw them.
///      Every `performUpkeep` first records the latest round of each listed market's asset
///      (`IChainlinkOracleAdapter.update`), so a deployment driven only by an automation network keeps the
///      adapter's last good prices and EWMA volatility current.
contract RebalanceKeeper is IRebalanceKeeper, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice Most accounts one `checkUpkeep` may scan.
    uint256 public constant MAX_PAGE = 2_000;
    /// @notice Most accounts one `performUpkeep` may act on.
    uint256 public constant MAX_BATCH = 200;

    IMarginEngine private immutable _engine;
    IPauseGuardian private immutable _guardian;
    IERC20 private immutable _token;
    ICollateralVault private immutable _vault;
    IChainlinkOracleAdapter private immutable _oracle;

    bool private _allowListEnabled;
    mapping(address executor => bool) private _executors;

    /// @param engine_ The margin engine (its guardian holds the roles, its vault's token pays rewards).
    constructor(address engine_) {
        if (engine_ == address(0)) revert RebalanceKeeperZeroAddress();
        _engine = IMarginEngine(engine_);
        _guardian = IPauseGuardian(IMarginEngine(engine_).guardian());
        _vault = ICollateralVault(IMarginEngine(engine_).vault());
        _token = IERC20(_vault.token());
        _oracle = IChainlinkOracleAdapter(IMarginEngine(engine_).oracle());
    }

    /// @inheritdoc IRebalanceKeeper
    function checkUpkeep(bytes calldata checkData) external view returns (bool, bytes memory) {
        (uint256 start, uint256 count) = abi.decode(checkData, (uint256, uint256));
        if (count == 0 || count > MAX_PAGE) revert RebalanceKeeperInvalidPage(count);
        address[] memory page = _engine.activeAccounts(start, count);
        address[] memory toRebalance = new address[](page.length);
        address[] memory toLiquidate = new address[](page.length);
        address[] memory capped = new address[](page.length);
        uint256 nr;
        uint256 nl;
        uint256 nc;
        for (uint256 i; i < page.length; ++i) {
            // An account whose strategy answers with data the engine cannot decode makes `keeperAction`
            // revert; it is left out instead of failing the whole page.
            try _engine.keeperAction(page[i]) returns (IMarginEngine.KeeperAction action, Plan memory, bool isCapped) {
                if (action == IMarginEngine.KeeperAction.Rebalance) toRebalance[nr++] = page[i];
                else if (action == IMarginEngine.KeeperAction.Liquidate) toLiquidate[nl++] = page[i];
                if (isCapped) capped[nc++] = page[i];
            } catch {}
        }
        _truncate(toRebalance, nr);
        _truncate(toLiquidate, nl);
        _truncate(capped, nc);
        return (nr + nl != 0, abi.encode(toRebalance, toLiquidate, capped));
    }

    /// @inheritdoc IRebalanceKeeper
    function performUpkeep(bytes calldata performData) external nonReentrant {
        if (_allowListEnabled && !_executors[msg.sender]) revert RebalanceKeeperUnauthorizedExecutor(msg.sender);
        (address[] memory toRebalance, address[] memory toLiquidate, address[] memory capped) = abi.decode(
            performData,
            (address[], address[], address[])
        );
        uint256 total = toRebalance.length + toLiquidate.length;
        if (total > MAX_BATCH) revert RebalanceKeeperBatchTooLarge(total);
        _recordPrices();

        uint256 balanceBefore = _token.balanceOf(address(this));
        uint256 rebalanced;
        uint256 liquidated;
        for (uint256 i; i < toRebalance.length; ++i) {
            try _engine.rebalance(toRebalance[i]) {
                ++rebalanced;
            } catch (bytes memory reason) {
                emit AccountSkipped(toRebalance[i], SkipReason.RebalanceFailed, _selector(reason));
            }
        }
        for (uint256 i; i < toLiquidate.length; ++i) {
            try _engine.liquidate(toLiquidate[i]) {
                ++liquidated;
            } catch (bytes memory reason) {
                emit AccountSkipped(toLiquidate[i], SkipReason.LiquidationFailed, _selector(reason));
            }
        }
        for (uint256 i; i < capped.length; ++i) emit DeleverageDeferred(capped[i]);

        // Rebalance rewards arrive as margin in the vault; liquidation rewards as tokens.
        uint256 credited = _vault.marginOf(address(this));
        if (credited != 0) {
            try _engine.withdrawMargin(credited, address(this)) {} catch {
                credited = 0; // margin withdrawals paused: the rewards wait for the next upkeep
            }
        }
        uint256 reward = _token.balanceOf(address(this)) - balanceBefore;
        emit UpkeepPerformed(msg.sender, rebalanced, liquidated, total - rebalanced - liquidated, reward);
        if (reward != 0) _token.safeTransfer(msg.sender, reward);
    }

    /// @inheritdoc IRebalanceKeeper
    function setExecutor(address executor, bool allowed) external {
        _onlyAdmin();
        if (executor == address(0)) revert RebalanceKeeperZeroAddress();
        _executors[executor] = allowed;
        emit ExecutorSet(executor, allowed);
    }

    /// @inheritdoc IRebalanceKeeper
    function setAllowListEnabled(bool enabled) external {
        _onlyAdmin();
        _allowListEnabled = enabled;
        emit ExecutorAllowListEnabled(enabled);
    }

    /// @inheritdoc IRebalanceKeeper
    function isExecutor(address executor) external view returns (bool) {
        return _executors[executor];
    }

    /// @inheritdoc IRebalanceKeeper
    function allowListEnabled() external view returns (bool) {
        return _allowListEnabled;
    }

    /// @inheritdoc IRebalanceKeeper
    function engine() external view returns (address) {
        return address(_engine);
    }

    /// @dev Records the latest round of every listed market's asset. A failing record (a feed starved of
    ///      gas) does not stop the upkeep: the engine grades the same price again.
    function _recordPrices() private {
        uint256 count = _engine.marketCount();
        for (uint256 id = 1; id <= count; ++id) {
            try _oracle.update(_engine.marketConfig(id).asset) {} catch {}
        }
    }

    function _onlyAdmin() private view {
        if (!RoleCheck.has(_guardian, ConstantsLib.ADMIN_ROLE, msg.sender, false)) {
            revert RebalanceKeeperUnauthorized(msg.sender);
        }
    }

    /// @dev Shrinks a memory array to its first `n` elements.
    function _truncate(address[] memory list, uint256 n) private pure {
        assembly ("memory-safe") {
            mstore(list, n)
        }
    }

    /// @dev The custom-error selector of revert data (zero when shorter than 4 bytes).
    function _selector(bytes memory reason) private pure returns (bytes4 selector) {
        if (reason.length < 4) return bytes4(0);
        assembly ("memory-safe") {
            selector := mload(add(reason, 32))
        }
    }
}
