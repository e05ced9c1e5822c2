// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title ICollateralVault
/// @notice Custodies the settlement token (e.g. USDC) for traders. Each account has a `margin`
///         balance, which backs its positions and which only the engine can move out, and a `reserve`
///         balance, which backs nothing and which its owner can withdraw at any time, paused or not.
/// @dev Balances are kept in token units. Invariant: `token.balanceOf(vault) == totalMargin() +
///      totalReserve()`. Tokens that deliver less than the amount transferred (fee-on-transfer) are
///      refused by measuring the balance delta of every deposit.
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

    /// @notice Thrown when an amount is zero.
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

    /// @notice Moves `amountTokens` of `account`'s margin out to `to`. Engine only.
    /// @param account The account debited.
    /// @param to The recipient.
    /// @param amountTokens The amount (token units).
    function transferMargin(address account, address to, uint256 amountTokens) external;

    /// @notice Credits margin for tokens the pool has just sent to the vault. Engine only.
    /// @param account The account credited.
    /// @param amountTokens The amount (token units).
    function creditMargin(address account, uint256 amountTokens) external;

    /// @notice Moves reserve into margin. Engine only.
    /// @param account The account.
    /// @param amountTokens The amount (token units).
    function reserveToMargin(address account, uint256 amountTokens) external;

    /// @notice Moves margin into reserve. Engine only.
    /// @param account The account.
    /// @param amountTokens The amount (token units).
    function marginToReserve(address account, uint256 amountTokens) external;

    /// @notice Margin of `account` (token units).
    function marginOf(address account) external view returns (uint256);

    /// @notice Reserve of `account` (token units).
    function reserveOf(address account) external view returns (uint256);

    /// @notice Sum of all margin balances (token units).
    function totalMargin() external view returns (uint256);

    /// @notice Sum of all reserve balances (token units).
    function totalReserve() external view returns (uint256);

    /// @notice The settlement token.
    function token() external view returns (address);

    /// @notice The margin engine (zero until wired).
    function engine() external view returns (address);

    /// @notice The access-control list.
    function guardian() external view returns (address);
}
