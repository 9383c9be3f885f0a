"""ledger.core.merkle: StandardMerkleTree rules, the shared vectors, and the npm @openzeppelin/merkle-tree library.

The contract side of the same trees (``verifyInclusion`` on anvil, and in Hardhat) is in ``tests/contracts``.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from eth_abi import encode
from eth_utils import keccak, to_checksum_address
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ledger.core.merkle import (
    REGISTRATION_LEAF_ENCODING,
    InvalidTree,
    MerkleTree,
    hash_pair,
    leaf_hash,
    process_proof,
    registration_leaf,
    registration_leaf_values,
    registration_tree,
    verify_proof,
)
from ledger.core.records import Registration

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "tests" / "vectors"
OZ_SCRIPT = Path(__file__).with_name("oz_merkle_tree.cjs")
PUBLISHER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"

hashes = st.binary(min_size=32, max_size=32).map(lambda b: "0x" + b.hex())
registrations = st.builds(Registration, hashes, hashes, hashes, hashes, hashes)


def distinct_registrations(min_size: int = 1, max_size: int = 40) -> st.SearchStrategy[list[Registration]]:
    return st.lists(registrations, min_size=min_size, max_size=max_size, unique_by=lambda r: r.content_hash)


def reg_from_json(d: dict[str, str]) -> Registration:
    return Registration(d["contentHash"], d["pixelHash"], d["pdqHash"], d["manifestHash"], d["parent"])


# -------------------------------------------------------------------------------------------- the rules


def test_leaf_is_double_keccak_of_the_abi_encoding() -> None:
    reg = Registration("0x" + "01" * 32, "0x" + "02" * 32, "0x" + "03" * 32, "0x" + "04" * 32, "0x" + "05" * 32)
    encoded = encode(list(REGISTRATION_LEAF_ENCODING), [bytes([i]) * 32 for i in range(1, 6)] + [PUBLISHER])
    assert registration_leaf(reg, PUBLISHER) == "0x" + keccak(keccak(encoded)).hex()
    assert registration_leaf(reg, PUBLISHER.lower()) == registration_leaf(reg, PUBLISHER)
    assert registration_leaf_values(reg, PUBLISHER.lower())[-1] == PUBLISHER


def test_single_leaf_tree_is_its_leaf() -> None:
    reg = Registration("0x" + "aa" * 32, "0x" + "bb" * 32, "0x" + "cc" * 32, "0x" + "dd" * 32)
    tree = registration_tree(PUBLISHER, [reg])
    assert tree.root == tree.leaf(0) == registration_leaf(reg, PUBLISHER)
    assert tree.proof(0) == [] and tree.verify(0)


def test_hash_pair_is_commutative() -> None:
    a, b = b"\x01" * 32, b"\x02" * 32
    assert hash_pair(a, b) == hash_pair(b, a) == keccak(a + b)


def test_empty_and_duplicate_batches_are_refused() -> None:
    reg = Registration("0x" + "aa" * 32, "0x" + "bb" * 32, "0x" + "cc" * 32, "0x" + "dd" * 32)
    with pytest.raises(InvalidTree):
        registration_tree(PUBLISHER, [])
    twin = Registration(reg.content_hash, "0x" + "01" * 32, "0x" + "02" * 32, "0x" + "03" * 32)
    with pytest.raises(InvalidTree, match="twice"):
        registration_tree(PUBLISHER, [reg, twin])
    with pytest.raises(InvalidTree):
        leaf_hash(["bytes32"], [])


@settings(max_examples=60, deadline=None)
@given(regs=distinct_registrations(), data=st.data())
@example(regs=[Registration("0x" + "00" * 32, "0x" + "00" * 32, "0x" + "00" * 32, "0x" + "00" * 32)], data=None)
def test_every_proof_verifies_and_tampering_fails(regs: list[Registration], data: Any) -> None:
    tree = registration_tree(PUBLISHER, regs)
    tree.validate()
    for i, reg in enumerate(regs):
        proof = tree.proof(i)
        assert len(proof) <= max(1, len(regs)).bit_length()
        assert verify_proof(tree.root, registration_leaf(reg, PUBLISHER), proof)
        assert process_proof(tree.leaf(i), proof) == tree.root
    if data is None or len(regs) < 2:
        return
    i = data.draw(st.integers(0, len(regs) - 1), label="item")
    j = data.draw(st.integers(0, len(regs) - 1).filter(lambda j: j != i), label="other item")
    # Another item's proof, a changed field, another publisher, a flipped proof bit: all fail.
    assert tree.proof(i) != tree.proof(j) or tree.leaf(i) == tree.leaf(j)
    assert not verify_proof(tree.root, tree.leaf(i), tree.proof(j)) or tree.proof(i) == tree.proof(j)
    changed = Registration(regs[i].content_hash, regs[i].pixel_hash, regs[i].pdq_hash, regs[i].manifest_hash,
                           "0x" + "ee" * 32 if regs[i].parent != "0x" + "ee" * 32 else "0x" + "00" * 32)  # fmt: skip
    assert not verify_proof(tree.root, registration_leaf(changed, PUBLISHER), tree.proof(i))
    assert not verify_proof(tree.root, registration_leaf(regs[i], "0x" + "12" * 20), tree.proof(i))
    proof = tree.proof(i)
    if proof:
        k = data.draw(st.integers(0, len(proof) - 1), label="proof node")
        flipped = proof[:k] + ["0x" + bytes(b ^ 1 if n == 0 else b for n, b in enumerate(bytes.fromhex(proof[k][2:]))).hex()] + proof[k + 1 :]
        assert not verify_proof(tree.root, tree.leaf(i), flipped)


@settings(max_examples=30, deadline=None)
@given(regs=distinct_registrations(max_size=20))
def test_dump_round_trips_and_order_does_not_change_the_root(regs: list[Registration]) -> None:
    tree = registration_tree(PUBLISHER, regs)
    loaded = MerkleTree.load(json.loads(json.dumps(tree.dump())))
    assert loaded == tree
    assert registration_tree(PUBLISHER, list(reversed(regs))).root == tree.root  # leaves are sorted by hash


def test_load_refuses_a_tampered_dump() -> None:
    regs = [Registration("0x" + f"{i:02x}" * 32, "0x" + "bb" * 32, "0x" + "cc" * 32, "0x" + "dd" * 32) for i in range(1, 5)]
    dump = registration_tree(PUBLISHER, regs).dump()
    with pytest.raises(InvalidTree):
        MerkleTree.load({**dump, "format": "standard-v2"})
    bad = json.loads(json.dumps(dump))
    bad["values"][0]["value"][1] = "0x" + "ee" * 32
    with pytest.raises(InvalidTree, match="leaf of value 0"):
        MerkleTree.load(bad)
    bad = json.loads(json.dumps(dump))
    bad["tree"][0] = "0x" + "00" * 32
    with pytest.raises(InvalidTree, match="node 0"):
        MerkleTree.load(bad)


# ------------------------------------------------------------------------------------------ shared vectors


def test_merkle_vectors() -> None:
    vectors = json.loads((VECTORS / "merkle.json").read_text())
    assert tuple(vectors["leafEncoding"]) == REGISTRATION_LEAF_ENCODING
    publisher = vectors["publisher"]
    for case in vectors["trees"]:
        regs = [reg_from_json(r) for r in case["registrations"]]
        tree = registration_tree(publisher, regs)
        assert tree.root == case["root"]
        assert [tree.leaf(i) for i in range(len(regs))] == case["leaves"]
        assert [tree.proof(i) for i in range(len(regs))] == case["proofs"]
        assert tree.dump() == case["dump"]
        assert MerkleTree.load(case["dump"]) == tree
    for case in vectors["notInBatch"]:
        leaf = registration_leaf(reg_from_json(case["registration"]), case["publisher"])
        assert leaf == case["leaf"]
        assert not verify_proof(case["root"], leaf, case["proof"])


def test_vector_files_are_what_the_core_generates() -> None:
    import sys

    proc = subprocess.run([sys.executable, str(VECTORS / "generate.py"), "--check"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


# ------------------------------------------------------------------------- npm @openzeppelin/merkle-tree


def run_oz(trees: list[dict[str, Any]]) -> list[dict[str, Any]]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is needed to run @openzeppelin/merkle-tree (make test installs the npm tools)")
    proc = subprocess.run([node, str(OZ_SCRIPT)], input=json.dumps({"trees": trees}), capture_output=True,
                          text=True, timeout=120, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result: list[dict[str, Any]] = json.loads(proc.stdout)["trees"]
    return result


def test_same_roots_proofs_and_dumps_as_the_openzeppelin_library() -> None:
    """Random registration trees of 1..300 leaves, plus other leaf encodings, built by both implementations."""
    rng = random.Random(20261128)

    def h() -> str:
        return "0x" + rng.randbytes(32).hex()

    sizes = [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 64, 100, 255, 300] + [rng.randint(1, 200) for _ in range(15)]
    requests, ours = [], []
    for size in sizes:
        publisher = to_checksum_address("0x" + rng.randbytes(20).hex())
        regs = [Registration(h(), h(), h(), h(), h() if rng.random() < 0.3 else "0x" + "00" * 32) for _ in range(size)]
        tree = registration_tree(publisher, regs)
        ours.append(tree)
        requests.append({"encoding": list(tree.encoding), "values": [list(v) for v in tree.values]})
    # The generic tree with other types, as the library takes them (uint256 as decimal strings).
    other_values = [[str(rng.getrandbits(256)), to_checksum_address("0x" + rng.randbytes(20).hex()), h()] for _ in range(13)]
    other = MerkleTree.of(other_values, ["uint256", "address", "bytes32"])
    ours.append(other)
    requests.append({"encoding": ["uint256", "address", "bytes32"], "values": other_values})

    theirs = run_oz(requests)
    assert len(theirs) == len(ours)
    for tree, js in zip(ours, theirs, strict=True):
        assert tree.root == js["root"]
        assert [tree.proof(i) for i in range(len(tree))] == js["proofs"]
        assert tree.dump() == js["dump"]
        assert MerkleTree.load(js["dump"]) == tree
