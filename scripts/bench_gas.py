"""Gas per image of every way to anchor an image, measured on a real anvil; writes bench/results/gas.json.

    .venv/bin/python scripts/bench_gas.py [--target all|cancun|shanghai]

Both builds of the registry (ledger/adapters/chain/compile.py): the cancun build on anvil at its default (latest)
hardfork (bench/results/gas.json, the figures the targets are held to), the same build on anvil run with
``--hardfork cancun`` (bench/results/gas-cancun-rules.json: gas prices before EIP-7623's calldata floor, as on
chains that have not adopted Prague), and the shanghai build on Ganache 7, the chain it exists for
(bench/results/gas-shanghai.json).

Batch anchors list every item's content hash (issue 11). Two ways were measured, both here: in the
``BatchAnchored`` event (what the registry does) and in calldata only (``contracts/test/BenchBatchHashesInCalldata.sol``,
the rejected variant: the auditor reads the hashes from the transaction input). Each row also gives the transaction's
EIP-7623 calldata floor (21,000 + 10 x (zero bytes + 4 x non-zero bytes)): since Prague a transaction pays at
least that, which for 32 random bytes per image is 1,280 gas per image whatever the contract does.

Gas per image = the transaction's ``gasUsed`` (21,000 intrinsic included) divided by the images it anchors, in
steady state: the publisher's nonce slot has been written before (a first signature pays 17,100 more for it), the
publisher and relayer accounts exist, and hashes are random 32-byte values (like SHA-256 output; calldata zero
bytes are cheaper, so real hashes cost what these do). ``registerBatch`` and ``anchorBatch`` carry real
registrations and real Merkle roots (``ledger.core.merkle``). Targets come from issue 3; the EAS numbers are the peers
measured the same way (../shared/TOOLCHAIN.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from eth_account import Account

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ledger.adapters.chain.artifact import artifact_digest, load_artifact  # noqa: E402
from ledger.adapters.chain.client import RegistryClient, SentTx, _transact, connect  # noqa: E402
from ledger.adapters.chain.compile import compile_with_harnesses  # noqa: E402
from ledger.adapters.chain.node import local_node  # noqa: E402
from ledger.config import ANVIL_TEST_ADMIN_KEY  # noqa: E402
from ledger.core.eip712 import sign_batch_anchor, sign_registration, sign_revocation  # noqa: E402
from ledger.core.merkle import batch_content_hashes, registration_tree  # noqa: E402
from ledger.core.records import Registration, record_uid  # noqa: E402

# Per run: the build, the chain it is measured on (with extra node arguments) and where its figures go.
RUNS = [("cancun", "anvil", [], ROOT / "bench" / "results" / "gas.json"),
        ("cancun", "anvil", ["--hardfork", "cancun"], ROOT / "bench" / "results" / "gas-cancun-rules.json"),
        ("shanghai", "ganache", [], ROOT / "bench" / "results" / "gas-shanghai.json")]  # fmt: skip
BUILDS = ("cancun", "shanghai")
# The hardfork each node runs unless told otherwise (ledger/adapters/chain/node.py starts Ganache at shanghai).
HARDFORKS = {"anvil": "anvil's default (latest: Prague rules and later, EIP-7623 included)", "ganache": "shanghai"}
CALLDATA_VARIANT = "contracts/test/BenchBatchHashesInCalldata.sol"
# A realistic location for a batch's tree dump (a CIDv1 is 59 characters).
BATCH_URI = "ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"
REASON = "The caption named the wrong city."
SIG_VALIDITY = 3600

# Issue 3: the per-image ceilings.
# Issue 11 replaced anchorBatch[1024]'s 60 gas per image (a root alone) by 1,000 with every content hash listed.
TARGETS = {"register": 60_000, "registerBySig": 70_000, "registerBatch[100]": 30_000, "anchorBatch[1024]": 1_000}
# Measured on a local chain for comparison (../shared/TOOLCHAIN.md).
PEERS = {
    "EAS attest (one bytes32)": 180_132,
    "EAS attestByDelegation (EIP-712)": 196_248,
    "EAS multiAttest, per item of 100": 145_783,
}


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def calldata_floor(w3: Any, tx_hash: str) -> int:
    """EIP-7623's floor for the transaction: 21,000 + 10 gas per calldata token (a zero byte 1, any other 4)."""
    data = bytes(w3.eth.get_transaction(tx_hash)["input"])
    zeros = data.count(0)
    return 21_000 + 10 * (zeros + 4 * (len(data) - zeros))


