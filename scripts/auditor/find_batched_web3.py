"""Find a batched image on chain by its file hash and check its Merkle inclusion, with web3.py alone.

    python scripts/auditor/find_batched_web3.py --rpc-url URL --contract ADDRESS --abi ABI.json PHOTO [--tree DUMP.json]

Uses nothing from this project (docs/auditing.md quotes it; tests run it): the ABI (a JSON list, or an artifact
with an "abi" key such as contracts/build/MediaRegistry.json), an RPC URL, the contract address. Prints one JSON
object: every batch whose BatchAnchored event lists the file's SHA-256, its retraction state from getRevocation,
and, when the batch's tree dump (standard-v1) is given, the leaf's inclusion under the anchored root computed here
and by the contract's verifyInclusion.
"""

import argparse
import hashlib
import json

from eth_abi import encode
from eth_utils import keccak
from web3 import Web3


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rpc-url", required=True)
    parser.add_argument("--contract", required=True)
    parser.add_argument("--abi", required=True)
    parser.add_argument("--from-block", type=int, default=0)
    parser.add_argument("--tree")
    parser.add_argument("photo")
    args = parser.parse_args()

    abi = json.load(open(args.abi))
    abi = abi["abi"] if isinstance(abi, dict) else abi
    w3 = Web3(Web3.HTTPProvider(args.rpc_url))
    registry = w3.eth.contract(address=Web3.to_checksum_address(args.contract), abi=abi)
    content = hashlib.sha256(open(args.photo, "rb").read()).digest()
    dump = json.load(open(args.tree)) if args.tree else None

    found = []
    # The content hashes are event data, not topics: fetch the batch anchors and look inside (chunk long ranges).
    for log in registry.events.BatchAnchored().get_logs(from_block=args.from_block):
        listed = list(log["args"]["contentHashes"])
        if content not in listed:
            continue
        root, publisher = log["args"]["root"], log["args"]["publisher"]
        uid = keccak(encode(["address", "bytes32"], [publisher, content]))
        revoked_by, revoked_at, reason_code, by_admin = registry.functions.getRevocation(uid).call()
        item = {"publisher": publisher, "root": "0x" + root.hex(), "position": listed.index(content),
                "uri": log["args"]["uri"], "anchoredAt": log["args"]["anchoredAt"], "uid": "0x" + uid.hex(),
                "tx": "0x" + bytes(log["transactionHash"]).hex(), "retracted": revoked_at != 0, "inclusion": None}
        if dump is not None:
            item["inclusion"] = inclusion(registry, dump, root, item["position"], content)
        found.append(item)
    print(json.dumps({"sha256": "0x" + content.hex(), "found": found}))


def inclusion(registry, dump, root, position, content):
    """The leaf of value `position` in a StandardMerkleTree dump, proven under `root` here and on chain."""
    entry = dump["values"][position]
    values = entry["value"]  # contentHash, pixelHash, pdqHash, manifestHash, parent, publisher
    if bytes.fromhex(values[0][2:]) != content:
        return False
    as_bytes = [bytes.fromhex(v[2:]) for v in values[:5]]
    leaf = keccak(keccak(encode(dump["leafEncoding"], [*as_bytes, values[5]])))
    tree = [bytes.fromhex(node[2:]) for node in dump["tree"]]
    index, proof = entry["treeIndex"], []
    while index > 0:  # siblings from the leaf up (OpenZeppelin's layout: children of i are 2i+1 and 2i+2)
        proof.append(tree[index + 1 if index % 2 == 1 else index - 1])
        index = (index - 1) // 2
    node = leaf
    for sibling in proof:
        node = keccak(b"".join(sorted([node, sibling])))
    return node == root and registry.functions.verifyInclusion(root, tuple(as_bytes), values[5], proof).call()


if __name__ == "__main__":
    main()
