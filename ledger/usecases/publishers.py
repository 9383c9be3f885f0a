"""Publishers and their credentials. Adding a publisher: a new signing key in the keystore, the on-chain
registration by the admin, funds on a local chain, and a first API key. API keys are named, several per
publisher, shown once and stored only hashed; ``authenticate`` checks the key, its revocation and the publisher's
on-chain suspension in the database on every request (no cache), so a revocation or a suspension holds at once in
every API process."""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from eth_utils import is_address, to_checksum_address

from ledger.adapters.chain.client import RegistryClient
from ledger.adapters.keystore import create_key
from ledger.adapters.store import repository as repo
from ledger.adapters.store.db import Database
from ledger.adapters.store.models import PublisherAccountRow
from ledger.errors import (
    AlreadyRevoked,
    ApiKeyRevoked,
    KeyNameTaken,
    LedgerValueError,
    NotFound,
    PublisherSuspended,
    Unauthorized,
)

log = logging.getLogger("ledger.usecases.publishers")

DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
LOCAL_FUNDING_WEI = 100 * 10**18  # pays for ~1M registrations at local gas prices


@dataclass(frozen=True, slots=True)
class NewPublisher:
    address: str
    name: str
    domain: str
    api_key: str
    keystore_file: Path | None  # None: the newsroom holds the key
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
    db: Database, client: RegistryClient, keystore_dir: Path, password: str | None, admin_key: str, name: str,
    domain: str, address: str | None = None, fund: bool = False,
) -> NewPublisher:
    """With ``address`` the newsroom keeps its key (an EOA, or an ERC-1271 contract wallet): no keystore here, it
    sends signed registrations (custody ``publisher``) and the relayer pays for them. ``fund``: send a service-held
    key's account gas money from the admin (on a local node the service started)."""
    name, domain = parse_name(name), parse_domain(domain)
    key_file: str | None = None
    if address is not None:
        address = parse_address(address)
    else:
        assert password is not None, "a service-held key needs the keystore password"
        address, key_file = create_key(keystore_dir, password)
    try:
        client.add_publisher(admin_key, address, name, domain)
    except Exception:
        if key_file is not None:
            (keystore_dir / key_file).unlink(missing_ok=True)  # nothing on chain refers to it
        raise
    funded = 0
    if key_file is not None and fund:
        client.fund(admin_key, address, LOCAL_FUNDING_WEI)
        funded = LOCAL_FUNDING_WEI
    api_key = new_api_key_secret()
    with db.write() as session:
        repo.add_account(session, address, name, domain, key_file)
        repo.add_api_key(session, address, FIRST_KEY_NAME, api_key)
    log.info("publisher %s (%s) added as %s", name, domain, address)
    return NewPublisher(address, name, domain, api_key, keystore_dir / key_file if key_file else None, funded)


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


@dataclass(frozen=True, slots=True)
class KeyHolder:
    """The publisher a request's API key belongs to."""

    address: str
    name: str


def authenticate(db: Database, api_key: str) -> KeyHolder:
    """The publisher an API key belongs to (only the key's hash is stored): refused when the key was revoked or
    the publisher is suspended on chain (as the mirror last saw it)."""
    with db.read() as session:
        key = repo.api_key_facts(session, api_key)
    if key is None:
        raise Unauthorized("the API key is not valid")
    if key.revoked_at is not None:
        raise ApiKeyRevoked(f"this API key ({key.name!r}) was revoked on "
                            f"{repo.as_utc(key.revoked_at):%Y-%m-%d %H:%M} UTC")  # fmt: skip
    if key.account is None or key.account_name is None:
        raise Unauthorized("the API key is not valid")
    if key.suspended_block is not None:
        raise PublisherSuspended(f"the publisher {key.account_name} was suspended on chain in block "
                                 f"{key.suspended_block}; its requests are refused until the admin re-enables it")  # fmt: skip
    stale = key.last_used_at is None or (repo.utcnow() - repo.as_utc(key.last_used_at)) > LAST_USED_RESOLUTION
    if stale:  # at most one write per key and minute: a busy publisher's requests do not all write
        with db.write() as session:
            repo.touch_api_key(session, key.key_id)
    return KeyHolder(key.account, key.account_name)


def set_suspended(client: RegistryClient, admin_key: str, address: str, suspended: bool) -> str:
    """Suspend or re-enable a publisher on chain (the admin's transaction); the API and the anchorer follow once
    the indexer mirrors the event. Returns the transaction hash."""
    change = client.suspend_publisher if suspended else client.reenable_publisher
    return change(admin_key, parse_address(address)).tx_hash


def parse_address(value: str) -> str:
    if not is_address(value.strip()):
        raise LedgerValueError(f"{value!r} is not an address (0x and 40 hex digits)")
    return str(to_checksum_address(value.strip()))


# -- API keys ----------------------------------------------------------------------------------------------------
FIRST_KEY_NAME = "initial"
KEY_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._ -]{0,99}$")
LAST_USED_RESOLUTION = timedelta(minutes=1)