class Bench:
    def __init__(self, client: RegistryClient, publisher_key: bytes, relayer_key: bytes, seed: int = 3,
                 calldata_variant: RegistryClient | None = None):  # fmt: skip
        self.client = client
        self.calldata_variant = calldata_variant
        self.publisher_key = publisher_key
        self.publisher = Account.from_key(publisher_key).address
        self.relayer_key = relayer_key
        self.rng = random.Random(seed)
        self.rows: list[dict[str, Any]] = []

    def registration(self, parent: str | None = None) -> Registration:
        h = lambda: "0x" + self.rng.randbytes(32).hex()  # noqa: E731
        return Registration(h(), h(), h(), h(), parent or "0x" + "00" * 32)

    def now(self) -> int:
        return int(self.client.w3.eth.get_block("latest")["timestamp"])

    def row(self, operation: str, images: int, sent: SentTx, note: str = "") -> None:
        gas_used = sent.gas_used or 0
        per_image = gas_used / images
        target = TARGETS.get(operation)
        self.rows.append(
            {
                "operation": operation,
                "images": images,
                "gas_used": gas_used,
                "gas_per_image": round(per_image, 1),
                "target_per_image": target,
                "meets_target": None if target is None else per_image <= target,
                "calldata_floor": calldata_floor(self.client.w3, sent.tx_hash),
                "note": note,
            }
        )

    def register_by_sig(self, reg: Registration) -> SentTx:
        domain = self.client.domain()
        deadline = self.now() + SIG_VALIDITY
        signature = sign_registration(self.publisher_key, domain, reg, self.client.nonce(self.publisher), deadline)
        return self.client.register_by_sig(self.relayer_key, reg, self.publisher, deadline, signature, wait=True)

    def run(self) -> list[dict[str, Any]]:
        c, key = self.client, self.publisher_key
        # Warm-up: the publisher's nonce slot goes 0 -> 1 here (not steady state), so it is not measured.
        first_sig = self.register_by_sig(self.registration())

        original = self.registration()
        self.row("register", 1, c.register(key, original, wait=True), "no parent")
        parent_uid = record_uid(self.publisher, original.content_hash)
        self.row("register (with parent)", 1, c.register(key, self.registration(parent_uid), wait=True),
                 "parent must exist: one more storage read")  # fmt: skip

        self.row("registerBySig", 1, self.register_by_sig(self.registration()), "relayer sends; nonce 1 -> 2")
        self.rows[-1]["first_signature_gas_used"] = first_sig.gas_used

        for n in (10, 100):
            regs = [self.registration() for _ in range(n)]
            self.row(f"registerBatch[{n}]", n, c.register_batch(key, regs, wait=True))

        trees: dict[int, Any] = {}
        for n in (16, 256, 1024, 4096):
            regs = [self.registration() for _ in range(n)]
            tree = registration_tree(self.publisher, regs)
            trees[n] = (tree, regs)
            sent = c.anchor_batch(key, tree.root, batch_content_hashes(tree), BATCH_URI, wait=True)
            self.row(f"anchorBatch[{n}]", n, sent, f"content hashes in the event; uri of {len(BATCH_URI)} characters")

        if self.calldata_variant is not None:
            variant = self.calldata_variant
            for n in (16, 256, 1024, 4096):
                tree = registration_tree(self.publisher, [self.registration() for _ in range(n)])
                hashes = [bytes.fromhex(h[2:]) for h in batch_content_hashes(tree)]
                fn = variant.contract.functions.anchorBatchHashesInCalldata(bytes.fromhex(tree.root[2:]), n, BATCH_URI, hashes)
                sent = _transact(variant.w3, variant.abi, fn, key, wait=True)
                self.row(f"variant: hashes in calldata only [{n}]", n, sent, "rejected variant (see docs/contract.md)")

        regs = [self.registration() for _ in range(1024)]
        tree = registration_tree(self.publisher, regs)
        hashes = batch_content_hashes(tree)
        deadline = self.now() + SIG_VALIDITY
        signature = sign_batch_anchor(key, c.domain(), tree.root, 1024, BATCH_URI, hashes, c.nonce(self.publisher),
                                      deadline)  # fmt: skip
        sent = c.anchor_batch_by_sig(self.relayer_key, tree.root, hashes, BATCH_URI, self.publisher, deadline, signature,
                                     wait=True)  # fmt: skip
        self.row("anchorBatchBySig[1024]", 1024, sent, "relayer sends; the signature covers the content hashes")

        victim = self.registration()
        c.register(key, victim, wait=True)
        sent = c.revoke(key, record_uid(self.publisher, victim.content_hash), 1, REASON, wait=True)
        self.row("revoke", 1, sent, f"reason of {len(REASON)} characters")

        victim = self.registration()
        c.register(key, victim, wait=True)
        uid = record_uid(self.publisher, victim.content_hash)
        deadline = self.now() + SIG_VALIDITY
        signature = sign_revocation(key, c.domain(), uid, 1, REASON, c.nonce(self.publisher), deadline)
        sent = c.revoke_by_sig(self.relayer_key, uid, 1, REASON, self.publisher, deadline, signature, wait=True)
        self.row("revokeBySig", 1, sent, f"relayer sends the publisher's signature; reason of {len(REASON)} characters")

        tree, regs = trees[1024]
        sent = c.revoke_batch_item(key, tree.root, regs[7], self.publisher, tree.proof(7), 1, REASON, wait=True)
        self.row("revokeBatchItem[1024]", 1, sent, f"proof of {len(tree.proof(7))} hashes")
        return self.rows


