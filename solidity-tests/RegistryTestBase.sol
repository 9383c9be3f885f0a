// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IMediaRegistry} from "../contracts/IMediaRegistry.sol";
import {TestMediaRegistry} from "../contracts/test/TestMediaRegistry.sol";
import {vm} from "./Vm.sol";

/// @notice Shared set-up for the Solidity tests: a registry with a settable clock, two publishers with known keys,
/// signing helpers and a small StandardMerkleTree builder (the same rules as ledger/merkle.py and
/// the OpenZeppelin merkle-tree package: double-hashed leaves sorted by hash, sorted-pair inner nodes).
abstract contract RegistryTestBase {
    TestMediaRegistry internal registry;

    uint256 internal constant PUBLISHER_KEY = 0xA11CE;
    uint256 internal constant OTHER_KEY = 0xB0B;
    uint256 internal constant STRANGER_KEY = 0x5757;
    address internal publisher;
    address internal other;
    address internal stranger;
    address internal constant RELAYER = address(0x4E1A7E4);
    uint256 internal constant FAR = 4_000_000_000;
    uint256 internal constant SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;

    function setUp() public virtual {
        registry = new TestMediaRegistry(); // this test contract is the admin
        publisher = vm.addr(PUBLISHER_KEY);
        other = vm.addr(OTHER_KEY);
        stranger = vm.addr(STRANGER_KEY);
        registry.addPublisher(publisher, "Daily Example", "daily.example");
        registry.addPublisher(other, "Wire Example", "wire.example");
        registry.setTime(1_900_000_000);
    }

    // ------------------------------------------------------------------------------------------ samples

    function _reg(string memory label) internal pure returns (IMediaRegistry.Registration memory) {
        return _regWithParent(label, bytes32(0));
    }

    function _regWithParent(string memory label, bytes32 parent)
        internal
        pure
        returns (IMediaRegistry.Registration memory)
    {
        return IMediaRegistry.Registration({
            contentHash: sha256(abi.encodePacked(label, "/content")),
            pixelHash: sha256(abi.encodePacked(label, "/pixels")),
            pdqHash: sha256(abi.encodePacked(label, "/pdq")),
            manifestHash: sha256(abi.encodePacked(label, "/manifest")),
            parent: parent
        });
    }

    function _uid(address who, IMediaRegistry.Registration memory r) internal pure returns (bytes32) {
        return keccak256(abi.encode(who, r.contentHash));
    }

    // ------------------------------------------------------------------------------------------ signing

    function _sign(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    function _signRegistration(uint256 key, address who, IMediaRegistry.Registration memory r, uint256 deadline)
        internal
        view
        returns (bytes memory)
    {
        return _sign(key, registry.hashRegistration(r, who, registry.nonces(who), deadline));
    }

    /// @dev A batch anchor signature listing `_hashes(count)` as the content hashes.
    function _signAnchor(uint256 key, address who, bytes32 root, uint32 count, string memory uri, uint256 deadline)
        internal
        view
        returns (bytes memory)
    {
        return _signAnchorOf(key, who, AnchorArgs(root, count, uri, _hashes(count)), deadline);
    }

    /// @dev The anchored fields in one memory value (one stack slot: the signing helper would not compile otherwise).
    struct AnchorArgs {
        bytes32 root;
        uint32 count;
        string uri;
        bytes32[] hashes;
    }

    function _signAnchorOf(uint256 key, address who, AnchorArgs memory a, uint256 deadline)
        internal
        view
        returns (bytes memory)
    {
        uint256 nonce = registry.nonces(who);
        return _sign(key, registry.hashBatchAnchor(a.root, a.count, a.uri, a.hashes, who, nonce, deadline));
    }

    /// @dev `n` distinct stand-in content hashes, for anchors whose listed hashes a test does not look at.
    function _hashes(uint256 n) internal pure returns (bytes32[] memory hashes) {
        hashes = new bytes32[](n);
        for (uint256 i = 0; i < n; ++i) {
            hashes[i] = keccak256(abi.encode("content", i));
        }
    }

    /// @dev The content hashes of `rs`, in order: what an anchor of their tree lists.
    function _contentHashes(IMediaRegistry.Registration[] memory rs) internal pure returns (bytes32[] memory hashes) {
        hashes = new bytes32[](rs.length);
        for (uint256 i = 0; i < rs.length; ++i) {
            hashes[i] = rs[i].contentHash;
        }
    }

    /// @dev (r, s, v) of a 65-byte signature.
    function _split(bytes memory sig) internal pure returns (bytes32 r, bytes32 s, uint8 v) {
        assembly ("memory-safe") {
            r := mload(add(sig, 0x20))
            s := mload(add(sig, 0x40))
            v := byte(0, mload(add(sig, 0x60)))
        }
    }

    /// @dev What plain ecrecover makes of a 65-byte signature (the contract's error names this address).
    function _recover(bytes32 digest, bytes memory sig) internal pure returns (address) {
        (bytes32 r, bytes32 s, uint8 v) = _split(sig);
        return ecrecover(digest, v, r, s);
    }

    /// @dev The other valid form (r, n - s, v ^ 1) of a 65-byte signature: same signer, high s.
    function _malleableTwin(bytes memory sig) internal pure returns (bytes memory) {
        (bytes32 r, bytes32 s, uint8 v) = _split(sig);
        return abi.encodePacked(r, bytes32(SECP256K1_N - uint256(s)), v == 27 ? uint8(28) : uint8(27));
    }

    function _relayRegister(IMediaRegistry.Registration memory r, address who, uint256 deadline, bytes memory sig)
        internal
        returns (bytes32)
    {
        vm.prank(RELAYER);
        return registry.registerBySig(r, who, deadline, sig);
    }

    // ------------------------------------------------------------------------------------------ Merkle trees

    function _leaf(IMediaRegistry.Registration memory r, address who) internal pure returns (bytes32) {
        return keccak256(
            bytes.concat(keccak256(abi.encode(r.contentHash, r.pixelHash, r.pdqHash, r.manifestHash, r.parent, who)))
        );
    }

    /// @dev A StandardMerkleTree over `leaves` (already hashed): returns the node array (root pos 0) and, for each
    /// input leaf, its index in the array.
    function _tree(bytes32[] memory leaves) internal pure returns (bytes32[] memory tree, uint256[] memory pos) {
        uint256 n = leaves.length;
        require(n > 0, "empty tree");
        // Sort input positions by leaf hash (insertion sort; trees in tests are small).
        uint256[] memory order = new uint256[](n);
        for (uint256 i = 0; i < n; ++i) {
            order[i] = i;
        }
        for (uint256 i = 1; i < n; ++i) {
            uint256 key = order[i];
            uint256 j = i;
            while (j > 0 && leaves[order[j - 1]] > leaves[key]) {
                order[j] = order[j - 1];
                --j;
            }
            order[j] = key;
        }
        tree = new bytes32[](2 * n - 1);
        pos = new uint256[](n);
        for (uint256 k = 0; k < n; ++k) {
            tree[tree.length - 1 - k] = leaves[order[k]];
            pos[order[k]] = tree.length - 1 - k;
        }
        for (uint256 i = tree.length - n; i > 0; --i) {
            uint256 node = i - 1;
            tree[node] = _hashPair(tree[2 * node + 1], tree[2 * node + 2]);
        }
    }

    function _proof(bytes32[] memory tree, uint256 index) internal pure returns (bytes32[] memory proof) {
        uint256 depth = 0;
        for (uint256 i = index; i > 0; i = (i - 1) / 2) {
            ++depth;
        }
        proof = new bytes32[](depth);
        uint256 k = 0;
        for (uint256 i = index; i > 0; i = (i - 1) / 2) {
            proof[k++] = tree[i % 2 == 1 ? i + 1 : i - 1];
        }
    }

    function _hashPair(bytes32 a, bytes32 b) internal pure returns (bytes32) {
        return a < b ? keccak256(abi.encode(a, b)) : keccak256(abi.encode(b, a));
    }

    function _treeOf(IMediaRegistry.Registration[] memory rs, address who)
        internal
        pure
        returns (bytes32[] memory tree, uint256[] memory pos)
    {
        bytes32[] memory leaves = new bytes32[](rs.length);
        for (uint256 i = 0; i < rs.length; ++i) {
            leaves[i] = _leaf(rs[i], who);
        }
        return _tree(leaves);
    }

    function _regs(string memory prefix, uint256 n) internal pure returns (IMediaRegistry.Registration[] memory rs) {
        rs = new IMediaRegistry.Registration[](n);
        for (uint256 i = 0; i < n; ++i) {
            rs[i] = _reg(string.concat(prefix, "-", _itoa(i)));
        }
    }

    function _itoa(uint256 value) internal pure returns (string memory) {
        return vm.toString(value);
    }
}