def new_api_key_secret() -> str:
    return "pk_" + secrets.token_urlsafe(32)  # 256 random bits


@dataclass(frozen=True, slots=True)
class NewApiKey:
    publisher: str
    key_id: str
    name: str
    api_key: str  # the secret, shown once


@dataclass(frozen=True, slots=True)
class ApiKeyListing:
    publisher: str
    publisher_name: str
    key_id: str
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def status(self) -> str:
        return "revoked" if self.revoked_at is not None else "active"


def parse_key_name(value: str) -> str:
    name = value.strip()
    if not KEY_NAME_RE.match(name):
        raise LedgerValueError("a key name has 1 to 100 letters, digits, spaces, dots, dashes or underscores, "
                               "starting with a letter or digit (e.g. cms-2026)")  # fmt: skip
    return name


def find_account(session: Any, publisher: str) -> PublisherAccountRow:
    """A publisher this service holds, by address (any case) or by domain."""
    wanted = publisher.strip().lower()
    for account in repo.accounts(session):
        if wanted in (account.address.lower(), account.domain.lower()):
            return account
    raise NotFound(f"no publisher {publisher!r} here (give its address or domain; see `provenance publisher list`)")


def add_api_key(db: Database, publisher: str, name: str) -> NewApiKey:
    """A new named key for ``publisher`` (its other keys keep working: rotate by adding, then revoking the old)."""
    name = parse_key_name(name)
    secret = new_api_key_secret()
    with db.write() as session:
        account = find_account(session, publisher)
        if repo.api_key_by_name(session, account.address, name) is not None:
            raise KeyNameTaken(f"{account.name} already has a key named {name!r} (names stay taken after a "
                               "revocation, so lists keep their history)")  # fmt: skip
        row = repo.add_api_key(session, account.address, name, secret)
        key_id = row.key_id
    log.info("API key %s (%s) added for %s", key_id, name, account.address)
    return NewApiKey(account.address, key_id, name, secret)


def list_api_keys(db: Database, publisher: str | None = None) -> list[ApiKeyListing]:
    with db.read() as session:
        names = {a.address: a.name for a in repo.accounts(session)}
        address = find_account(session, publisher).address if publisher else None
        return [ApiKeyListing(k.publisher, names.get(k.publisher, ""), k.key_id, k.name, repo.as_utc(k.created_at),
                              repo.as_utc(k.last_used_at) if k.last_used_at else None,
                              repo.as_utc(k.revoked_at) if k.revoked_at else None)
                for k in repo.api_keys(session, address)]  # fmt: skip


def revoke_api_key(db: Database, publisher: str, key: str) -> ApiKeyListing:
    """Revoke one key, by name or key id; from the next request on, in every API process."""
    with db.write() as session:
        account = find_account(session, publisher)
        row = repo.api_key_by_name(session, account.address, key.strip())
        if row is None:
            row = next((k for k in repo.api_keys(session, account.address) if k.key_id == key.strip()), None)
        if row is None:
            raise NotFound(f"{account.name} has no key named {key!r}")
        if row.revoked_at is not None:
            raise AlreadyRevoked(f"the key {row.name!r} was already revoked")
        row.revoked_at = repo.utcnow()
        listing = ApiKeyListing(account.address, account.name, row.key_id, row.name, repo.as_utc(row.created_at),
                                repo.as_utc(row.last_used_at) if row.last_used_at else None, row.revoked_at)  # fmt: skip
    log.info("API key %s (%s) of %s revoked", listing.key_id, listing.name, account.address)
    return listing


def admit_missing(db: Database, client: RegistryClient, admin_key: str, fund: bool) -> list[str]:
    """This service's publishers (in its database, their keys in the keystore or held by their newsrooms) that the
    contract does not know are added to it, and a service-held key's account funded on a local node (``fund``).
    For a chain that lost them: a new contract (``--redeploy``), or a local node restarted from a saved state older
    than a publisher's admission; without it every registration of that publisher reverts ``NotPublisher`` for
    ever. Only an address the contract has never seen is added: a publisher it suspended stays suspended. Returns
    the addresses added."""
    with db.read() as session:
        accounts = [(a.address, a.name, a.domain, a.keystore_file) for a in repo.accounts(session)]
    added = []
    for address, name, domain, _key_file in accounts:
        if client.publisher(address).added_at != 0:
            continue
        client.add_publisher(admin_key, address, name, domain)
        added.append(address)
        log.warning("publisher %s (%s, %s) was not on the contract; added again", name, domain, address)
    if fund:  # a chain that lost the admission lost the funding sent with it
        for address, _name, _domain, key_file in accounts:
            balance = client.w3.eth.get_balance(to_checksum_address(address)) if key_file is not None else None
            if balance is not None and balance < LOCAL_FUNDING_WEI // 10:
                client.fund(admin_key, address, LOCAL_FUNDING_WEI)
    return added
