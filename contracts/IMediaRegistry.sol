// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC5267} from "@openzeppelin/contracts/interfaces/IERC5267.sol";

/// @title Media provenance registry
/// @notice Newsrooms register each image at publication: its file hash, canonical-pixel hash, PDQ perceptual hash
/// and the hash of its manifest (caption, credit, URL, times). Anyone can later check a circulating image against
/// these records. Hashes live in the `Registered` event, which auditors and the indexer read; storage keeps one
/// packed slot per record so that existence, publisher, time and state can be checked on chain.
///
/// Two ways to anchor an image:
/// - one record per image: {register}, {registerBySig} (a relayer sends the publisher's EIP-712 signature) and
///   {registerBatch} (several records in one transaction); each writes one storage slot and one `Registered` event;
/// - one Merkle root per batch: {anchorBatch} and {anchorBatchBySig} store one slot for N registrations and list
///   the N content hashes (SHA-256 of each file) in the `BatchAnchored` event, so that anyone with an RPC URL finds
///   a batched image by its file hash; each item is proven by an off-chain proof against the root ({verifyInclusion}). The leaves use the OpenZeppelin
///   `StandardMerkleTree` encoding of `(contentHash, pixelHash, pdqHash, manifestHash, parent, publisher)`
///   (types `bytes32 x5, address`): `leaf = keccak256(bytes.concat(keccak256(abi.encode(...))))`, inner nodes hash
///   the sorted pair (OpenZeppelin `MerkleProof`).
///
/// Retraction ({revoke}, {revokeBySig}, {revokeBatchItem}) records when, why and by whom; it never deletes anything.
/// @dev A record is keyed by `uid = keccak256(abi.encode(publisher, contentHash))`: several outlets may register
/// the same wire photo, and the earliest registration is the origin. A batch item has the same uid as the record the
/// publisher would have written for it, so a retraction applies to that image whichever way it was anchored.
interface IMediaRegistry is IERC5267 {
    // ------------------------------------------------------------------------------------------------ types

    /// @notice The fields a publisher registers for one image.
    /// @param contentHash SHA-256 of the file bytes; must not be zero.
    /// @param pixelHash SHA-256 of the canonical pixels (decoded, oriented, 8-bit RGB, prefixed by width and height).
    /// @param pdqHash PDQ 256-bit perceptual hash.
    /// @param manifestHash keccak256 of the canonical manifest JSON (caption, credit, URL, times, parent).
    /// @param parent uid of the original this image is derived from (crop, edit); `bytes32(0)` means none. On the
    /// record paths the parent must be an existing record; inside a Merkle batch it is not checked on chain.
    struct Registration {
        bytes32 contentHash;
        bytes32 pixelHash;
        bytes32 pdqHash;
        bytes32 manifestHash;
        bytes32 parent;
    }

    /// @notice What the registry stores for one registration (one storage slot).
    /// @param publisher The publisher that registered it; `address(0)` means no such record.
    /// @param registeredAt Time of the registration (block timestamp).
    /// @param flags Bit set: {RECORD_REVOKED} (1) once retracted (details in {getRevocation}); {RECORD_RELAYED} (2)
    /// when it was sent by a relayer with the publisher's signature ({registerBySig}).
    struct Record {
        // fits in one slot: 20 + 8 + 4 = 32 bytes
        address publisher;
        uint64 registeredAt;
        uint32 flags;
    }

    /// @notice A retraction of a record or of a batch item (one storage slot); never deleted.
    /// @param revokedBy Who retracted it: the publisher (also when a relayer sent its signature), or the admin of
    /// the time.
    /// @param revokedAt Time of the retraction; 0 means not retracted.
    /// @param reasonCode Machine-readable reason (the meaning of each code is an off-chain convention; the text
    /// is in the `Revoked` event).
    /// @param byAdmin True when the admin retracted it rather than the publisher.
    struct Revocation {
        // fits in one slot: 20 + 8 + 2 + 1 = 31 bytes
        address revokedBy;
        uint64 revokedAt;
        uint16 reasonCode;
        bool byAdmin;
    }

