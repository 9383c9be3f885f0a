"""Adding a publisher: a new signing key in the keystore, the on-chain registration by the admin, funds on a
local chain, and an API key that is shown once and stored only hashed."""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from web3 import Web3

from ledger.chain.client import RegistryClient
from ledger.config import LOCAL_CHAIN_ID
from ledger.errors import LedgerValueError
from ledger.keystore import create_key
from ledger.store import repository as repo
from ledger.store.db import Database
from ledger.store.models import PublisherAccountRow

log = logging.getLogger("ledger.publishers")

DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
LOCAL_FUNDING_WEI = Web3.to_wei(100, "ether")  # pays for ~1M registrations at local gas prices


@dataclass(frozen=True, slots=True)
class NewPublisher:
    address: str
    name: str
    domain: str
    api_key: str
    keystore_file: Path
    funded_wei: int


def parse_domain(value: str) -> str:
    domain = value.strip().lower().removeprefix("https://").removeprefix("http://").rstrip("/")
    if not DOMAIN_RE.match(domain):
        raise LedgerValueError(f"{value!r} is not a domain name such as example.org")
    return domain


def parse_name(value: str) -> str:
    name = value.strip()
    if not 1 <= len(name) <= 200:
        raise LedgerValueError("the publisher name must have 1 to 200 characters")
    return name


def add_publisher(
    db: Database, client: RegistryClient, keystore_dir: Path, password: str, admin_key: str, name: str, domain: str
) -> NewPublisher:
    name, domain = parse_name(name), parse_domain(domain)
    address, key_file = create_key(keystore_dir, password)
    try:
        client.add_publisher(admin_key, address, name, domain)
    except Exception:
        (keystore_dir / key_file).unlink(missing_ok=True)  # nothing on chain refers to it
        raise
    funded = 0
    if client.w3.eth.chain_id == LOCAL_CHAIN_ID:
        client.fund(admin_key, address, LOCAL_FUNDING_WEI)
        funded = LOCAL_FUNDING_WEI
    api_key = "pk_" + secrets.token_urlsafe(32)
    with db.write() as session:
        session.add(
            PublisherAccountRow(
                address=address,
                name=name,
                domain=domain,
                api_key_hash=repo.api_key_hash(api_key),
                keystore_file=key_file,
                next_nonce=0,
                created_at=repo.utcnow(),
            )
        )
    log.info("publisher %s (%s) added as %s", name, domain, address)
    return NewPublisher(address, name, domain, api_key, keystore_dir / key_file, funded)
