// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {Hashes} from "@openzeppelin/contracts/utils/cryptography/Hashes.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";

import {IMediaRegistry} from "./IMediaRegistry.sol";

/// @title Media provenance registry (first version: admin-managed publishers, direct registration)
/// @notice See {IMediaRegistry}. The owner (the deployer, transferable in two steps) is the admin that adds,
/// suspends and re-enables publishers.
/// @dev The EIP-712 domain ("MediaRegistry", "1", chain id, this address) and the per-publisher nonces exist from
/// this version on so that clients can already bind signatures to them; the signed path comes later.
contract MediaRegistry is IMediaRegistry, Ownable2Step, EIP712, Nonces {
    /// @inheritdoc IMediaRegistry
    /// @dev The preimage, one line (also `REGISTRATION_TYPE_STRING` in ledger/eip712.py):
    /// Registration(bytes32 contentHash,bytes32 pixelHash,bytes32 pdqHash,bytes32 manifestHash,bytes32 parent,address publisher,uint256 nonce,uint256 deadline)
    bytes32 public constant REGISTRATION_TYPEHASH = keccak256(
        "Registration(bytes32 contentHash,bytes32 pixelHash,bytes32 pdqHash,bytes32 manifestHash,bytes32 parent,"
        "address publisher,uint256 nonce,uint256 deadline)"
    );

    mapping(bytes32 uid => Record) private _records;
    mapping(address publisher => PublisherInfo) private _publishers;

    constructor() Ownable(msg.sender) EIP712("MediaRegistry", "1") {}

    // ------------------------------------------------------------------------------------------------ admin

    /// @inheritdoc IMediaRegistry
    function addPublisher(address publisher, string calldata name, string calldata domain) external onlyOwner {
        if (publisher == address(0)) revert MediaRegistryZeroAddress();
        PublisherInfo storage info = _publishers[publisher];
        if (info.addedAt != 0) revert MediaRegistryPublisherExists(publisher);
        info.name = name;
        info.domain = domain;
        info.addedAt = _time();
        emit PublisherAdded(publisher, name, domain);
    }

    /// @inheritdoc IMediaRegistry
    function suspendPublisher(address publisher) external onlyOwner {
        PublisherInfo storage info = _publishers[publisher];
        if (info.addedAt == 0) revert MediaRegistryUnknownPublisher(publisher);
        if (info.suspendedAt != 0) revert MediaRegistryPublisherSuspended(publisher);
        info.suspendedAt = _time();
        emit PublisherSuspended(publisher);
    }

    /// @inheritdoc IMediaRegistry
    function reenablePublisher(address publisher) external onlyOwner {
        PublisherInfo storage info = _publishers[publisher];
        if (info.addedAt == 0) revert MediaRegistryUnknownPublisher(publisher);
        if (info.suspendedAt == 0) revert MediaRegistryPublisherNotSuspended(publisher);
        info.suspendedAt = 0;
        emit PublisherReenabled(publisher);
    }

    // ------------------------------------------------------------------------------------------ registration

    /// @inheritdoc IMediaRegistry
    function register(Registration calldata r) external returns (bytes32 uid) {
        _checkActivePublisher(msg.sender);
        uid = _register(r, msg.sender);
    }

    // ------------------------------------------------------------------------------------------------ views

    /// @inheritdoc IMediaRegistry
    function getRecord(bytes32 uid) external view returns (Record memory) {
        return _records[uid];
    }

    /// @inheritdoc IMediaRegistry
    function getPublisher(address publisher) external view returns (PublisherInfo memory) {
        return _publishers[publisher];
    }

    /// @inheritdoc IMediaRegistry
    function isActivePublisher(address publisher) external view returns (bool) {
        PublisherInfo storage info = _publishers[publisher];
        return info.addedAt != 0 && info.suspendedAt == 0;
    }

    /// @inheritdoc IMediaRegistry
    function recordUid(address publisher, bytes32 contentHash) external pure returns (bytes32) {
        return _recordUid(publisher, contentHash);
    }

    /// @inheritdoc IMediaRegistry
    // solhint-disable-next-line func-name-mixedcase
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @inheritdoc IMediaRegistry
    function nonces(address publisher) public view override(IMediaRegistry, Nonces) returns (uint256) {
        return super.nonces(publisher);
    }

    /// @inheritdoc IMediaRegistry
    function hashRegistration(Registration calldata r, address publisher, uint256 nonce, uint256 deadline)
        external
        view
        returns (bytes32)
    {
        return _hashRegistration(r, publisher, nonce, deadline);
    }

    // ------------------------------------------------------------------------------------------------ internal

    /// @dev Current time as stored in records; a test harness may override it.
    function _time() internal view virtual returns (uint64) {
        return uint64(block.timestamp);
    }

    /// @dev Reverts unless `publisher` was added and is not suspended.
    function _checkActivePublisher(address publisher) internal view {
        PublisherInfo storage info = _publishers[publisher];
        if (info.addedAt == 0) revert MediaRegistryNotPublisher(publisher);
        if (info.suspendedAt != 0) revert MediaRegistryPublisherSuspended(publisher);
    }

    /// @dev Writes the record of `r` for an already authorised `publisher` and emits {Registered}.
    function _register(Registration calldata r, address publisher) internal returns (bytes32 uid) {
        bytes32 contentHash = r.contentHash;
        if (contentHash == bytes32(0)) revert MediaRegistryEmptyContentHash();
        uid = _recordUid(publisher, contentHash);
        Record storage record = _records[uid];
        if (record.publisher != address(0)) revert MediaRegistryAlreadyRegistered(uid);
        bytes32 parent = r.parent;
        if (parent != bytes32(0) && _records[parent].publisher == address(0)) {
            revert MediaRegistryUnknownParent(parent);
        }
        uint64 registeredAt = _time();
        _records[uid] = Record({publisher: publisher, registeredAt: registeredAt, flags: 0});
        emit Registered(uid, publisher, contentHash, r.pixelHash, r.pdqHash, r.manifestHash, parent, registeredAt);
    }

    /// @dev `keccak256(abi.encode(publisher, contentHash))`, hashed in scratch space.
    function _recordUid(address publisher, bytes32 contentHash) internal pure returns (bytes32) {
        return Hashes.efficientKeccak256(bytes32(uint256(uint160(publisher))), contentHash);
    }

    /// @dev EIP-712 digest of a registration signed by `publisher` with `nonce` and `deadline`.
    function _hashRegistration(Registration calldata r, address publisher, uint256 nonce, uint256 deadline)
        internal
        view
        returns (bytes32)
    {
        bytes32 structHash = keccak256(
            abi.encode(
                REGISTRATION_TYPEHASH,
                r.contentHash,
                r.pixelHash,
                r.pdqHash,
                r.manifestHash,
                r.parent,
                publisher,
                nonce,
                deadline
            )
        );
        return _hashTypedDataV4(structHash);
    }
}