    /// @notice A Merkle root anchored by a publisher (one storage slot), keyed by `(publisher, root)`.
    /// @param publisher The publisher whose registrations the leaves are; `address(0)` means not anchored.
    /// @param anchoredAt Time of the anchoring.
    /// @param count Number of leaves as stated by the publisher (informative; the chain cannot check it).
    struct Batch {
        // fits in one slot: 20 + 8 + 4 = 32 bytes
        address publisher;
        uint64 anchoredAt;
        uint32 count;
    }

    /// @notice A publisher known to the registry.
    /// @param name Display name of the outlet.
    /// @param domain Web domain of the outlet (for example `example.org`).
    /// @param addedAt Time the admin added it; 0 means unknown publisher.
    /// @param suspendedAt Time of the current suspension; 0 means active. Records registered before a suspension
    /// stay valid; the history of suspensions is in the events.
    struct PublisherInfo {
        string name;
        string domain;
        // addedAt and suspendedAt share one slot: 8 + 8 bytes
        uint64 addedAt;
        uint64 suspendedAt;
    }

    // ----------------------------------------------------------------------------------------------- events

    /// @notice The admin added `publisher`.
    event PublisherAdded(address indexed publisher, string name, string domain);

    /// @notice The admin suspended `publisher`: it can no longer register, anchor or retract.
    event PublisherSuspended(address indexed publisher);

    /// @notice The admin re-enabled a suspended `publisher`.
    event PublisherReenabled(address indexed publisher);

    /// @notice An image was registered as one record. Carries every hash, which storage does not keep.
    event Registered(
        bytes32 indexed uid,
        address indexed publisher,
        bytes32 indexed contentHash,
        bytes32 pixelHash,
        bytes32 pdqHash,
        bytes32 manifestHash,
        bytes32 parent,
        uint64 registeredAt
    );

    /// @notice `publisher` anchored the Merkle `root` of `count` registrations; `uri` says where the tree (leaves
    /// and proofs) can be fetched, if anywhere. `contentHashes` are the items' file hashes (SHA-256), in the order
    /// of the tree's values (the `values` of its `standard-v1` dump), as the publisher sent or signed them: they
    /// let anyone find a batched image by its file hash without the operator. The contract cannot check them
    /// against the leaves (it does not see the leaves); an auditor does, with the tree or a receipt.
    event BatchAnchored(
        bytes32 indexed root, address indexed publisher, uint32 count, string uri, uint64 anchoredAt, bytes32[] contentHashes
    );

    /// @notice The image `uid` of `publisher` was retracted by `revokedBy` (the publisher, or the admin when
    /// `byAdmin`). `batchRoot` is the Merkle root that proved a batch item, `bytes32(0)` for a record.
    event Revoked(
        bytes32 indexed uid,
        address indexed publisher,
        address indexed revokedBy,
        bytes32 batchRoot,
        uint16 reasonCode,
        string reason,
        bool byAdmin,
        uint64 revokedAt
    );

    // ----------------------------------------------------------------------------------------------- errors

    /// @notice `caller` is not a publisher added by the admin.
    error MediaRegistryNotPublisher(address caller);

    /// @notice `publisher` is suspended (when registering, anchoring, retracting, or suspending again).
    error MediaRegistryPublisherSuspended(address publisher);

    /// @notice `publisher` is active, so it cannot be re-enabled.
    error MediaRegistryPublisherNotSuspended(address publisher);

    /// @notice `publisher` was already added.
    error MediaRegistryPublisherExists(address publisher);

    /// @notice The admin named a `publisher` that was never added.
    error MediaRegistryUnknownPublisher(address publisher);

    /// @notice The zero address cannot be a publisher.
    error MediaRegistryZeroAddress();

    /// @notice A registration must carry a non-zero content hash.
    error MediaRegistryEmptyContentHash();

    /// @notice The record `uid` (this publisher, this content hash) exists already.
    error MediaRegistryAlreadyRegistered(bytes32 uid);

    /// @notice `parent` is not the uid of any record.
    error MediaRegistryUnknownParent(bytes32 parent);

    /// @notice The signature's `deadline` is before the current time `now`.
    error MediaRegistryExpiredSignature(uint256 deadline, uint256 now);

    /// @notice The signature is not `publisher`'s: it recovers to `recovered` (`address(0)` when it recovers to
    /// nothing, for example a malleable high-s signature or a wrong length), and `publisher`'s ERC-1271
    /// `isValidSignature` (if it is a contract) refused it too.
    error MediaRegistryInvalidSignature(address recovered, address publisher);

