"""The ``provenance`` command. Commands are thin: build settings, call one service, map errors to exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from ledger.config import Settings
from ledger.errors import ConfigError, LedgerError
from ledger.runtime import logs

app = typer.Typer(help="Media provenance ledger: register images at publication, verify circulating copies.",
                  no_args_is_help=True, pretty_exceptions_enable=False)  # fmt: skip
publisher_app = typer.Typer(help="Publishers this service registers images for.", no_args_is_help=True)
db_app = typer.Typer(help="The mirror and outbox database.", no_args_is_help=True)
index_app = typer.Typer(help="What the matcher keeps about registered pictures.", no_args_is_help=True)
app.add_typer(publisher_app, name="publisher")
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
                                            help="Use this chain instead of starting a local anvil.")]


def _settings(**overrides: Any) -> Settings:
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def configure_logging() -> None:
    logs.configure_logging()  # JSON lines unless PROVENANCE_LOG_FORMAT=text (ledger/runtime/logs.py)


def _fail(exc: LedgerError) -> typer.Exit:
    err.print(f"[bold red]error[/] ({exc.code}): {exc.message}", highlight=False)
    return typer.Exit(2 if isinstance(exc, (ConfigError, ValueError)) else 1)


@app.command()
def up(
    data_dir: DataDir = None,
    port: Annotated[int | None, typer.Option(envvar="PROVENANCE_PORT", show_default="8000", help="API port.")] = None,
    chain_port: Annotated[int | None, typer.Option(envvar="PROVENANCE_CHAIN_PORT", show_default="8545",
                                                   help="Port of the local anvil.")] = None,
    rpc_url: RpcUrl = None,
    contract: Annotated[str | None, typer.Option(envvar="PROVENANCE_CONTRACT",
                                                 help="With --rpc-url: an already deployed MediaRegistry.")] = None,
    database_url: DatabaseUrl = None,
    host: Annotated[str | None, typer.Option(envvar="PROVENANCE_HOST", show_default="127.0.0.1")] = None,
    redeploy: Annotated[bool, typer.Option(help="Deploy a new contract even though one is recorded.")] = False,
) -> None:
    """Run everything: local chain (anvil), contract, indexer, anchorer and the API with the reader page."""
    from ledger.runtime.supervisor import up as run_up

    configure_logging()
    if contract and not rpc_url:
        err.print("[red]error[/]: --contract needs --rpc-url (the chain it is deployed on)")
        raise typer.Exit(2)
    try:
        settings = _settings(data_dir=data_dir, port=port, chain_port=chain_port, rpc_url=rpc_url,
                             contract=contract, database_url=database_url, host=host)  # fmt: skip
        raise typer.Exit(run_up(settings, redeploy=redeploy))
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
) -> None:
    """Create a signing key, register the publisher on chain, and print its API key (once)."""
    from ledger.runtime.wiring import open_database, open_deployment, open_registry
    from ledger.usecases.publishers import add_publisher

    configure_logging()
    try:
        settings = _settings(data_dir=data_dir, database_url=database_url, rpc_url=rpc_url)
        deployment = open_deployment(settings)
        password = settings.resolved_password()
        client = open_registry(settings, deployment, require_node=True)
        db = open_database(settings, migrate=True)
        new = add_publisher(db, client, settings.keystore_dir, password, settings.admin_key(deployment.chain_id),
                            name, domain)  # fmt: skip
    except LedgerError as exc:
        raise _fail(exc) from None
    out.print(f"Publisher [bold]{new.name}[/] ({new.domain}) registered on chain {deployment.chain_id} as {new.address}")
    out.print(f"Signing key: {new.keystore_file} (encrypted)")
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
        out.print(f"{entry.address}  {entry.name} ({entry.domain})  {entry.status}")


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


@app.command()
def fingerprint(files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False)]) -> None:
    """Print the fingerprints of image files, one JSON object a line."""
    from ledger.core.fingerprint import fingerprint_file

    code = 0
    for path in files:
        try:
            fp = fingerprint_file(path)
        except LedgerError as exc:
            err.print(f"{path}: {exc.message}")
            code = 1
            continue
        print(json.dumps({"file": str(path), **fp.as_dict()}))
    raise typer.Exit(code)


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
            err.print(f"not two tab-separated paths: {job!r}")
            code = 1
            continue
        first, second = (Path(p.strip()) for p in job)
        try:
            result = compare_offline(first.read_bytes(), second.read_bytes(), keep_reference=not no_reference)
        except (LedgerError, OSError) as exc:
            err.print(f"{first} / {second}: {getattr(exc, 'message', exc)}")
            code = 1
            continue
        if diff is not None and result.heatmap_png is not None and pairs is None:
            diff.write_bytes(result.heatmap_png)
        print(json.dumps({"original": str(first), "copy": str(second), **result.answer.model_dump(mode="json")}))
    raise typer.Exit(code)


if __name__ == "__main__":
    app()
