// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title ICollateralVault
/// @notice Custodies the settlement token (e.g. USDC) for traders. Each account has a `margin`
///         balance, which backs its positions and which only the engine can move out, and a `reserve`
///         balance, which backs nothing and which its owner can withdraw at any time, paused or not.
/// @dev Balances are kept in token units. Invariants: `token.balanceOf(vault) == totalHeld()` (every
///      margin and every plain reserve), and for every ERC-4626 reserve vault `V`,
///      `V.balanceOf(vault) == Σ reserveSharesOf(a)` over the accounts in `V`. Tokens that deliver less
///      than the amount transferred (fee-on-transfer) are refused by measuring the balance delta of every
///      deposit.
interface ICollateralVault {
    /// @notice Emitted when margin was deposited.
    /// @param account The account credited.
    /// @param from The payer.
    /// @param amountTokens The amount (token units).
    event MarginDeposited(address indexed account, address indexed from, uint256 amountTokens);
    /// @notice Emitted when the engine moved margin out of the vault.
    /// @param account The account debited.
    /// @param to The recipient (owner, pool, keeper or liquidator).
    /// @param amountTokens The amount (token units).
    event MarginTransferred(address indexed account, address indexed to, uint256 amountTokens);
    /// @notice Emitted when the engine moved margin from one account to another (keeper rewards).
    /// @param from The account debited.
    /// @param to The account credited.
    /// @param amountTokens The amount (token units).
    event MarginMoved(address indexed from, address indexed to, uint256 amountTokens);
    /// @notice Emitted when the engine credited margin for tokens that arrived from the pool.
    /// @param account The account credited.
    /// @param amountTokens The amount (token units).
    event MarginCredited(address indexed account, uint256 amountTokens);
    /// @notice Emitted when reserve was deposited.
    /// @param account The account credited.
    /// @param from The payer.
    /// @param amountTokens The amount (token units).
    event ReserveDeposited(address indexed account, address indexed from, uint256 amountTokens);
    /// @notice Emitted when an owner withdrew reserve.
    /// @param account The owner.
    /// @param to The recipient.
    /// @param amountTokens The amount (token units).
    event ReserveWithdrawn(address indexed account, address indexed to, uint256 amountTokens);
    /// @notice Emitted when the engine moved reserve into margin (top-up).
    /// @param account The account.
    /// @param amountTokens The amount (token units).
    event ReserveMovedToMargin(address indexed account, uint256 amountTokens);
    /// @notice Emitted when the engine moved margin back into reserve (sweep).
    /// @param account The account.
    /// @param amountTokens The amount (token units).
    event MarginMovedToReserve(address indexed account, uint256 amountTokens);
    /// @notice Emitted once, when the engine was wired.
    /// @param engine The margin engine.
    event EngineSet(address indexed engine);

    /// @notice Emitted when governance approved or revoked an ERC-4626 vault for reserves.
    /// @param yieldVault The ERC-4626 vault (its asset is the settlement token).
    /// @param approved Whether new reserves may be placed in it.
    event ReserveVaultApproval(address indexed yieldVault, bool approved);
    /// @notice Emitted when an owner moved its reserve into (or out of) an ERC-4626 vault.
    /// @param account The owner.
    /// @param yieldVault The vault now holding the reserve (zero: plain tokens).
    /// @param amountTokens The reserve value moved (token units).
    event ReserveVaultSelected(address indexed account, address indexed yieldVault, uint256 amountTokens);

    /// @notice Thrown when an ERC-4626 vault is not approved for new reserves, or its asset is not the
    ///         settlement token.
    /// @param yieldVault The vault.
    error CollateralVaultUnapprovedReserveVault(address yieldVault);
    /// @notice Thrown when an owner selects the reserve vault its reserve is already in (nothing to move).
    /// @param account The owner.
    /// @param yieldVault The vault already selected (zero: plain tokens).
    error CollateralVaultReserveVaultAlreadySelected(address account, address yieldVault);

    /// @notice Thrown when an amount is zero, or when a deposit into an ERC-4626 reserve vault would
    ///         mint zero shares (the amount is below the value of one share).
    error CollateralVaultZeroAmount();
    /// @notice Thrown when an address argument is zero.
    error CollateralVaultZeroAddress();
    /// @notice Thrown when a caller is not the engine (or, for `setEngine`, not the admin).
    /// @param caller The caller.
    error CollateralVaultUnauthorized(address caller);
    /// @notice Thrown when the engine was already wired.
    error CollateralVaultEngineAlreadySet();
    /// @notice Thrown when a deposit delivered a different amount than was transferred.
    /// @param expectedTokens The amount transferred.
    /// @param receivedTokens The balance delta observed.
    error CollateralVaultFeeOnTransfer(uint256 expectedTokens, uint256 receivedTokens);
    /// @notice Thrown when an account's margin is below the amount to move.
    /// @param account The account.
    /// @param requestedTokens The amount requested.
    /// @param availableTokens The margin available.
    error CollateralVaultInsufficientMargin(address account, uint256 requestedTokens, uint256 availableTokens);
    /// @notice Thrown when an account's reserve is below the amount to move.
    /// @param account The account.
    /// @param requestedTokens The amount requested.
    /// @param availableTokens The reserve available.
    error CollateralVaultInsufficientReserve(address account, uint256 requestedTokens, uint256 availableTokens);