    /// @notice A batch must hold at least one registration (`registerBatch` of an empty list, or a count of 0).
    error MediaRegistryEmptyBatch();

    /// @notice A Merkle root must not be zero.
    error MediaRegistryEmptyRoot();

    /// @notice A batch anchor's `count` is not the number of content hashes it lists.
    error MediaRegistryCountMismatch(uint32 count, uint256 contentHashes);

    /// @notice `publisher` anchored `root` already.
    error MediaRegistryBatchAlreadyAnchored(address publisher, bytes32 root);

    /// @notice `publisher` never anchored `root`.
    error MediaRegistryUnknownBatch(address publisher, bytes32 root);

    /// @notice The proof does not lead from `leaf` to `root`: the registration is not in that batch.
    error MediaRegistryInvalidProof(bytes32 root, bytes32 leaf);

    /// @notice No record `uid` exists (batch items are retracted with {revokeBatchItem}).
    error MediaRegistryUnknownRecord(bytes32 uid);

    /// @notice `caller` may not retract `uid`: only its publisher or the admin may.
    error MediaRegistryUnauthorizedRevoker(address caller, bytes32 uid);

    /// @notice `uid` was retracted already, at `revokedAt`.
    error MediaRegistryAlreadyRevoked(bytes32 uid, uint64 revokedAt);

    /// @notice The admin role cannot be renounced (publishers could then never be suspended); transfer it instead.
    error MediaRegistryRenounceDisabled();

    // ---------------------------------------------------------------------------------------------- admin

    /// @notice Add a publisher; only the admin.
    /// @dev Emits {PublisherAdded}. Reverts with {MediaRegistryZeroAddress} or {MediaRegistryPublisherExists}.
    function addPublisher(address publisher, string calldata name, string calldata domain) external;

    /// @notice Suspend a publisher so that it cannot register, anchor or retract; only the admin. Its earlier
    /// records and batches stay valid.
    /// @dev Emits {PublisherSuspended}. Reverts with {MediaRegistryUnknownPublisher} or
    /// {MediaRegistryPublisherSuspended} when already suspended.
    function suspendPublisher(address publisher) external;

    /// @notice Let a suspended publisher register again; only the admin.
    /// @dev Emits {PublisherReenabled}. Reverts with {MediaRegistryUnknownPublisher} or
    /// {MediaRegistryPublisherNotSuspended}.
    function reenablePublisher(address publisher) external;

    // --------------------------------------------------------------------------------------- registration

    /// @notice Register an image as the calling publisher.
    /// @dev Emits {Registered}. Reverts with {MediaRegistryNotPublisher}, {MediaRegistryPublisherSuspended},
    /// {MediaRegistryEmptyContentHash}, {MediaRegistryAlreadyRegistered} or {MediaRegistryUnknownParent}.
    /// @param r The hashes and the optional parent uid.
    /// @return uid `keccak256(abi.encode(msg.sender, r.contentHash))`.
    function register(Registration calldata r) external returns (bytes32 uid);

    /// @notice Register an image for `publisher`, sent by anyone (a relayer) with the publisher's EIP-712
    /// signature of `Registration(contentHash,pixelHash,pdqHash,manifestHash,parent,publisher,nonce,deadline)`
    /// under this contract's domain. `nonce` is `nonces(publisher)`; it is used up. Contract wallets sign through
    /// ERC-1271.
    /// @dev Emits {Registered}; the record carries {RECORD_RELAYED}. Reverts as {register}, and with
    /// {MediaRegistryExpiredSignature} or {MediaRegistryInvalidSignature}.
    /// @param deadline Last time (block timestamp) at which the signature is accepted.
    /// @param signature 65-byte `r,s,v` ECDSA signature (low s), or whatever the publisher's ERC-1271 wallet takes.
    function registerBySig(Registration calldata r, address publisher, uint256 deadline, bytes calldata signature)
        external
        returns (bytes32 uid);

    /// @notice Register several images as the calling publisher in one transaction, one record each.
    /// @dev Emits one {Registered} per item, in order. All or nothing: reverts as {register} on the first bad
    /// item, and with {MediaRegistryEmptyBatch} for an empty list.
    function registerBatch(Registration[] calldata rs) external;