def print_table(rows: list[dict[str, Any]]) -> None:
    print(f"{'operation':<40} {'images':>6} {'gasUsed':>10} {'gas/image':>10} {'floor':>10} {'target':>8}  ok")
    for r in rows:
        target = "" if r["target_per_image"] is None else f"{r['target_per_image']:,}"
        ok = "" if r["meets_target"] is None else ("yes" if r["meets_target"] else "NO")
        print(f"{r['operation']:<40} {r['images']:>6} {r['gas_used']:>10,} {r['gas_per_image']:>10,.1f} "
              f"{r['calldata_floor']:>10,} {target:>8}  {ok}")  # fmt: skip
    print("peers (one transaction each, ../shared/TOOLCHAIN.md): "
          + "; ".join(f"{name} {gas:,}" for name, gas in PEERS.items()))  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--target", choices=["all", *BUILDS], default="all")
    args = parser.parse_args(argv)
    missed = 0
    for target, chain_name, node_args, out in RUNS:
        if args.target in ("all", target):
            missed += measure(target, chain_name, node_args, out)
    return 1 if missed else 0


def measure(target: str, chain_name: str, node_args: list[str], out: Path) -> int:
    artifact = load_artifact(target=target)
    variant_artifact = compile_with_harnesses(ROOT, (CALLDATA_VARIANT,), target)["BenchBatchHashesInCalldata"]
    print(f"\n{target} build on {chain_name} {' '.join(node_args)}")
    with tempfile.TemporaryDirectory(prefix="bench-gas-") as tmp:
        node = local_node(chain_name, Path(tmp) / "chain", _free_port(), extra_args=node_args)
        node.start()
        try:
            w3 = connect(node.url)
            client, _ = RegistryClient.deploy(w3, artifact, ANVIL_TEST_ADMIN_KEY)
            variant, _ = RegistryClient.deploy(w3, variant_artifact, ANVIL_TEST_ADMIN_KEY)
            publisher, relayer = Account.from_key(b"\x11" * 32), Account.from_key(b"\x22" * 32)
            for registry in (client, variant):
                registry.add_publisher(ANVIL_TEST_ADMIN_KEY, publisher.address, "Bench Daily", "bench.example")
            for account in (publisher, relayer):
                client.fund(ANVIL_TEST_ADMIN_KEY, account.address, 10**21)
            rows = Bench(client, bytes(publisher.key), bytes(relayer.key), calldata_variant=variant).run()
            chain = {"client": w3.client_version, "chain_id": w3.eth.chain_id,
                     "hardfork": node_args[-1] if "--hardfork" in node_args else HARDFORKS[chain_name]}  # fmt: skip
        finally:
            node.stop()
    result = {
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version()},
        "chain": {**chain, "node": chain_name},
        "contract": {"artifact_digest": artifact_digest(artifact), "compiler": artifact["compiler"]},
        "definition": "gas per image = transaction gasUsed (21,000 intrinsic included) / images; steady state; "
                      "calldata_floor = EIP-7623 floor of the transaction (applies on Prague and later)",
        "results": rows,
        "targets_per_image": TARGETS,
        "peers": PEERS,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print_table(rows)
    print(f"wrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    missed = [r["operation"] for r in rows if r["meets_target"] is False]
    if missed:
        print(f"targets missed ({target}): " + ", ".join(missed), file=sys.stderr)
    return len(missed)


if __name__ == "__main__":
    sys.exit(main())
