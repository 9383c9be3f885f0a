"""A service-held publisher in a test database: its keystore, its account (``repo.add_account``, as
`provenance publisher add` writes it), an API key, and optionally its ``PublisherAdded`` event as the indexer
would have mirrored it."""

from __future__ import annotations

from pathlib import Path

from ledger.adapters.indexer import mirror
from ledger.adapters.indexer.decode import DecodedEvent
from ledger.adapters.keystore import create_key
from ledger.adapters.store import repository as repo
from ledger.adapters.store.db import Database


def add_publisher(db: Database, keystore_dir: Path, password: str, api_key: str, name: str = "Daily Example",
                  domain: str = "example.org", key_name: str = "initial", mirrored_in_block: int | None = None) -> str:  # fmt: skip
    """The new publisher's address. ``mirrored_in_block``: also mirror its PublisherAdded event in that block (a
    fake transaction and block hash derived from the number, distinct per block)."""
    address, key_file = create_key(keystore_dir, password)
    with db.write() as session:
        repo.add_account(session, address, name, domain, key_file)
        repo.add_api_key(session, address, key_name, api_key)
        if mirrored_in_block is not None:
            block = mirrored_in_block
            event = DecodedEvent("PublisherAdded", {"publisher": address, "name": name, "domain": domain}, block,
                                 "0x" + f"{20 + block:02d}" * 32, "0x" + f"{0xA8 + block:02x}" * 32, 0)  # fmt: skip
            mirror.apply_events(session, [event])
    return address
