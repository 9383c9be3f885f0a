// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {MediaRegistry} from "../MediaRegistry.sol";

/// @title The rejected variant of putting batch content hashes on chain (gas bench only; never deployed)
/// @notice `anchorBatchHashesInCalldata` takes the same arguments as {anchorBatch} but leaves the content hashes in
/// the transaction's calldata only: the event carries root, publisher, count, uri and time, and an auditor reads the
/// hashes from the transaction input. scripts/bench_gas.py measures it beside the event variant the registry uses.
contract BenchBatchHashesInCalldata is MediaRegistry {
    event BatchAnchoredHashesInCalldata(
        bytes32 indexed root, address indexed publisher, uint32 count, string uri, uint64 anchoredAt
    );

    function anchorBatchHashesInCalldata(bytes32 root, uint32 count, string calldata uri, bytes32[] calldata contentHashes)
        external
    {
        _checkActivePublisher(msg.sender);
        uint64 anchoredAt = _anchor(root, count, contentHashes.length, msg.sender);
        emit BatchAnchoredHashesInCalldata(root, msg.sender, count, uri, anchoredAt);
    }
}
