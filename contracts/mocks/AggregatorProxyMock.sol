// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";

/// @title AggregatorProxyMock
/// @notice The shape of a Chainlink feed proxy (as ETH/USD on mainnet: the address integrators read is a
///         proxy in front of the aggregator): every read costs a call to the proxy, which reads its current
///         phase and forwards to the aggregator, and round ids carry the phase in their top bits
///         (`phaseId << 64 | aggregatorRoundId`). Like the mainnet proxy, each read also checks its access
///         controller slot (zero: open to all). Used to measure gas against that shape; the rounds are the
///         aggregator's own. Not part of the protocol.
contract AggregatorProxyMock is AggregatorV3Interface {
    uint256 private constant PHASE_OFFSET = 64;

    /// @dev The current phase: its id and its aggregator, in one slot as on mainnet.
    struct Phase {
        uint16 id;
        AggregatorV3Interface aggregator;
    }

    Phase private _phase;
    /// @dev Zero: every caller may read (as ETH/USD on mainnet). Only read, to cost what the proxy's
    ///      access check costs.
    address private _accessController;

    /// @notice Thrown when an access controller is set (never, here).
    error AggregatorProxyMockNoAccess(address caller);

    modifier checkAccess() {
        if (_accessController != address(0)) revert AggregatorProxyMockNoAccess(msg.sender);
        _;
    }

    /// @param aggregator The aggregator of phase 1.
    constructor(AggregatorV3Interface aggregator) {
        _phase = Phase(1, aggregator);
    }

    /// @inheritdoc AggregatorV3Interface
    function decimals() external view returns (uint8) {
        return _phase.aggregator.decimals();
    }

    /// @inheritdoc AggregatorV3Interface
    function description() external view returns (string memory) {
        return _phase.aggregator.description();
    }

    /// @inheritdoc AggregatorV3Interface
    function version() external view returns (uint256) {
        return _phase.aggregator.version();
    }

    /// @inheritdoc AggregatorV3Interface
    function getRoundData(
        uint80 roundId
    )
        external
        view
        checkAccess
        returns (uint80, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        Phase memory phase = _phase;
        if (uint16(roundId >> PHASE_OFFSET) != phase.id) return (roundId, 0, 0, 0, 0);
        uint80 aggregatorRound;
        (aggregatorRound, answer, startedAt, updatedAt, answeredInRound) = phase.aggregator.getRoundData(
            uint64(roundId)
        );
        return (roundId, answer, startedAt, updatedAt, _withPhase(phase.id, answeredInRound));
    }

    /// @inheritdoc AggregatorV3Interface
    function latestRoundData()
        external
        view
        checkAccess
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        Phase memory phase = _phase;
        (roundId, answer, startedAt, updatedAt, answeredInRound) = phase.aggregator.latestRoundData();
        return (_withPhase(phase.id, roundId), answer, startedAt, updatedAt, _withPhase(phase.id, answeredInRound));
    }

    function _withPhase(uint16 phaseId, uint80 round) private pure returns (uint80) {
        return uint80((uint256(phaseId) << PHASE_OFFSET) | round);
    }
}
