"""Settings: one pydantic-settings class, built by the CLI or ``create_app``, never at import time.

Every field reads ``PROVENANCE_<NAME>`` from the environment; CLI flags override.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from ledger.errors import ConfigError

# The first development account of anvil, Hardhat and (given the same mnemonic) Ganache ("test test ... junk"): a
# published TEST key, used only as the admin of a local node this service started itself. Any other chain (even
# one reporting a development chain id) needs the admin key from a keystore or the environment.
ANVIL_TEST_ADMIN_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
# anvil's tenth development account: a published TEST key, the relayer (the account that pays for and sends
# publishers' signed registrations) on the local chain only. Any other chain needs PROVENANCE_RELAYER_PRIVATE_KEY.
ANVIL_TEST_RELAYER_KEY = "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6"
LOCAL_CHAIN_ID = 31337
# Chain ids of development chains (anvil/Hardhat 31337, Ganache 1337): anyone on the machine may write to them.
DEVELOPMENT_CHAIN_IDS = frozenset({31337, 1337})
# Blocks the indexer stays behind the head on a chain it did not start: a reorganisation deeper than this is rare on
# proof-of-stake Ethereum and on L2 sequencers; set PROVENANCE_CONFIRMATIONS for the chain you use.
REMOTE_CONFIRMATIONS = 3
PASSWORD_FILE_NAME = "keystore-password"
ChainName = Literal["anvil", "hardhat", "ganache"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROVENANCE_", extra="ignore")

    environment: Literal["development", "production"] = "development"
    data_dir: Path = Path("var")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    chain_port: int = Field(8545, ge=1, le=65535)
    chain: ChainName = "anvil"  # the local node `provenance up` starts when no rpc_url is given
    # The build of the registry for a chain given by rpc_url: "cancun" unless the chain stops at shanghai.
    evm_target: Literal["cancun", "shanghai"] = "cancun"
    rpc_url: str | None = None
    contract: str | None = None
    database_url: str | None = None
    # How long a SQLite writer waits for another's lock (the API, indexer and anchorer are separate processes writing
    # one file) before its write fails: an API request then gets 503 `storage_unavailable`, a worker tries again.
    sqlite_busy_timeout_seconds: float = Field(30.0, gt=0)
    keystore_password: SecretStr | None = None
    keystore_password_file: Path | None = None
    # The admin key (deploys, adds and suspends publishers): an encrypted keystore file (its password from
    # admin_keystore_password(_file)), or the raw key in the environment. Never a command-line option.
    admin_private_key: SecretStr | None = None
    relayer_private_key: SecretStr | None = None  # sends publishers' signed registrations; never the admin's key
    admin_keystore: Path | None = None
    admin_keystore_password: SecretStr | None = None
    admin_keystore_password_file: Path | None = None

    # The API's HTTP server and its worker processes (``python -m api``; each worker keeps its own match index in step
    # with the mirror). Measured on 2 cores by scripts/bench_api.py (docs/api.md): see there for why these defaults.
    api_server: Literal["uvicorn", "granian"] = "granian"
    api_workers: int = Field(2, ge=1, le=64)

    max_upload_bytes: int = 25 * 1024 * 1024
    # POST /v1/media/batch: items per request and the whole body (each file also within max_upload_bytes). 64 items of
    # a typical 1-5 MB newsroom JPEG fit a request; files beyond 1 MB are spooled to disk while the body is parsed.
    registration_batch_max_items: int = Field(64, ge=1, le=1000)
    registration_batch_max_bytes: int = Field(128 * 1024 * 1024, ge=1)
    max_pixels: int = 50_000_000  # registrations (publishers' originals: 45-61 MP cameras exist)
    # Readers' uploads: two decodes at once at 40 MP stay under 0.7 GB even for the costliest pixel modes
    # (RGBA: 4 bytes decoded + 3 canonical per pixel; ~0.65 GB measured), and 40 MP covers every phone's default output.
    verify_max_pixels: int = Field(40_000_000, ge=1)
    # Request bodies: JSON endpoints (retract) get a small limit; every body must arrive within body_timeout_seconds.
    max_json_bytes: int = Field(16 * 1024, ge=1)
    body_timeout_seconds: float = Field(30.0, gt=0)
    # Decoding (verify uploads and registrations): at most this many at once per process; others wait in a queue of
    # decode_queue_length for at most decode_queue_seconds, then get 503 `busy` with Retry-After.
    max_concurrent_decodes: int = Field(2, ge=1)
    decode_queue_length: int = Field(8, ge=0)
    decode_queue_seconds: float = Field(10.0, ge=0)
    # Per-client rates (the `limits` library's notation, "N/second|minute|hour|day") on the public endpoints:
    # uploads to POST /v1/verify, and every other request but publishers' (Bearer key) and /healthz.
    rate_limit_verify_uploads: str = "30/minute"
    rate_limit_public: str = "600/minute"
    # Where the counters live: "memory://" counts in each API process. With several processes and memory storage,
    # set rate_limit_processes to their number: each then allows rate/processes (a client's requests spread over
    # the processes). A shared backend (e.g. "redis://host:6379", needs the redis package) counts once for all.
    rate_limit_storage: str = "memory://"
    rate_limit_processes: int = Field(1, ge=1)
    # Cache-Control max-age of GET /v1/verify/{sha256}: an answer naming a registered record may be kept by browsers
    # and CDNs this long (a retraction reaches them within it; they revalidate with the ETag), an `unknown` only
    # briefly (the image may be registered in the next seconds).
    verify_cache_seconds: int = Field(60, ge=0)
    verify_unknown_cache_seconds: int = Field(10, ge=0)
    # Peers (IPs or CIDRs) whose X-Forwarded-For is believed; otherwise the client is the TCP peer's address.
    trusted_proxies: list[str] = []
    confirmations: int | None = Field(None, ge=0)  # default: 0 on a node the service started, else REMOTE_CONFIRMATIONS
    indexer_poll_seconds: float = 0.5
    indexer_max_range: int = 2000
    anchorer_poll_seconds: float = 0.5
    resend_after_seconds: float = 60.0
    # A sent transaction the node no longer knows (neither pending nor mined: a node restarted from older state, a
    # reorg, a dropped mempool) is sent again once the node has not known it for this long, instead of after
    # resend_after_seconds (issue 14). A transaction the node does know waits its receipt as before.
    vanished_check_seconds: float = Field(2.0, gt=0)
    # Anchoring: "single" sends one register transaction per image; "batch" anchors one Merkle root per
    # publisher for up to batch_max_items images, flushed when full or when the oldest waited batch_max_seconds.
    anchor_mode: Literal["single", "batch"] = "single"
    batch_max_items: int = Field(256, ge=1, le=65_536)
    batch_max_seconds: float = Field(5.0, ge=0)
    public_url: str | None = None  # where readers reach this API; batch URIs point here (default http://host:port)
    chain_state_interval: int = 5  # anvil dumps its state this often (seconds) besides on shutdown
    signature_validity_seconds: int = 30 * 24 * 3600
    # Content Credentials (C2PA): PEM files of the certificate authorities whose signers readers are told are
    # trusted; and, for local use only, this data directory's test CA (`provenance c2pa test-ca`).
    c2pa_trust_anchors: list[Path] = []
    c2pa_trust_test_ca: bool = False

    @property
    def c2pa_dir(self) -> Path:
        return self.data_path / "c2pa"

    @property
    def data_path(self) -> Path:
        return self.data_dir.expanduser().resolve()

    @property
    def chain_dir(self) -> Path:
        return self.data_path / "chain"

    @property
    def keystore_dir(self) -> Path:
        return self.data_path / "keystore"

    @property
    def deployment_file(self) -> Path:
        return self.data_path / "deployment.json"

    @property
    def local_rpc_url(self) -> str:
        return f"http://127.0.0.1:{self.chain_port}"

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_path / 'ledger.sqlite3'}"

    def resolved_password(self) -> str:
        """The keystore password: env value, else the env-named file, else ``<data-dir>/keystore-password``."""
        if self.keystore_password is not None:
            password = self.keystore_password.get_secret_value()
        else:
            path = self.keystore_password_file or self.data_path / PASSWORD_FILE_NAME
            if not path.is_file():
                raise ConfigError(
                    "no keystore password: set PROVENANCE_KEYSTORE_PASSWORD or PROVENANCE_KEYSTORE_PASSWORD_FILE "
                    f"(or create {path}; `make run` generates one for local use)"
                )
            password = path.read_text().strip()
        if len(password) < 8:
            raise ConfigError("the keystore password must have at least 8 characters")
        return password

    def resolved_confirmations(self, started_node: bool) -> int:
        if self.confirmations is not None:
            return self.confirmations
        return 0 if started_node else REMOTE_CONFIRMATIONS

    def admin_key(self, started_node: bool) -> str:
        """The admin key: from the admin keystore, else the environment; the published development key only for a
        local node this service started itself (``started_node``), in development."""
        if self.admin_keystore is not None:
            return _decrypt_keystore(self.admin_keystore, self._admin_password())
        if self.admin_private_key is not None:
            return self.admin_private_key.get_secret_value()
        if started_node and self.environment == "development":
            return ANVIL_TEST_ADMIN_KEY
        raise ConfigError(
            "no admin key for a chain this service did not start: set PROVENANCE_ADMIN_KEYSTORE (an encrypted "
            "keystore file; its password in PROVENANCE_ADMIN_KEYSTORE_PASSWORD or _PASSWORD_FILE) or "
            "PROVENANCE_ADMIN_PRIVATE_KEY"
        )

    def _admin_password(self) -> str:
        if self.admin_keystore_password is not None:
            return self.admin_keystore_password.get_secret_value()
        if self.admin_keystore_password_file is not None:
            try:
                return self.admin_keystore_password_file.read_text().strip()
            except OSError as exc:
                raise ConfigError(f"cannot read the admin keystore password file: {exc.strerror}") from None
        raise ConfigError(
            "the admin keystore needs its password: set PROVENANCE_ADMIN_KEYSTORE_PASSWORD or _PASSWORD_FILE"
        )

    def relayer_key(self, started_node: bool) -> str:
        """The relayer's key (it pays for and sends publishers' signed registrations): from the environment; the
        published development relayer key only for a local node this service started itself."""
        if self.relayer_private_key is not None:
            key = self.relayer_private_key.get_secret_value()
            if self.admin_private_key is not None and key == self.admin_private_key.get_secret_value():
                raise ConfigError("the relayer key must not be the admin key: give the relayer an account of its own")
            return key
        if started_node and self.environment == "development":
            return ANVIL_TEST_RELAYER_KEY
        raise ConfigError("no relayer key for a chain this service did not start: set PROVENANCE_RELAYER_PRIVATE_KEY")


def _decrypt_keystore(path: Path, password: str) -> str:
    import json

    from eth_account import Account

    try:
        key = Account.decrypt(json.loads(path.read_text()), password)
    except OSError as exc:
        raise ConfigError(f"cannot read the admin keystore {path}: {exc.strerror}") from None
    except ValueError as exc:  # a wrong password (MAC mismatch) or not a keystore
        raise ConfigError(f"cannot decrypt the admin keystore {path}: {exc}") from None
    return "0x" + bytes(key).hex()


def is_development_chain(chain_id: int, started_node: bool) -> bool:
    """A chain anyone on this machine can write to: one this service started, or a development chain id."""
    return started_node or chain_id in DEVELOPMENT_CHAIN_IDS
