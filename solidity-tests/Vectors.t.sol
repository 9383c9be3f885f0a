// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IMediaRegistry} from "../contracts/IMediaRegistry.sol";
import {MediaRegistry} from "../contracts/MediaRegistry.sol";
import {vm} from "./Vm.sol";

/// @notice The shared vectors in tests/vectors/*.json (written by the Python core, tests/vectors/generate.py)
/// against the contract compiled by Hardhat: EIP-712 digests and signatures, record uids, Merkle leaves, roots
/// and proofs. The vectors' domain is chain 31337 and contract 0x5FbDB...aa3: the registry's code is placed at
/// that address (the EIP-712 domain is rebuilt for `address(this)`, so it is the vectors' domain).
contract VectorsTest {
    MediaRegistry internal atVectorAddress;
    MediaRegistry internal registry;

    function setUp() public {
        string memory json = vm.readFile("tests/vectors/eip712.json");
        address target = vm.parseJsonAddress(json, ".domain.verifyingContract");
        require(vm.parseJsonUint(json, ".domain.chainId") == block.chainid, "vectors are for chain 31337");
        registry = new MediaRegistry();
        vm.etch(target, address(registry).code);
        vm.store(target, bytes32(0), bytes32(uint256(uint160(address(this))))); // Ownable._owner: this test
        atVectorAddress = MediaRegistry(target);
    }

    function _registration(string memory json, string memory at_) internal pure returns (IMediaRegistry.Registration memory r) {
        r.contentHash = vm.parseJsonBytes32(json, string.concat(at_, ".contentHash"));
        r.pixelHash = vm.parseJsonBytes32(json, string.concat(at_, ".pixelHash"));
        r.pdqHash = vm.parseJsonBytes32(json, string.concat(at_, ".pdqHash"));
        r.manifestHash = vm.parseJsonBytes32(json, string.concat(at_, ".manifestHash"));
        r.parent = vm.parseJsonBytes32(json, string.concat(at_, ".parent"));
    }

    function _item(string memory list, uint256 i) internal pure returns (string memory) {
        return string.concat(list, "[", vm.toString(i), "]");
    }

    function testDomainAndTypehashes() public view {
        string memory json = vm.readFile("tests/vectors/eip712.json");
        require(atVectorAddress.DOMAIN_SEPARATOR() == vm.parseJsonBytes32(json, ".domainSeparator"), "separator");
        require(atVectorAddress.REGISTRATION_TYPEHASH() == vm.parseJsonBytes32(json, ".typehashes.Registration.hash"), "reg");
        require(
            atVectorAddress.BATCH_ANCHOR_TYPEHASH() == vm.parseJsonBytes32(json, ".typehashes.BatchAnchor.hash"), "anchor"
        );
        require(
            keccak256(bytes(vm.parseJsonString(json, ".typehashes.Registration.type")))
                == atVectorAddress.REGISTRATION_TYPEHASH(),
            "registration preimage"
        );
    }

    function testRegistrationDigestsAndSignatures() public {
        string memory json = vm.readFile("tests/vectors/eip712.json");
        uint256 key = vm.parseJsonUint(json, ".signerKey");
        require(vm.addr(key) == vm.parseJsonAddress(json, ".signer"), "signer");
        uint256 n;
        for (; vm.keyExistsJson(json, _item(".registrations", n)); ++n) {
            string memory at_ = _item(".registrations", n);
            IMediaRegistry.Registration memory r = _registration(json, string.concat(at_, ".registration"));
            bytes32 digest = atVectorAddress.hashRegistration(
                r,
                vm.parseJsonAddress(json, string.concat(at_, ".publisher")),
                vm.parseJsonUint(json, string.concat(at_, ".nonce")),
                vm.parseJsonUint(json, string.concat(at_, ".deadline"))
            );
            require(digest == vm.parseJsonBytes32(json, string.concat(at_, ".digest")), "registration digest");
            (uint8 v, bytes32 rr, bytes32 s) = vm.sign(key, digest); // RFC 6979: same as eth-account's
            require(
                keccak256(abi.encodePacked(rr, s, v)) == keccak256(vm.parseJsonBytes(json, string.concat(at_, ".signature"))),
                "registration signature"
            );
        }
        require(n >= 4, "registration vectors");

        // The first vector's signature registers through a relayer at the vectors' address.
        address signer = vm.parseJsonAddress(json, ".signer");
        atVectorAddress.addPublisher(signer, "Vector Daily", "vector.example");
        IMediaRegistry.Registration memory first = _registration(json, ".registrations[0].registration");
        vm.warp(1_800_000_000);
        bytes32 uid = atVectorAddress.registerBySig(
            first, signer, vm.parseJsonUint(json, ".registrations[0].deadline"), vm.parseJsonBytes(json, ".registrations[0].signature")
        );
        require(atVectorAddress.getRecord(uid).publisher == signer, "vector registration");
    }

    function testBatchAnchorDigestsAndSignatures() public view {
        string memory json = vm.readFile("tests/vectors/eip712.json");
        uint256 key = vm.parseJsonUint(json, ".signerKey");
        uint256 n;
        for (; vm.keyExistsJson(json, _item(".batchAnchors", n)); ++n) {
            string memory at_ = _item(".batchAnchors", n);
            bytes32 digest = atVectorAddress.hashBatchAnchor(
                vm.parseJsonBytes32(json, string.concat(at_, ".root")),
                uint32(vm.parseJsonUint(json, string.concat(at_, ".count"))),
                vm.parseJsonString(json, string.concat(at_, ".uri")),
                vm.parseJsonBytes32Array(json, string.concat(at_, ".contentHashes")),
                vm.parseJsonAddress(json, string.concat(at_, ".publisher")),
                vm.parseJsonUint(json, string.concat(at_, ".nonce")),
                vm.parseJsonUint(json, string.concat(at_, ".deadline"))
            );
            require(digest == vm.parseJsonBytes32(json, string.concat(at_, ".digest")), "anchor digest");
            (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
            require(
                keccak256(abi.encodePacked(r, s, v)) == keccak256(vm.parseJsonBytes(json, string.concat(at_, ".signature"))),
                "anchor signature"
            );
        }
        require(n >= 3, "anchor vectors");
    }

    function testRecordUids() public view {
        string memory json = vm.readFile("tests/vectors/uids.json");
        uint256 n;
        for (; vm.keyExistsJson(json, _item(".uids", n)); ++n) {
            string memory at_ = _item(".uids", n);
            bytes32 uid = registry.recordUid(
                vm.parseJsonAddress(json, string.concat(at_, ".publisher")),
                vm.parseJsonBytes32(json, string.concat(at_, ".contentHash"))
            );
            require(uid == vm.parseJsonBytes32(json, string.concat(at_, ".uid")), "uid");
        }
        require(n >= 4, "uid vectors");
    }

    function testMerkleLeavesRootsAndProofs() public {
        string memory json = vm.readFile("tests/vectors/merkle.json");
        address publisher = vm.parseJsonAddress(json, ".publisher");
        registry.addPublisher(publisher, "Vector Daily", "vector.example");
        uint256 trees;
        for (; vm.keyExistsJson(json, _item(".trees", trees)); ++trees) {
            string memory at_ = _item(".trees", trees);
            bytes32 root = vm.parseJsonBytes32(json, string.concat(at_, ".root"));
            uint256 size = vm.parseJsonUint(json, string.concat(at_, ".size"));
            IMediaRegistry.Registration[] memory rs = new IMediaRegistry.Registration[](size);
            bytes32[] memory contentHashes = new bytes32[](size);
            for (uint256 i = 0; i < size; ++i) {
                rs[i] = _registration(json, _item(string.concat(at_, ".registrations"), i));
                contentHashes[i] = rs[i].contentHash;
            }
            vm.prank(publisher);
            registry.anchorBatch(root, uint32(size), "vectors", contentHashes);
            bytes32[] memory leaves = vm.parseJsonBytes32Array(json, string.concat(at_, ".leaves"));
            require(leaves.length == size, "leaf count");
            for (uint256 i = 0; i < size; ++i) {
                IMediaRegistry.Registration memory r = rs[i];
                require(registry.batchLeaf(r, publisher) == leaves[i], "leaf");
                bytes32[] memory proof = vm.parseJsonBytes32Array(json, _item(string.concat(at_, ".proofs"), i));
                require(registry.verifyInclusion(root, r, publisher, proof), "inclusion");
            }
        }
        require(trees >= 5, "tree vectors");
        uint256 n;
        for (; vm.keyExistsJson(json, _item(".notInBatch", n)); ++n) {
            string memory at_ = _item(".notInBatch", n);
            IMediaRegistry.Registration memory r = _registration(json, string.concat(at_, ".registration"));
            address who = vm.parseJsonAddress(json, string.concat(at_, ".publisher"));
            require(registry.batchLeaf(r, who) == vm.parseJsonBytes32(json, string.concat(at_, ".leaf")), "outsider leaf");
            require(
                !registry.verifyInclusion(
                    vm.parseJsonBytes32(json, string.concat(at_, ".root")),
                    r,
                    who,
                    vm.parseJsonBytes32Array(json, string.concat(at_, ".proof"))
                ),
                "not in batch"
            );
        }
        require(n >= 3, "negative vectors");
    }
}