    // ------------------------------------------------------------------------------------------- batches

    /// @notice Anchor the Merkle root of `count` registrations of the calling publisher.
    /// @dev Emits {BatchAnchored}. Reverts with {MediaRegistryNotPublisher}, {MediaRegistryPublisherSuspended},
    /// {MediaRegistryEmptyRoot}, {MediaRegistryEmptyBatch}, {MediaRegistryCountMismatch} or
    /// {MediaRegistryBatchAlreadyAnchored}.
    /// @param root StandardMerkleTree root over the leaves described in the contract's notice.
    /// @param count Number of leaves; must equal `contentHashes.length`.
    /// @param uri Where the tree dump can be fetched (may be empty).
    /// @param contentHashes Each item's contentHash, in the order of the tree's values (emitted, not stored).
    function anchorBatch(bytes32 root, uint32 count, string calldata uri, bytes32[] calldata contentHashes) external;

    /// @notice Anchor a Merkle root for `publisher`, sent by a relayer with the publisher's EIP-712 signature of
    /// `BatchAnchor(root,count,uri,contentHashes,publisher,nonce,deadline)`; `nonce` is `nonces(publisher)` (shared
    /// with {registerBySig}) and is used up. The signature covers the content hashes, so a relayer cannot list
    /// other files under the publisher's root.
    /// @dev Emits {BatchAnchored}. Reverts as {anchorBatch}, and with {MediaRegistryExpiredSignature} or
    /// {MediaRegistryInvalidSignature}.
    function anchorBatchBySig(
        bytes32 root,
        uint32 count,
        string calldata uri,
        bytes32[] calldata contentHashes,
        address publisher,
        uint256 deadline,
        bytes calldata signature
    ) external;

    /// @notice Whether registration `r` of `publisher` is a leaf under `root` (by `proof`) and `publisher`
    /// anchored `root` here. Says nothing of retraction: see {getRevocation}.
    function verifyInclusion(bytes32 root, Registration calldata r, address publisher, bytes32[] calldata proof)
        external
        view
        returns (bool);

    /// @notice The Merkle leaf of registration `r` by `publisher`:
    /// `keccak256(bytes.concat(keccak256(abi.encode(contentHash, pixelHash, pdqHash, manifestHash, parent, publisher))))`.
    function batchLeaf(Registration calldata r, address publisher) external pure returns (bytes32);

    // ----------------------------------------------------------------------------------------- retraction

    /// @notice Retract the record `uid`: by its publisher (while active), or by the admin (recorded as such).
    /// Nothing is deleted; the record gets {RECORD_REVOKED} and a {Revocation}.
    /// @dev Emits {Revoked}. Reverts with {MediaRegistryUnknownRecord}, {MediaRegistryUnauthorizedRevoker},
    /// {MediaRegistryPublisherSuspended} or {MediaRegistryAlreadyRevoked}.
    /// @param reasonCode Machine-readable reason (off-chain convention).
    /// @param reason Human-readable reason, kept in the event only.
    function revoke(bytes32 uid, uint16 reasonCode, string calldata reason) external;

    /// @notice Retract the record `uid` of `publisher`, sent by a relayer with the publisher's EIP-712 signature of
    /// `Revocation(uid,reasonCode,reason,publisher,nonce,deadline)` (`reason` as `keccak256(bytes(reason))`);
    /// `nonce` is `nonces(publisher)` (shared with {registerBySig} and {anchorBatchBySig}) and is used up. The
    /// result is that of {revoke} sent by the publisher itself: `revokedBy` is the publisher, not the relayer.
    /// @dev Emits {Revoked}. Reverts with {MediaRegistryExpiredSignature}, {MediaRegistryUnknownRecord},
    /// {MediaRegistryUnauthorizedRevoker} (`publisher` is not the record's publisher: nobody can retract another
    /// publisher's record this way), {MediaRegistryPublisherSuspended}, {MediaRegistryInvalidSignature} or
    /// {MediaRegistryAlreadyRevoked}. ERC-1271 wallets sign as for {registerBySig}.
    function revokeBySig(
        bytes32 uid,
        uint16 reasonCode,
        string calldata reason,
        address publisher,
        uint256 deadline,
        bytes calldata signature
    ) external;

