"""The committed artifact on a real anvil: the shared vectors, and Hypothesis fuzzing of the signed path and of
Merkle inclusion against the node (``verifyInclusion`` must agree with ``ledger.core.merkle`` on every tree).

One anvil (``ledger.adapters.chain.node.AnvilNode``) serves the module. The registry is the first contract that anvil's
first account deploys, so it sits at the vectors' ``verifyingContract`` (0x5FbDB...aa3) on chain 31337.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_utils import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.adapters.chain.artifact import load_artifact
from ledger.adapters.chain.client import RegistryClient, connect
from ledger.adapters.chain.node import AnvilNode
from ledger.config import ANVIL_TEST_ADMIN_KEY
from ledger.core import eip712
from ledger.core.eip712 import Domain, registration_digest, sign_registration
from ledger.core.merkle import batch_content_hashes, registration_leaf, registration_tree, verify_proof
from ledger.core.records import RECORD_RELAYED, Registration, record_uid
from ledger.errors import ContractRevert
from tests.conftest import free_port

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
PUBLISHER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"  # anvil account 1 (TEST key)
RELAYER_KEY = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"  # anvil account 2 (TEST key)
STRANGER_KEY = "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6"  # anvil account 3 (TEST key)
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


@dataclass
class Node:
    client: RegistryClient
    publisher: str

    def now(self) -> int:
        return int(self.client.w3.eth.get_block("latest")["timestamp"])


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    anvil = AnvilNode(tmp_path_factory.mktemp("anvil") / "chain", free_port())
    anvil.start()
    try:
        w3 = connect(anvil.url)
        client, _ = RegistryClient.deploy(w3, load_artifact(), ANVIL_TEST_ADMIN_KEY)
        publisher = Account.from_key(PUBLISHER_KEY).address
        client.add_publisher(ANVIL_TEST_ADMIN_KEY, publisher, "Vector Daily", "vector.example")
        yield Node(client, publisher)
    finally:
        anvil.stop()


def load(name: str) -> dict[str, Any]:
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def reg_from_json(d: dict[str, str]) -> Registration:
    return Registration(d["contentHash"], d["pixelHash"], d["pdqHash"], d["manifestHash"], d["parent"])


def b32(value: str) -> bytes:
    return bytes.fromhex(value[2:])


# ------------------------------------------------------------------------------------------ shared vectors


def test_python_core_reproduces_the_eip712_and_uid_vectors() -> None:
    vectors = load("eip712.json")
    domain = Domain(vectors["domain"]["chainId"], vectors["domain"]["verifyingContract"])
    assert domain.as_dict() == vectors["domain"]
    assert domain.separator() == vectors["domainSeparator"]
    assert vectors["typehashes"]["Registration"] == {"type": eip712.REGISTRATION_TYPE_STRING, "hash": eip712.REGISTRATION_TYPEHASH}
    assert vectors["typehashes"]["BatchAnchor"] == {"type": eip712.BATCH_ANCHOR_TYPE_STRING, "hash": eip712.BATCH_ANCHOR_TYPEHASH}
    key, signer = vectors["signerKey"], vectors["signer"]
    for case in vectors["registrations"]:
        reg, nonce, deadline = reg_from_json(case["registration"]), int(case["nonce"]), int(case["deadline"])
        assert registration_digest(domain, reg, case["publisher"], nonce, deadline) == case["digest"]
        assert sign_registration(key, domain, reg, nonce, deadline) == case["signature"]
        assert eip712.recover_registration_signer(domain, reg, signer, nonce, deadline, case["signature"]) == signer
    for case in vectors["batchAnchors"]:
        args = (case["root"], int(case["count"]), case["uri"], case["contentHashes"], case["publisher"], int(case["nonce"]),
                int(case["deadline"]))  # fmt: skip
        assert eip712.batch_anchor_digest(domain, *args) == case["digest"]
        assert eip712.sign_batch_anchor(key, domain, *args[:4], args[5], args[6]) == case["signature"]
        assert eip712.recover_batch_anchor_signer(domain, *args, case["signature"]) == signer
    for case in load("uids.json")["uids"]:
        assert record_uid(case["publisher"], case["contentHash"]) == case["uid"]


def test_contract_agrees_with_the_vectors(node: Node) -> None:
    c, vectors = node.client, load("eip712.json")
    assert c.address == vectors["domain"]["verifyingContract"]
    assert c.domain().as_dict() == vectors["domain"]
    assert c.domain_separator() == vectors["domainSeparator"]
    assert c.registration_typehash() == vectors["typehashes"]["Registration"]["hash"]
    assert c.batch_anchor_typehash() == vectors["typehashes"]["BatchAnchor"]["hash"]
    fn = c.contract.functions
    for case in vectors["registrations"]:
        reg = reg_from_json(case["registration"])
        digest = fn.hashRegistration(reg.as_contract_tuple(), case["publisher"], int(case["nonce"]), int(case["deadline"])).call()
        assert "0x" + digest.hex() == case["digest"]
    for case in vectors["batchAnchors"]:
        digest = fn.hashBatchAnchor(b32(case["root"]), int(case["count"]), case["uri"],
                                    [b32(h) for h in case["contentHashes"]], case["publisher"], int(case["nonce"]),
                                    int(case["deadline"])).call()  # fmt: skip
        assert "0x" + digest.hex() == case["digest"]
    for case in load("uids.json")["uids"]:
        assert "0x" + fn.recordUid(case["publisher"], b32(case["contentHash"])).call().hex() == case["uid"]

    merkle = load("merkle.json")
    publisher = merkle["publisher"]
    assert publisher == node.publisher
    for case in merkle["trees"]:
        if c.batch(publisher, case["root"]) is None:
            c.anchor_batch(PUBLISHER_KEY, case["root"], [r["contentHash"] for r in case["registrations"]], "vectors", wait=True)
        for i, raw in enumerate(case["registrations"]):
            reg = reg_from_json(raw)
            assert c.batch_leaf(reg, publisher) == case["leaves"][i]
            assert c.verify_inclusion(case["root"], reg, publisher, case["proofs"][i])
    for case in merkle["notInBatch"]:
        reg = reg_from_json(case["registration"])
        assert c.batch_leaf(reg, case["publisher"]) == case["leaf"]
        assert not c.verify_inclusion(case["root"], reg, case["publisher"], case["proof"])


def test_vector_signature_registers_through_a_relayer(node: Node) -> None:
    c = node.client
    case = load("eip712.json")["registrations"][0]  # nonce 0, deadline 1,900,000,000
    assert int(case["nonce"]) == c.nonce(node.publisher) == 0
    reg = reg_from_json(case["registration"])
    c.register_by_sig(RELAYER_KEY, reg, node.publisher, int(case["deadline"]), case["signature"], wait=True)
    record = c.get_record(record_uid(node.publisher, reg.content_hash))
    assert record.publisher == node.publisher and record.flags == RECORD_RELAYED
    assert c.nonce(node.publisher) == 1


# ------------------------------------------------------------------------------------ fuzzing on the node

hashes = st.binary(min_size=32, max_size=32).map(lambda b: "0x" + b.hex())
registrations = st.builds(Registration, hashes.filter(lambda h: int(h, 16) != 0), hashes, hashes, hashes)
_fresh = itertools.count()


def fresh(reg: Registration) -> Registration:
    """The same registration with a content hash never used on this node (examples share one chain)."""
    content = "0x" + keccak(bytes.fromhex(reg.content_hash[2:]) + next(_fresh).to_bytes(8, "big")).hex()
    return Registration(content, reg.pixel_hash, reg.pdq_hash, reg.manifest_hash, reg.parent)
MUTATIONS = ("none", "wrong_signer", "other_chain", "other_contract", "high_s", "stale_nonce", "future_nonce",
             "tampered_field", "expired", "truncated")  # fmt: skip


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(reg=registrations, mutation=st.sampled_from(MUTATIONS), validity=st.integers(0, 10**9), other=hashes)
def test_fuzz_signed_registration(node: Node, reg: Registration, mutation: str, validity: int, other: str) -> None:
    """Only an untouched signature by the publisher, for this chain, contract and nonce, in time, registers."""
    c = node.client
    reg = fresh(reg)
    domain = c.domain()
    nonce = c.nonce(node.publisher)
    deadline = node.now() - 100 - validity % 10_000 if mutation == "expired" else node.now() + 60 + validity
    key, sign_domain, sign_nonce, sent_reg = PUBLISHER_KEY, domain, nonce, reg
    if mutation == "wrong_signer":
        key = STRANGER_KEY
    elif mutation == "other_chain":
        sign_domain = Domain(domain.chain_id + 1 + validity % 1000, domain.verifying_contract)
    elif mutation == "other_contract":
        sign_domain = Domain(domain.chain_id, "0x" + other[2:42])
    elif mutation == "stale_nonce" and nonce > 0:
        sign_nonce = nonce - 1
    elif mutation == "future_nonce":
        sign_nonce = nonce + 1 + validity % 5
    elif mutation == "tampered_field":
        sent_reg = Registration(reg.content_hash, reg.pixel_hash, reg.pdq_hash, other)
    signature = sign_registration(key, sign_domain, reg, sign_nonce, deadline)
    if mutation == "high_s":
        raw = bytes.fromhex(signature[2:])
        s = SECP256K1_N - int.from_bytes(raw[32:64], "big")
        signature = "0x" + (raw[:32] + s.to_bytes(32, "big") + bytes([55 - raw[64]])).hex()
    elif mutation == "truncated":
        signature = signature[: 2 + 2 * (validity % 65)]
    valid = mutation == "none" or (mutation == "stale_nonce" and nonce == 0) or (
        mutation == "tampered_field" and other == reg.manifest_hash)  # fmt: skip
    uid = record_uid(node.publisher, sent_reg.content_hash)
    if valid:
        c.register_by_sig(RELAYER_KEY, sent_reg, node.publisher, deadline, signature, wait=True)
        assert c.get_record(uid).relayed
        assert c.nonce(node.publisher) == nonce + 1
    else:
        with pytest.raises(ContractRevert) as caught:
            c.register_by_sig(RELAYER_KEY, sent_reg, node.publisher, deadline, signature, wait=True)
        expected = "MediaRegistryExpiredSignature" if mutation == "expired" else "MediaRegistryInvalidSignature"
        assert caught.value.error_name == expected
        if mutation in ("high_s", "truncated"):
            assert caught.value.error_args == ("0x" + "00" * 20, node.publisher)
        assert not c.get_record(uid).exists
        assert c.nonce(node.publisher) == nonce


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(regs=st.lists(registrations, min_size=1, max_size=70, unique_by=lambda r: r.content_hash), data=st.data())
def test_fuzz_merkle_inclusion_matches_the_contract(node: Node, regs: list[Registration], data: Any) -> None:
    c, publisher = node.client, node.publisher
    tree = registration_tree(publisher, regs)
    if c.batch(publisher, tree.root) is None:
        c.anchor_batch(PUBLISHER_KEY, tree.root, batch_content_hashes(tree), "", wait=True)
    picks = data.draw(st.lists(st.integers(0, len(regs) - 1), min_size=1, max_size=4), label="items")
    for i in picks:
        assert c.batch_leaf(regs[i], publisher) == registration_leaf(regs[i], publisher) == tree.leaf(i)
        assert c.verify_inclusion(tree.root, regs[i], publisher, tree.proof(i))
    # A leaf not in the batch (fresh hashes) with a member's proof, and a proof with one node replaced.
    outsider = data.draw(registrations.filter(lambda r: r.content_hash not in {x.content_hash for x in regs}), label="outsider")
    i = picks[0]
    assert not verify_proof(tree.root, registration_leaf(outsider, publisher), tree.proof(i))
    assert not c.verify_inclusion(tree.root, outsider, publisher, tree.proof(i))
    proof = tree.proof(i)
    if proof:
        k = data.draw(st.integers(0, len(proof) - 1), label="node")
        replacement = data.draw(hashes.filter(lambda x: x != proof[k]), label="replacement")
        bad = [*proof[:k], replacement, *proof[k + 1 :]]
        assert not verify_proof(tree.root, tree.leaf(i), bad)
        assert not c.verify_inclusion(tree.root, regs[i], publisher, bad)
