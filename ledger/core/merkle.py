"""Merkle trees of registrations, bit-compatible with OpenZeppelin's ``StandardMerkleTree`` and ``MerkleProof``.

The rules (``@openzeppelin/merkle-tree`` 1.0.8, dump format ``standard-v1``):

- leaf = ``keccak256(keccak256(abi.encode(values)))`` (hashing twice keeps a leaf from passing for an inner node);
- leaves are sorted by hash; the tree is an array of ``2n - 1`` nodes with the root at 0, node ``i``'s children at
  ``2i + 1`` and ``2i + 2``, and the sorted leaves stored from the end backwards;
- an inner node is ``keccak256`` of its two children sorted as bytes (so a proof needs no left/right bits);
- a proof is the list of siblings from the leaf up to, not including, the root.

A registration's leaf is ``(contentHash, pixelHash, pdqHash, manifestHash, parent, publisher)`` with types
``bytes32 x5, address`` (``REGISTRATION_LEAF_ENCODING``): the contract's ``batchLeaf``/``verifyInclusion``.

Pure: no I/O, no web3. Hashes travel as 0x-prefixed lower-case hex strings, like every hash in the ledger.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NewType

from eth_abi import encode
from eth_abi.exceptions import EncodingError, ParseError, PredicateMappingError
from eth_utils import keccak, to_checksum_address

from ledger.core.records import Registration, record_uid
from ledger.core.types import parse_hash32
from ledger.errors import InvalidTree

__all__ = [
    "DUMP_FORMAT",
    "REGISTRATION_LEAF_ENCODING",
    "InvalidTree",
    "MerkleRoot",
    "MerkleTree",
    "LeafHash",
    "batch_content_hashes",
    "hash_pair",
    "leaf_hash",
    "process_proof",
    "registration_leaf",
    "registration_leaf_values",
    "registration_tree",
    "verify_proof",
]

MerkleRoot = NewType("MerkleRoot", str)  # 0x hex, 32 bytes: what anchorBatch stores
LeafHash = NewType("LeafHash", str)  # 0x hex, 32 bytes: keccak256(keccak256(abi.encode(values)))

DUMP_FORMAT = "standard-v1"
# The registration fields plus the publisher, in the order of the contract's Registration struct.
REGISTRATION_LEAF_ENCODING: tuple[str, ...] = ("bytes32", "bytes32", "bytes32", "bytes32", "bytes32", "address")


def _b32(value: str | bytes, what: str = "hash") -> bytes:
    if isinstance(value, (bytes, bytearray)):
        if len(value) != 32:
            raise InvalidTree(f"{what} must be 32 bytes, got {len(value)}")
        return bytes(value)
    return bytes.fromhex(parse_hash32(value, what)[2:])


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


def _abi_value(abi_type: str, value: Any) -> Any:
    """A JSON-friendly value (0x hex for bytesN, decimal string or int for uintN) as eth-abi wants it."""
    if abi_type == "address":
        return to_checksum_address(value)
    if abi_type.startswith("bytes") and abi_type != "bytes" and isinstance(value, str):
        return bytes.fromhex(value.removeprefix("0x"))
    if abi_type == "bytes" and isinstance(value, str):
        return bytes.fromhex(value.removeprefix("0x"))
    if abi_type.startswith(("uint", "int")) and isinstance(value, str):
        return int(value, 0)
    return value


def hash_pair(a: bytes, b: bytes) -> bytes:
    """``keccak256`` of the two nodes sorted as bytes (OpenZeppelin ``Hashes.commutativeKeccak256``)."""
    return keccak(a + b if a <= b else b + a)


def leaf_hash(encoding: Sequence[str], values: Sequence[Any]) -> LeafHash:
    """``keccak256(keccak256(abi.encode(values)))`` for ``values`` of the ABI ``encoding`` types."""
    if len(encoding) != len(values):
        raise InvalidTree(f"{len(values)} values for {len(encoding)} leaf types")
    try:
        encoded = encode(list(encoding), [_abi_value(t, v) for t, v in zip(encoding, values, strict=True)])
    except (EncodingError, ParseError, PredicateMappingError, ValueError, TypeError, AttributeError, OverflowError) as exc:
        # A dump read from a file or another service: an unknown type or a value its type cannot take.
        raise InvalidTree(f"a leaf's values do not fit its types {list(encoding)}: {exc}") from None
    return LeafHash(_hex(keccak(keccak(encoded))))


def registration_leaf_values(reg: Registration, publisher: str) -> tuple[str, str, str, str, str, str]:
    """The leaf values of ``reg`` by ``publisher``: the five hashes (0x hex) and the checksummed address."""
    return (
        parse_hash32(reg.content_hash, "content hash"),
        parse_hash32(reg.pixel_hash, "pixel hash"),
        parse_hash32(reg.pdq_hash, "PDQ hash"),
        parse_hash32(reg.manifest_hash, "manifest hash"),
        parse_hash32(reg.parent, "parent"),
        to_checksum_address(publisher),
    )


def registration_leaf(reg: Registration, publisher: str) -> LeafHash:
    """The leaf of ``reg`` by ``publisher``, as the contract's ``batchLeaf(r, publisher)``."""
    return leaf_hash(REGISTRATION_LEAF_ENCODING, registration_leaf_values(reg, publisher))


