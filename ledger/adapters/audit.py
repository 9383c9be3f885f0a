"""The auditor's checks: everything is recomputed from the chain (an RPC URL and the contract address).

Logs are decoded here with web3.py's own event decoder, not the indexer's, so ``audit mirror`` is an
independent second implementation: a bug in the indexer's decoding or projection shows up as a difference.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from web3 import Web3
from web3.exceptions import Web3RPCError
from web3.logs import DISCARD

from ledger.adapters.store.db import Database
from ledger.adapters.store.mirror_snapshot import snapshot
from ledger.core.merkle import MerkleTree
from ledger.core.records import record_uid
from ledger.errors import InvalidTree

Row = dict[str, Any]
Progress = Callable[[int, int], None]


def _plain(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


@dataclass
class ChainReader:
    """Contract events straight from the node, decoded by web3.py."""

    w3: Web3
    address: str
    abi: list[dict[str, Any]]
    max_range: int = 5000

    def __post_init__(self) -> None:
        self.address = Web3.to_checksum_address(self.address)
        self.contract = self.w3.eth.contract(address=self.address, abi=self.abi)
        self._by_topic = {
            Web3.keccak(text=f"{e['name']}({','.join(_type(i) for i in e['inputs'])})"): self.contract.events[e["name"]]
            for e in self.abi
            if e.get("type") == "event"
        }

    def events(self, from_block: int, to_block: int, progress: Progress | None = None) -> Iterator[Row]:
        start, step = from_block, self.max_range
        while start <= to_block:
            end = min(to_block, start + step - 1)
            try:
                logs = self.w3.eth.get_logs({"address": self.address, "fromBlock": start, "toBlock": end})
            except Web3RPCError:
                if end == start:
                    raise
                step = max(1, step // 2)
                continue
            for log in logs:
                event_type = self._by_topic.get(bytes(log["topics"][0])) if log["topics"] else None
                if event_type is None:
                    continue
                data = event_type().process_log(log)
                yield {
                    "tx_hash": "0x" + bytes(data["transactionHash"]).hex(),
                    "log_index": int(data["logIndex"]),
                    "block_number": int(data["blockNumber"]),
                    "block_hash": "0x" + bytes(data["blockHash"]).hex(),
                    "name": data["event"],
                    "args": canonical(_plain(dict(data["args"]))),
                }
            if progress:
                progress(end - from_block + 1, to_block - from_block + 1)
            start = end + 1


def _type(item: dict[str, Any]) -> str:
    if item["type"].startswith("tuple"):
        return "(" + ",".join(_type(c) for c in item["components"]) + ")" + item["type"][5:]
    return str(item["type"])


# -- projections of the event list, written independently of ledger.adapters.indexer.mirror ----------------------------
NOT_REVOKED: Row = {"revoked_at": None, "revoke_code": None, "revoke_reason": None, "revoked_by": None,
                    "revoked_by_admin": None, "revoked_block": None}  # fmt: skip


def expected_records(events: list[Row], trees: dict[tuple[str, str], dict[str, Any]] | None = None) -> list[Row]:
    """Records as the chain defines them: one per Registered event, plus the items of each BatchAnchored root
    whose leaves we hold (``trees``: standard-v1 dumps by (publisher, root)); a dump only counts if its leaves
    hash up to the root on chain. Retractions from Revoked events."""
    rows: dict[str, Row] = {}
    for e in sorted(events, key=lambda e: (e["block_number"], e["log_index"])):
        a = json.loads(e["args"])
        where = {"block_number": e["block_number"], "block_hash": e["block_hash"], "tx_hash": e["tx_hash"],
                 "log_index": e["log_index"]}  # fmt: skip
        if e["name"] == "Registered":
            rows[a["uid"]] = {
                "uid": a["uid"], "publisher": a["publisher"], "content_hash": a["contentHash"],
                "pixel_hash": a["pixelHash"], "pdq_hash": a["pdqHash"], "manifest_hash": a["manifestHash"],
                "parent": a["parent"], "registered_at": int(a["registeredAt"]), **where,
                "batch_root": None, "leaf_index": None, **NOT_REVOKED,
            }  # fmt: skip
        elif e["name"] == "BatchAnchored" and trees and (a["publisher"], a["root"]) in trees:
            for index, values in enumerate(_batch_leaves(trees[(a["publisher"], a["root"])], a["root"])):
                content, pixel, pdq, manifest, parent, publisher = values
                uid = record_uid(publisher, content)
                rows[uid] = {
                    "uid": uid, "publisher": Web3.to_checksum_address(publisher), "content_hash": content,
                    "pixel_hash": pixel, "pdq_hash": pdq, "manifest_hash": manifest, "parent": parent,
                    "registered_at": int(a["anchoredAt"]), **where, "batch_root": a["root"], "leaf_index": index,
                    **NOT_REVOKED,
                }  # fmt: skip
        elif e["name"] == "Revoked" and a["uid"] in rows:
            rows[a["uid"]].update(revoked_at=int(a["revokedAt"]), revoke_code=int(a["reasonCode"]),
                                  revoke_reason=a["reason"], revoked_by=a["revokedBy"], revoked_by_admin=bool(a["byAdmin"]),
                                  revoked_block=e["block_number"])  # fmt: skip
    return list(rows.values())


def _batch_leaves(dump: dict[str, Any], root: str) -> list[tuple[str, ...]]:
    tree = MerkleTree.load(dump)
    if tree.root.lower() != root.lower():
        raise InvalidTree(f"the leaves held for root {root} hash to {tree.root}")
    return [tuple(str(v).lower() if str(v).startswith("0x") else v for v in values) for values in tree.values]


def expected_publishers(events: list[Row]) -> list[Row]:
    state: dict[str, Row] = {}
    for e in sorted(events, key=lambda e: (e["block_number"], e["log_index"])):
        a = json.loads(e["args"])
        if e["name"] == "PublisherAdded":
            state[a["publisher"]] = {"address": a["publisher"], "name": a["name"], "domain": a["domain"],
                                     "added_block": e["block_number"], "added_tx": e["tx_hash"], "suspended_block": None}  # fmt: skip
        elif e["name"] == "PublisherSuspended" and a["publisher"] in state:
            state[a["publisher"]]["suspended_block"] = e["block_number"]
        elif e["name"] == "PublisherReenabled" and a["publisher"] in state:
            state[a["publisher"]]["suspended_block"] = None
    return list(state.values())


# -- comparing with a database ---------------------------------------------------------------------------------
@dataclass
class TableDiff:
    table: str
    chain_rows: int
    mirror_rows: int
    chain_digest: str
    mirror_digest: str
    missing: list[Row] = field(default_factory=list)  # on chain, not in the mirror
    extra: list[Row] = field(default_factory=list)  # in the mirror, not on chain
    changed: list[tuple[Row, Row]] = field(default_factory=list)  # (chain, mirror)

    @property
    def equal(self) -> bool:
        return not (self.missing or self.extra or self.changed)


@dataclass
class MirrorReport:
    up_to_block: int
    tables: list[TableDiff]

    @property
    def equal(self) -> bool:
        return all(t.equal for t in self.tables)


def _digest(rows: list[Row]) -> str:
    return "0x" + hashlib.sha256("\n".join(sorted(canonical(r) for r in rows)).encode()).hexdigest()


def _compare(table: str, keys: tuple[str, ...], chain: list[Row], stored: list[Row]) -> TableDiff:
    by_key_chain = {tuple(r[k] for k in keys): r for r in chain}
    by_key_mirror = {tuple(r[k] for k in keys): r for r in stored}
    diff = TableDiff(table, len(chain), len(stored), _digest(chain), _digest(stored))
    diff.missing = [r for k, r in by_key_chain.items() if k not in by_key_mirror]
    diff.extra = [r for k, r in by_key_mirror.items() if k not in by_key_chain]
    diff.changed = [(r, by_key_mirror[k]) for k, r in by_key_chain.items() if k in by_key_mirror and by_key_mirror[k] != r]
    if len(stored) != len(by_key_mirror):  # duplicates under one key (cannot happen with the primary keys we use)
        diff.extra.append({"duplicate_keys": len(stored) - len(by_key_mirror)})
    return diff


def audit_mirror(db: Database, reader: ChainReader, deploy_block: int, progress: Progress | None = None) -> MirrorReport:
    """Compare the mirror with the chain up to the mirror's checkpoint (what it claims to have indexed)."""
    mirror = snapshot(db, reader.address, deploy_block)
    up_to = mirror.checkpoint_block if mirror.checkpoint_block is not None else deploy_block - 1
    events = list(reader.events(deploy_block, up_to, progress)) if up_to >= deploy_block else []
    expected = {"chain_events": events, "records": expected_records(events, mirror.trees),
                "publishers": expected_publishers(events)}  # fmt: skip
    # Publishers added after the checkpoint may not be mirrored yet; rows are compared as of `up_to`.
    return MirrorReport(up_to, [_compare(name, keys, expected[name], mirror.tables[name])
                                for name, keys in mirror.keys.items()])  # fmt: skip


