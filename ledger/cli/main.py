"""The ``provenance`` command. Commands are thin: build settings, call one service, map errors to exit codes."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from ledger.config import Settings
from ledger.errors import ConfigError, LedgerError, LedgerValueError
from ledger.runtime import logs

app = typer.Typer(help="Media provenance ledger: register images at publication, verify circulating copies.",
                  no_args_is_help=True, pretty_exceptions_enable=False)  # fmt: skip
publisher_app = typer.Typer(help="Publishers this service registers images for.", no_args_is_help=True)
db_app = typer.Typer(help="The mirror and outbox database.", no_args_is_help=True)
index_app = typer.Typer(help="What the matcher keeps about registered pictures.", no_args_is_help=True)
key_app = typer.Typer(help="A publisher's API keys: several named keys each; add, list, revoke.", no_args_is_help=True)
publisher_app.add_typer(key_app, name="key")
c2pa_app = typer.Typer(help="Content Credentials (C2PA): publishers' signing certificates.", no_args_is_help=True)
signer_app = typer.Typer(help="A publisher's own C2PA signing certificate and key.", no_args_is_help=True)
c2pa_app.add_typer(signer_app, name="signer")
app.add_typer(publisher_app, name="publisher")
app.add_typer(c2pa_app, name="c2pa")
app.add_typer(db_app, name="db")
app.add_typer(index_app, name="index")

from ledger.cli.audit import audit_app, reindex  # noqa: E402  (sub-commands live in their own module)

app.add_typer(audit_app, name="audit")
app.command()(reindex)

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

DataDir = Annotated[Path | None, typer.Option("--data-dir", envvar="PROVENANCE_DATA_DIR", show_default="./var",
                                              help="Where the chain state, keystore, database and deployment live.")]
DatabaseUrl = Annotated[str | None, typer.Option("--database-url", envvar="PROVENANCE_DATABASE_URL",
                                                 show_default="SQLite in the data directory")]
RpcUrl = Annotated[str | None, typer.Option("--rpc-url", envvar="PROVENANCE_RPC_URL",
                                            help="Use this chain instead of starting a local node.")]


@app.callback()
def _private_files() -> None:
    """Every command: files it creates (database, keystore, deployment record, node state) are the user's only."""
    os.umask(0o077)


def _settings(**overrides: Any) -> Settings:
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def configure_logging() -> None:
    logs.configure_logging()  # JSON lines unless PROVENANCE_LOG_FORMAT=text (ledger/runtime/logs.py)


def _fail(exc: LedgerError) -> typer.Exit:
    err.print(f"[bold red]error[/] ({exc.code}): {escape(exc.message)}", highlight=False)
    return typer.Exit(2 if isinstance(exc, (ConfigError, ValueError)) else 1)


