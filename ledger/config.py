"""Settings: one pydantic-settings class, built by the CLI or ``create_app``, never at import time.

Every field reads ``PROVENANCE_<NAME>`` from the environment; CLI flags override.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from ledger.errors import ConfigError

# anvil's first development account (mnemonic "test test ... junk"): a published TEST key, used only as the
# admin of a chain this project starts itself (chain id 31337). Any other chain needs PROVENANCE_ADMIN_PRIVATE_KEY.
ANVIL_TEST_ADMIN_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
LOCAL_CHAIN_ID = 31337
PASSWORD_FILE_NAME = "keystore-password"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROVENANCE_", extra="ignore")

    environment: Literal["development", "production"] = "development"
    data_dir: Path = Path("var")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    chain_port: int = Field(8545, ge=1, le=65535)
    rpc_url: str | None = None
    contract: str | None = None
    database_url: str | None = None
    keystore_password: SecretStr | None = None
    keystore_password_file: Path | None = None
    admin_private_key: SecretStr | None = None

    # The API's HTTP server and its worker processes (``python -m api``; each worker keeps its own match index in step
    # with the mirror). Measured on 2 cores by scripts/bench_api.py (docs/api.md): see there for why these defaults.
    api_server: Literal["uvicorn", "granian"] = "granian"
    api_workers: int = Field(2, ge=1, le=64)

    max_upload_bytes: int = 25 * 1024 * 1024
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
    confirmations: int = Field(0, ge=0)
    indexer_poll_seconds: float = 0.5
    indexer_max_range: int = 2000
    anchorer_poll_seconds: float = 0.5
    resend_after_seconds: float = 60.0
    # Anchoring: "single" sends one register transaction per image; "batch" anchors one Merkle root per
    # publisher for up to batch_max_items images, flushed when full or when the oldest waited batch_max_seconds.
    anchor_mode: Literal["single", "batch"] = "single"
    batch_max_items: int = Field(256, ge=1, le=65_536)
    batch_max_seconds: float = Field(5.0, ge=0)
    public_url: str | None = None  # where readers reach this API; batch URIs point here (default http://host:port)
    chain_state_interval: int = 5  # anvil dumps its state this often (seconds) besides on shutdown
    signature_validity_seconds: int = 30 * 24 * 3600

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

    def admin_key(self, chain_id: int) -> str:
        if self.admin_private_key is not None:
            return self.admin_private_key.get_secret_value()
        if chain_id == LOCAL_CHAIN_ID and self.environment == "development":
            return ANVIL_TEST_ADMIN_KEY
        raise ConfigError(
            f"chain {chain_id} is not the local development chain: set PROVENANCE_ADMIN_PRIVATE_KEY"
        )


def ensure_password_file(settings: Settings) -> Path | None:
    """For local use: create ``<data-dir>/keystore-password`` (mode 600) when no password is configured."""
    if settings.keystore_password is not None or settings.keystore_password_file is not None:
        return None
    path = settings.data_path / PASSWORD_FILE_NAME
    if path.exists():
        return path
    import secrets

    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(32) + "\n")
    return path