# -- receipts ----------------------------------------------------------------------------------------------------
@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def check_receipt(w3: Web3, abi: list[dict[str, Any]], receipt: dict[str, Any]) -> list[Check]:
    """Every claim of a receipt against the chain: the signature, the record or the batch inclusion (computed
    here and by the contract's ``verifyInclusion``), the anchoring event, and any retraction."""
    from ledger.adapters.chain.client import RegistryClient
    from ledger.core.eip712 import Domain, recover_batch_anchor_signer, recover_registration_signer
    from ledger.core.merkle import registration_leaf, verify_proof
    from ledger.core.records import Registration

    checks: list[Check] = []
    publisher = Web3.to_checksum_address(receipt["publisher"])
    reg = Registration(receipt["content_hash"], receipt["pixel_hash"], receipt["pdq_hash"], receipt["manifest_hash"],
                       receipt.get("parent") or "0x" + "00" * 32)  # fmt: skip
    uid = record_uid(publisher, reg.content_hash)
    checks.append(Check("uid", uid == receipt.get("uid", uid), f"keccak256(abi.encode(publisher, contentHash)) = {uid}"))

    client = RegistryClient(w3, receipt["contract"], abi)
    chain_domain = client.domain()
    domain = Domain(int(receipt["chain_id"]), receipt["contract"])
    checks.append(Check("chain", chain_domain == domain and w3.eth.chain_id == domain.chain_id,
                        f"the node is chain {w3.eth.chain_id}; the contract's EIP-712 domain is {chain_domain}"))  # fmt: skip
    if receipt.get("signature"):
        signer = recover_registration_signer(domain, reg, publisher, int(receipt["nonce"]), int(receipt["deadline"]),
                                             receipt["signature"])  # fmt: skip
        checks.append(Check("signature", signer == publisher, f"EIP-712 signature recovers {signer}"))

    info = client.publisher(publisher)
    checks.append(Check("publisher", info.added_at > 0, f"{info.name} ({info.domain}), "
                        + ("active" if info.active else f"suspended at {info.suspended_at}")))  # fmt: skip

    if receipt.get("batch_root"):
        root, proof = receipt["batch_root"], receipt.get("proof") or []
        leaf = registration_leaf(reg, publisher)
        checks.append(Check("inclusion (local)", verify_proof(root, leaf, proof), f"leaf {leaf} under root {root}"))
        checks.append(Check("inclusion (contract)", client.verify_inclusion(root, reg, publisher, proof),
                            "MediaRegistry.verifyInclusion"))  # fmt: skip
        anchored = batch_anchor_event(w3, client, receipt.get("tx_hash"), root, publisher)
        listed = [str(h).lower() for h in anchored["contentHashes"]] if anchored else []
        if receipt.get("batch_signature"):
            signer = recover_batch_anchor_signer(domain, root, int(receipt["batch_count"]), receipt.get("batch_uri") or "",
                                                 listed, publisher, int(receipt["batch_nonce"]),
                                                 int(receipt["batch_deadline"]), receipt["batch_signature"])  # fmt: skip
            checks.append(Check("batch signature", signer == publisher,
                                f"EIP-712 BatchAnchor signature (root, uri and the {len(listed)} content hashes the "
                                f"event lists) recovers {signer}"))  # fmt: skip
        batch = client.batch(publisher, root)
        checks.append(Check("root anchored", batch is not None,
                            f"{batch.count} images at {batch.anchored_at}" if batch else "no such batch on chain"))  # fmt: skip
        tx_hash = receipt.get("tx_hash")
        checks.append(Check("BatchAnchored event", anchored is not None,
                            f"in tx {tx_hash}" if anchored else f"tx {tx_hash} has no BatchAnchored event of this root"))  # fmt: skip
        checks.append(Check("content hash listed", reg.content_hash.lower() in listed,
                            f"the anchor lists {reg.content_hash} (position {listed.index(reg.content_hash.lower())})"
                            if reg.content_hash.lower() in listed else "the anchor does not list this file hash"))  # fmt: skip
    else:
        record = client.get_record(uid)
        checks.append(Check("record", record.exists and record.publisher == publisher,
                            f"registered at {record.registered_at} by {record.publisher}"))  # fmt: skip
        checks.append(_event_in_tx(w3, client, receipt.get("tx_hash"), "Registered",
                                   {"uid": uid, "pixelHash": reg.pixel_hash, "pdqHash": reg.pdq_hash,
                                    "manifestHash": reg.manifest_hash}))  # fmt: skip
    revocation = client.revocation(uid)
    checks.append(Check("retraction", True, "not retracted" if revocation is None else
                        f"RETRACTED at {revocation.revoked_at} (reason code {revocation.reason_code}"
                        f"{', by the admin' if revocation.by_admin else ''})"))  # fmt: skip
    return checks


