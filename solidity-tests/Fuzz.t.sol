// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IMediaRegistry} from "../contracts/IMediaRegistry.sol";
import {RegistryTestBase} from "./RegistryTestBase.sol";
import {vm} from "./Vm.sol";

/// @notice Fuzz tests (Hardhat 3 Solidity fuzzing, 256 runs each; hardhat.config.js pins the seed): the signed
/// paths accept exactly the untouched signature of the publisher in time, and `verifyInclusion` accepts exactly
/// the members of an anchored tree built by the StandardMerkleTree rules.
contract FuzzTest is RegistryTestBase {
    function _bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        return min + x % (max - min + 1);
    }

    function testFuzzSignedRegistration(
        uint256 keySeed,
        bytes32 content,
        bytes32 pixel,
        bytes32 manifest,
        bytes32 parentSeed,
        uint32 validity,
        uint8 mutation
    ) public {
        vm.assume(content != bytes32(0));
        uint256 key = _bound(keySeed, 1, SECP256K1_N - 1);
        address signer = vm.addr(key);
        vm.assume(signer != publisher && signer != other);
        registry.addPublisher(signer, "Fuzz News", "fuzz.example");
        IMediaRegistry.Registration memory r = IMediaRegistry.Registration(content, pixel, keccak256("pdq"), manifest, bytes32(0));
        if (uint256(parentSeed) % 3 == 0) {
            // A derived image: its parent is a record that exists.
            IMediaRegistry.Registration memory original = _reg("fuzz original");
            vm.prank(signer);
            r.parent = registry.register(original);
        }
        uint256 deadline = 1_900_000_000 + uint256(validity);
        bytes memory sig = _signRegistration(key, signer, r, deadline);
        uint256 nonce = registry.nonces(signer);
        uint8 kind = mutation % 6;
        if (kind == 0) {
            bytes32 uid = _relayRegister(r, signer, deadline, sig);
            IMediaRegistry.Record memory rec = registry.getRecord(uid);
            require(rec.publisher == signer && rec.flags == registry.RECORD_RELAYED(), "registered");
            require(registry.nonces(signer) == nonce + 1, "nonce used");
            return;
        }
        bytes memory expected;
        if (kind == 1) {
            sig = _signRegistration(STRANGER_KEY, signer, r, deadline); // wrong key
            expected = abi.encodeWithSelector(IMediaRegistry.MediaRegistryInvalidSignature.selector, stranger, signer);
        } else if (kind == 2) {
            r.pixelHash = ~pixel; // a field changed after signing
            expected = abi.encodeWithSelector(
                IMediaRegistry.MediaRegistryInvalidSignature.selector, _recover(registry.hashRegistration(r, signer, nonce, deadline), sig), signer
            );
        } else if (kind == 3) {
            registry.setTime(uint64(deadline) + 1 + uint64(validity % 1000)); // too late
            expected = abi.encodeWithSelector(
                IMediaRegistry.MediaRegistryExpiredSignature.selector, deadline, deadline + 1 + validity % 1000
            );
        } else if (kind == 4) {
            sig = _malleableTwin(sig); // high s
            expected = abi.encodeWithSelector(IMediaRegistry.MediaRegistryInvalidSignature.selector, address(0), signer);
        } else {
            registry.suspendPublisher(signer);
            expected = abi.encodeWithSelector(IMediaRegistry.MediaRegistryPublisherSuspended.selector, signer);
        }
        vm.expectRevert(expected);
        _relayRegister(r, signer, deadline, sig);
        require(registry.nonces(signer) == nonce, "no nonce used by a refusal");
    }

    function testFuzzSignedAnchor(uint256 keySeed, bytes32 root, uint32 count, string calldata uri, uint8 mutation) public {
        vm.assume(root != bytes32(0));
        count = uint32(_bound(count, 1, 64)); // the anchor lists `count` content hashes
        uint256 key = _bound(keySeed, 1, SECP256K1_N - 1);
        address signer = vm.addr(key);
        vm.assume(signer != publisher && signer != other);
        registry.addPublisher(signer, "Fuzz News", "fuzz.example");
        bytes memory sig = _signAnchor(key, signer, root, count, uri, FAR);
        uint8 kind = mutation % 4;
        vm.prank(RELAYER);
        if (kind == 0) {
            registry.anchorBatchBySig(root, count, uri, _hashes(count), signer, FAR, sig);
            IMediaRegistry.Batch memory batch = registry.getBatch(signer, root);
            require(batch.publisher == signer && batch.count == count, "anchored");
            return;
        }
        bool ok;
        if (kind == 1) {
            ok = _tryAnchor(~root, count, uri, signer, sig);
        } else if (kind == 2) {
            ok = _tryAnchor(root, count + 1, uri, signer, sig); // count is at most 64 here
        } else {
            ok = _tryAnchor(root, count, string.concat(uri, "#"), signer, sig);
        }
        require(!ok, "tampered anchor accepted");
        require(registry.getBatch(signer, root).publisher == address(0), "nothing anchored");
    }

    /// @dev Whether a relayed anchor of `_hashes(count)` with these fields goes through (a low-level call, so a
    /// refusal is a value).
    function _tryAnchor(bytes32 root, uint32 count, string memory uri, address signer, bytes memory sig)
        internal
        returns (bool ok)
    {
        (ok,) = address(registry).call(
            abi.encodeCall(registry.anchorBatchBySig, (root, count, uri, _hashes(count), signer, FAR, sig))
        );
    }

    function testFuzzMerkleInclusion(bytes32[] calldata seeds, uint256 pick, bytes32 noise, uint8 nodeSeed) public {
        uint256 n = seeds.length % 24 + 1;
        IMediaRegistry.Registration[] memory rs = new IMediaRegistry.Registration[](n);
        for (uint256 i = 0; i < n; ++i) {
            bytes32 seed = i < seeds.length ? seeds[i] : keccak256(abi.encode(i));
            rs[i] = IMediaRegistry.Registration(keccak256(abi.encode(seed, i)), seed, ~seed, keccak256(abi.encode(seed)), bytes32(0));
        }
        (bytes32[] memory tree, uint256[] memory pos) = _treeOf(rs, publisher);
        vm.prank(publisher);
        registry.anchorBatch(tree[0], uint32(n), "", _hashes(uint32(n)));
        uint256 k = pick % n;
        bytes32[] memory proof = _proof(tree, pos[k]);
        require(registry.verifyInclusion(tree[0], rs[k], publisher, proof), "member");
        // An outsider with the member's proof; the member with a tampered proof or under another publisher.
        IMediaRegistry.Registration memory outsider = rs[k];
        outsider.manifestHash = keccak256(abi.encode(noise, "outsider"));
        require(!registry.verifyInclusion(tree[0], outsider, publisher, proof), "outsider");
        require(!registry.verifyInclusion(tree[0], rs[k], other, proof), "other publisher");
        if (proof.length > 0) {
            uint256 j = nodeSeed % proof.length;
            vm.assume(noise != proof[j]);
            proof[j] = noise;
            require(!registry.verifyInclusion(tree[0], rs[k], publisher, proof), "tampered proof");
        }
    }
}