@app.command()
def up(
    data_dir: DataDir = None,
    port: Annotated[int | None, typer.Option(envvar="PROVENANCE_PORT", show_default="8000", help="API port.")] = None,
    chain_port: Annotated[int | None, typer.Option(envvar="PROVENANCE_CHAIN_PORT", show_default="8545",
                                                   help="Port of the local node.")] = None,
    chain: Annotated[str | None, typer.Option(envvar="PROVENANCE_CHAIN", show_default="anvil",
                                              help="The local node to start: anvil, hardhat or ganache.")] = None,
    rpc_url: RpcUrl = None,
    contract: Annotated[str | None, typer.Option(envvar="PROVENANCE_CONTRACT",
                                                 help="With --rpc-url: an already deployed MediaRegistry.")] = None,
    deploy: Annotated[bool, typer.Option(help="With --rpc-url: deploy a new MediaRegistry with the admin key "
                                              "(PROVENANCE_ADMIN_KEYSTORE).")] = False,
    evm_target: Annotated[str | None, typer.Option(envvar="PROVENANCE_EVM_TARGET", show_default="cancun",
                                                   help="With --rpc-url: the registry build the chain runs "
                                                        "(cancun, or shanghai for chains that stop there).")] = None,
    database_url: DatabaseUrl = None,
    host: Annotated[str | None, typer.Option(envvar="PROVENANCE_HOST", show_default="127.0.0.1")] = None,
    redeploy: Annotated[bool, typer.Option(help="Deploy a new contract even though one is recorded.")] = False,
    api_workers: Annotated[int | None, typer.Option(min=1, max=64, envvar="PROVENANCE_API_WORKERS", show_default="2",
                                                    help="API worker processes (each keeps its own match index; "
                                                         "docs/api.md has what 1, 2 and 4 measured).")] = None,
) -> None:
    """Run everything: local chain (anvil, hardhat or ganache) or a chain by URL, contract, indexer, anchorer and
    the API with the reader page."""
    from ledger.runtime.supervisor import up as run_up

    configure_logging()
    if contract and not rpc_url:
        err.print("[red]error[/]: --contract needs --rpc-url (the chain it is deployed on)")
        raise typer.Exit(2)
    if chain not in (None, "anvil", "hardhat", "ganache") or evm_target not in (None, "cancun", "shanghai"):
        err.print("[red]error[/]: --chain is one of anvil, hardhat, ganache; --evm-target one of cancun, shanghai")
        raise typer.Exit(2)
    if rpc_url and chain:
        err.print("[red]error[/]: --chain starts a local node; --rpc-url uses a chain that runs elsewhere: pass one")
        raise typer.Exit(2)
    if (deploy or evm_target) and not rpc_url:
        err.print("[red]error[/]: --deploy and --evm-target are for a chain given by --rpc-url")
        raise typer.Exit(2)
    if deploy and contract:
        err.print("[red]error[/]: pass either --contract (use a deployed registry) or --deploy (deploy one)")
        raise typer.Exit(2)
    try:
        settings = _settings(data_dir=data_dir, port=port, chain_port=chain_port, chain=chain, rpc_url=rpc_url,
                             contract=contract, evm_target=evm_target, database_url=database_url, host=host,
                             api_workers=api_workers)  # fmt: skip
        raise typer.Exit(run_up(settings, redeploy=redeploy, deploy=deploy))
    except LedgerError as exc:
        raise _fail(exc) from None


@app.command(hidden=True)
def worker(name: str) -> None:
    """Run one service in this process (used by `provenance up`)."""
    from ledger.runtime.workers import RUNNERS as runners

    configure_logging()
    if name not in runners:
        raise typer.BadParameter(f"unknown worker {name!r}; one of {', '.join(runners)}")
    try:
        runners[name](Settings())
    except LedgerError as exc:
        raise _fail(exc) from None


