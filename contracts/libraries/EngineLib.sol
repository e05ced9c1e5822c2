// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IMarginEngine} from "../interfaces/IMarginEngine.sol";
import {IMarginEngineOrders} from "../interfaces/IMarginEngineOrders.sol";
import {ICollateralVault} from "../interfaces/ICollateralVault.sol";
import {ILiquidityPool} from "../interfaces/ILiquidityPool.sol";
import {IChainlinkOracleAdapter} from "../interfaces/IChainlinkOracleAdapter.sol";
import {IPauseGuardian} from "../interfaces/IPauseGuardian.sol";
import {Policy} from "../interfaces/RebalanceTypes.sol";
import {MarginMath} from "./MarginMath.sol";

/// @title EngineLib
/// @notice The margin engine's storage layout and the bookkeeping shared by the engine and its logic
///         libraries (`LiquidationLogic`, `RebalanceLogic`), which run in the engine's context.
/// @dev The engine keeps one `Layout` and passes it, with its immutable `Wiring`, to the logic
///      libraries. Everything here is `internal`, so each caller compiles its own copy.
library EngineLib {
    using SafeCast for uint256;
    using SafeCast for int256;

    /// @notice The engine's storage.
    struct Layout {
        uint256 marketCount;
        mapping(uint256 marketId => IMarginEngine.MarketConfig) markets;
        mapping(uint256 marketId => IMarginEngine.MarketState) marketStates;
        mapping(bytes32 asset => bool) listedAssets;
        mapping(address account => mapping(uint256 marketId => IMarginEngine.Position)) positions;
        /// @dev Bit `i` set when the account holds a position in market `i`.
        mapping(address account => uint256) marketBitmap;
        address[] active;
        /// @dev Index in `active` plus one (0: not active).
        mapping(address account => uint256) activeIndex;
        IMarginEngine.LiquidationParams liquidationParams;
        uint256 reserveFactorWad;
        uint256 totalEntryNotionalWad;
        /// @dev Each account's policy in one word (see `storePolicy`), so that a rebalance reads it with
        ///      one storage read, plus the strategy's word.
        mapping(address account => uint256) policyWords;
        /// @dev A policy's exact `maxKeeperRewardTokens` when it does not fit its word's field.
        mapping(address account => uint256) largeKeeperRewardCaps;
        /// @dev `STRATEGY_APPROVED | STRATEGY_USES_VOLATILITY` bits and, from bit 8, the strategy's id
        ///      (assigned at its first approval, never reused).
        mapping(address strategy => uint256) strategyFlags;
        /// @dev By id: the strategy's address (low 160 bits), its flags (bits 160-167) and the keeper
        ///      reward (from bit 168; a copy of `keeperRewardTokens`, rewritten in every word when it
        ///      changes), so that a rebalance reads the reward with the strategy.
        mapping(uint256 strategyId => uint256) strategyWords;
        uint256 strategyCount;
        mapping(uint256 marketId => IMarginEngine.DeleverageCap) deleverageCaps;
        /// @dev Reward per rebalance (also copied into every strategy word, see `strategyWords`).
        uint256 keeperRewardTokens;
        /// @dev By market: its risk parameters, its oracle asset when short, and whether it has a
        ///      deleverage cap, in one word (see `storeMarket`): loading a position reads one market
        ///      slot, and a rebalance reads a market's cap only when its bit is set.
        mapping(uint256 marketId => uint256) marketWords;
        /// @dev Pending orders by id, and the last id assigned.
        mapping(uint256 orderId => IMarginEngineOrders.Order) orders;
        uint256 orderCount;
        /// @dev When each owner last took a risk-relevant action (`setPolicy`, `withdrawMargin`); 0 once
        ///      a rebalance saw a later round in every market of the account.
        mapping(address account => uint256) ownerActionAt;
    }

    /// @notice Strategy flag: governance approved it.
    uint256 internal constant STRATEGY_APPROVED = 1;
    /// @notice Strategy flag: its plans read volatilities.
    uint256 internal constant STRATEGY_USES_VOLATILITY = 2;

    /// @dev Policy word: trigger (bits 0-63), target (64-127), sweep (128-191), allowTopUp (192),
    ///      allowDeleverage (193), strategy id (194-209), maxKeeperRewardTokens (210-255; all ones:
    ///      the exact value is in `largeKeeperRewardCaps`).
    uint256 private constant TOP_UP_BIT = 1 << 192;
    uint256 private constant DELEVERAGE_BIT = 1 << 193;
    uint256 private constant STRATEGY_ID_SHIFT = 194;
    uint256 private constant REWARD_SHIFT = 210;
    uint256 private constant REWARD_FIELD_MAX = (1 << 46) - 1;

    /// @notice Strategy flags: the keeper reward follows from this bit (see `loadPolicy`).
    uint256 internal constant FLAGS_REWARD_SHIFT = 8;
    uint256 private constant STRATEGY_REWARD_SHIFT = 168;

    /// @dev Market word: imrWad (bits 0-59), mmrWad (60-119), feeWad (120-173), liquidationPenaltyWad
    ///      (174-231), the asset (232-252) when it is at most three 7-bit ASCII bytes followed by zeros (a
    ///      short name such as "ETH", seven bits per byte), otherwise 0 and the asset is read from the
    ///      config, and the deleverage-cap bit (255). The validated bounds (imr ≤ 1, fee ≤ 0.01,
    ///      penalty ≤ 0.2, mmr < imr) fit the fields.
    uint256 internal constant CAPPED_BIT = 1 << 255;
    uint256 private constant MMR_SHIFT = 60;
    uint256 private constant FEE_SHIFT = 120;
    uint256 private constant PENALTY_SHIFT = 174;
    uint256 private constant ASSET_SHIFT = 232;
    uint256 private constant MASK_60 = (1 << 60) - 1;
    uint256 private constant MASK_54 = (1 << 54) - 1;
    uint256 private constant MASK_58 = (1 << 58) - 1;
    uint256 private constant ASSET_MASK = (1 << 21) - 1;

    /// @notice The engine's immutable wiring, handed to the logic libraries.
    /// @notice An `Ok` price of `marketId` read earlier in the transaction, with its round's `updatedAt`,
    ///         passed down so that the feed is read once (`marketId` 0: none; ids start at 1).
    struct KnownPrice {
        uint256 marketId;
        uint256 priceWad;
        uint256 updatedAt;
    }

    struct Wiring {
        ICollateralVault vault;
        ILiquidityPool pool;
        IChainlinkOracleAdapter oracle;
        IPauseGuardian guardian;
        /// @dev `10**(18 − token decimals)`.
        uint256 scale;
    }

    /// @notice Approves or revokes `strategy` with `flags` (0 to revoke), assigning its id at its first
    ///         approval.
    function setStrategyFlags(Layout storage s, address strategy, uint256 flags) internal {
        uint256 id = s.strategyFlags[strategy] >> 8;
        if (id == 0) {
            if (flags == 0) return;
            id = ++s.strategyCount;
        }
        s.strategyFlags[strategy] = flags | (id << 8);
        s.strategyWords[id] =
            uint256(uint160(strategy)) |
            (flags << 160) |
            (s.keeperRewardTokens << STRATEGY_REWARD_SHIFT);
    }

    /// @notice Sets the keeper reward (at most 2**88 - 1, checked by the caller) and its copy in every
    ///         strategy word.
    function setKeeperReward(Layout storage s, uint256 rewardTokens) internal {
        s.keeperRewardTokens = rewardTokens;
        uint256 count = s.strategyCount;
        for (uint256 id = 1; id <= count; ++id) {
            uint256 word = s.strategyWords[id];
            s.strategyWords[id] = (word & ((1 << STRATEGY_REWARD_SHIFT) - 1)) | (rewardTokens << STRATEGY_REWARD_SHIFT);
        }
    }

    /// @notice Sets or clears `marketId`'s deleverage-cap bit.
    function setCapped(Layout storage s, uint256 marketId, bool capped) internal {
        uint256 word = s.marketWords[marketId];
        s.marketWords[marketId] = capped ? word | CAPPED_BIT : word & ~CAPPED_BIT;
    }

    /// @notice Whether `marketId` has a deleverage cap.
    function isCapped(Layout storage s, uint256 marketId) internal view returns (bool) {
        return s.marketWords[marketId] & CAPPED_BIT != 0;
    }

    /// @notice Stores `config` for `marketId` (already validated: its parameters fit the market word).
    function storeMarket(Layout storage s, uint256 marketId, IMarginEngine.MarketConfig calldata config) internal {
        s.markets[marketId] = config;
        s.marketWords[marketId] =
            uint256(config.imrWad) |
            (uint256(config.mmrWad) << MMR_SHIFT) |
            (uint256(config.feeWad) << FEE_SHIFT) |
            (uint256(config.liquidationPenaltyWad) << PENALTY_SHIFT) |
            (_compressAsset(config.asset) << ASSET_SHIFT) |
            (s.marketWords[marketId] & CAPPED_BIT);
    }

    /// @dev The asset's market-word field: three 7-bit bytes, or 0 when it does not fit.
    function _compressAsset(bytes32 asset) private pure returns (uint256) {
        uint256 a = uint256(asset);
        if (a << 24 != 0) return 0;
        uint256 b0 = a >> 248;
        uint256 b1 = (a >> 240) & 0xff;
        uint256 b2 = (a >> 232) & 0xff;
        if ((b0 | b1 | b2) >= 0x80) return 0;
        return (b0 << 14) | (b1 << 7) | b2;
    }

    /// @notice Stores `policy` for `account`; its strategy must be approved (it then has an id).
    function storePolicy(Layout storage s, address account, Policy memory policy) internal {
        uint256 id = s.strategyFlags[policy.strategy] >> 8;
        uint256 reward = policy.maxKeeperRewardTokens;
        uint256 rewardField = reward;
        if (reward >= REWARD_FIELD_MAX) {
            rewardField = REWARD_FIELD_MAX;
            s.largeKeeperRewardCaps[account] = reward;
        }
        s.policyWords[account] =
            uint256(policy.triggerHealthWad) |
            (uint256(policy.targetHealthWad) << 64) |
            (uint256(policy.sweepHealthWad) << 128) |
            (policy.allowTopUp ? TOP_UP_BIT : 0) |
            (policy.allowDeleverage ? DELEVERAGE_BIT : 0) |
            (id << STRATEGY_ID_SHIFT) |
            (rewardField << REWARD_SHIFT);
    }

    /// @notice Removes `account`'s policy.
    function clearPolicy(Layout storage s, address account) internal {
        delete s.policyWords[account];
        delete s.largeKeeperRewardCaps[account];
    }

    /// @notice `account`'s policy (all zero without one) and its strategy's flags (`STRATEGY_*` bits, 0 when
    ///         revoked) with the keeper reward from bit `FLAGS_REWARD_SHIFT` (0 without a policy).
    function loadPolicy(
        Layout storage s,
        address account
    ) internal view returns (Policy memory policy, uint256 strategyFlags) {
        uint256 word = s.policyWords[account];
        if (word == 0) return (policy, 0);
        uint256 strategyWord = s.strategyWords[(word >> STRATEGY_ID_SHIFT) & 0xffff];
        uint256 reward = word >> REWARD_SHIFT;
        if (reward == REWARD_FIELD_MAX) reward = s.largeKeeperRewardCaps[account];
        policy = Policy({
            triggerHealthWad: uint64(word),
            targetHealthWad: uint64(word >> 64),
            sweepHealthWad: uint64(word >> 128),
            allowTopUp: word & TOP_UP_BIT != 0,
            allowDeleverage: word & DELEVERAGE_BIT != 0,
            maxKeeperRewardTokens: uint96(reward),
            strategy: address(uint160(strategyWord))
        });
        strategyFlags = strategyWord >> 160;
    }

    /// @notice Loads `account`'s margin and every position in `bitmap` (a market without a position
    ///         loads with size 0) with its oracle price. When `requireOk`, reverts unless every price is
    ///         `Ok`; otherwise `pricesOk` says whether they all were.
    function load(
        Layout storage s,
        Wiring memory w,
        address account,
        uint256 bitmap,
        bool requireOk
    ) internal view returns (uint256 marginTokens, MarginMath.PositionData[] memory positions, bool pricesOk) {
        marginTokens = w.vault.marginOf(account);
        (positions, pricesOk, ) = loadPositions(s, w, account, bitmap, requireOk, noKnownPrice());
    }

    /// @notice No price known yet (`loadPositions` reads every market's).
    function noKnownPrice() internal pure returns (KnownPrice memory none) {
        return none;
    }

    /// @notice `load` without the margin, with the `updatedAt` of each position's price round (the round
    ///         its price comes from when `Ok`), in `positions` order. The `Ok` price of one market already
    ///         read in this transaction may be passed as `known`, so that its feed is not read again.
    function loadPositions(
        Layout storage s,
        Wiring memory w,
        address account,
        uint256 bitmap,
        bool requireOk,
        KnownPrice memory known
    ) internal view returns (MarginMath.PositionData[] memory positions, bool pricesOk, uint256[] memory roundTimes) {
        positions = new MarginMath.PositionData[](popcount(bitmap));
        roundTimes = new uint256[](positions.length);
        pricesOk = true;
        uint256 n;
        while (bitmap != 0) {
            uint256 marketId = lowestBit(bitmap);
            bitmap &= bitmap - 1;
            uint256 word = s.marketWords[marketId];
            bytes32 asset = marketAsset(s, marketId, word);
            IMarginEngine.Position memory pos = s.positions[account][marketId];
            uint256 priceWad;
            IChainlinkOracleAdapter.Status status;
            if (marketId == known.marketId) {
                (priceWad, status, roundTimes[n]) = (
                    known.priceWad,
                    IChainlinkOracleAdapter.Status.Ok,
                    known.updatedAt
                );
            } else {
                (priceWad, status, roundTimes[n]) = w.oracle.price(asset);
            }
            if (status != IChainlinkOracleAdapter.Status.Ok) {
                if (requireOk) revert IMarginEngine.MarginEngineBadPrice(asset, status);
                pricesOk = false;
            }
            positions[n++] = MarginMath.PositionData({
                marketId: marketId,
                sizeWad: pos.sizeWad,
                entryPriceWad: pos.entryPriceWad,
                priceWad: priceWad,
                imrWad: word & MASK_60,
                mmrWad: (word >> MMR_SHIFT) & MASK_60,
                feeWad: (word >> FEE_SHIFT) & MASK_54,
                penaltyWad: (word >> PENALTY_SHIFT) & MASK_58
            });
        }
    }

    /// @notice The oracle asset of `marketId`, given its market word.
    function marketAsset(Layout storage s, uint256 marketId, uint256 word) internal view returns (bytes32) {
        uint256 f = (word >> ASSET_SHIFT) & ASSET_MASK;
        if (f == 0) return s.markets[marketId].asset;
        return bytes32(((f >> 14) << 248) | (((f >> 7) & 0x7f) << 240) | ((f & 0x7f) << 232));
    }

    /// @notice The configuration of a listed market; reverts for an unknown id.
    function market(Layout storage s, uint256 marketId) internal view returns (IMarginEngine.MarketConfig storage) {
        if (marketId == 0 || marketId > s.marketCount) revert IMarginEngine.MarginEngineUnknownMarket(marketId);
        return s.markets[marketId];
    }

    /// @notice Liquidity the pool must keep to back open interest (token units, rounded up).
    function requiredLiquidity(Layout storage s, uint256 scale) internal view returns (uint256) {
        return Math.ceilDiv(Math.mulDiv(s.totalEntryNotionalWad, s.reserveFactorWad, 1e18, Math.Rounding.Ceil), scale);
    }

    /// @notice Writes a position change: position, open interest, entry notional, market bitmap and the
    ///         active-account list.
    function applyPositionChange(
        Layout storage s,
        address account,
        uint256 marketId,
        int256 oldSize,
        uint256 oldEntry,
        int256 newSize,
        uint256 newEntry
    ) internal {
        IMarginEngine.MarketState storage state = s.marketStates[marketId];
        uint256 oldNotional = MarginMath.notionalWad(oldSize, oldEntry);
        uint256 newNotional = MarginMath.notionalWad(newSize, newEntry);
        if (oldSize > 0) {
            state.longOpenInterestWad -= uint256(oldSize).toUint128();
            state.longEntryNotionalWad -= oldNotional.toUint128();
        } else if (oldSize < 0) {
            state.shortOpenInterestWad -= uint256(-oldSize).toUint128();
            state.shortEntryNotionalWad -= oldNotional.toUint128();
        }
        if (newSize > 0) {
            state.longOpenInterestWad += uint256(newSize).toUint128();
            state.longEntryNotionalWad += newNotional.toUint128();
        } else if (newSize < 0) {
            state.shortOpenInterestWad += uint256(-newSize).toUint128();
            state.shortEntryNotionalWad += newNotional.toUint128();
        }

        s.totalEntryNotionalWad = s.totalEntryNotionalWad + newNotional - oldNotional;

        if (newSize == 0) {
            delete s.positions[account][marketId];
            uint256 bitmap = s.marketBitmap[account] & ~(1 << marketId);
            s.marketBitmap[account] = bitmap;
            if (bitmap == 0) _deactivate(s, account);
        } else {
            s.positions[account][marketId] = IMarginEngine.Position(newSize.toInt128(), newEntry.toUint128());
            if (oldSize == 0) {
                uint256 bitmap = s.marketBitmap[account];
                if (bitmap == 0) _activate(s, account);
                s.marketBitmap[account] = bitmap | (1 << marketId);
            }
        }
    }

    /// @notice Moves tokens between the account's margin and the pool: `traderDeltaTokens > 0` is paid by
    ///         LPs to the account, `< 0` by the account to LPs; `insuranceTokens` go from the account to
    ///         the insurance buffer.
    function settle(Wiring memory w, address account, int256 traderDeltaTokens, uint256 insuranceTokens) internal {
        if (traderDeltaTokens > 0) {
            w.pool.payTrader(address(w.vault), uint256(traderDeltaTokens));
            w.vault.creditMargin(account, uint256(traderDeltaTokens));
            if (insuranceTokens != 0) {
                w.vault.transferMargin(account, address(w.pool), insuranceTokens);
                w.pool.recordIncome(insuranceTokens, insuranceTokens);
            }
        } else {
            uint256 total = uint256(-traderDeltaTokens) + insuranceTokens;
            if (total != 0) {
                w.vault.transferMargin(account, address(w.pool), total);
                // LP assets are the pool's balance less insurance: income for LPs alone needs no call.
                if (insuranceTokens != 0) w.pool.recordIncome(total, insuranceTokens);
            }
        }
    }

    /// @notice Reverts when `action` is paused in `marketId`.
    function requireNotPaused(Wiring memory w, uint256 marketId, IPauseGuardian.Action action) internal view {
        if (w.guardian.isPaused(marketId, action)) revert IMarginEngine.MarginEnginePaused(marketId, action);
    }

    /// @notice Reverts when `action` is paused globally, for the action, or in any market of
    ///         `marketBitmap`.
    function requireNotPausedIn(Wiring memory w, uint256 marketBitmap, IPauseGuardian.Action action) internal view {
        (bool paused, uint256 marketId) = w.guardian.isPausedAny(marketBitmap, action);
        if (paused) revert IMarginEngine.MarginEnginePaused(marketId, action);
    }

    /// @notice Number of set bits.
    function popcount(uint256 x) internal pure returns (uint256 n) {
        while (x != 0) {
            x &= x - 1;
            ++n;
        }
    }

    /// @notice Index of the lowest set bit of a non-zero `x`.
    function lowestBit(uint256 x) internal pure returns (uint256) {
        unchecked {
            return Math.log2(x & (~x + 1));
        }
    }

    function _activate(Layout storage s, address account) private {
        s.active.push(account);
        s.activeIndex[account] = s.active.length;
    }

    function _deactivate(Layout storage s, address account) private {
        uint256 index = s.activeIndex[account];
        uint256 last = s.active.length;
        if (index != last) {
            address moved = s.active[last - 1];
            s.active[index - 1] = moved;
            s.activeIndex[moved] = index;
        }
        s.active.pop();
        delete s.activeIndex[account];
    }
}
