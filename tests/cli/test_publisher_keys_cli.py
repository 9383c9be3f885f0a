"""`provenance publisher key add|list|revoke` as a newsroom runs it (a subprocess on a data directory's database)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ledger.adapters.store import repository as repo
from ledger.adapters.store.db import Database
from ledger.adapters.store.migrate import upgrade
from ledger.adapters.store.models import PublisherAccountRow
from ledger.usecases.publishers import authenticate

ROOT = Path(__file__).resolve().parents[2]
ADDRESS = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"  # anvil's second development account (a published test key)


def cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVENANCE_")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "ledger.cli.main", "publisher", "key", *args, "--data-dir", str(data_dir)],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)  # fmt: skip


def test_add_list_revoke(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    upgrade(db.engine)
    with db.write() as session:
        repo.add_account(session, ADDRESS, "Daily Example", "example.org", "unused.json")

    added = cli(tmp_path, "add", "example.org", "cms-2026")
    assert added.returncode == 0, added.stderr
    secret = added.stdout.strip()
    assert secret.startswith("pk_") and "shown once" in added.stderr  # the secret alone on stdout, for scripts
    assert cli(tmp_path, "add", ADDRESS.lower(), "archive").returncode == 0
    taken = cli(tmp_path, "add", "example.org", "cms-2026")
    assert taken.returncode == 1 and "key_name_taken" in taken.stderr
    assert authenticate(db, secret).address == ADDRESS  # sets last used

    listed = [json.loads(line) for line in cli(tmp_path, "list", "--json").stdout.splitlines()]
    assert [(k["name"], k["status"]) for k in listed] == [("cms-2026", "active"), ("archive", "active")]
    assert listed[0]["last_used_at"] is not None and listed[1]["last_used_at"] is None
    assert secret not in cli(tmp_path, "list").stdout  # secrets are never listed

    revoked = cli(tmp_path, "revoke", "example.org", "cms-2026")
    assert revoked.returncode == 0 and "revoked" in revoked.stdout
    listed = [json.loads(line) for line in cli(tmp_path, "list", "example.org", "--json").stdout.splitlines()]
    assert listed[0]["status"] == "revoked" and listed[0]["revoked_at"] is not None
    again = cli(tmp_path, "revoke", "example.org", listed[0]["key_id"])
    assert again.returncode == 1 and "already_revoked" in again.stderr
    unknown = cli(tmp_path, "add", "nobody.example", "x")
    assert unknown.returncode == 1 and "not_found" in unknown.stderr
    db.dispose()
