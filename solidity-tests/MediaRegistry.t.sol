// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

import {IMediaRegistry} from "../contracts/IMediaRegistry.sol";
import {MediaRegistry} from "../contracts/MediaRegistry.sol";
import {TestERC1271Wallet} from "../contracts/test/TestERC1271Wallet.sol";
import {TestMediaRegistry} from "../contracts/test/TestMediaRegistry.sol";
import {RegistryTestBase} from "./RegistryTestBase.sol";
import {vm} from "./Vm.sol";

/// @notice Every function over the direct and the signed path, and every custom error (Hardhat 3 Solidity tests).
/// The Python suite (tests/contracts) runs the same scenarios on py-evm and anvil through the web3 client.
contract MediaRegistryTest is RegistryTestBase {
    // -------------------------------------------------------------------------------------------- admin

    function testAdminManagesPublishers() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        vm.prank(stranger);
        registry.addPublisher(stranger, "Me", "me.example");
        vm.expectRevert(abi.encodeWithSelector(IMediaRegistry.MediaRegistryZeroAddress.selector));
        registry.addPublisher(address(0), "n", "d");
        vm.expectRevert(abi.encodeWithSelector(IMediaRegistry.MediaRegistryPublisherExists.selector, publisher));
        registry.addPublisher(publisher, "n", "d");
        vm.expectRevert(abi.encodeWithSelector(IMediaRegistry.MediaRegistryUnknownPublisher.selector, stranger));
        registry.suspendPublisher(stranger);
        vm.expectRevert(abi.encodeWithSelector(IMediaRegistry.MediaRegistryUnknownPublisher.selector, stranger));
        registry.reenablePublisher(stranger);
        vm.expectRevert(abi.encodeWithSelector(IMediaRegistry.MediaRegistryPublisherNotSuspended.selector, publisher));
        registry.reenablePublisher(publisher);

        registry.setTime(1_900_000_100);
        registry.suspendPublisher(publisher);
        IMediaRegistry.PublisherInfo memory info = registry.getPublisher(publisher);
        require(info.suspendedAt == 1_900_000_100 && info.addedAt != 0, "suspension time");
        require(!registry.isActivePublisher(publisher), "suspended");
        vm.expectRevert(abi.encodeWithSelector(IMediaRegistry.MediaRegistryPublisherSuspended.selector, publisher));
        registry.suspendPublisher(publisher);
        registry.reenablePublisher(publisher);
        require(registry.isActivePublisher(publisher), "re-enabled");
    }

    function testAdminRoleMovesInTwoStepsAndCannotBeRenounced() public {
        vm.expectRevert(abi.encodeWithSelector(IMediaRegistry.MediaRegistryRenounceDisabled.selector));
        registry.renounceOwnership();
        registry.transferOwnership(stranger);
        require(registry.owner() == address(this) && registry.pendingOwner() == stranger, "pending");
        vm.prank(stranger);
        registry.acceptOwnership();
        require(registry.owner() == stranger, "moved");
    }

    // ------------------------------------------------------------------------------------ registration

    function testRegisterDirectAndSigned() public {
        IMediaRegistry.Registration memory a = _reg("direct");
        vm.prank(publisher);
        bytes32 uid = registry.register(a);
        require(uid == _uid(publisher, a) && uid == registry.recordUid(publisher, a.contentHash), "uid");
        IMediaRegistry.Record memory rec = registry.getRecord(uid);
        require(rec.publisher == publisher && rec.registeredAt == 1_900_000_000 && rec.flags == 0, "record");

        IMediaRegistry.Registration memory b = _reg("signed");
        bytes memory sig = _signRegistration(PUBLISHER_KEY, publisher, b, FAR);
        uid = _relayRegister(b, publisher, FAR, sig);
        rec = registry.getRecord(uid);
        require(rec.publisher == publisher && rec.flags == registry.RECORD_RELAYED(), "relayed record");
        require(registry.nonces(publisher) == 1, "nonce used");

        // The same signature twice: the nonce moved on, so it now recovers to someone else.
        IMediaRegistry.Registration memory c = _reg("signed-2");
        bytes memory sigC = _signRegistration(PUBLISHER_KEY, publisher, c, FAR);
        _relayRegister(c, publisher, FAR, sigC);
        address recovered = _recover(registry.hashRegistration(c, publisher, 2, FAR), sigC);
        vm.expectRevert(
            abi.encodeWithSelector(IMediaRegistry.MediaRegistryInvalidSignature.selector, recovered, publisher)
        );
        _relayRegister(c, publisher, FAR, sigC);
    }

    function testSignedRegistrationRefusals() public {
        IMediaRegistry.Registration memory r = _reg("refused");
        // Expired (deadline one second before now); deadline equal to now is accepted below.
        bytes memory sig = _signRegistration(PUBLISHER_KEY, publisher, r, 1_899_999_999);
        vm.expectRevert(
            abi.encodeWithSelector(IMediaRegistry.MediaRegistryExpiredSignature.selector, 1_899_999_999, 1_900_000_000)
        );
        _relayRegister(r, publisher, 1_899_999_999, sig);
        // Wrong signer.
        sig = _signRegistration(STRANGER_KEY, publisher, r, FAR);
        vm.expectRevert(
            abi.encodeWithSelector(IMediaRegistry.MediaRegistryInvalidSignature.selector, stranger, publisher)
        );
        _relayRegister(r, publisher, FAR, sig);
        // Malleable twin of a valid signature (high s): ECDSA recovers nothing.
        sig = _signRegistration(PUBLISHER_KEY, publisher, r, FAR);
        vm.expectRevert(
            abi.encodeWithSelector(IMediaRegistry.MediaRegistryInvalidSignature.selector, address(0), publisher)
        );
        _relayRegister(r, publisher, FAR, _malleableTwin(sig));
        // Another chain id: the domain separator changes, so the signature recovers to someone else.
        uint256 chain = block.chainid;
        vm.chainId(chain + 1);
        (bool ok,) = address(registry).call(abi.encodeCall(registry.registerBySig, (r, publisher, FAR, sig)));
        require(!ok, "replayed on another chain");
        vm.chainId(chain);
        // Another contract: a second registry refuses this registry's signature.
        TestMediaRegistry second = new TestMediaRegistry();
        second.addPublisher(publisher, "Daily Example", "daily.example");
        (ok,) = address(second).call(abi.encodeCall(second.registerBySig, (r, publisher, FAR, sig)));
        require(!ok, "replayed on another contract");
        // Non-publisher, suspended publisher.
        bytes memory strangerSig = _signRegistration(STRANGER_KEY, stranger, r, FAR);
        vm.expectRevert(abi.encodeWithSelector(IMediaRegistry.MediaRegistryNotPublisher.selector, stranger));
        _relayRegister(r, stranger, FAR, strangerSig);
        registry.suspendPublisher(publisher);
        vm.expectRevert(abi.encodeWithSelector(IMediaRegistry.MediaRegistryPublisherSuspended.selector, publisher));
        _relayRegister(r, publisher, FAR, sig);
        registry.reenablePublisher(publisher);
        // After all that, the genuine signature (deadline == now) still works: failures used no nonce.
        sig = _signRegistration(PUBLISHER_KEY, publisher, r, 1_900_000_000);
        _relayRegister(r, publisher, 1_900_000_000, sig);
    }

    function testRegistrationRefusalsOnBothPaths() public {
        IMediaRegistry.Registration memory r = _reg("both");
        vm.prank(publisher);
        registry.register(r);
        bytes32 uid = _uid(publisher, r);
        vm.expectRevert(abi.encodeWithSelector(IMediaRegistry.MediaRegistryAlreadyRegistered.selector, uid));
        vm.prank(publisher);
        registry.register(r);
        bytes memory sig = _signRegistration(PUBLISHER_KEY, publisher, r, FAR);
        vm.expectRevert(abi.encodeWithSelector(IMediaRegistry.MediaRegistryAlreadyRegistered.selector, uid));
        _relayRegister(r, publisher, FAR, sig);

        IMediaRegistry.Registration memory orphan = _regWithParent("orphan", keccak256("missing"));
        vm.expectRevert(abi.encodeWithSelector(IMediaRegistry.MediaRegistryUnknownParent.selector, keccak256("missing")));
        vm.prank(publisher);
        registry.register(orphan);
        sig = _signRegistration(PUBLISHER_KEY, publisher, orphan, FAR);
        vm.expectRevert(abi.encodeWithSelector(IMediaRegistry.MediaRegistryUnknownParent.selector, keccak256("missing")));
        _relayRegister(orphan, publisher, FAR, sig);

        IMediaRegistry.Registration memory crop = _regWithParent("crop", uid);
        sig = _signRegistration(OTHER_KEY, other, crop, FAR);
        _relayRegister(crop, other, FAR, sig); // a known parent, even another publisher's

        IMediaRegistry.Registration memory empty = _reg("empty");
        empty.contentHash = bytes32(0);
        vm.expectRevert(abi.encodeWithSelector(IMediaRegistry.MediaRegistryEmptyContentHash.selector));
        vm.prank(publisher);
        registry.register(empty);
        vm.expectRevert(abi.encodeWithSelector(IMediaRegistry.MediaRegistryNotPublisher.selector, stranger));
        vm.prank(stranger);
        registry.register(r);
    }

    function testRegisterBatch() public {
        IMediaRegistry.Registration[] memory rs = _regs("batch", 3);
        rs[2].parent = _uid(publisher, rs[0]); // a parent earlier in the same batch
        vm.prank(publisher);
        registry.registerBatch(rs);
        for (uint256 i = 0; i < 3; ++i) {
            require(registry.getRecord(_uid(publisher, rs[i])).publisher == publisher, "batch record");
        }
        vm.expectRevert(abi.encodeWithSelector(IMediaRegistry.MediaRegistryEmptyBatch.selector));
        vm.prank(publisher);
        registry.registerBatch(new IMediaRegistry.Registration[](0));
        IMediaRegistry.Registration[] memory again = _regs("batch-again", 2);
        again[1] = again[0];
        vm.expectRevert(
            abi.encodeWithSelector(IMediaRegistry.MediaRegistryAlreadyRegistered.selector, _uid(publisher, again[0]))
        );
        vm.prank(publisher);
        registry.registerBatch(again);
        require(registry.getRecord(_uid(publisher, again[0])).publisher == address(0), "all or nothing");
        registry.suspendPublisher(publisher);
        IMediaRegistry.Registration[] memory late = _regs("suspended", 1); // built first: sha256 is a call
        vm.expectRevert(abi.encodeWithSelector(IMediaRegistry.MediaRegistryPublisherSuspended.selector, publisher));
        vm.prank(publisher);
        registry.registerBatch(late);
    }

    function testContractWalletPublishesThroughErc1271() public {
        uint256 ownerKey = 0x0717;
        TestERC1271Wallet wallet = new TestERC1271Wallet(vm.addr(ownerKey));
        registry.addPublisher(address(wallet), "Wallet Times", "wallet.example");
        IMediaRegistry.Registration memory r = _reg("wallet");
        bytes memory sig = _signRegistration(ownerKey, address(wallet), r, FAR);
        _relayRegister(r, address(wallet), FAR, sig);
        require(registry.getRecord(_uid(address(wallet), r)).publisher == address(wallet), "wallet record");
        bytes32 root = keccak256("wallet root");
        bytes memory anchorSig = _signAnchor(ownerKey, address(wallet), root, 3, "", FAR);
        vm.prank(RELAYER);
        registry.anchorBatchBySig(root, 3, "", _hashes(3), address(wallet), FAR, anchorSig);
        require(registry.getBatch(address(wallet), root).count == 3, "wallet batch");

        vm.prank(vm.addr(ownerKey));
        wallet.setAccepting(false);
        IMediaRegistry.Registration memory r2 = _reg("wallet-2");
        sig = _signRegistration(ownerKey, address(wallet), r2, FAR);
        vm.expectRevert(
            abi.encodeWithSelector(
                IMediaRegistry.MediaRegistryInvalidSignature.selector, vm.addr(ownerKey), address(wallet)
            )
        );
        _relayRegister(r2, address(wallet), FAR, sig);
    }

    // ------------------------------------------------------------------------------------------ batches

    function testAnchorBatchDirectAndSigned() public {
        IMediaRegistry.Registration[] memory rs = _regs("anchor", 5);
        (bytes32[] memory tree, uint256[] memory pos) = _treeOf(rs, publisher);
        vm.prank(publisher);
        registry.anchorBatch(tree[0], 5, "ipfs://tree", _hashes(5));
        IMediaRegistry.Batch memory batch = registry.getBatch(publisher, tree[0]);
        require(batch.publisher == publisher && batch.count == 5 && batch.anchoredAt == 1_900_000_000, "batch");
        for (uint256 i = 0; i < 5; ++i) {
            require(registry.batchLeaf(rs[i], publisher) == tree[pos[i]], "leaf");
            require(registry.verifyInclusion(tree[0], rs[i], publisher, _proof(tree, pos[i])), "included");
        }
        // A leaf not in the batch, another publisher, another item's proof: not included.
        require(!registry.verifyInclusion(tree[0], _reg("outsider"), publisher, _proof(tree, pos[0])), "outsider");
        require(!registry.verifyInclusion(tree[0], rs[0], other, _proof(tree, pos[0])), "other publisher");
        require(!registry.verifyInclusion(tree[0], rs[0], publisher, _proof(tree, pos[1])), "wrong proof");

        vm.expectRevert(
            abi.encodeWithSelector(IMediaRegistry.MediaRegistryBatchAlreadyAnchored.selector, publisher, tree[0])
        );
        vm.prank(publisher);
        registry.anchorBatch(tree[0], 5, "", _hashes(5));
        vm.prank(other); // keyed by (publisher, root): another publisher may anchor the same root
        registry.anchorBatch(tree[0], 5, "", _hashes(5));

        // Signed: the relayer sends, the publisher's nonce is used.
        bytes32 root2 = keccak256("second root");
        bytes memory sig = _signAnchor(PUBLISHER_KEY, publisher, root2, 7, "uri", FAR);
        vm.prank(RELAYER);
        registry.anchorBatchBySig(root2, 7, "uri", _hashes(7), publisher, FAR, sig);
        require(registry.getBatch(publisher, root2).count == 7 && registry.nonces(publisher) == 1, "signed batch");
        // Replays: same signature again, or for another URI, root, or count.
        bytes32 root3 = keccak256("third root");
        (bool ok,) = address(registry).call(abi.encodeCall(registry.anchorBatchBySig, (root3, 7, "uri", _hashes(7), publisher, FAR, sig)));
        require(!ok, "replayed onto another root");
        sig = _signAnchor(PUBLISHER_KEY, publisher, root3, 7, "uri", FAR);
        (ok,) = address(registry).call(abi.encodeCall(registry.anchorBatchBySig, (root3, 7, "other", _hashes(7), publisher, FAR, sig)));
        require(!ok, "uri changed");
        (ok,) = address(registry).call(abi.encodeCall(registry.anchorBatchBySig, (root3, 8, "uri", _hashes(8), publisher, FAR, sig)));
        require(!ok, "count changed");
    }

    function testAnchorListsTheContentHashes() public {
        IMediaRegistry.Registration[] memory rs = _regs("listed", 4);
        (bytes32[] memory tree,) = _treeOf(rs, publisher);
        bytes32[] memory hashes = _contentHashes(rs);
        vm.expectEmit(true, true, true, true, address(registry));
        emit IMediaRegistry.BatchAnchored(tree[0], publisher, 4, "ipfs://tree", 1_900_000_000, hashes);
        vm.prank(publisher);
        registry.anchorBatch(tree[0], 4, "ipfs://tree", hashes);

        // The count must be the number of hashes listed.
        vm.expectRevert(abi.encodeWithSelector(IMediaRegistry.MediaRegistryCountMismatch.selector, 5, 4));
        vm.prank(other);
        registry.anchorBatch(tree[0], 5, "", hashes);

        // Signed: the signature covers the list, so a relayer can neither swap, drop nor reorder a hash.
        bytes32 root = keccak256("signed list");
        bytes memory sig = _signAnchorOf(PUBLISHER_KEY, publisher, AnchorArgs(root, 4, "", hashes), FAR);
        bytes32[] memory swapped = _contentHashes(rs);
        swapped[2] = keccak256("a file the publisher never listed");
        bytes32[] memory reordered = _contentHashes(rs);
        (reordered[0], reordered[1]) = (reordered[1], reordered[0]);
        bool ok;
        (ok,) = address(registry).call(abi.encodeCall(registry.anchorBatchBySig, (root, 4, "", swapped, publisher, FAR, sig)));
        require(!ok, "swapped hash accepted");
        (ok,) = address(registry).call(abi.encodeCall(registry.anchorBatchBySig, (root, 4, "", reordered, publisher, FAR, sig)));
        require(!ok, "reordered hashes accepted");
        vm.expectEmit(true, true, true, true, address(registry));
        emit IMediaRegistry.BatchAnchored(root, publisher, 4, "", 1_900_000_000, hashes);
        vm.prank(RELAYER);
        registry.anchorBatchBySig(root, 4, "", hashes, publisher, FAR, sig);
    }

    function testAnchorBatchRefusals() public {
        vm.startPrank(publisher);
        vm.expectRevert(abi.encodeWithSelector(IMediaRegistry.MediaRegistryEmptyRoot.selector));
        registry.anchorBatch(bytes32(0), 1, "", _hashes(1));
        vm.expectRevert(abi.encodeWithSelector(IMediaRegistry.MediaRegistryEmptyBatch.selector));
        registry.anchorBatch(keccak256("r"), 0, "", _hashes(0));
        vm.stopPrank();
        vm.expectRevert(abi.encodeWithSelector(IMediaRegistry.MediaRegistryNotPublisher.selector, stranger));
        vm.prank(stranger);
        registry.anchorBatch(keccak256("r"), 1, "", _hashes(1));
        bytes memory sig = _signAnchor(PUBLISHER_KEY, publisher, keccak256("r"), 1, "", 1_899_999_999);
        vm.expectRevert(
            abi.encodeWithSelector(IMediaRegistry.MediaRegistryExpiredSignature.selector, 1_899_999_999, 1_900_000_000)
        );
        registry.anchorBatchBySig(keccak256("r"), 1, "", _hashes(1), publisher, 1_899_999_999, sig);
        sig = _signAnchor(STRANGER_KEY, publisher, keccak256("r"), 1, "", FAR);
        vm.expectRevert(
            abi.encodeWithSelector(IMediaRegistry.MediaRegistryInvalidSignature.selector, stranger, publisher)
        );
        registry.anchorBatchBySig(keccak256("r"), 1, "", _hashes(1), publisher, FAR, sig);
        registry.suspendPublisher(publisher);
        sig = _signAnchor(PUBLISHER_KEY, publisher, keccak256("r"), 1, "", FAR);
        vm.expectRevert(abi.encodeWithSelector(IMediaRegistry.MediaRegistryPublisherSuspended.selector, publisher));
        registry.anchorBatchBySig(keccak256("r"), 1, "", _hashes(1), publisher, FAR, sig);
        vm.expectRevert(abi.encodeWithSelector(IMediaRegistry.MediaRegistryPublisherSuspended.selector, publisher));
        vm.prank(publisher);
        registry.anchorBatch(keccak256("r"), 1, "", _hashes(1));
    }

    // ---------------------------------------------------------------------------------------- retraction

    function testRevokeRecordsOfBothPaths() public {
        IMediaRegistry.Registration memory a = _reg("revoke-direct");
        vm.prank(publisher);
        bytes32 uidA = registry.register(a);
        IMediaRegistry.Registration memory b = _reg("revoke-signed");
        bytes32 uidB = _relayRegister(b, publisher, FAR, _signRegistration(PUBLISHER_KEY, publisher, b, FAR));

        vm.expectRevert(abi.encodeWithSelector(IMediaRegistry.MediaRegistryUnauthorizedRevoker.selector, stranger, uidA));
        vm.prank(stranger);
        registry.revoke(uidA, 1, "not mine");
        vm.expectRevert(abi.encodeWithSelector(IMediaRegistry.MediaRegistryUnauthorizedRevoker.selector, other, uidA));
        vm.prank(other);
        registry.revoke(uidA, 1, "not mine either");
        vm.expectRevert(abi.encodeWithSelector(IMediaRegistry.MediaRegistryUnknownRecord.selector, keccak256("none")));
        registry.revoke(keccak256("none"), 1, "");

        registry.setTime(1_900_000_500);
        vm.prank(publisher);
        registry.revoke(uidA, 1, "Wrong caption.");
        IMediaRegistry.Revocation memory rev = registry.getRevocation(uidA);
        require(rev.revokedBy == publisher && rev.revokedAt == 1_900_000_500 && rev.reasonCode == 1 && !rev.byAdmin, "rev");
        IMediaRegistry.Record memory rec = registry.getRecord(uidA);
        require(rec.publisher == publisher && rec.registeredAt == 1_900_000_000, "record kept");
        require(rec.flags == registry.RECORD_REVOKED(), "revoked flag");
        vm.expectRevert(
            abi.encodeWithSelector(IMediaRegistry.MediaRegistryAlreadyRevoked.selector, uidA, uint64(1_900_000_500))
        );
        registry.revoke(uidA, 2, "again, as admin");

        registry.revoke(uidB, 2, "Manipulated."); // the admin, recorded as such
        rev = registry.getRevocation(uidB);
        require(rev.revokedBy == address(this) && rev.byAdmin, "admin revocation");
        require(registry.getRecord(uidB).flags == registry.RECORD_REVOKED() | registry.RECORD_RELAYED(), "flags");

        // A suspended publisher cannot retract; the admin still can.
        IMediaRegistry.Registration memory c = _reg("revoke-suspended");
        vm.prank(publisher);
        bytes32 uidC = registry.register(c);
        registry.suspendPublisher(publisher);
        vm.expectRevert(abi.encodeWithSelector(IMediaRegistry.MediaRegistryPublisherSuspended.selector, publisher));
        vm.prank(publisher);
        registry.revoke(uidC, 1, "");
        registry.revoke(uidC, 5, "key compromised");
    }

    function testRevokeBatchItem() public {
        IMediaRegistry.Registration[] memory rs = _regs("items", 6);
        (bytes32[] memory tree, uint256[] memory pos) = _treeOf(rs, publisher);
        bytes32 root = tree[0];
        bytes32 uid = _uid(publisher, rs[2]);
        vm.expectRevert(abi.encodeWithSelector(IMediaRegistry.MediaRegistryUnknownBatch.selector, publisher, root));
        vm.prank(publisher);
        registry.revokeBatchItem(root, rs[2], publisher, _proof(tree, pos[2]), 1, "");
        vm.prank(publisher);
        registry.anchorBatch(root, 6, "", _hashes(6));

        IMediaRegistry.Registration memory outsider = _reg("outsider");
        vm.expectRevert(
            abi.encodeWithSelector(IMediaRegistry.MediaRegistryInvalidProof.selector, root, _leaf(outsider, publisher))
        );
        vm.prank(publisher);
        registry.revokeBatchItem(root, outsider, publisher, _proof(tree, pos[2]), 1, "");
        vm.expectRevert(abi.encodeWithSelector(IMediaRegistry.MediaRegistryUnauthorizedRevoker.selector, other, uid));
        vm.prank(other);
        registry.revokeBatchItem(root, rs[2], publisher, _proof(tree, pos[2]), 1, "");

        vm.prank(publisher);
        require(registry.revokeBatchItem(root, rs[2], publisher, _proof(tree, pos[2]), 4, "In error.") == uid, "uid");
        IMediaRegistry.Revocation memory rev = registry.getRevocation(uid);
        require(rev.revokedBy == publisher && !rev.byAdmin && rev.reasonCode == 4, "item revocation");
        vm.expectRevert(
            abi.encodeWithSelector(IMediaRegistry.MediaRegistryAlreadyRevoked.selector, uid, uint64(1_900_000_000))
        );
        registry.revokeBatchItem(root, rs[2], publisher, _proof(tree, pos[2]), 1, "");
        require(registry.verifyInclusion(root, rs[2], publisher, _proof(tree, pos[2])), "still included");
        registry.revokeBatchItem(root, rs[0], publisher, _proof(tree, pos[0]), 5, "admin");
        require(registry.getRevocation(_uid(publisher, rs[0])).byAdmin, "admin item revocation");
    }

    // -------------------------------------------------------------------------------------------- views

    function testGetters() public view {
        require(
            registry.REGISTRATION_TYPEHASH()
                == keccak256(
                    "Registration(bytes32 contentHash,bytes32 pixelHash,bytes32 pdqHash,bytes32 manifestHash,bytes32 parent,address publisher,uint256 nonce,uint256 deadline)"
                ),
            "registration typehash"
        );
        require(
            registry.BATCH_ANCHOR_TYPEHASH()
                == keccak256(
                    "BatchAnchor(bytes32 root,uint32 count,string uri,bytes32[] contentHashes,address publisher,uint256 nonce,"
                    "uint256 deadline)"
                ),
            "batch typehash"
        );
        bytes32 separator = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("MediaRegistry"),
                keccak256("1"),
                block.chainid,
                address(registry)
            )
        );
        require(registry.DOMAIN_SEPARATOR() == separator, "domain separator");
        (, string memory name, string memory version, uint256 chain, address verifying,,) = registry.eip712Domain();
        require(keccak256(bytes(name)) == keccak256("MediaRegistry") && keccak256(bytes(version)) == keccak256("1"), "names");
        require(chain == block.chainid && verifying == address(registry), "domain");
        require(registry.RECORD_REVOKED() == 1 && registry.RECORD_RELAYED() == 2, "flags");
        require(registry.getBatch(publisher, keccak256("none")).publisher == address(0), "no batch");
        require(registry.getRevocation(keccak256("none")).revokedAt == 0, "no revocation");
        require(registry.getRecord(keccak256("none")).publisher == address(0), "no record");
    }

    // Keeps the unused-import linter quiet: MediaRegistry is the type the harness extends.
    function _unused(MediaRegistry) internal pure {}
}
