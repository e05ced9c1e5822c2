// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {IMarginEngine} from "../interfaces/IMarginEngine.sol";
import {ICollateralVault} from "../interfaces/ICollateralVault.sol";
import {IChainlinkOracleAdapter} from "../interfaces/IChainlinkOracleAdapter.sol";
import {Policy} from "../interfaces/RebalanceTypes.sol";

/// @title HedgedVault
/// @notice Example integration: a vault whose depositors share one Ballast account holding a short
///         hedge (e.g. for an LP or treasury that is long the asset elsewhere). Deposits go partly to
///         margin and partly to reserve, and the short grows with them at a fixed leverage; the account's
///         rebalancing policy (top-up from reserve, then deleverage) keeps the hedge out of liquidation
///         without anyone watching. Redemptions close a proportional part of the hedge.
/// @dev Shares are priced at net asset value: the account's equity plus its reserve. The engine trades
///      only through two-step orders: a deposit submits the order that grows the short, and a redemption
///      is requested (shares in escrow, an order closing their part of the short submitted) and completed
///      by anyone once keepers have executed that order. If the order lapsed instead, completion still
///      pays the shares' part of margin and reserve when the engine's initial-margin check allows it,
///      leaving the others a larger short for the policy to manage. Not audited; an illustration of the
///      interfaces, not a product.
contract HedgedVault is ERC20, ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// @notice Thrown when an amount is zero or rounds to zero shares or assets.
    error HedgedVaultZeroAmount();
    /// @notice Thrown when the caller already has a redemption in progress.
    error HedgedVaultRedemptionPending();
    /// @notice Thrown when completing a redemption that does not exist.
    error HedgedVaultNoRedemption();
    /// @notice Thrown when completing a redemption whose order is still pending in the engine.
    /// @param orderId The order.
    error HedgedVaultOrderPending(uint256 orderId);
    /// @notice Thrown when the hedged market's price is not `Ok`.
    /// @param status The oracle status.
    error HedgedVaultBadPrice(IChainlinkOracleAdapter.Status status);

    /// @notice Emitted when a depositor entered.
    event Deposited(address indexed owner, uint256 assets, uint256 shares);
    /// @notice Emitted when a holder requested a redemption.
    event RedeemRequested(address indexed owner, uint256 shares, uint256 orderId);
    /// @notice Emitted when a holder redeemed.
    event Redeemed(address indexed owner, uint256 shares, uint256 assets);

    uint256 private constant WAD = 1e18;
    /// @notice How long the vault's orders stay executable at most (seconds).
    uint256 public constant ORDER_LIFETIME = 1 hours;

    /// @dev A redemption in progress: shares in escrow and the order closing their part of the short.
    struct Redemption {
        uint256 shares;
        uint256 orderId;
    }

    /// @notice Redemptions in progress by owner.
    mapping(address owner => Redemption) public redemptions;

    IMarginEngine public immutable engine;
    ICollateralVault public immutable collateral;
    IERC20 public immutable asset;
    uint256 public immutable marketId;
    /// @notice Short notional per unit of margin (WAD).
    uint256 public immutable leverageWad;
    /// @notice Share of each deposit kept as reserve (WAD).
    uint256 public immutable reserveShareWad;
    /// @dev 10**(18 − token decimals).
    uint256 private immutable _scale;

    /// @param engine_ Ballast's margin engine.
    /// @param marketId_ The market to short.
    /// @param leverageWad_ Short notional per unit of margin (WAD).
    /// @param reserveShareWad_ Share of deposits kept as reserve (WAD, < 1).
    /// @param policy The account's rebalancing policy (an approved strategy).
    constructor(
        address engine_,
        uint256 marketId_,
        uint256 leverageWad_,
        uint256 reserveShareWad_,
        Policy memory policy
    ) ERC20("Ballast Hedged Vault", "bHEDGE") {
        engine = IMarginEngine(engine_);
        collateral = ICollateralVault(IMarginEngine(engine_).vault());
        asset = IERC20(collateral.token());
        marketId = marketId_;
        leverageWad = leverageWad_;
        reserveShareWad = reserveShareWad_;
        _scale = 10 ** (18 - ERC20(address(asset)).decimals());
        asset.forceApprove(address(collateral), type(uint256).max);
        IMarginEngine(engine_).setPolicy(policy);
    }

    /// @notice Net asset value: the account's equity plus its reserve (token units, rounded down).
    function totalAssets() public view returns (uint256) {
        int256 equityWad = engine.equity(address(this));
        uint256 equityTokens = equityWad > 0 ? uint256(equityWad) / _scale : 0;
        return equityTokens + collateral.reserveOf(address(this));
    }

    /// @notice Deposits `assets`, of which `reserveShareWad` go to reserve and the rest to margin, and
    ///         submits an order growing the short by `margin · leverage` of notional at the oracle price.
    /// @return shares Shares minted to the caller (rounded down).
    function deposit(uint256 assets) external nonReentrant returns (uint256 shares) {
        if (assets == 0) revert HedgedVaultZeroAmount();
        uint256 supply = totalSupply();
        shares = supply == 0 ? assets : Math.mulDiv(assets, supply, totalAssets());
        if (shares == 0) revert HedgedVaultZeroAmount();
        asset.safeTransferFrom(msg.sender, address(this), assets);
        uint256 reserve = Math.mulDiv(assets, reserveShareWad, WAD);
        uint256 margin = assets - reserve;
        if (reserve != 0) collateral.depositReserve(address(this), reserve);
        collateral.depositMargin(address(this), margin);
        uint256 notionalWad = Math.mulDiv(margin * _scale, leverageWad, WAD);
        uint256 sizeWad = Math.mulDiv(notionalWad, WAD, _price());
        if (sizeWad != 0) engine.submitOrder(marketId, -int256(sizeWad), 0, block.timestamp + ORDER_LIFETIME);
        _mint(msg.sender, shares);
        emit Deposited(msg.sender, assets, shares);
    }

    /// @notice Requests the redemption of `shares`: moves them into escrow and submits an order closing the
    ///         same share of the short (none when there is no short).
    /// @return orderId The engine order (0 when nothing is to close).
    function requestRedeem(uint256 shares) external nonReentrant returns (uint256 orderId) {
        if (shares == 0) revert HedgedVaultZeroAmount();
        if (redemptions[msg.sender].shares != 0) revert HedgedVaultRedemptionPending();
        uint256 supply = totalSupply();
        _transfer(msg.sender, address(this), shares);
        int256 size = engine.position(address(this), marketId).sizeWad;
        int256 close = shares == supply ? -size : -(size * int256(shares)) / int256(supply);
        if (close != 0) orderId = engine.submitOrder(marketId, close, 0, block.timestamp + ORDER_LIFETIME);
        redemptions[msg.sender] = Redemption(shares, orderId);
        emit RedeemRequested(msg.sender, shares, orderId);
    }

    /// @notice Completes `owner`'s redemption once its order is no longer pending: burns the escrowed
    ///         shares and pays `owner` the same share of margin and reserve. Anyone may call it.
    /// @return assets Tokens paid to `owner`.
    function completeRedeem(address owner) external nonReentrant returns (uint256 assets) {
        Redemption memory r = redemptions[owner];
        if (r.shares == 0) revert HedgedVaultNoRedemption();
        if (r.orderId != 0 && engine.pendingOrder(r.orderId).account != address(0))
            revert HedgedVaultOrderPending(r.orderId);
        delete redemptions[owner];
        uint256 supply = totalSupply();
        _burn(address(this), r.shares);
        uint256 margin = Math.mulDiv(collateral.marginOf(address(this)), r.shares, supply);
        uint256 reserve = Math.mulDiv(collateral.reserveOf(address(this)), r.shares, supply);
        if (margin != 0) engine.withdrawMargin(margin, owner);
        if (reserve != 0) collateral.withdrawReserve(reserve, owner);
        assets = margin + reserve;
        if (assets == 0) revert HedgedVaultZeroAmount();
        emit Redeemed(owner, r.shares, assets);
    }

    function _price() private view returns (uint256 priceWad) {
        IChainlinkOracleAdapter oracle = IChainlinkOracleAdapter(engine.oracle());
        IChainlinkOracleAdapter.Status status;
        (priceWad, status, ) = oracle.price(engine.marketConfig(marketId).asset);
        if (status != IChainlinkOracleAdapter.Status.Ok) revert HedgedVaultBadPrice(status);
    }
}
