"""Writes the shared test vectors (``tests/vectors/*.json``) from the Python core.

    .venv/bin/python tests/vectors/generate.py          # rewrite the files
    .venv/bin/python tests/vectors/generate.py --check  # exit 1 if they differ

The same files are read by the Python tests (``tests/core/test_vectors.py``: the core still produces them;
``tests/contracts/test_on_anvil.py``: a real contract agrees) and by the Hardhat Solidity tests
(``solidity-tests/Vectors.t.sol``: the contract agrees, in another toolchain). Integers are decimal strings so that
Solidity's JSON cheatcodes and Python read them the same way (some exceed 2**53).

The domain is the first contract anvil's first development account deploys on chain 31337
(``0x5FbDB2315678afecb367f032d93F642f64180aa3``), so a fresh anvil reproduces it; the signer is anvil's second
development account. Both keys are published TEST keys that never hold value.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from eth_account import Account

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from ledger.core import eip712  # noqa: E402
from ledger.core.eip712 import Domain  # noqa: E402
from ledger.core.merkle import REGISTRATION_LEAF_ENCODING, registration_leaf, registration_tree  # noqa: E402
from ledger.core.records import Registration, record_uid  # noqa: E402
from ledger.core.types import ZERO_HASH  # noqa: E402

CHAIN_ID = 31337
CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
SIGNER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"  # anvil account 1 (TEST key)
MAX_UINT256 = 2**256 - 1
TREE_SIZES = (1, 2, 3, 5, 8)


def h(label: str) -> str:
    return "0x" + hashlib.sha256(label.encode()).hexdigest()


def reg(label: str, parent: str = ZERO_HASH) -> Registration:
    return Registration(h(f"{label}/content"), h(f"{label}/pixels"), h(f"{label}/pdq"), h(f"{label}/manifest"), parent)


def reg_json(r: Registration) -> dict[str, str]:
    return {"contentHash": r.content_hash, "pixelHash": r.pixel_hash, "pdqHash": r.pdq_hash,
            "manifestHash": r.manifest_hash, "parent": r.parent}  # fmt: skip


def eip712_vectors() -> dict[str, Any]:
    domain = Domain(CHAIN_ID, CONTRACT)
    signer = Account.from_key(SIGNER_KEY).address
    registrations = []
    for label, parent, nonce, deadline in (
        ("plain", ZERO_HASH, 0, 1_900_000_000),
        ("derived", h("some original uid"), 1, 2_000_000_000),
        ("far-nonce", ZERO_HASH, 7, MAX_UINT256),
        ("zero-deadline", ZERO_HASH, 2**64, 0),
    ):
        r = reg(label, parent)
        registrations.append({
            "registration": reg_json(r), "publisher": signer, "nonce": str(nonce), "deadline": str(deadline),
            "digest": eip712.registration_digest(domain, r, signer, nonce, deadline),
            "signature": eip712.sign_registration(SIGNER_KEY, domain, r, nonce, deadline),
        })  # fmt: skip
    anchors = []
    # The listed content hashes enter the digest on their own (the contract checks count == list length only
    # when anchoring), so the vectors vary both: one hash, three, and none.
    for root_label, count, uri, listed, nonce, deadline in (
        ("root-a", 1, "", 1, 0, 1_900_000_000),
        ("root-b", 1024, "ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi", 3, 3, MAX_UINT256),
        ("root-c", 2**32 - 1, "https://example.org/batches/ünïcødé?id=1", 0, 12, 1_234),
    ):
        root = h(root_label)
        hashes = [h(f"{root_label} file {i}") for i in range(listed)]
        anchors.append({
            "root": root, "count": str(count), "uri": uri, "contentHashes": hashes, "publisher": signer,
            "nonce": str(nonce), "deadline": str(deadline),
            "digest": eip712.batch_anchor_digest(domain, root, count, uri, hashes, signer, nonce, deadline),
            "signature": eip712.sign_batch_anchor(SIGNER_KEY, domain, root, count, uri, hashes, nonce, deadline),
        })  # fmt: skip
    return {
        "domain": domain.as_dict(),
        "domainSeparator": domain.separator(),
        "typehashes": {
            "Registration": {"type": eip712.REGISTRATION_TYPE_STRING, "hash": eip712.REGISTRATION_TYPEHASH},
            "BatchAnchor": {"type": eip712.BATCH_ANCHOR_TYPE_STRING, "hash": eip712.BATCH_ANCHOR_TYPEHASH},
        },
        "signerKey": SIGNER_KEY,
        "signer": signer,
        "registrations": registrations,
        "batchAnchors": anchors,
    }


def uid_vectors() -> dict[str, Any]:
    cases = []
    for publisher, content in (
        ("0x70997970C51812dc3A010C7d01b50e0d17dc79C8", h("wire photo")),
        ("0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", h("wire photo")),
        ("0x0000000000000000000000000000000000000001", "0x" + "ff" * 32),
        ("0xffffffffffffffffffffffffffffffffffffffff", "0x" + "00" * 31 + "01"),
    ):
        cases.append({"publisher": _checksum(publisher), "contentHash": content, "uid": record_uid(publisher, content)})
    return {"uids": cases}


def _checksum(address: str) -> str:
    from eth_utils import to_checksum_address

    return to_checksum_address(address)


def merkle_vectors() -> dict[str, Any]:
    publisher = Account.from_key(SIGNER_KEY).address
    trees = []
    for size in TREE_SIZES:
        regs = [reg(f"tree{size}-item{i}", parent=h("an original") if i == 1 else ZERO_HASH) for i in range(size)]
        tree = registration_tree(publisher, regs)
        trees.append({
            "size": size,
            "registrations": [reg_json(r) for r in regs],
            "leaves": [tree.leaf(i) for i in range(size)],
            "proofs": [tree.proof(i) for i in range(size)],
            "proofLengths": [len(tree.proof(i)) for i in range(size)],
            "root": tree.root,
            "dump": tree.dump(),
        })  # fmt: skip
    # Not in the batch: a registration outside the tree, and a tree member with another publisher.
    big = trees[-1]
    outsider = reg("outsider")
    other_publisher = _checksum("0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC")
    member = Registration(**{_snake(k): v for k, v in big["registrations"][0].items()})
    not_in = [
        {"registration": reg_json(outsider), "publisher": publisher, "root": big["root"], "proof": big["proofs"][0],
         "leaf": registration_leaf(outsider, publisher)},
        {"registration": big["registrations"][0], "publisher": other_publisher, "root": big["root"],
         "proof": big["proofs"][0], "leaf": registration_leaf(member, other_publisher)},
        {"registration": big["registrations"][0], "publisher": publisher, "root": big["root"],
         "proof": big["proofs"][1], "leaf": big["leaves"][0]},
    ]  # fmt: skip
    return {
        "leafEncoding": list(REGISTRATION_LEAF_ENCODING),
        "leafFields": ["contentHash", "pixelHash", "pdqHash", "manifestHash", "parent", "publisher"],
        "publisher": publisher,
        "trees": trees,
        "notInBatch": not_in,
    }


def _snake(name: str) -> str:
    return {"contentHash": "content_hash", "pixelHash": "pixel_hash", "pdqHash": "pdq_hash",
            "manifestHash": "manifest_hash", "parent": "parent"}[name]  # fmt: skip


def render(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


FILES = {"eip712.json": eip712_vectors, "uids.json": uid_vectors, "merkle.json": merkle_vectors}


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for name, make in FILES.items():
        text = render(make())
        path = HERE / name
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote tests/vectors/{name}")
    if stale:
        print("stale vectors: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
