// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC4626} from "@openzeppelin/contracts/token/ERC20/extensions/ERC4626.sol";
import {IERC4626} from "@openzeppelin/contracts/interfaces/IERC4626.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {ILiquidityPool} from "../interfaces/ILiquidityPool.sol";
import {IMarginEngine} from "../interfaces/IMarginEngine.sol";
import {IPauseGuardian} from "../interfaces/IPauseGuardian.sol";
import {ConstantsLib} from "../libraries/ConstantsLib.sol";
import {RoleCheck} from "../governance/RoleCheck.sol";

/// @title LiquidityPool
/// @notice ERC-4626 vault of liquidity providers, counterparty of trader PnL, with an insurance buffer
///         (see `ILiquidityPool`).
/// @dev Accounting: `cashAssets() = token.balanceOf(pool) - insuranceBalance()`, and `totalAssets()` is
///      that cash minus traders' unrealised PnL marked at the oracle prices (`IMarginEngine.traderPnl`):
///      what the pool owes open winners is subtracted, what open losers owe it is added. Marking keeps
///      the share price from jumping when PnL is realised, so nobody can deposit just before a
///      liquidation or a losing close and redeem just after to take a share of a loss other LPs carried.
///      LP deposits, mints, withdrawals and redemptions need an `Ok` price for every market with open
///      interest (`LiquidityPoolBadPrice()` otherwise; the `max*` views then return 0); the views never
///      revert and mark a market without an `Ok` price at its last good price. Tokens that reach the pool
///      without `fundInsurance` or an insurance share in `recordIncome` (trading fees, losses, donations)
///      accrue to LPs.
///
///      Inflation attack: `_decimalsOffset()` is 6, so shares carry 6 more decimals than the token and
///      the conversions count 10**6 virtual shares and 1 virtual asset. An attacker who deposits 1 wei
///      first and then donates `D` tokens holds 10**6 shares next to 10**6 virtual ones, so about half of
///      the donation belongs to the virtual shares and is lost to the attacker, while a later deposit
///      loses to rounding less than one share, worth at most about `D / 10**6` tokens. Example (tested):
///      donating 10,000 USDC before a 10,000 USDC deposit costs the attacker about 5,000 USDC and the
///      depositor 0.0025 USDC.
///
///      Pauses: LP deposits and mints stop while `isPaused(0, Action.Deposit)`, withdrawals and
///      redemptions while `isPaused(0, Action.Withdraw)`; they then revert `LiquidityPoolPaused()` and
///      the matching `max*` view returns 0. Engine-only settlement functions are never paused here: the
///      engine applies its own pause checks.
///
///      Zero amounts: a deposit or mint that would move zero assets or mint zero shares, and a withdrawal
///      or redemption that would move zero assets or burn zero shares, revert `LiquidityPoolZeroAmount()`
///      (a depositor never donates by rounding, a redeemer never burns shares for nothing).
contract LiquidityPool is ERC4626, ReentrancyGuard, ILiquidityPool {
    using SafeERC20 for IERC20;

    /// @dev OpenZeppelin AccessControl's `DEFAULT_ADMIN_ROLE`, held in the guardian.
    bytes32 private constant DEFAULT_ADMIN_ROLE = 0x00;
    /// @dev Virtual share decimals against the first-depositor inflation attack.
    uint8 private constant DECIMALS_OFFSET = 6;

    IPauseGuardian private immutable _guardian;
    /// @dev 10 ** (18 - token decimals): WAD per token unit.
    uint256 private immutable _scale;

    address private _engine;
    uint256 private _insuranceTokens;

    /// @param token_ The settlement token (non-zero).
    /// @param guardian_ The `PauseGuardian` holding the roles and pause flags (non-zero).
    /// @param name_ The LP share name.
    /// @param symbol_ The LP share symbol.
    constructor(
        IERC20 token_,
        address guardian_,
        string memory name_,
        string memory symbol_
    ) ERC4626(token_) ERC20(name_, symbol_) {
        if (address(token_) == address(0) || guardian_ == address(0)) revert LiquidityPoolZeroAddress();
        _guardian = IPauseGuardian(guardian_);
        uint8 tokenDecimals = IERC20Metadata(address(token_)).decimals();
        if (tokenDecimals > 18) revert LiquidityPoolUnsupportedDecimals(tokenDecimals);
        _scale = 10 ** (18 - tokenDecimals);
    }

    /// @dev Reverts unless the caller is the wired engine (always reverts while it is unset).
    modifier onlyEngine() {
        if (msg.sender != _engine) revert LiquidityPoolUnauthorized(msg.sender);
        _;
    }

    /// @dev Reverts `LiquidityPoolBadPrice()` unless every market with open interest has an `Ok` price and,
    ///      for an LP entry, `LiquidityPoolInsolvent()` while shares exist and the marked assets are 0 (open
    ///      trader profit at least the pool's cash: a deposit would only pay what the pool owes). One read
    ///      of the engine's `traderPnl`.
    modifier whenMarkable(bool entry) {
        (uint256 assets, bool pricesOk) = _marked();
        if (!pricesOk) revert LiquidityPoolBadPrice();
        if (entry && assets == 0 && totalSupply() != 0) revert LiquidityPoolInsolvent();
        _;
    }

    /// @dev Reverts when `amountTokens` is zero.
    modifier nonZero(uint256 amountTokens) {
        if (amountTokens == 0) revert LiquidityPoolZeroAmount();
        _;
    }

    /// @dev Reverts `LiquidityPoolPaused()` while `action` is paused for account-level actions.
    modifier whenNotPaused(IPauseGuardian.Action action) {
        if (_isPaused(action)) revert LiquidityPoolPaused();
        _;
    }

    // ---------------------------------------------------------------------------------------------
    // Wiring
    // ---------------------------------------------------------------------------------------------

    /// @inheritdoc ILiquidityPool
    function setEngine(address engine_) external {
        if (!RoleCheck.has(_guardian, DEFAULT_ADMIN_ROLE, msg.sender, false))
            revert LiquidityPoolUnauthorized(msg.sender);
        if (engine_ == address(0)) revert LiquidityPoolZeroAddress();
        if (_engine != address(0)) revert LiquidityPoolEngineAlreadySet();
        _engine = engine_;
        emit EngineSet(engine_);
    }

    // ---------------------------------------------------------------------------------------------
    // Engine settlement
    // ---------------------------------------------------------------------------------------------

    /// @inheritdoc ILiquidityPool
    function payTrader(address to, uint256 amountTokens) external nonReentrant onlyEngine nonZero(amountTokens) {
        if (to == address(0)) revert LiquidityPoolZeroAddress();
        // Realised profit comes out of LP cash only: the insurance buffer is for bad debt, and the
        // marked assets need no engine call (the profit was already marked as owed).
        uint256 available = cashAssets();
        if (amountTokens > available) revert LiquidityPoolInsufficientLiquidity(amountTokens, available);
        emit TraderPaid(to, amountTokens);
        IERC20(asset()).safeTransfer(to, amountTokens);
    }

    /// @inheritdoc ILiquidityPool
    /// @dev Trusts the engine that `totalTokens` have already arrived; the LP part needs no bookkeeping
    ///      because it is part of the token balance.
    function recordIncome(uint256 totalTokens, uint256 insuranceTokens) external onlyEngine nonZero(totalTokens) {
        if (insuranceTokens > totalTokens) revert LiquidityPoolInvalidIncome(insuranceTokens, totalTokens);
        _insuranceTokens += insuranceTokens;
        emit IncomeRecorded(totalTokens - insuranceTokens, insuranceTokens);
    }

    /// @inheritdoc ILiquidityPool
    function recordBadDebt(
        address account,
        uint256 amountTokens
    ) external onlyEngine nonZero(amountTokens) returns (uint256 coveredByInsuranceTokens) {
        uint256 insurance = _insuranceTokens;
        coveredByInsuranceTokens = Math.min(insurance, amountTokens);
        _insuranceTokens = insurance - coveredByInsuranceTokens;
        emit BadDebtRecorded(account, amountTokens, coveredByInsuranceTokens, amountTokens - coveredByInsuranceTokens);
    }

    /// @inheritdoc ILiquidityPool
    /// @dev Permissionless and never paused: it only adds to the buffer.
    function fundInsurance(uint256 amountTokens) external nonReentrant nonZero(amountTokens) {
        _pullExact(msg.sender, amountTokens);
        _insuranceTokens += amountTokens;
        emit InsuranceFunded(msg.sender, amountTokens);
    }

    // ---------------------------------------------------------------------------------------------
    // ERC-4626 entry points (pause checks and reentrancy guard around OpenZeppelin's logic)
    // ---------------------------------------------------------------------------------------------

    /// @inheritdoc IERC4626
    /// @dev Refused while paused (`LiquidityPoolPaused`), without `Ok` prices (`LiquidityPoolBadPrice`) and
    ///      while shares exist but the marked assets are 0 (`LiquidityPoolInsolvent`); `mint` likewise.
    function deposit(
        uint256 assets,
        address receiver
    )
        public
        override(ERC4626, IERC4626)
        nonReentrant
        whenNotPaused(IPauseGuardian.Action.Deposit)
        whenMarkable(true)
        returns (uint256)
    {
        return super.deposit(assets, receiver);
    }

    /// @inheritdoc IERC4626
    function mint(
        uint256 shares,
        address receiver
    )
        public
        override(ERC4626, IERC4626)
        nonReentrant
        whenNotPaused(IPauseGuardian.Action.Deposit)
        whenMarkable(true)
        returns (uint256)
    {
        return super.mint(shares, receiver);
    }

    /// @inheritdoc IERC4626
    function withdraw(
        uint256 assets,
        address receiver,
        address owner
    )
        public
        override(ERC4626, IERC4626)
        nonReentrant
        whenNotPaused(IPauseGuardian.Action.Withdraw)
        whenMarkable(false)
        returns (uint256)
    {
        return super.withdraw(assets, receiver, owner);
    }

    /// @inheritdoc IERC4626
    function redeem(
        uint256 shares,
        address receiver,
        address owner
    )
        public
        override(ERC4626, IERC4626)
        nonReentrant
        whenNotPaused(IPauseGuardian.Action.Withdraw)
        whenMarkable(false)
        returns (uint256)
    {
        return super.redeem(shares, receiver, owner);
    }

    // ---------------------------------------------------------------------------------------------
    // ERC-4626 views
    // ---------------------------------------------------------------------------------------------

    /// @inheritdoc IERC4626
    /// @dev `cashAssets()` minus traders' unrealised PnL (`IMarginEngine.traderPnl`): a profit the pool owes
    ///      is subtracted (rounded up to token units), a loss owed to it is added (rounded down); 0 rather
    ///      than negative. Nothing is marked while the engine is unset. Never reverts.
    function totalAssets() public view override(ERC4626, IERC4626) returns (uint256 assets) {
        (assets, ) = _marked();
    }

    /// @inheritdoc ILiquidityPool
    /// @dev 0 should the buffer ever exceed the balance, which the engine's accounting must never allow.
    function cashAssets() public view returns (uint256) {
        uint256 balance = IERC20(asset()).balanceOf(address(this));
        uint256 insurance = _insuranceTokens;
        return balance > insurance ? balance - insurance : 0;
    }

    /// @inheritdoc IERC4626
    /// @dev 0 while LP deposits are paused, a price is not `Ok` or the pool is insolvent (see `deposit`).
    function maxDeposit(address receiver) public view override(ERC4626, IERC4626) returns (uint256) {
        return _depositsOpen() ? super.maxDeposit(receiver) : 0;
    }

    /// @inheritdoc IERC4626
    /// @dev 0 while LP deposits are paused, a price is not `Ok` or the pool is insolvent (see `deposit`).
    function maxMint(address receiver) public view override(ERC4626, IERC4626) returns (uint256) {
        return _depositsOpen() ? super.maxMint(receiver) : 0;
    }

    /// @inheritdoc IERC4626
    /// @dev `min(convertToAssets(balanceOf(owner)), freeLiquidity())`; 0 while withdrawals are paused or a
    ///      price is not `Ok`.
    function maxWithdraw(address owner) public view override(ERC4626, IERC4626) returns (uint256) {
        if (_isPaused(IPauseGuardian.Action.Withdraw) || !_pricesOk()) return 0;
        return Math.min(_convertToAssets(balanceOf(owner), Math.Rounding.Floor), freeLiquidity());
    }

    /// @inheritdoc IERC4626
    /// @dev `min(balanceOf(owner), free liquidity in shares rounded down)`, so redeeming the result never
    ///      pays more than `freeLiquidity()`; 0 while withdrawals are paused or a price is not `Ok`.
    function maxRedeem(address owner) public view override(ERC4626, IERC4626) returns (uint256) {
        if (_isPaused(IPauseGuardian.Action.Withdraw) || !_pricesOk()) return 0;
        return Math.min(balanceOf(owner), _convertToShares(freeLiquidity(), Math.Rounding.Floor));
    }

    // ---------------------------------------------------------------------------------------------
    // Pool views
    // ---------------------------------------------------------------------------------------------

    /// @inheritdoc ILiquidityPool
    function insuranceBalance() external view returns (uint256) {
        return _insuranceTokens;
    }

    /// @inheritdoc ILiquidityPool
    /// @dev `a - min(a, engine.requiredLiquidity())` with `a = min(totalAssets(), cashAssets())`: what open
    ///      losers owe is not cash yet. Nothing is required while the engine is unset.
    function freeLiquidity() public view returns (uint256) {
        uint256 assets = Math.min(totalAssets(), cashAssets());
        address engine_ = _engine;
        uint256 required = engine_ == address(0) ? 0 : IMarginEngine(engine_).requiredLiquidity();
        return assets - Math.min(assets, required);
    }

    /// @inheritdoc ILiquidityPool
    function engine() external view returns (address) {
        return _engine;
    }

    /// @inheritdoc ILiquidityPool
    function guardian() external view returns (address) {
        return address(_guardian);
    }

    // ---------------------------------------------------------------------------------------------
    // Internal
    // ---------------------------------------------------------------------------------------------

    /// @dev Rejects deposits that would move zero assets or mint zero shares.
    function _deposit(address caller, address receiver, uint256 assets, uint256 shares) internal override {
        if (assets == 0 || shares == 0) revert LiquidityPoolZeroAmount();
        super._deposit(caller, receiver, assets, shares);
    }

    /// @dev Rejects withdrawals that would move zero assets or burn zero shares.
    function _withdraw(
        address caller,
        address receiver,
        address owner,
        uint256 assets,
        uint256 shares
    ) internal override {
        if (assets == 0 || shares == 0) revert LiquidityPoolZeroAmount();
        super._withdraw(caller, receiver, owner, assets, shares);
    }

    /// @dev Used by OpenZeppelin's `_deposit`: pulls the assets and refuses fee-on-transfer deliveries.
    function _transferIn(address from, uint256 assets) internal override {
        _pullExact(from, assets);
    }

    /// @dev Virtual shares against the first-depositor inflation attack (see the contract NatSpec).
    function _decimalsOffset() internal pure override returns (uint8) {
        return DECIMALS_OFFSET;
    }

    /// @dev Pulls `amountTokens` from `from` and reverts unless exactly that amount arrived.
    function _pullExact(address from, uint256 amountTokens) private {
        IERC20 token_ = IERC20(asset());
        uint256 balanceBefore = token_.balanceOf(address(this));
        token_.safeTransferFrom(from, address(this), amountTokens);
        uint256 receivedTokens = token_.balanceOf(address(this)) - balanceBefore;
        if (receivedTokens != amountTokens) revert LiquidityPoolFeeOnTransfer(amountTokens, receivedTokens);
    }

    /// @dev Whether `deposit` and `mint` would pass their pause, price and solvency checks.
    function _depositsOpen() private view returns (bool) {
        if (_isPaused(IPauseGuardian.Action.Deposit)) return false;
        (uint256 assets, bool pricesOk) = _marked();
        return pricesOk && (assets != 0 || totalSupply() == 0);
    }

    /// @dev Whether every market with open interest has an `Ok` price (true while the engine is unset).
    function _pricesOk() private view returns (bool pricesOk) {
        (, pricesOk) = _marked();
    }

    /// @dev `totalAssets()` and whether every market with open interest has an `Ok` price, from one read
    ///      of the engine's `traderPnl` (nothing marked, prices taken as `Ok`, while the engine is unset).
    function _marked() private view returns (uint256 assets, bool pricesOk) {
        uint256 cash = cashAssets();
        address engine_ = _engine;
        if (engine_ == address(0)) return (cash, true);
        int256 pnlWad;
        (pnlWad, pricesOk) = IMarginEngine(engine_).traderPnl();
        if (pnlWad <= 0) return (cash + uint256(-pnlWad) / _scale, pricesOk);
        uint256 owed = Math.ceilDiv(uint256(pnlWad), _scale);
        assets = cash > owed ? cash - owed : 0;
    }

    /// @dev Whether `action` is paused for account-level actions (market id 0).
    function _isPaused(IPauseGuardian.Action action) private view returns (bool) {
        return _guardian.isPaused(ConstantsLib.NO_MARKET, action);
    }
}
