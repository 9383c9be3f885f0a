"""Adding a publisher: a new signing key in the keystore, the on-chain registration by the admin, funds on a
local chain, and an API key that is shown once and stored only hashed."""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from ledger.adapters.chain.client import RegistryClient
from ledger.adapters.keystore import create_key
from ledger.adapters.store import repository as repo
from ledger.adapters.store.db import Database
from ledger.adapters.store.models import PublisherAccountRow
from ledger.errors import LedgerValueError, Unauthorized

log = logging.getLogger("ledger.usecases.publishers")

DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
LOCAL_FUNDING_WEI = 100 * 10**18  # pays for ~1M registrations at local gas prices


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
    db: Database, client: RegistryClient, keystore_dir: Path, password: str, admin_key: str, name: str, domain: str,
    fund: bool = False,
) -> NewPublisher:
    """``fund``: send the new account gas money from the admin (on a local node the service started)."""
    name, domain = parse_name(name), parse_domain(domain)
    address, key_file = create_key(keystore_dir, password)
    try:
        client.add_publisher(admin_key, address, name, domain)
    except Exception:
        (keystore_dir / key_file).unlink(missing_ok=True)  # nothing on chain refers to it
        raise
    funded = 0
    if fund:
        client.fund(admin_key, address, LOCAL_FUNDING_WEI)
        funded = LOCAL_FUNDING_WEI
    api_key = "pk_" + secrets.token_urlsafe(32)
    with db.write() as session:
        repo.add_account(session, address, name, domain, api_key, key_file)
    log.info("publisher %s (%s) added as %s", name, domain, address)
    return NewPublisher(address, name, domain, api_key, keystore_dir / key_file, funded)


@dataclass(frozen=True, slots=True)
class PublisherListing:
    address: str
    name: str
    domain: str
    status: str  # "active", "suspended" or "not yet indexed"


def list_publishers(db: Database) -> list[PublisherListing]:
    """Publishers this service holds keys for, with their on-chain status from the mirror."""
    with db.read() as session:
        listing = []
        for account in repo.accounts(session):
            mirrored = repo.publisher(session, account.address)
            status = "not yet indexed" if mirrored is None else ("suspended" if mirrored.suspended_block else "active")
            listing.append(PublisherListing(account.address, account.name, account.domain, status))
        return listing


def authenticate(db: Database, api_key: str) -> PublisherAccountRow:
    """The publisher an API key belongs to (only the key's hash is stored)."""
    with db.read() as session:
        account = repo.account_by_api_key(session, api_key)
    if account is None:
        raise Unauthorized("the API key is not valid")
    return account


def add_to_new_contract(db: Database, client: RegistryClient, admin_key: str, fund: bool) -> int:
    """After ``--redeploy`` on a local node whose chain was lost: this service's publishers (their keys are in the
    keystore) are added to the new contract, and funded on a local node. Returns how many."""
    with db.read() as session:
        accounts = [(a.address, a.name, a.domain) for a in repo.accounts(session)]
    for address, name, domain in accounts:
        client.add_publisher(admin_key, address, name, domain)
        if fund and client.w3.eth.get_balance(client.w3.to_checksum_address(address)) < LOCAL_FUNDING_WEI // 10:
            client.fund(admin_key, address, LOCAL_FUNDING_WEI)
        log.info("publisher %s (%s) added to the new contract", name, domain)
    return len(accounts)
