"""``provenance audit ...`` and ``provenance reindex``: checks that need only the chain (and, for the
mirror check, the database to compare), never the API."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from ledger.errors import ConfigError, InconsistentAnswers, LedgerError

audit_app = typer.Typer(help="Check the registry on chain without trusting this service.", no_args_is_help=True)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

RpcOpt = Annotated[str | None, typer.Option("--rpc-url", envvar="PROVENANCE_RPC_URL", help="JSON-RPC URL of the chain.")]
ContractOpt = Annotated[str | None, typer.Option("--contract", envvar="PROVENANCE_CONTRACT", help="MediaRegistry address.")]
DataDirOpt = Annotated[Path | None, typer.Option("--data-dir", envvar="PROVENANCE_DATA_DIR",
                                                 help="Only to default --rpc-url/--contract from its deployment.json.")]
FromBlockOpt = Annotated[int | None, typer.Option("--from-block", help="First block to scan (default: the contract's deploy block).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
C2paTrustOpt = Annotated[list[Path] | None, typer.Option("--c2pa-trust", exists=True, dir_okay=False,
                                                         help="PEM file of C2PA trust anchors (repeatable).")]


def credentials_line(credentials: Any) -> str:
    """One line about the file's Content Credentials (C2PA), for people."""
    if credentials is None:
        return "Content Credentials (C2PA): none."
    signer = credentials.signer_name or "an unnamed signer"
    line = f"Content Credentials (C2PA): {credentials.state}, signed by {signer}"
    if credentials.signed_at:
        line += f" at {credentials.signed_at}"
    if credentials.claim_generator:
        line += f" with {credentials.claim_generator}"
    if credentials.failures:
        line += "; failing checks: " + ", ".join(credentials.failure_codes)
    return line + "."


def _target(rpc_url: str | None, contract: str | None, data_dir: Path | None) -> tuple[Any, str, int | None]:
    """(web3, contract address, deploy block if known) from the flags, else from a data directory's record."""
    from ledger.adapters.chain.client import connect
    from ledger.adapters.chain.deployment import Deployment

    deploy_block = None
    if not (rpc_url and contract):
        record_file = (data_dir or Path("var")) / "deployment.json"
        if not record_file.exists():
            raise ConfigError("give --rpc-url and --contract (or a --data-dir holding deployment.json)")
        record = Deployment.load(record_file)
        rpc_url, contract = rpc_url or record.rpc_url, contract or record.address
        deploy_block = record.block if contract.lower() == record.address.lower() else None
    w3 = connect(rpc_url)
    if not w3.is_connected():
        raise ConfigError(f"the chain at {rpc_url} does not answer")
    return w3, contract, deploy_block


def _reader(rpc_url: str | None, contract: str | None, data_dir: Path | None, from_block: int | None):  # type: ignore[no-untyped-def]
    from ledger.adapters.audit import ChainReader
    from ledger.adapters.chain.deployment import first_block_with_code
    from ledger.runtime.wiring import contract_abi

    w3, address, deploy_block = _target(rpc_url, contract, data_dir)
    if from_block is None:
        from_block = deploy_block if deploy_block is not None else first_block_with_code(w3, w3.to_checksum_address(address))
    return ChainReader(w3, address, contract_abi()), from_block


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=err, transient=True, disable=not sys.stderr.isatty())  # fmt: skip


def _fail(exc: LedgerError) -> typer.Exit:
    err.print(f"[bold red]error[/] ({exc.code}): {escape(exc.message)}", highlight=False)
    return typer.Exit(2)