def process_proof(leaf: str | bytes, proof: Iterable[str | bytes]) -> str:
    """The root that ``proof`` leads to from ``leaf`` (OpenZeppelin ``MerkleProof.processProof``)."""
    node = _b32(leaf, "leaf")
    for sibling in proof:
        node = hash_pair(node, _b32(sibling, "proof node"))
    return _hex(node)


def verify_proof(root: str | bytes, leaf: str | bytes, proof: Iterable[str | bytes]) -> bool:
    """Whether ``proof`` leads from ``leaf`` to ``root`` (OpenZeppelin ``MerkleProof.verify``)."""
    return process_proof(leaf, proof) == _hex(_b32(root, "root"))


def _left(i: int) -> int:
    return 2 * i + 1


def _sibling(i: int) -> int:
    return i + 1 if i % 2 == 1 else i - 1


def _parent(i: int) -> int:
    return (i - 1) // 2


@dataclass(frozen=True, slots=True)
class MerkleTree:
    """A ``StandardMerkleTree``: the values in input order, the node array, and where each value's leaf sits.

    Build with ``MerkleTree.of(values, encoding)`` (or ``registration_tree``); ``dump()``/``load()`` use the JS
    library's ``standard-v1`` JSON so either side can read the other's trees.
    """

    encoding: tuple[str, ...]
    values: tuple[tuple[Any, ...], ...]
    tree: tuple[bytes, ...]
    tree_indices: tuple[int, ...]  # tree_indices[i]: index in ``tree`` of the leaf of values[i]

    @classmethod
    def of(cls, values: Sequence[Sequence[Any]], encoding: Sequence[str]) -> MerkleTree:
        """Hash each value as a leaf, sort the leaves by hash and build the tree (like ``StandardMerkleTree.of``)."""
        if not values:
            raise InvalidTree("a Merkle tree needs at least one leaf")
        enc = tuple(encoding)
        vals = tuple(tuple(v) for v in values)
        hashed = sorted(((_b32(leaf_hash(enc, v)), i) for i, v in enumerate(vals)), key=lambda pair: pair[0])
        size = 2 * len(hashed) - 1
        nodes: list[bytes] = [b""] * size
        tree_indices = [0] * len(vals)
        for position, (leaf, value_index) in enumerate(hashed):
            nodes[size - 1 - position] = leaf
            tree_indices[value_index] = size - 1 - position
        for i in range(size - 1 - len(hashed), -1, -1):
            nodes[i] = hash_pair(nodes[_left(i)], nodes[_left(i) + 1])
        return cls(enc, vals, tuple(nodes), tuple(tree_indices))

    @property
    def root(self) -> MerkleRoot:
        return MerkleRoot(_hex(self.tree[0]))

    def __len__(self) -> int:
        return len(self.values)

    def leaf(self, index: int) -> LeafHash:
        """The leaf hash of ``values[index]``."""
        return LeafHash(_hex(self.tree[self.tree_indices[index]]))

    def proof(self, index: int) -> list[str]:
        """The proof of ``values[index]``: sibling hashes from the leaf up (``StandardMerkleTree.getProof``)."""
        i = self.tree_indices[index]
        proof: list[str] = []
        while i > 0:
            proof.append(_hex(self.tree[_sibling(i)]))
            i = _parent(i)
        return proof

    def index_of(self, values: Sequence[Any]) -> int:
        """The index of the value whose leaf equals that of ``values``; ``LookupError`` when absent."""
        target = _b32(leaf_hash(self.encoding, values))
        for i, tree_index in enumerate(self.tree_indices):
            if self.tree[tree_index] == target:
                return i
        raise LookupError("value not in the tree")

    def verify(self, index: int, proof: Sequence[str] | None = None) -> bool:
        """Whether ``proof`` (by default the tree's own) proves ``values[index]`` under this root."""
        return verify_proof(self.tree[0], self.leaf(index), self.proof(index) if proof is None else proof)

    def validate(self) -> None:
        """Raise ``InvalidTree`` unless every inner node hashes its children and every leaf hashes its value."""
        size = len(self.tree)
        if size != 2 * len(self.values) - 1 or len(self.tree_indices) != len(self.values):
            raise InvalidTree("tree size does not match the number of values")
        for i in range(size):
            if _left(i) < size and self.tree[i] != hash_pair(self.tree[_left(i)], self.tree[_left(i) + 1]):
                raise InvalidTree(f"node {i} is not the hash of its children")
        for i, value in enumerate(self.values):
            if not (size - len(self.values) <= self.tree_indices[i] < size):
                raise InvalidTree(f"value {i} does not point at a leaf")
            if self.tree[self.tree_indices[i]] != _b32(leaf_hash(self.encoding, value)):
                raise InvalidTree(f"leaf of value {i} does not match its value")

    def dump(self) -> dict[str, Any]:
        """The ``standard-v1`` JSON object of ``StandardMerkleTree.dump()``."""
        return {
            "format": DUMP_FORMAT,
            "leafEncoding": list(self.encoding),
            "tree": [_hex(node) for node in self.tree],
            "values": [
                {"value": list(value), "treeIndex": tree_index}
                for value, tree_index in zip(self.values, self.tree_indices, strict=True)
            ],
        }

    @classmethod
    def load(cls, data: Mapping[str, Any]) -> MerkleTree:
        """Read a ``standard-v1`` dump (from this module or the JS library) and check it hashes up."""
        if not isinstance(data, Mapping) or data.get("format") != DUMP_FORMAT:
            found = data.get("format") if isinstance(data, Mapping) else type(data).__name__
            raise InvalidTree(f"unknown Merkle tree format {found!r}; expected {DUMP_FORMAT!r}")
        try:
            tree = cls(
                encoding=tuple(data["leafEncoding"]),
                values=tuple(tuple(entry["value"]) for entry in data["values"]),
                tree=tuple(_b32(node, "tree node") for node in data["tree"]),
                tree_indices=tuple(int(entry["treeIndex"]) for entry in data["values"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidTree(f"malformed Merkle tree dump: {exc}") from None
        tree.validate()
        return tree


def registration_tree(publisher: str, registrations: Sequence[Registration]) -> MerkleTree:
    """The batch tree of ``registrations`` by ``publisher``; ``values[i]`` is ``registrations[i]``'s leaf values.

    Refuses an empty batch and two registrations of the same content hash (the same record uid).
    """
    seen: set[str] = set()
    for reg in registrations:
        uid = record_uid(publisher, reg.content_hash)
        if uid in seen:
            raise InvalidTree(f"content hash {reg.content_hash} appears twice in the batch")
        seen.add(uid)
    return MerkleTree.of([registration_leaf_values(r, publisher) for r in registrations], REGISTRATION_LEAF_ENCODING)


def batch_content_hashes(tree: MerkleTree) -> list[str]:
    """The content hash (SHA-256 of the file) of each value of a registration tree, in the order of its values:
    what ``anchorBatch`` lists in the ``BatchAnchored`` event, so that anyone finds a batched image by its file hash."""
    if tuple(tree.encoding) != REGISTRATION_LEAF_ENCODING:
        raise InvalidTree(f"not a registration tree: leaf encoding {list(tree.encoding)}")
    return [str(values[0]).lower() for values in tree.values]
