"""schemathesis against the API's own OpenAPI schema (the app in process on a temporary SQLite): every operation,
generated requests valid and invalid, a bounded number each; no answer may be a 5xx, and every answer must conform to
the schema (a documented status, content type, headers and body).

A real test API key of a publisher whose key the service holds goes with most requests, so the fuzzer gets past
authentication; every fourth request goes without one or with a wrong one. ``POST /v1/registrations`` reads the
contract's nonce from the chain: there is no chain here, so it answers 0 (as in tests/corpus)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from ledger.adapters.chain.deployment import Deployment
from ledger.adapters.store.db import Database
from ledger.adapters.store.migrate import upgrade
from ledger.config import Settings
from tests.api.publishers import add_publisher
from tests.corpus.generate import picture, save
from tests.fuzz.profile import FUZZ, SCALE

CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
TEST_API_KEY = "pk_test_schemathesis_only"
PASSWORD = "test-password-not-secret"
EXAMPLES_PER_OPERATION = 30
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]  # fmt: skip
AUTH = [{"Authorization": f"Bearer {TEST_API_KEY}"}] * 3 + [{"Authorization": "Bearer pk_test_wrong_key"}, {}]


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[schemathesis.BaseSchema]:
    data_dir = tmp_path_factory.mktemp("schemathesis")
    settings_ = Settings(data_dir=data_dir, keystore_password=PASSWORD, database_url=f"sqlite:///{data_dir / 'l.sqlite3'}",
                         rate_limit_verify_uploads="1000000/minute", rate_limit_public="1000000/minute")  # fmt: skip
    db = Database(settings_.resolved_database_url())
    upgrade(db.engine)
    add_publisher(db, settings_.keystore_dir, PASSWORD, TEST_API_KEY, mirrored_in_block=2)
    deployment = Deployment(31337, CONTRACT, 1, None, "0x00", "http://127.0.0.1:1", "2026-11-28T00:00:00Z")
    app = create_app(settings_, db=db, deployment=deployment)
    app.state.ledger.chain_nonce = lambda _publisher: 0  # no chain here
    yield schemathesis.openapi.from_asgi("/openapi.json", app)
    shutdown_lifespans()  # the app's lifespan (its index feed thread), which schemathesis started
    db.dispose()


def test_every_operation_answers_as_its_schema_says_and_never_5xx(api_schema: schemathesis.BaseSchema) -> None:
    turns = itertools.count()
    calls: dict[str, int] = {}
    answers: dict[int, int] = {}
    failures: dict[str, str] = {}
    for result in api_schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(FUZZ, max_examples=EXAMPLES_PER_OPERATION * SCALE)
        def run(case: schemathesis.Case) -> None:
            turn = next(turns)
            headers = AUTH[turn % len(AUTH)]
            if isinstance(case.body, dict) and "file" in case.body and turn % 2 == 0:
                # Random bytes never decode: every other upload carries a real picture (a new one each time), so the
                # paths past decoding (registration, matching, answers) are fuzzed too.
                case.body["file"] = save(picture(turn, 64 + turn % 50, 48 + turn % 30), ("JPEG", "PNG", "WEBP")[turn % 3])
            response = case.call(headers=headers)
            answers[response.status_code] = answers.get(response.status_code, 0) + 1
            calls[operation.label] = calls.get(operation.label, 0) + 1
            case.validate_response(response, checks=CHECKS, headers=headers)

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # every operation is tried; all failures are reported together
            failures[operation.label] = f"{type(exc).__name__}: {exc}"
    print(f"\nschemathesis: {sum(calls.values())} requests over {len(calls)} operations, answers {sorted(answers.items())}")
    assert len(calls) >= 18, calls  # every operation of the schema was reached
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
