// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {Hashes} from "@openzeppelin/contracts/utils/cryptography/Hashes.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";

import {IMediaRegistry} from "./IMediaRegistry.sol";

/// @title Media provenance registry
/// @notice See {IMediaRegistry}. The owner (the deployer, transferable in two steps, never renounceable) is the
/// admin that adds, suspends and re-enables publishers, and that may retract any image (recorded as such).
/// @dev Storage (declaration order; inherited first): Ownable `_owner` (slot 0), Ownable2Step `_pendingOwner` (1),
/// EIP712 `_nameFallback`/`_versionFallback` (2, 3; unused: the name and version are short strings held in
/// immutables), Nonces `_nonces` (4), then `_records` (5), `_publishers` (6), `_revocations` (7), `_batches` (8).
/// Each record, revocation and batch is one packed slot; hashes live in events.
contract MediaRegistry is IMediaRegistry, Ownable2Step, EIP712, Nonces {
    /// @inheritdoc IMediaRegistry
    uint32 public constant RECORD_REVOKED = 1;

    /// @inheritdoc IMediaRegistry
    uint32 public constant RECORD_RELAYED = 2;

    /// @inheritdoc IMediaRegistry
    /// @dev The preimage, one line (also `REGISTRATION_TYPE_STRING` in ledger/eip712.py):
    /// Registration(bytes32 contentHash,bytes32 pixelHash,bytes32 pdqHash,bytes32 manifestHash,bytes32 parent,address publisher,uint256 nonce,uint256 deadline)
    bytes32 public constant REGISTRATION_TYPEHASH = keccak256(
        "Registration(bytes32 contentHash,bytes32 pixelHash,bytes32 pdqHash,bytes32 manifestHash,bytes32 parent,"
        "address publisher,uint256 nonce,uint256 deadline)"
    );

    /// @inheritdoc IMediaRegistry
    /// @dev The preimage, one line (also `BATCH_ANCHOR_TYPE_STRING` in ledger/eip712.py):
    /// BatchAnchor(bytes32 root,uint32 count,string uri,bytes32[] contentHashes,address publisher,uint256 nonce,uint256 deadline)
    bytes32 public constant BATCH_ANCHOR_TYPEHASH = keccak256(
        "BatchAnchor(bytes32 root,uint32 count,string uri,bytes32[] contentHashes,address publisher,uint256 nonce,"
        "uint256 deadline)"
    );

    /// @inheritdoc IMediaRegistry
    /// @dev The preimage, one line (also `REVOCATION_TYPE_STRING` in ledger/eip712.py):
    /// Revocation(bytes32 uid,uint16 reasonCode,string reason,address publisher,uint256 nonce,uint256 deadline)
    bytes32 public constant REVOCATION_TYPEHASH =
        keccak256("Revocation(bytes32 uid,uint16 reasonCode,string reason,address publisher,uint256 nonce,uint256 deadline)");

    mapping(bytes32 uid => Record) private _records;
    mapping(address publisher => PublisherInfo) private _publishers;
    mapping(bytes32 uid => Revocation) private _revocations;
    /// @dev Keyed by `keccak256(abi.encode(publisher, root))`, so that anchoring a root cannot be blocked by
    /// someone else anchoring the same root first.
    mapping(bytes32 batchKey => Batch) private _batches;

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

    /// @notice Disabled: without an admin no publisher could ever be suspended. Transfer the role instead.
    function renounceOwnership() public view override onlyOwner {
        revert MediaRegistryRenounceDisabled();
    }

    // ------------------------------------------------------------------------------------------ registration

    /// @inheritdoc IMediaRegistry
    function register(Registration calldata r) external returns (bytes32 uid) {
        _checkActivePublisher(msg.sender);
        uid = _register(r, msg.sender, 0);
    }

    /// @inheritdoc IMediaRegistry
    function registerBySig(Registration calldata r, address publisher, uint256 deadline, bytes calldata signature)
        external
        returns (bytes32 uid)
    {
        _checkDeadline(deadline);
        _checkActivePublisher(publisher);
        _checkSignature(publisher, _hashRegistration(r, publisher, _useNonce(publisher), deadline), signature);
        uid = _register(r, publisher, RECORD_RELAYED);
    }

    /// @inheritdoc IMediaRegistry
    function registerBatch(Registration[] calldata rs) external {
        if (rs.length == 0) revert MediaRegistryEmptyBatch();
        _checkActivePublisher(msg.sender);
        for (uint256 i = 0; i < rs.length; ++i) {
            _register(rs[i], msg.sender, 0);
        }
    }

    // ----------------------------------------------------------------------------------------------- batches

    /// @inheritdoc IMediaRegistry
    function anchorBatch(bytes32 root, uint32 count, string calldata uri, bytes32[] calldata contentHashes) external {
        _checkActivePublisher(msg.sender);
        uint64 anchoredAt = _anchor(root, count, contentHashes.length, msg.sender);
        emit BatchAnchored(root, msg.sender, count, uri, anchoredAt, contentHashes);
    }

    /// @inheritdoc IMediaRegistry
    function anchorBatchBySig(
        bytes32 root,
        uint32 count,
        string calldata uri,
        bytes32[] calldata contentHashes,
        address publisher,
        uint256 deadline,
        bytes calldata signature
    ) external {
        _checkDeadline(deadline);
        _checkActivePublisher(publisher);
        _checkSignature(
            publisher,
            _hashBatchAnchor(root, count, uri, contentHashes, publisher, _useNonce(publisher), deadline),
            signature
        );
        uint64 anchoredAt = _anchor(root, count, contentHashes.length, publisher);
        emit BatchAnchored(root, publisher, count, uri, anchoredAt, contentHashes);
    }

    /// @inheritdoc IMediaRegistry
    function verifyInclusion(bytes32 root, Registration calldata r, address publisher, bytes32[] calldata proof)
        external
        view
        returns (bool)
    {
        return _batches[_batchKey(publisher, root)].publisher != address(0)
            && MerkleProof.verifyCalldata(proof, root, _batchLeaf(r, publisher));
    }

    /// @inheritdoc IMediaRegistry
    function batchLeaf(Registration calldata r, address publisher) external pure returns (bytes32) {
        return _batchLeaf(r, publisher);
    }

    // -------------------------------------------------------------------------------------------- retraction

    /// @inheritdoc IMediaRegistry
    function revoke(bytes32 uid, uint16 reasonCode, string calldata reason) external {
        Record storage record = _records[uid];
        address publisher = record.publisher;
        if (publisher == address(0)) revert MediaRegistryUnknownRecord(uid);
        bool byAdmin = _checkRevoker(publisher, uid);
        record.flags |= RECORD_REVOKED;
        _writeRevocation(uid, publisher, msg.sender, bytes32(0), reasonCode, reason, byAdmin);
    }

    /// @inheritdoc IMediaRegistry
    function revokeBySig(
        bytes32 uid,
        uint16 reasonCode,
        string calldata reason,
        address publisher,
        uint256 deadline,
        bytes calldata signature
    ) external {
        _checkDeadline(deadline);
        Record storage record = _records[uid];
        address owner_ = record.publisher;
        if (owner_ == address(0)) revert MediaRegistryUnknownRecord(uid);
        // Only the record's own publisher may sign its retraction: a signature by any other publisher is refused
        // here, before its nonce is touched.
        if (owner_ != publisher) revert MediaRegistryUnauthorizedRevoker(publisher, uid);
        _checkActivePublisher(publisher);
        _checkSignature(
            publisher, _hashRevocation(uid, reasonCode, reason, publisher, _useNonce(publisher), deadline), signature
        );
        record.flags |= RECORD_REVOKED;
        _writeRevocation(uid, publisher, publisher, bytes32(0), reasonCode, reason, false);
    }

    /// @inheritdoc IMediaRegistry
    function revokeBatchItem(
        bytes32 root,
        Registration calldata r,
        address publisher,
        bytes32[] calldata proof,
        uint16 reasonCode,
        string calldata reason
    ) external returns (bytes32 uid) {
        if (_batches[_batchKey(publisher, root)].publisher == address(0)) {
            revert MediaRegistryUnknownBatch(publisher, root);
        }
        uid = _recordUid(publisher, r.contentHash);
        bool byAdmin = _checkRevoker(publisher, uid);
        bytes32 leaf = _batchLeaf(r, publisher);
        if (!MerkleProof.verifyCalldata(proof, root, leaf)) revert MediaRegistryInvalidProof(root, leaf);
        // The same image may also have a record of its own (same uid): mark it too, so both views agree.
        Record storage record = _records[uid];
        if (record.publisher != address(0)) record.flags |= RECORD_REVOKED;
        _writeRevocation(uid, publisher, msg.sender, root, reasonCode, reason, byAdmin);
    }

    // ------------------------------------------------------------------------------------------------ views

    /// @inheritdoc IMediaRegistry
    function getRecord(bytes32 uid) external view returns (Record memory) {
        return _records[uid];
    }

    /// @inheritdoc IMediaRegistry
    function getRevocation(bytes32 uid) external view returns (Revocation memory) {
        return _revocations[uid];
    }

    /// @inheritdoc IMediaRegistry
    function getBatch(address publisher, bytes32 root) external view returns (Batch memory) {
        return _batches[_batchKey(publisher, root)];
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

    /// @inheritdoc IMediaRegistry
    function hashRevocation(
        bytes32 uid,
        uint16 reasonCode,
        string calldata reason,
        address publisher,
        uint256 nonce,
        uint256 deadline
    ) external view returns (bytes32) {
        return _hashRevocation(uid, reasonCode, reason, publisher, nonce, deadline);
    }

    /// @inheritdoc IMediaRegistry
    function hashBatchAnchor(
        bytes32 root,
        uint32 count,
        string calldata uri,
        bytes32[] calldata contentHashes,
        address publisher,
        uint256 nonce,
        uint256 deadline
    ) external view returns (bytes32) {
        return _hashBatchAnchor(root, count, uri, contentHashes, publisher, nonce, deadline);
    }

    // ------------------------------------------------------------------------------------------------ internal

    /// @dev Current time as stored in records and compared with signature deadlines; a test harness may
    /// override it.
    function _time() internal view virtual returns (uint64) {
        return uint64(block.timestamp);
    }

    /// @dev Reverts unless `publisher` was added and is not suspended.
    function _checkActivePublisher(address publisher) internal view {
        PublisherInfo storage info = _publishers[publisher];
        if (info.addedAt == 0) revert MediaRegistryNotPublisher(publisher);
        if (info.suspendedAt != 0) revert MediaRegistryPublisherSuspended(publisher);
    }

    /// @dev Reverts when a signature's `deadline` has passed.
    function _checkDeadline(uint256 deadline) internal view {
        uint256 now_ = _time();
        if (deadline < now_) revert MediaRegistryExpiredSignature(deadline, now_);
    }

    /// @dev Reverts unless `signature` is `publisher`'s over `digest`: an ECDSA signature by the publisher's key
    /// (65 bytes, low s: malleable twins are refused), else the publisher's ERC-1271 `isValidSignature` (OpenZeppelin
    /// `SignatureChecker`; false for an account without code). ECDSA is tried first, unlike
    /// `SignatureChecker.isValidSignatureNow` which asks `publisher.code.length` first: that saves a cold
    /// EXTCODESIZE (2,600 gas) on the common path, and accepts nothing more, since an ECDSA signature that recovers
    /// to `publisher` can only come from the key of that address. The error names what ECDSA recovered.
    function _checkSignature(address publisher, bytes32 digest, bytes calldata signature) internal view {
        (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(digest, signature);
        if (err == ECDSA.RecoverError.NoError && recovered == publisher) return;
        if (SignatureChecker.isValidERC1271SignatureNowCalldata(publisher, digest, signature)) return;
        revert MediaRegistryInvalidSignature(recovered, publisher);
    }

    /// @dev Who may retract an image of `publisher`: the publisher itself while active, or the admin. Returns
    /// whether the admin is the one retracting.
    function _checkRevoker(address publisher, bytes32 uid) internal view returns (bool byAdmin) {
        if (msg.sender == publisher) {
            _checkActivePublisher(publisher);
            return false;
        }
        if (msg.sender == owner()) return true;
        revert MediaRegistryUnauthorizedRevoker(msg.sender, uid);
    }

    /// @dev Writes the record of `r` for an already authorised `publisher` and emits {Registered}.
    function _register(Registration calldata r, address publisher, uint32 flags) internal returns (bytes32 uid) {
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
        _records[uid] = Record({publisher: publisher, registeredAt: registeredAt, flags: flags});
        emit Registered(uid, publisher, contentHash, r.pixelHash, r.pdqHash, r.manifestHash, parent, registeredAt);
    }

    /// @dev Stores the batch of an already authorised `publisher` (the caller emits {BatchAnchored}, with the
    /// content hashes straight from calldata) and returns its time. `listed` is how many content hashes came with it.
    function _anchor(bytes32 root, uint32 count, uint256 listed, address publisher) internal returns (uint64 anchoredAt) {
        if (root == bytes32(0)) revert MediaRegistryEmptyRoot();
        if (count == 0) revert MediaRegistryEmptyBatch();
        if (listed != count) revert MediaRegistryCountMismatch(count, listed);
        bytes32 key = _batchKey(publisher, root);
        if (_batches[key].publisher != address(0)) revert MediaRegistryBatchAlreadyAnchored(publisher, root);
        anchoredAt = _time();
        _batches[key] = Batch({publisher: publisher, anchoredAt: anchoredAt, count: count});
    }

    /// @dev Stores the retraction of `uid` by `revokedBy` (the sender, or the publisher whose signature a relayer
    /// sent), reverting if there is one, and emits {Revoked}.
    function _writeRevocation(
        bytes32 uid,
        address publisher,
        address revokedBy,
        bytes32 root,
        uint16 reasonCode,
        string calldata reason,
        bool byAdmin
    ) internal {
        Revocation storage revocation = _revocations[uid];
        uint64 earlier = revocation.revokedAt;
        if (earlier != 0) revert MediaRegistryAlreadyRevoked(uid, earlier);
        uint64 revokedAt = _time();
        _revocations[uid] =
            Revocation({revokedBy: revokedBy, revokedAt: revokedAt, reasonCode: reasonCode, byAdmin: byAdmin});
        emit Revoked(uid, publisher, revokedBy, root, reasonCode, reason, byAdmin, revokedAt);
    }

    /// @dev `keccak256(abi.encode(publisher, contentHash))`, hashed in scratch space.
    function _recordUid(address publisher, bytes32 contentHash) internal pure returns (bytes32) {
        return Hashes.efficientKeccak256(bytes32(uint256(uint160(publisher))), contentHash);
    }

    /// @dev `keccak256(abi.encode(publisher, root))`: the key of a batch.
    function _batchKey(address publisher, bytes32 root) internal pure returns (bytes32) {
        return Hashes.efficientKeccak256(bytes32(uint256(uint160(publisher))), root);
    }

    /// @dev The StandardMerkleTree leaf of `r` by `publisher` (double keccak over the ABI encoding).
    function _batchLeaf(Registration calldata r, address publisher) internal pure returns (bytes32) {
        return keccak256(
            bytes.concat(
                keccak256(abi.encode(r.contentHash, r.pixelHash, r.pdqHash, r.manifestHash, r.parent, publisher))
            )
        );
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

    /// @dev EIP-712 digest of a retraction signed by `publisher` (`reason` enters as `keccak256(bytes(reason))`).
    function _hashRevocation(
        bytes32 uid,
        uint16 reasonCode,
        string calldata reason,
        address publisher,
        uint256 nonce,
        uint256 deadline
    ) internal view returns (bytes32) {
        bytes32 structHash = keccak256(
            abi.encode(REVOCATION_TYPEHASH, uid, reasonCode, keccak256(bytes(reason)), publisher, nonce, deadline)
        );
        return _hashTypedDataV4(structHash);
    }

    /// @dev EIP-712 digest of a batch anchor signed by `publisher` (`uri` enters as `keccak256(bytes(uri))`, the
    /// content hashes as `keccak256(abi.encodePacked(contentHashes))`, as EIP-712 encodes strings and arrays).
    function _hashBatchAnchor(
        bytes32 root,
        uint32 count,
        string calldata uri,
        bytes32[] calldata contentHashes,
        address publisher,
        uint256 nonce,
        uint256 deadline
    ) internal view returns (bytes32) {
        bytes32 structHash = keccak256(
            abi.encode(
                BATCH_ANCHOR_TYPEHASH,
                root,
                count,
                keccak256(bytes(uri)),
                keccak256(abi.encodePacked(contentHashes)),
                publisher,
                nonce,
                deadline
            )
        );
        return _hashTypedDataV4(structHash);
    }
}