def batch_anchor_event(w3: Web3, client: Any, tx_hash: str | None, root: str, publisher: str) -> Row | None:
    """The arguments (0x hex) of the BatchAnchored event of ``root`` by ``publisher`` in transaction ``tx_hash``."""
    if not tx_hash:
        return None
    try:
        tx_receipt = w3.eth.get_transaction_receipt(tx_hash)
    except Exception:  # noqa: BLE001 - any failure means the claim cannot be confirmed
        return None
    for event in client.contract.events.BatchAnchored().process_receipt(tx_receipt, errors=DISCARD):
        args = _plain(dict(event["args"]))
        if args["root"].lower() == root.lower() and args["publisher"].lower() == publisher.lower():
            return dict(args)
    return None


def _event_in_tx(w3: Web3, client: Any, tx_hash: str | None, name: str, expected: dict[str, str]) -> Check:
    if not tx_hash:
        return Check(f"{name} event", False, "the receipt names no transaction (not anchored yet?)")
    try:
        tx_receipt = w3.eth.get_transaction_receipt(tx_hash)
    except Exception as exc:  # noqa: BLE001 - any failure means the claim cannot be confirmed
        return Check(f"{name} event", False, f"transaction {tx_hash} not found: {exc}")
    for event in client.contract.events[name]().process_receipt(tx_receipt, errors=DISCARD):
        args = _plain(dict(event["args"]))
        if all(str(args.get(k, "")).lower() == str(v).lower() for k, v in expected.items()):
            return Check(f"{name} event", True, f"in tx {tx_hash}, block {tx_receipt['blockNumber']}")
    return Check(f"{name} event", False, f"tx {tx_hash} has no matching {name} event")