    /// @notice Wires the engine, once. Admin only.
    /// @param engine The margin engine.
    function setEngine(address engine) external;

    /// @notice Deposits `amountTokens` of margin for `account`, paid by the caller. Never paused.
    /// @param account The account credited (any account: depositing for another only adds to it).
    /// @param amountTokens The amount (token units).
    function depositMargin(address account, uint256 amountTokens) external;

    /// @notice Deposits `amountTokens` of reserve for `account`, paid by the caller. Never paused.
    /// @param account The account credited.
    /// @param amountTokens The amount (token units).
    function depositReserve(address account, uint256 amountTokens) external;

    /// @notice Withdraws the caller's reserve. Never paused and needs no price.
    /// @param amountTokens The amount (token units).
    /// @param to The recipient.
    function withdrawReserve(uint256 amountTokens, address to) external;

    /// @notice Approves or revokes an ERC-4626 vault (whose asset is the settlement token) for reserves.
    ///         Admin only. Revoking stops new selections; reserves already inside stay withdrawable.
    /// @param yieldVault The vault.
    /// @param approved Whether it is approved.
    function setReserveVaultApproval(address yieldVault, bool approved) external;

    /// @notice Moves the caller's whole reserve into `yieldVault` (approved), or back to plain tokens
    ///         with the zero address. Later reserve deposits follow the choice. Never paused.
    /// @param yieldVault The approved ERC-4626 vault, or zero.
    function selectReserveVault(address yieldVault) external;

    /// @notice The ERC-4626 vault holding `account`'s reserve (zero: plain tokens).
    function reserveVaultOf(address account) external view returns (address);

    /// @notice Shares of `reserveVaultOf(account)` held for `account` (0 for plain reserves).
    function reserveSharesOf(address account) external view returns (uint256);

    /// @notice Whether `yieldVault` is approved for new reserves.
    function isReserveVaultApproved(address yieldVault) external view returns (bool);

    /// @notice Moves `amountTokens` of `account`'s margin out to `to`. Engine only.
    /// @param account The account debited.
    /// @param to The recipient.
    /// @param amountTokens The amount (token units).
    function transferMargin(address account, address to, uint256 amountTokens) external;

    /// @notice `transferMargin(account, to, amountTokens)` and `moveMargin(account, payee, payTokens)` in one
    ///         call (the margin must cover both). Engine only.
    /// @param account The account debited.
    /// @param to The recipient of the tokens.
    /// @param amountTokens The amount transferred out (token units, non-zero).
    /// @param payee The account credited with `payTokens` of margin.
    /// @param payTokens The amount moved to `payee` (token units, may be zero).
    function transferMarginAndPay(
        address account,
        address to,
        uint256 amountTokens,
        address payee,
        uint256 payTokens
    ) external;

    /// @notice Moves `amountTokens` of margin from `from` to `to` inside the vault (no token transfer).
    ///         Engine only; pays keeper rewards, which their keeper withdraws with
    ///         `IMarginEngine.withdrawMargin`.
    /// @param from The account debited.
    /// @param to The account credited.
    /// @param amountTokens The amount (token units).
    function moveMargin(address from, address to, uint256 amountTokens) external;

    /// @notice Credits margin for tokens the pool has just sent to the vault. Engine only.
    /// @param account The account credited.
    /// @param amountTokens The amount (token units).
    function creditMargin(address account, uint256 amountTokens) external;

    /// @notice Moves reserve into margin. Engine only. A reserve held in an ERC-4626 vault redeems
    ///         exactly `amountTokens` (`withdraw`, burning the shares that needs, rounded up).
    /// @param account The account.
    /// @param amountTokens The amount (token units).
    function reserveToMargin(address account, uint256 amountTokens) external;

    /// @notice `reserveToMargin(account, amountTokens)` then `moveMargin(account, payee, payTokens)` in
    ///         one call (a top-up rebalance and its keeper reward). Engine only.
    /// @param account The account.
    /// @param amountTokens Reserve moved into margin (token units).
    /// @param payee The account credited with `payTokens` of margin (the keeper).
    /// @param payTokens Margin moved to `payee` afterwards (token units; may be 0).
    function reserveToMarginAndPay(address account, uint256 amountTokens, address payee, uint256 payTokens) external;

    /// @notice Moves margin into reserve (deposited into the account's ERC-4626 vault, if any). Engine only.
    /// @param account The account.
    /// @param amountTokens The amount (token units).
    function marginToReserve(address account, uint256 amountTokens) external;

    /// @notice Margin of `account` (token units).
    function marginOf(address account) external view returns (uint256);

    /// @notice Reserve of `account` (token units): for a reserve held in an ERC-4626 vault, what its
    ///         shares can withdraw now (`previewRedeem`, rounded down).
    function reserveOf(address account) external view returns (uint256);

    /// @notice Margin and reserve of `account` in one call (token units; reserve as `reserveOf`).
    function balancesOf(address account) external view returns (uint256 marginTokens, uint256 reserveTokens);

    /// @notice Sum of all margin balances and of all reserves held as plain tokens (token units): the
    ///         tokens the vault holds for accounts. One total, so that moving tokens between margin and
    ///         reserve or between accounts writes none.
    function totalHeld() external view returns (uint256);

    /// @notice The settlement token.
    function token() external view returns (address);

    /// @notice The margin engine (zero until wired).
    function engine() external view returns (address);

    /// @notice The access-control list.
    function guardian() external view returns (address);
}