@publisher_app.command("add")
def publisher_add(
    name: Annotated[str, typer.Argument(help="The publisher's name as readers should see it.")],
    domain: Annotated[str, typer.Option(help="The publisher's web domain, e.g. example.org.")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    rpc_url: RpcUrl = None,
    address: Annotated[str | None, typer.Option(help="The newsroom keeps its key: register this address (its key's, "
                                                     "or its ERC-1271 contract wallet's); no key is created here.")] = None,
) -> None:
    """Create a signing key (or take the newsroom's --address), register the publisher on chain, and print its API
    key (once)."""
    from ledger.runtime.wiring import open_database, open_deployment, open_registry
    from ledger.usecases.publishers import add_publisher

    configure_logging()
    try:
        settings = _settings(data_dir=data_dir, database_url=database_url, rpc_url=rpc_url)
        deployment = open_deployment(settings)
        password = settings.resolved_password() if address is None else None
        client = open_registry(settings, deployment, require_node=True)
        db = open_database(settings, migrate=True)
        # The development admin key only for the local node `provenance up` started (and is reached at its URL).
        started = deployment.started_node and not settings.rpc_url
        new = add_publisher(db, client, settings.keystore_dir, password, settings.admin_key(started),
                            name, domain, address, fund=started)  # fmt: skip
    except LedgerError as exc:
        raise _fail(exc) from None
    out.print(f"Publisher [bold]{escape(new.name)}[/] ({new.domain}) registered on chain {deployment.chain_id} as {new.address}")
    if new.keystore_file is not None:
        out.print(f"Signing key: {new.keystore_file} (encrypted)")
    else:
        out.print("Signing key: held by the newsroom (sign with `provenance sign`, send to POST /v1/registrations)")
    if new.funded_wei:
        out.print(f"Funded with {new.funded_wei // 10**18} ETH on the local chain for its registrations.")
    out.print("API key (shown once, store it now):")
    print(new.api_key)


@publisher_app.command("list")
def publisher_list(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Publishers this service holds keys for, with their on-chain status from the mirror."""
    from ledger.runtime.wiring import open_database
    from ledger.usecases.publishers import list_publishers

    for entry in list_publishers(open_database(_settings(data_dir=data_dir, database_url=database_url))):
        out.print(f"{entry.address}  {entry.name} ({entry.domain})  {entry.status}", markup=False, highlight=False)


PublisherRef = Annotated[str, typer.Argument(help="The publisher's address or domain.")]


def _when(moment: Any) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment is not None else "never"


@key_app.command("add")
def key_add(publisher: PublisherRef, name: Annotated[str, typer.Argument(help="What the key is for, e.g. cms-2026.")],
            data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:  # fmt: skip
    """A new named API key for PUBLISHER, printed once; its other keys keep working (rotate: add, then revoke)."""
    from ledger.runtime.wiring import open_database
    from ledger.usecases.publishers import add_api_key

    try:
        new = add_api_key(open_database(_settings(data_dir=data_dir, database_url=database_url), migrate=True),
                          publisher, name)  # fmt: skip
    except LedgerError as exc:
        raise _fail(exc) from None
    err.print(f"API key [bold]{new.name}[/] ({new.key_id}) added for {new.publisher}; shown once, store it now:")
    print(new.api_key)


@key_app.command("list")
def key_list(publisher: Annotated[str | None, typer.Argument(help="Address or domain; all publishers if omitted.")] = None,
             data_dir: DataDir = None, database_url: DatabaseUrl = None,
             as_json: Annotated[bool, typer.Option("--json", help="One JSON object a line.")] = False) -> None:  # fmt: skip
    """API keys (never their secrets): name, id, created, last used (to the minute), revoked."""
    from ledger.runtime.wiring import open_database
    from ledger.usecases.publishers import list_api_keys

    try:
        keys = list_api_keys(open_database(_settings(data_dir=data_dir, database_url=database_url)), publisher)
    except LedgerError as exc:
        raise _fail(exc) from None
    for k in keys:
        if as_json:
            print(json.dumps({"publisher": k.publisher, "publisher_name": k.publisher_name, "key_id": k.key_id,
                              "name": k.name, "status": k.status, "created_at": k.created_at.isoformat(),
                              "last_used_at": k.last_used_at.isoformat() if k.last_used_at else None,
                              "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None}))  # fmt: skip
        else:
            revoked = f"  revoked {_when(k.revoked_at)}" if k.revoked_at else ""
            out.print(f"{k.publisher}  {k.publisher_name}  {k.name}  {k.key_id}  {k.status}  created "
                      f"{_when(k.created_at)}  last used {_when(k.last_used_at)}{revoked}", highlight=False)  # fmt: skip


@key_app.command("revoke")
def key_revoke(publisher: PublisherRef, key: Annotated[str, typer.Argument(help="The key's name or id.")],
               data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:  # fmt: skip
    """Revoke one API key: refused (401 api_key_revoked) from the next request on, by every API process."""
    from ledger.runtime.wiring import open_database
    from ledger.usecases.publishers import revoke_api_key

    try:
        done = revoke_api_key(open_database(_settings(data_dir=data_dir, database_url=database_url)), publisher, key)
    except LedgerError as exc:
        raise _fail(exc) from None
    out.print(f"API key {done.name} ({done.key_id}) of {done.publisher} revoked at {_when(done.revoked_at)}")


def _admin_publisher_command(action: str, publisher: str, data_dir: Path | None, rpc_url: str | None) -> None:
    from ledger.runtime.wiring import open_deployment, open_registry
    from ledger.usecases.publishers import set_suspended

    configure_logging()
    try:
        settings = _settings(data_dir=data_dir, rpc_url=rpc_url)
        deployment = open_deployment(settings)
        client = open_registry(settings, deployment, require_node=True)
        # The development admin key only for the local node `provenance up` started (and is reached at its URL).
        started = deployment.started_node and not settings.rpc_url
        tx = set_suspended(client, settings.admin_key(started), publisher, action == "suspend")
    except LedgerError as exc:
        raise _fail(exc) from None
    out.print(f"publisher {publisher} {action}{'ed' if action == 'suspend' else 'd'} on chain in tx {tx}")


@publisher_app.command("suspend")
def publisher_suspend(publisher: Annotated[str, typer.Argument(help="The publisher's address.")],
                      data_dir: DataDir = None, rpc_url: RpcUrl = None) -> None:  # fmt: skip
    """Suspend a publisher on chain (admin key): the contract and the API refuse its registrations, its queued
    work is held; its earlier records stay valid."""
    _admin_publisher_command("suspend", publisher, data_dir, rpc_url)


@publisher_app.command("reenable")
def publisher_reenable(publisher: Annotated[str, typer.Argument(help="The publisher's address.")],
                       data_dir: DataDir = None, rpc_url: RpcUrl = None) -> None:  # fmt: skip
    """Re-enable a suspended publisher on chain (admin key): accepted again, its held work is sent."""
    _admin_publisher_command("reenable", publisher, data_dir, rpc_url)


@db_app.command("upgrade")
def db_upgrade(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Create or migrate the database schema (Alembic)."""
    from ledger.runtime.wiring import open_database

    configure_logging()
    open_database(_settings(data_dir=data_dir, database_url=database_url), migrate=True).dispose()
    out.print("database schema is up to date")


@index_app.command("local-features")
def index_local_features(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Compute the local features (wild path) of pictures registered before they were kept, from their reference
    copies. `provenance up` does this at start; a running API picks them up when restarted."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from ledger.runtime.wiring import open_database
    from ledger.usecases.backfill import backfill_local_features

    configure_logging()
    db = open_database(_settings(data_dir=data_dir, database_url=database_url), migrate=True)
    with Progress(TextColumn("local features"), BarColumn(), MofNCompleteColumn(), console=err) as bar:
        task = bar.add_task("features", total=None)
        result = backfill_local_features(db, lambda done, total: bar.update(task, completed=done, total=total))
    db.dispose()
    out.print(f"{result.added} registered pictures gained local features; "
              "pictures registered without a reference copy are found by their whole-picture hashes only.")


@signer_app.command("install")
def c2pa_signer_install(
    publisher: PublisherRef,
    cert: Annotated[Path, typer.Option("--cert", exists=True, dir_okay=False, help="PEM certificate chain: the "
                                                                                "signer's certificate first.")],
    key: Annotated[Path, typer.Option("--key", exists=True, dir_okay=False, help="PEM private key of that certificate.")],
    key_password_file: Annotated[Path | None, typer.Option(exists=True, dir_okay=False,
                                                           help="The key file's password, if it is encrypted.")] = None,
    data_dir: DataDir = None, database_url: DatabaseUrl = None,
) -> None:
    """Install PUBLISHER's own C2PA signing certificate and key (the key is stored encrypted with the keystore
    password; the files given are not changed). Registrations with c2pa=true are then signed with it."""
    from ledger.runtime.wiring import open_database, open_signer_store
    from ledger.usecases.c2pa_signers import install_signer

    try:
        settings = _settings(data_dir=data_dir, database_url=database_url)
        password = key_password_file.read_bytes().strip() if key_password_file else None
        installed = install_signer(open_database(settings, migrate=True), open_signer_store(settings), publisher,
                                   cert.read_bytes(), key.read_bytes(), password)  # fmt: skip
    except LedgerError as exc:
        raise _fail(exc) from None
    out.print(f"C2PA signer of {installed.publisher}: {installed.subject} (in {installed.directory})", highlight=False)


@c2pa_app.command("test-signer")
def c2pa_test_signer(publisher: PublisherRef, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """For local use: issue PUBLISHER a TEST signing certificate from this data directory's TEST CA (created on
    first use in DATA_DIR/c2pa/test-ca/). Readers trust it only where told to (PROVENANCE_C2PA_TRUST_TEST_CA=true)."""
    from ledger.runtime.wiring import open_database, open_signer_store
    from ledger.usecases.c2pa_signers import issue_test_signer_for

    try:
        settings = _settings(data_dir=data_dir, database_url=database_url)
        installed = issue_test_signer_for(open_database(settings, migrate=True), open_signer_store(settings),
                                          settings.c2pa_dir / "test-ca", publisher)  # fmt: skip
    except LedgerError as exc:
        raise _fail(exc) from None
    if installed.created_ca:
        out.print(f"Created the TEST CA (test material, not for publication): {installed.test_ca}", highlight=False)
    out.print(f"TEST C2PA signer of {installed.publisher}: {installed.subject} (in {installed.directory}); "
              f"trust anchor for readers: {installed.test_ca}", highlight=False)  # fmt: skip


@app.command()
def fingerprint(files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False)]) -> None:
    """Print the fingerprints of image files, one JSON object a line."""
    from ledger.core.fingerprint import fingerprint_file

    code = 0
    for path in files:
        try:
            fp = fingerprint_file(path)
        except LedgerError as exc:
            err.print(f"{path}: {exc.message}", markup=False, highlight=False)
            code = 1
            continue
        print(json.dumps({"file": str(path), **fp.as_dict()}))
    raise typer.Exit(code)


@app.command()
def register(
    paths: Annotated[list[Path], typer.Argument(exists=True, help="Image files and/or directories (searched "
                                                                  "recursively for images).")],
    url: Annotated[str, typer.Option(envvar="PROVENANCE_API_URL", help="The service, e.g. http://127.0.0.1:8000.")],
    api_key_file: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="A file holding the publisher's "
                                                                                 "API key (not the key itself).")],
    caption: Annotated[str | None, typer.Option(help="For every file without a sidecar IMAGE.json caption.")] = None,
    credit: Annotated[str | None, typer.Option(help="For every file without a sidecar IMAGE.json credit.")] = None,
    published_url: Annotated[str | None, typer.Option()] = None,
    taken_at: Annotated[str | None, typer.Option()] = None,
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Requests at once.")] = 4,
    batch_size: Annotated[int, typer.Option(min=1, max=1000, help="Files a request (POST /v1/media/batch; the "
                                                                  "service's limit is 64 by default).")] = 8,
    report: Annotated[Path, typer.Option(dir_okay=False, help="One JSON line per file (appended).")] = Path("register-report.jsonl"),
    no_reference: Annotated[bool, typer.Option("--no-reference", help="Keep only hashes (no reference copies).")] = False,
    c2pa: Annotated[bool, typer.Option("--c2pa", help="Have each file signed with Content Credentials (the "
                                                      "publisher's C2PA certificate) and write the signed file, the "
                                                      "one registered, beside it as NAME.c2pa.EXT: publish that.")] = False,
) -> None:
    """Register many images through the API, --batch-size to a request: a progress bar, bounded concurrency, resume
    (files already registered are skipped by their SHA-256), one JSON line per file in --report, and a summary. Exit 1
    if any file failed."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from ledger.adapters.publisher_api import PublisherApi
    from ledger.usecases.bulk import image_files, register_many, summary_of

    files = image_files(paths)
    if c2pa:  # signed outputs of an earlier run are the registered files, not sources to sign again
        files = [f for f in files if not f.stem.endswith(".c2pa")]
    api = PublisherApi(url, api_key_file.read_text().strip())
    defaults = {"caption": caption, "credit": credit, "published_url": published_url, "taken_at": taken_at}
    columns = (TextColumn("registering"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[tally]}"),
               TimeRemainingColumn())  # fmt: skip
    with Progress(*columns, console=err) as bar, report.open("a") as sink:
        task = bar.add_task("register", total=len(files), tally="")
        seen: dict[str, int] = {"accepted": 0, "skipped": 0, "failed": 0}

        def advance(outcome: Any) -> None:
            seen[outcome.result] += 1
            if outcome.result == "failed":
                bar.console.print(f"[red]failed[/] {escape(f'{outcome.file}: {outcome.error_code} {outcome.message}')}", highlight=False)
            bar.update(task, advance=1, tally=" ".join(f"{k} {v}" for k, v in seen.items()))

        counts = register_many(api, files, defaults, sink, concurrency, not no_reference, advance, batch_size, c2pa)
    api.close()
    summary = summary_of(counts, len(files))
    err.print(f"{summary['files']} files: {summary['accepted']} accepted, {summary['skipped']} already registered "
              f"(skipped), {summary['failed']} failed; details in {report}", highlight=False)  # fmt: skip
    print(json.dumps({"summary": summary, "report": str(report)}))
    raise typer.Exit(1 if summary["failed"] else 0)


@app.command()
def sign(
    files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, help="Images to sign.")],
    key: Annotated[Path, typer.Option("--key", exists=True, dir_okay=False, help="The newsroom's encrypted keystore "
                                                                             "(Web3 Secret Storage JSON).")],
    chain_id: Annotated[int, typer.Option(help="From GET /v1/chain.")],
    contract: Annotated[str, typer.Option(help="The registry's address, from GET /v1/chain.")],
    nonce: Annotated[int, typer.Option(help="The contract's nonces(publisher) now; each file takes the next.")],
    caption: Annotated[str, typer.Option()],
    credit: Annotated[str, typer.Option()],
    published_url: Annotated[str | None, typer.Option()] = None,
    taken_at: Annotated[str | None, typer.Option()] = None,
    publisher: Annotated[str | None, typer.Option(help="A contract wallet (ERC-1271) that accepts this key's "
                                                       "signatures; default: the key's own address.")] = None,
    valid_days: Annotated[float, typer.Option(help="Deadline of the signatures, from now.")] = 30.0,
    parent: Annotated[str | None, typer.Option(help="The uid of the original these images are derived from.")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", file_okay=False, help="Where to write NAME.signed.json "
                                                                               "(default: beside each image).")] = None,
    password_file: Annotated[Path | None, typer.Option(exists=True, dir_okay=False, envvar="PROVENANCE_SIGNING_PASSWORD_FILE",
                                                       help="The keystore's password (else asked).")] = None,
) -> None:
    """Sign registrations offline with the newsroom's own key: per image, its fingerprints, manifest and EIP-712
    signature (nonce, deadline) in NAME.signed.json, to send to POST /v1/registrations. Nothing leaves this machine."""
    from ledger.adapters.keystore import decrypt_keystore
    from ledger.usecases.signing import sign_files

    password = password_file.read_text().strip() if password_file else typer.prompt("Keystore password", hide_input=True)
    try:
        signer = decrypt_keystore(key, password)
        signed = sign_files(files, signer, chain_id, contract, nonce, caption, credit, published_url, taken_at,
                            publisher, int(valid_days * 86400), out_dir, parent)  # fmt: skip
    except LedgerError as exc:
        raise _fail(exc) from None
    for path, bundle in signed:
        print(json.dumps({"file": str(path), "signed": str(bundle), "ok": True}))


@app.command()
def retract(
    uid: Annotated[str, typer.Argument(help="The uid of your registration to retract (from its receipt or verify answer).")],
    key: Annotated[Path, typer.Option("--key", exists=True, dir_okay=False, help="The newsroom's encrypted keystore "
                                                                             "(Web3 Secret Storage JSON).")],
    chain_id: Annotated[int, typer.Option(help="From GET /v1/chain.")],
    contract: Annotated[str, typer.Option(help="The registry's address, from GET /v1/chain.")],
    nonce: Annotated[int, typer.Option(help="The contract's nonces(publisher) now (shared with your registrations).")],
    reason_code: Annotated[int, typer.Option(help="0 unspecified, 1 wrong caption, 2 manipulated, 3 rights, "
                                                  "4 published in error, 5 key compromised.")],
    reason: Annotated[str, typer.Option(help="A sentence for readers: why it was retracted.")],
    successor: Annotated[str | None, typer.Option(help="The uid of the corrected image readers are pointed to "
                                                       "(kept by the service; not signed).")] = None,
    publisher: Annotated[str | None, typer.Option(help="A contract wallet (ERC-1271) that accepts this key's "
                                                       "signatures; default: the key's own address.")] = None,
    valid_days: Annotated[float, typer.Option(help="Deadline of the signature, from now.")] = 30.0,
    out: Annotated[Path | None, typer.Option("--out", dir_okay=False, help="Where to write the signed retraction "
                                                                         "(default: retract-UID.signed.json).")] = None,
    password_file: Annotated[Path | None, typer.Option(exists=True, dir_okay=False, envvar="PROVENANCE_SIGNING_PASSWORD_FILE",
                                                       help="The keystore's password (else asked).")] = None,
) -> None:
    """Sign the retraction of one of your registrations offline with the newsroom's own key (EIP-712 Revocation,
    nonce and deadline), to send to POST /v1/retractions; the service relays it with revokeBySig. Nothing leaves
    this machine."""
    import time

    from eth_account import Account

    from ledger.adapters.keystore import decrypt_keystore
    from ledger.core.eip712 import Domain
    from ledger.core.signed import sign_retraction
    from ledger.usecases.retract import parse_reason

    password = password_file.read_text().strip() if password_file else typer.prompt("Keystore password", hide_input=True)
    try:
        signer = decrypt_keystore(key, password)
        code, text = parse_reason(reason_code, reason)
        signed = sign_retraction(signer, Domain(chain_id, contract), publisher or Account.from_key(signer).address, uid,
                                 code, text, nonce, int(time.time() + valid_days * 86400), successor)  # fmt: skip
    except LedgerError as exc:
        raise _fail(exc) from None
    except ValueError as exc:
        raise _fail(LedgerValueError(str(exc))) from None
    path = out or Path(f"retract-{signed.uid[2:14]}.signed.json")
    path.write_text(json.dumps(signed.as_json(), indent=2) + "\n", encoding="utf-8")
    print(json.dumps({"uid": signed.uid, "signed": str(path), "nonce": signed.nonce, "ok": True}))


@app.command()
def compare(
    original: Annotated[Path | None, typer.Argument(exists=True, dir_okay=False, show_default=False,
                                                    help="The image as it would be registered.")] = None,
    copy: Annotated[Path | None, typer.Argument(exists=True, dir_okay=False, show_default=False,
                                                help="The circulating copy to check against it.")] = None,
    pairs: Annotated[Path | None, typer.Option("--pairs", exists=True, dir_okay=False,
                                               help="A TSV file of ORIGINAL<TAB>COPY paths: one JSON line per pair.")] = None,
    no_reference: Annotated[bool, typer.Option("--no-reference", help="As if the publisher opted out of the reference copy.")] = False,
    diff: Annotated[Path | None, typer.Option("--diff", dir_okay=False, help="Write the change heatmap PNG here (edited only).")] = None,
) -> None:
    """The verdict the API would give for COPY if ORIGINAL were registered: no chain, no database."""
    from ledger.usecases.verify import compare_offline

    if pairs is not None:
        jobs = [line.split("\t") for line in pairs.read_text().splitlines() if line.strip() and not line.startswith("#")]
    elif original is not None and copy is not None:
        jobs = [[str(original), str(copy)]]
    else:
        raise typer.BadParameter("give ORIGINAL and COPY, or --pairs FILE.tsv")
    code = 0
    for job in jobs:
        if len(job) != 2:
            err.print(f"not two tab-separated paths: {job!r}", markup=False, highlight=False)
            code = 1
            continue
        first, second = (Path(p.strip()) for p in job)
        try:
            result = compare_offline(first.read_bytes(), second.read_bytes(), keep_reference=not no_reference)
        except (LedgerError, OSError) as exc:
            err.print(f"{first} / {second}: {getattr(exc, 'message', exc)}", markup=False, highlight=False)
            code = 1
            continue
        if diff is not None and result.heatmap_png is not None and pairs is None:
            diff.write_bytes(result.heatmap_png)
        print(json.dumps({"original": str(first), "copy": str(second), **result.answer.model_dump(mode="json")}))
    raise typer.Exit(code)


if __name__ == "__main__":
    app()