@audit_app.command("publishers")
def audit_publishers(rpc_url: RpcOpt = None, contract: ContractOpt = None, data_dir: DataDirOpt = None,
                     from_block: FromBlockOpt = None, as_json: JsonOpt = False) -> None:  # fmt: skip
    """Publishers and their status, from the contract's events and its getPublisher view."""
    from ledger.adapters.audit import expected_publishers

    try:
        reader, start = _reader(rpc_url, contract, data_dir, from_block)
        head = reader.w3.eth.block_number
        rows = expected_publishers(list(reader.events(start, head)))
    except LedgerError as exc:
        raise _fail(exc) from None
    for row in rows:
        row["active"] = bool(reader.contract.functions.isActivePublisher(row["address"]).call())
    if as_json:
        print(json.dumps({"block": head, "publishers": rows}))
        return
    table = Table("address", "name", "domain", "added in block", "status", title=f"Publishers as of block {head}")
    for row in rows:
        status = "active" if row["active"] else f"suspended (block {row['suspended_block']})"
        table.add_row(row["address"], row["name"], row["domain"], str(row["added_block"]), status)
    out.print(table)


TreeOpt = Annotated[list[Path] | None, typer.Option("--tree", exists=True, dir_okay=False,
                                                   help="A batch's Merkle tree dump (standard-v1 JSON), e.g. kept by the "
                                                        "publisher (repeatable); checked against the root on chain.")]
FetchOpt = Annotated[bool, typer.Option("--fetch-trees/--no-fetch-trees",
                                        help="Fetch a batch's tree from the http(s) uri its anchor names.")]


@audit_app.command("file")
def audit_file(image: Annotated[Path, typer.Argument(exists=True, dir_okay=False)], rpc_url: RpcOpt = None,
               contract: ContractOpt = None, data_dir: DataDirOpt = None, from_block: FromBlockOpt = None,
               as_json: JsonOpt = False, c2pa_trust: C2paTrustOpt = None, tree: TreeOpt = None,
               fetch_trees: FetchOpt = True) -> None:  # fmt: skip
    """Fingerprint IMAGE locally, read any C2PA manifest it carries, and find its registrations on chain by its
    file hash: records by the Registered event's topic, batched images in the content hashes each BatchAnchored
    event lists (then their Merkle inclusion, when the batch's tree is given with --tree or found at its uri)."""
    from ledger.adapters.audit import batched_by_content, check_batched_inclusion
    from ledger.adapters.c2pa.reader import CredentialReader
    from ledger.core.fingerprint import fingerprint_file
    from ledger.usecases.verify import iso

    try:
        fp = fingerprint_file(image)
        credentials = CredentialReader.from_files(c2pa_trust or []).read(image.read_bytes(), fp.format)
        reader, start = _reader(rpc_url, contract, data_dir, from_block)
        head = reader.w3.eth.block_number
        found = _records_by_content(reader, start, head, fp.sha256)
        batched = batched_by_content(reader, start, head, fp.sha256)
        dumps = _tree_dumps(tree or [])
    except LedgerError as exc:
        raise _fail(exc) from None
    for item in batched:
        dump = dumps.get(item["root"].lower())
        if dump is None and fetch_trees:
            dump = _fetch_tree(item["uri"])
        item["inclusion"] = check_batched_inclusion(reader, item, dump, fp.pixel_sha256)
        item["anchored_at"] = iso(item["anchored_at"])
    result = {"file": str(image), "sha256": fp.sha256, "pixel_sha256": fp.pixel_sha256, "block": head, "records": found,
              "batched": batched,
              "content_credentials": credentials.model_dump(mode="json") if credentials else None}  # fmt: skip
    if as_json:
        print(json.dumps(result))
        raise typer.Exit(0 if found or batched else 1)
    out.print(credentials_line(credentials), highlight=False)
    if not found and not batched:
        out.print(f"No registration of {fp.sha256} on chain (scanned blocks {start}-{head}).")
    for rec in found:
        out.print(f"Registered by {rec['publisher']} at {rec['registered_at']} in block {rec['block_number']}, "
                  f"tx {rec['tx_hash']}; uid {rec['uid']}"
                  + (f"; derived from {rec['parent']}" if int(rec["parent"], 16) else ""))  # fmt: skip
    for item in batched:
        retraction = item["retraction"]
        out.print(f"Anchored in a batch by {item['publisher']} at {item['anchored_at']} in block {item['block_number']}, "
                  f"tx {item['tx_hash']}: root {item['root']}, listed at position {item['position']} of {item['count']}; "
                  f"uid {item['uid']}; " + ("not retracted" if retraction is None else
                                            f"RETRACTED (reason code {retraction['reason_code']})"), highlight=False)  # fmt: skip
        inclusion = item["inclusion"]
        state = "[green]proven[/]" if inclusion["ok"] else ("[red]FAILED[/]" if inclusion["checked"] else "not checked")
        out.print(f"  Merkle inclusion: {state}: {escape(inclusion['detail'])}")
    raise typer.Exit(0 if found or batched else 1)


