// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC5267} from "@openzeppelin/contracts/interfaces/IERC5267.sol";

/// @title Media provenance registry
/// @notice Newsrooms register each image at publication: its file hash, canonical-pixel hash, PDQ perceptual hash
/// and the hash of its manifest (caption, credit, URL, times). Anyone can later check a circulating image against
/// these records. Hashes live in the `Registered` event, which auditors and the indexer read; storage keeps one
/// packed slot per record so that existence, publisher and time can be checked on chain.
/// @dev A record is keyed by `uid = keccak256(abi.encode(publisher, contentHash))`: several outlets may register
/// the same wire photo, and the earliest registration is the origin.
interface IMediaRegistry is IERC5267 {
    /// @notice The fields a publisher registers for one image.
    /// @param contentHash SHA-256 of the file bytes; must not be zero.
    /// @param pixelHash SHA-256 of the canonical pixels (decoded, oriented, 8-bit RGB, prefixed by width and height).
    /// @param pdqHash PDQ 256-bit perceptual hash.
    /// @param manifestHash keccak256 of the canonical manifest JSON (caption, credit, URL, times, parent).
    /// @param parent uid of the original this image is derived from (crop, edit); `bytes32(0)` means none.
    struct Registration {
        bytes32 contentHash;
        bytes32 pixelHash;
        bytes32 pdqHash;
        bytes32 manifestHash;
        bytes32 parent;
    }

    /// @notice What the registry stores for one registration.
    /// @param publisher The publisher that registered it; `address(0)` means no such record.
    /// @param registeredAt Block timestamp of the registration.
    /// @param flags Reserved for record states (retraction, batch membership); 0 in this version.
    struct Record {
        // fits in one slot: 20 + 8 + 4 = 32 bytes
        address publisher;
        uint64 registeredAt;
        uint32 flags;
    }

    /// @notice A publisher known to the registry.
    /// @param name Display name of the outlet.
    /// @param domain Web domain of the outlet (for example `example.org`).
    /// @param addedAt Block timestamp when the admin added it; 0 means unknown publisher.
    /// @param suspendedAt Block timestamp of the current suspension; 0 means active. Records registered before a
    /// suspension stay valid.
    struct PublisherInfo {
        string name;
        string domain;
        uint64 addedAt;
        uint64 suspendedAt;
    }

    /// @notice Emitted when the admin adds a publisher.
    event PublisherAdded(address indexed publisher, string name, string domain);

    /// @notice Emitted when the admin suspends a publisher.
    event PublisherSuspended(address indexed publisher);

    /// @notice Emitted when the admin re-enables a suspended publisher.
    event PublisherReenabled(address indexed publisher);

    /// @notice Emitted when an image is registered. Carries every hash, which storage does not keep.
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

    /// @notice `caller` is not a publisher added by the admin.
    error MediaRegistryNotPublisher(address caller);

    /// @notice `publisher` is suspended (when registering or suspending again).
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

    /// @notice Add a publisher; only the admin.
    /// @dev Emits {PublisherAdded}. Reverts with {MediaRegistryZeroAddress} or {MediaRegistryPublisherExists}.
    function addPublisher(address publisher, string calldata name, string calldata domain) external;

    /// @notice Suspend a publisher so that it cannot register; only the admin. Its earlier records stay valid.
    /// @dev Emits {PublisherSuspended}. Reverts with {MediaRegistryUnknownPublisher} or
    /// {MediaRegistryPublisherSuspended} when already suspended.
    function suspendPublisher(address publisher) external;

    /// @notice Let a suspended publisher register again; only the admin.
    /// @dev Emits {PublisherReenabled}. Reverts with {MediaRegistryUnknownPublisher} or
    /// {MediaRegistryPublisherNotSuspended}.
    function reenablePublisher(address publisher) external;

    /// @notice Register an image as the calling publisher.
    /// @dev Emits {Registered}. Reverts with {MediaRegistryNotPublisher}, {MediaRegistryPublisherSuspended},
    /// {MediaRegistryEmptyContentHash}, {MediaRegistryAlreadyRegistered} or {MediaRegistryUnknownParent}.
    /// @param r The hashes and the optional parent uid.
    /// @return uid `keccak256(abi.encode(msg.sender, r.contentHash))`.
    function register(Registration calldata r) external returns (bytes32 uid);

    /// @notice The stored record of `uid`; all fields zero when there is none.
    function getRecord(bytes32 uid) external view returns (Record memory);

    /// @notice What the registry knows of `publisher`; all fields zero when it was never added.
    function getPublisher(address publisher) external view returns (PublisherInfo memory);

    /// @notice Whether `publisher` was added and is not suspended.
    function isActivePublisher(address publisher) external view returns (bool);

    /// @notice The record uid of `contentHash` registered by `publisher`.
    function recordUid(address publisher, bytes32 contentHash) external pure returns (bytes32);

    /// @notice EIP-712 typehash of a signed registration.
    function REGISTRATION_TYPEHASH() external view returns (bytes32);

    /// @notice EIP-712 domain separator (name "MediaRegistry", version "1", chain id, this contract).
    // solhint-disable-next-line func-name-mixedcase
    function DOMAIN_SEPARATOR() external view returns (bytes32);

    /// @notice The next nonce a signed registration by `publisher` must carry.
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
}