    /// @notice Retract the batch item `r` of `publisher` proven under its anchored `root`: by the publisher
    /// (while active) or by the admin (recorded as such).
    /// @dev Emits {Revoked} with `batchRoot = root`. Reverts with {MediaRegistryUnknownBatch},
    /// {MediaRegistryUnauthorizedRevoker}, {MediaRegistryPublisherSuspended}, {MediaRegistryInvalidProof} or
    /// {MediaRegistryAlreadyRevoked}.
    /// @return uid `keccak256(abi.encode(publisher, r.contentHash))`, the retracted image's uid.
    function revokeBatchItem(
        bytes32 root,
        Registration calldata r,
        address publisher,
        bytes32[] calldata proof,
        uint16 reasonCode,
        string calldata reason
    ) external returns (bytes32 uid);

    // ---------------------------------------------------------------------------------------------- views

    /// @notice The stored record of `uid`; all fields zero when there is none.
    function getRecord(bytes32 uid) external view returns (Record memory);

    /// @notice The retraction of `uid` (record or batch item); all fields zero when it was not retracted.
    function getRevocation(bytes32 uid) external view returns (Revocation memory);

    /// @notice The batch `root` anchored by `publisher`; all fields zero when there is none.
    function getBatch(address publisher, bytes32 root) external view returns (Batch memory);

    /// @notice What the registry knows of `publisher`; all fields zero when it was never added.
    function getPublisher(address publisher) external view returns (PublisherInfo memory);

    /// @notice Whether `publisher` was added and is not suspended.
    function isActivePublisher(address publisher) external view returns (bool);

    /// @notice The record uid of `contentHash` registered by `publisher`.
    function recordUid(address publisher, bytes32 contentHash) external pure returns (bytes32);

    /// @notice Flag bit of {Record-flags}: the record was retracted.
    // solhint-disable-next-line func-name-mixedcase
    function RECORD_REVOKED() external view returns (uint32);

    /// @notice Flag bit of {Record-flags}: the record was sent by a relayer with the publisher's signature.
    // solhint-disable-next-line func-name-mixedcase
    function RECORD_RELAYED() external view returns (uint32);

    /// @notice EIP-712 typehash of a signed registration.
    // solhint-disable-next-line func-name-mixedcase
    function REGISTRATION_TYPEHASH() external view returns (bytes32);

    /// @notice EIP-712 typehash of a signed batch anchor.
    // solhint-disable-next-line func-name-mixedcase
    function BATCH_ANCHOR_TYPEHASH() external view returns (bytes32);

    /// @notice EIP-712 typehash of a signed retraction.
    // solhint-disable-next-line func-name-mixedcase
    function REVOCATION_TYPEHASH() external view returns (bytes32);

    /// @notice EIP-712 domain separator (name "MediaRegistry", version "1", chain id, this contract).
    // solhint-disable-next-line func-name-mixedcase
    function DOMAIN_SEPARATOR() external view returns (bytes32);

    /// @notice The next nonce a signature by `publisher` ({registerBySig}, {anchorBatchBySig}) must carry.
    function nonces(address publisher) external view returns (uint256);

    /// @notice The EIP-712 digest a publisher signs for `r` (what `_hashTypedDataV4` returns on chain).
    /// @param r The registration.
    /// @param publisher The signing publisher.
    /// @param nonce The publisher's nonce the signature is bound to.
    /// @param deadline Last block timestamp at which the signature is valid.
    function hashRegistration(Registration calldata r, address publisher, uint256 nonce, uint256 deadline)
        external
        view
        returns (bytes32);

    /// @notice The EIP-712 digest a publisher signs to retract its record `uid` through a relayer.
    function hashRevocation(
        bytes32 uid,
        uint16 reasonCode,
        string calldata reason,
        address publisher,
        uint256 nonce,
        uint256 deadline
    ) external view returns (bytes32);

    /// @notice The EIP-712 digest a publisher signs to anchor `root` through a relayer.
    function hashBatchAnchor(
        bytes32 root,
        uint32 count,
        string calldata uri,
        bytes32[] calldata contentHashes,
        address publisher,
        uint256 nonce,
        uint256 deadline
    ) external view returns (bytes32);
}