def _tree_dumps(files: list[Path]) -> dict[str, dict[str, Any]]:
    """Tree dumps given on the command line, by their root (recomputed: a dump names no root of its own)."""
    from ledger.core.merkle import MerkleTree
    from ledger.errors import InvalidTree

    dumps = {}
    for file in files:
        try:
            dump = json.loads(file.read_text(encoding="utf-8"))
            dumps[MerkleTree.load(dump).root.lower()] = dump
        except (ValueError, InvalidTree) as exc:
            raise ConfigError(f"{file} is not a Merkle tree dump: {exc}") from None
    return dumps


def _fetch_tree(uri: str) -> dict[str, Any] | None:
    """A batch's tree from its http(s) uri, or None when it cannot be had (the operator may be gone)."""
    import httpx

    if not uri.startswith(("http://", "https://")):
        return None
    try:
        answer = httpx.get(uri, timeout=10.0, follow_redirects=True)
        answer.raise_for_status()
        data = answer.json()
    except (httpx.HTTPError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _records_by_content(reader: Any, start: int, head: int, content_hash: str) -> list[dict[str, Any]]:
    """Registered events whose indexed contentHash topic equals the file's SHA-256."""
    from ledger.adapters.audit import _plain
    from ledger.usecases.verify import iso

    event = reader.contract.events.Registered()
    logs = event.get_logs(argument_filters={"contentHash": bytes.fromhex(content_hash[2:])}, from_block=start, to_block=head)
    records = []
    for log in logs:
        args = _plain(dict(log["args"]))
        records.append({**args, "registered_at": iso(int(args["registeredAt"])), "block_number": int(log["blockNumber"]),
                        "tx_hash": "0x" + bytes(log["transactionHash"]).hex()})  # fmt: skip
    return records


@audit_app.command("receipt")
def audit_receipt(receipt_file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSON from GET /v1/media/{hash}.")],
                  rpc_url: RpcOpt = None, data_dir: DataDirOpt = None, as_json: JsonOpt = False) -> None:  # fmt: skip
    """Check a registration receipt against the chain: signature, record or Merkle inclusion, event, retraction."""
    from ledger.adapters.audit import check_receipt
    from ledger.runtime.wiring import contract_abi

    try:
        receipt = json.loads(receipt_file.read_text())
        w3, _address, _block = _target(rpc_url, receipt.get("contract"), data_dir)
        checks = check_receipt(w3, contract_abi(), receipt)
    except (ValueError, KeyError) as exc:
        err.print(f"[bold red]error[/]: {escape(f'{receipt_file} is not a receipt: {exc}')}", highlight=False)
        raise typer.Exit(2) from None
    except LedgerError as exc:
        raise _fail(exc) from None
    ok = all(c.ok for c in checks)
    if as_json:
        print(json.dumps({"valid": ok, "checks": [c.__dict__ for c in checks]}))
    else:
        for c in checks:
            out.print(f"{'[green]ok[/]  ' if c.ok else '[red]FAIL[/]'} {c.name}: {c.detail}", highlight=False)
        out.print("The receipt holds." if ok else "[bold red]The receipt does not hold.[/]")
    raise typer.Exit(0 if ok else 1)


@audit_app.command("mirror")
def audit_mirror_command(
    database_url: Annotated[str, typer.Option("--database-url", envvar="PROVENANCE_DATABASE_URL", help="The mirror to check.")],
    rpc_url: RpcOpt = None, contract: ContractOpt = None, data_dir: DataDirOpt = None, from_block: FromBlockOpt = None,
    as_json: JsonOpt = False, show: Annotated[int, typer.Option(help="Differences to print per table.")] = 5,
) -> None:  # fmt: skip
    """Recompute the mirror from the chain and compare it table by table. Exit 0 only if equal."""
    from ledger.adapters.audit import audit_mirror
    from ledger.adapters.store.db import Database

    try:
        reader, start = _reader(rpc_url, contract, data_dir, from_block)
        db = Database(database_url)
        with _progress() as bar:
            task = bar.add_task("reading events", total=None)
            report = audit_mirror(db, reader, start, lambda done, total: bar.update(task, completed=done, total=total))
        db.dispose()
    except LedgerError as exc:
        raise _fail(exc) from None
    if as_json:
        print(json.dumps({"equal": report.equal, "up_to_block": report.up_to_block, "tables": [
            {"table": t.table, "equal": t.equal, "chain_rows": t.chain_rows, "mirror_rows": t.mirror_rows,
             "chain_digest": t.chain_digest, "mirror_digest": t.mirror_digest, "missing": len(t.missing),
             "extra": len(t.extra), "changed": len(t.changed)} for t in report.tables]}, default=str))  # fmt: skip
    else:
        table = Table("table", "chain rows", "mirror rows", "missing", "extra", "changed", "digest (chain)", "equal",
                      title=f"Mirror against the chain up to block {report.up_to_block}")  # fmt: skip
        for t in report.tables:
            table.add_row(t.table, str(t.chain_rows), str(t.mirror_rows), str(len(t.missing)), str(len(t.extra)),
                          str(len(t.changed)), t.chain_digest[:18] + "...", "yes" if t.equal else "[red]NO[/]")  # fmt: skip
        out.print(table)
        for t in report.tables:
            for row in t.missing[:show]:
                out.print(f"missing from {t.table}: {row}", markup=False, highlight=False)
            for row in t.extra[:show]:
                out.print(f"extra in {t.table}: {row}", markup=False, highlight=False)
            for chain_row, stored in t.changed[:show]:
                out.print(f"changed in {t.table}: chain {chain_row} != mirror {stored}", markup=False, highlight=False)
        out.print("The mirror equals the chain." if report.equal else "[bold red]The mirror differs from the chain.[/]")
    raise typer.Exit(0 if report.equal else 1)


def reindex(
    data_dir: DataDirOpt = None,
    database_url: Annotated[str | None, typer.Option("--database-url", envvar="PROVENANCE_DATABASE_URL")] = None,
    rpc_url: RpcOpt = None,
) -> None:
    """Rebuild the mirror from the contract's deploy block (outbox and keys are kept)."""
    from ledger.adapters.indexer.mirror import clear
    from ledger.adapters.indexer.scanner import Indexer
    from ledger.config import Settings
    from ledger.runtime.wiring import open_ledger

    settings = Settings(**{k: v for k, v in {"data_dir": data_dir, "database_url": database_url, "rpc_url": rpc_url}.items() if v})
    try:
        ledger = open_ledger(settings)
        db, deployment = ledger.db, ledger.deployment
        with db.write() as session:
            clear(session)
        confirmations = settings.resolved_confirmations(deployment.started_node)
        indexer = Indexer(db, ledger.registry().w3, deployment, ledger.abi,
                          confirmations=confirmations, max_range=settings.indexer_max_range)  # fmt: skip
        head = indexer.head() - confirmations
        total = 0
        with _progress() as bar:
            task = bar.add_task("re-indexing blocks", total=max(1, head - deployment.block + 1))
            refused = 0
            while True:
                try:
                    total += indexer.step()
                except InconsistentAnswers:  # the node's answers disagreed: nothing written, read the range again
                    refused += 1
                    if refused > 20:
                        raise
                    time.sleep(min(0.05 * 2**refused, 1.0))
                    continue
                done = indexer.checkpoint_block()
                bar.update(task, completed=done - deployment.block + 1)
                if done >= head:
                    break
        db.dispose()
    except LedgerError as exc:
        raise _fail(exc) from None
    out.print(f"Mirror rebuilt: {total} events from block {deployment.block} to {head}.")
