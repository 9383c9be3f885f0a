"""The service the corpus is sent to: the API in process (TestClient) on a temporary SQLite, with two publishers: one
whose key the service holds (``POST /v1/media``) and one that keeps its own key (``POST /v1/registrations``)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account
from fastapi.testclient import TestClient

from api.app import create_app
from ledger.adapters.chain.deployment import Deployment
from ledger.adapters.keystore import create_key
from ledger.adapters.store import repository as repo
from ledger.adapters.store.db import Database
from ledger.adapters.store.migrate import upgrade
from ledger.adapters.store.models import PublisherAccountRow
from ledger.config import Settings
from ledger.core.eip712 import Domain
from ledger.core.fingerprint import registration_probe
from ledger.core.manifest import build_manifest
from ledger.core.signed import sign_bundle
from ledger.core.types import ZERO_HASH
from tests.api.test_api import CONTRACT, PASSWORD
from tests.corpus.generate import picture, save

SERVICE_KEY = "pk_test_corpus_service_held_only"
NEWSROOM_KEY = "pk_test_corpus_newsroom_only"
NEWSROOM_TEST_PRIVATE_KEY = "0x" + "5a" * 32  # a test key, named as such: signs the corpus's one bundle


@dataclass
class CorpusService:
    client: TestClient
    signed_registration: str  # a valid signed bundle (JSON) for ``signed_image``, not part of the corpus
    signed_image: bytes


def corpus_settings(data_dir: Path) -> Settings:
    # Production limits, but rates high enough for one client to send the whole corpus.
    return Settings(data_dir=data_dir, keystore_password=PASSWORD, database_url=f"sqlite:///{data_dir / 'l.sqlite3'}",
                    rate_limit_verify_uploads="100000/minute", rate_limit_public="100000/minute")  # fmt: skip


@pytest.fixture(scope="session", autouse=True)
def one_search_thread() -> Iterator[None]:
    """faiss's OpenMP threads spin for cores that other processes hold (2 shared cores: a 0.1 s search took 1.7 s);
    one thread keeps the corpus run short. The product's own thread count is left as it is."""
    import faiss

    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    yield
    faiss.omp_set_num_threads(before)


@pytest.fixture(scope="module")
def corpus_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CorpusService]:
    data_dir = tmp_path_factory.mktemp("corpus-service")
    settings = corpus_settings(data_dir)
    db = Database(settings.resolved_database_url())
    upgrade(db.engine)
    held, key_file = create_key(settings.keystore_dir, PASSWORD)
    newsroom = Account.from_key(NEWSROOM_TEST_PRIVATE_KEY).address
    with db.write() as session:
        session.add(PublisherAccountRow(address=held, name="Daily Example", domain="example.org", keystore_file=key_file,
                                        next_nonce=0, created_at=repo.utcnow()))  # fmt: skip
        session.add(PublisherAccountRow(address=newsroom, name="Own Key Times", domain="own.example", keystore_file=None,
                                        next_nonce=0, created_at=repo.utcnow()))  # fmt: skip
        repo.add_api_key(session, held, "corpus", SERVICE_KEY)
        repo.add_api_key(session, newsroom, "corpus", NEWSROOM_KEY)
    image = save(picture(999_999, 128, 96), "JPEG")
    manifest = build_manifest(newsroom, registration_probe(image).fingerprint, "signed", "Own Key Times", None, None,
                              ZERO_HASH)  # fmt: skip
    bundle = sign_bundle(NEWSROOM_TEST_PRIVATE_KEY, Domain(31337, CONTRACT), newsroom, manifest, 0, int(time.time()) + 86_400)
    deployment = Deployment(31337, CONTRACT, 1, None, "0x00", "http://127.0.0.1:1", "2026-11-28T00:00:00Z")
    with TestClient(create_app(settings, db=db, deployment=deployment), raise_server_exceptions=False) as client:
        client.app.state.ledger.chain_nonce = lambda _publisher: 0  # type: ignore[attr-defined]  # no chain here
        yield CorpusService(client, json.dumps(bundle.as_json()), image)
    db.dispose()