# -- batched images by file hash (issue 11) ----------------------------------------------------------------------------
def batched_by_content(reader: ChainReader, start: int, head: int, content_hash: str) -> list[Row]:
    """Every ``BatchAnchored`` event whose listed content hashes include ``content_hash``: publisher, root, the
    position in the list, the anchor's time, block and transaction, the record uid and any retraction. Chain only."""
    event = reader.contract.events.BatchAnchored()
    wanted = bytes.fromhex(content_hash.removeprefix("0x"))
    found: list[Row] = []
    low, step = start, reader.max_range
    while low <= head:
        high = min(head, low + step - 1)
        try:
            logs = event.get_logs(from_block=low, to_block=high)
        except Web3RPCError:
            if high == low:
                raise
            step = max(1, step // 2)
            continue
        for log in logs:
            listed = [bytes(h) for h in log["args"]["contentHashes"]]
            if wanted not in listed:
                continue
            args = _plain(dict(log["args"]))
            publisher = Web3.to_checksum_address(args["publisher"])
            uid = record_uid(publisher, content_hash.lower())
            revoked_by, revoked_at, reason_code, by_admin = reader.contract.functions.getRevocation(uid).call()
            found.append({
                "content_hash": content_hash.lower(), "publisher": publisher, "root": args["root"],
                "position": listed.index(wanted), "count": int(args["count"]),
                "uri": args["uri"], "anchored_at": int(args["anchoredAt"]), "block_number": int(log["blockNumber"]),
                "tx_hash": "0x" + bytes(log["transactionHash"]).hex(), "uid": uid,
                "retraction": None if revoked_at == 0 else {"revoked_at": int(revoked_at), "reason_code": int(reason_code),
                                                            "revoked_by": revoked_by, "by_admin": bool(by_admin)},
            })  # fmt: skip
        low = high + 1
    return found


def check_batched_inclusion(reader: ChainReader, item: Row, dump: dict[str, Any] | None, pixel_hash: str | None = None) -> Row:
    """The Merkle inclusion of a batched file (found by ``batched_by_content``) under its anchored root, given the
    batch's tree dump (from its ``uri``, the publisher, or anyone holding it). Without a dump only the listing is
    known. Returns ``{"checked": bool, "ok": bool, "detail": str, ...}``; with a dump also the leaf values."""
    if dump is None:
        return {"checked": False, "ok": False,
                "detail": "no tree for this root: the file hash is listed in the publisher's anchor, but its caption "
                          "and fingerprints cannot be proven without the batch's tree (uri " + repr(item["uri"]) + ")"}  # fmt: skip
    try:
        tree = MerkleTree.load(dump)
    except InvalidTree as exc:
        return {"checked": True, "ok": False, "detail": f"the tree is unusable: {exc}"}
    if tree.root.lower() != item["root"].lower():
        return {"checked": True, "ok": False, "detail": f"the tree's root is {tree.root}, not the anchored {item['root']}"}
    content = str(item.get("content_hash") or "").lower()
    position = item["position"]
    if position >= len(tree) or str(tree.values[position][0]).lower() != content:
        return {"checked": True, "ok": False, "detail": f"the tree's value {position} is not this file hash"}
    values = tree.values[position]
    proof = tree.proof(position)
    registration = (*(bytes.fromhex(str(v)[2:]) for v in values[:5]),)
    on_chain = bool(reader.contract.functions.verifyInclusion(
        bytes.fromhex(item["root"][2:]), registration, Web3.to_checksum_address(str(values[5])),
        [bytes.fromhex(p[2:]) for p in proof]).call())  # fmt: skip
    same_publisher = str(values[5]).lower() == item["publisher"].lower()
    pixels_agree = pixel_hash is None or str(values[1]).lower() == pixel_hash.lower()
    ok = tree.verify(position, proof) and on_chain and same_publisher and pixels_agree
    detail = (f"leaf {position} proven under the root locally and by verifyInclusion" if ok else
              "the proof does not hold" if not on_chain else
              "the leaf names another publisher" if not same_publisher else "the leaf's pixel hash is not this file's")
    return {"checked": True, "ok": ok, "detail": detail, "proof": proof,
            "leaf": dict(zip(("content_hash", "pixel_hash", "pdq_hash", "manifest_hash", "parent", "publisher"),
                             (str(v) for v in values), strict=True))}  # fmt: skip
