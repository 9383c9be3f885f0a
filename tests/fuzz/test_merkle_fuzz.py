"""ledger.core.merkle under arbitrary input: a tree dump or proof from anywhere (``provenance audit receipt`` reads
them from files and from the API) is either accepted as exactly right or refused with ``InvalidTree``/``InvalidHash``,
never another exception. The OpenZeppelin compatibility and round trips are in tests/core/test_merkle.py."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from ledger.core.merkle import MerkleTree, process_proof, registration_leaf, registration_tree, verify_proof
from ledger.core.records import Registration
from ledger.errors import LedgerValueError
from tests.fuzz.profile import examples

PUBLISHER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
hashes = st.binary(min_size=32, max_size=32).map(lambda b: "0x" + b.hex())
registrations = st.builds(Registration, hashes, hashes, hashes, hashes, hashes)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**260), 2**260) | st.floats(allow_nan=False) | st.text(max_size=80)
    | hashes | st.sampled_from(["0x", "0x" + "zz" * 32, "bytes32", "address", "uint256", "string", "standard-v1"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)  # fmt: skip
TREE = registration_tree(PUBLISHER, [Registration("0x" + f"{i:02x}" * 32, "0x" + "bb" * 32, "0x" + "cc" * 32,
                                                  "0x" + "dd" * 32) for i in range(1, 6)])  # fmt: skip


def mutate(dump: Any, path: list[Any], value: Any) -> Any:
    """``dump`` with the element at ``path`` (keys and indices, taken modulo what exists) replaced by ``value``."""
    out = copy.deepcopy(dump)
    node, parent, key = out, None, None
    for step in path:
        if isinstance(node, dict) and isinstance(step, str):
            parent, key = node, step
            if step not in node:
                break
        elif isinstance(node, dict) and node:
            parent, key = node, sorted(node)[step % len(node)]
        elif isinstance(node, list) and node:
            parent, key = node, step % len(node) if isinstance(step, int) else 0
        else:
            break
        node = parent[key]
    if parent is None:
        return value
    parent[key] = value
    return out


@examples(150)
@given(path=st.lists(st.integers(0, 40) | st.sampled_from(["format", "leafEncoding", "tree", "values", "value",
                                                          "treeIndex"]), max_size=5), value=json_values)  # fmt: skip
@example(path=["leafEncoding", 0], value="address")  # a leaf type that does not take the stored value
@example(path=["leafEncoding"], value=["bytes32"])  # fewer types than values
@example(path=["values", 0, "treeIndex"], value=2**70)
@example(path=["values", 0, "value", 5], value="0x" + "zz" * 20)
@example(path=["leafEncoding", 0], value="uint256")
@example(path=["leafEncoding", 0], value="bytes7")
@example(path=["leafEncoding", 0], value="not a type")
def test_a_mutated_dump_loads_as_itself_or_is_refused(path: list[Any], value: Any) -> None:
    dump = mutate(TREE.dump(), path, value)
    try:
        loaded = MerkleTree.load(json.loads(json.dumps(dump)))
    except LedgerValueError:
        return
    # Accepted: every node hashes up, and every value's proof leads to the root it claims.
    loaded.validate()
    for i in range(len(loaded)):
        assert loaded.verify(i)


@examples(100)
@given(dump=json_values)
@example(dump={"format": "standard-v1", "leafEncoding": [], "tree": [], "values": []})
@example(dump={"format": "standard-v1", "leafEncoding": ["bytes32"], "tree": ["0x" + "00" * 32],
               "values": [{"value": ["0x00"], "treeIndex": 0}]})  # fmt: skip
def test_any_json_is_a_tree_or_refused(dump: Any) -> None:
    try:
        MerkleTree.load(dump if isinstance(dump, dict) else {"format": "standard-v1", "tree": dump})
    except LedgerValueError:
        pass


@examples(100)
@given(regs=st.lists(registrations, min_size=1, max_size=12, unique_by=lambda r: r.content_hash), data=st.data())
def test_a_proof_verifies_only_its_own_leaf_and_root(regs: list[Registration], data: st.DataObject) -> None:
    tree = registration_tree(PUBLISHER, regs)
    i = data.draw(st.integers(0, len(regs) - 1), label="item")
    proof = tree.proof(i)
    assert verify_proof(tree.root, registration_leaf(regs[i], PUBLISHER), proof)
    # Any other leaf (a registration not in the tree) fails against this proof.
    other = data.draw(registrations.filter(lambda r: all(r.content_hash != x.content_hash for x in regs)), label="other")
    assert not verify_proof(tree.root, registration_leaf(other, PUBLISHER), proof)
    # A proof with one node dropped, added or replaced fails (the leaf moves to another height or sibling).
    junk = data.draw(hashes, label="junk node")
    for changed in (proof[1:], [*proof, junk], [junk, *proof[1:]]):
        if changed != proof:
            assert not verify_proof(tree.root, tree.leaf(i), changed)


@examples(100)
@given(leaf=st.text(max_size=70) | hashes, proof=st.lists(st.text(max_size=70) | hashes, max_size=4))
@example(leaf="0x" + "ab" * 32, proof=["0x" + "cd" * 31])
def test_malformed_leaves_and_proofs_are_refused_as_bad_hashes(leaf: str, proof: list[str]) -> None:
    try:
        root = process_proof(leaf, proof)
    except LedgerValueError:
        return
    assert len(root) == 66 and verify_proof(root, leaf, proof)
