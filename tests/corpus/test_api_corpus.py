"""Issue 14, item 3: every case of the generated corpus (``tests/corpus/generate.py``) to every upload route of the
API: ``POST /v1/verify``, ``POST /v1/media`` and ``POST /v1/registrations``. Each answer is a 2xx for a valid image
or a 4xx with a stable code (one of ``ledger/errors.py``'s) and a sentence; never a 5xx; the routes agree with each
other on what they can decode; and the service still answers afterwards.

In process (TestClient) so the ~800 requests take seconds; ``test_real_server_corpus.py`` sends the costly cases to
a real server process and measures its memory."""

from __future__ import annotations

import pytest

from tests.corpus.conftest import NEWSROOM_KEY, SERVICE_KEY, CorpusService
from tests.corpus.generate import FileCase, FormCase, RawCase, file_cases, form_cases, picture, raw_cases, save

FILES = file_cases()
FORMS = form_cases()
RAW = raw_cases()
FORM = {"caption": "Rain on a street", "credit": "Jane Doe"}
ROUTES = ("/v1/verify", "/v1/media", "/v1/registrations")
# Codes a request may be refused with for its shape rather than its file (FastAPI's validation, ledger/errors.py).
REQUEST_CODES = frozenset({"invalid_request", "invalid_input", "unknown_record", "bad_request", "too_large",
                           "unsupported_format", "not_an_image", "file_mismatch", "invalid_hash", "invalid_text"})  # fmt: skip


def test_the_corpus_has_at_least_200_cases() -> None:
    assert len(FILES) + len(FORMS) + len(RAW) >= 200
    assert len({c.name for c in FILES}) == len(FILES)  # names are the test ids
    kinds = {c.name.split("/")[0] for c in FILES}
    assert {"jpg", "png", "webp", "gif", "tif", "avif", "heic", "mode", "meta", "other"} <= kinds


def refusal(response, allowed: frozenset[str]) -> str:  # type: ignore[no-untyped-def]
    """The error code of a proper refusal: 4xx, a JSON body with a known code and a sentence."""
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    error = response.json()["error"]
    assert error["code"] in allowed, error
    message = error["message"]
    assert isinstance(message, str) and len(message) >= 10 and "Traceback" not in message, error
    return str(error["code"])


def post_file(service: CorpusService, route: str, case: FileCase):  # type: ignore[no-untyped-def]
    files = {"file": (case.filename, case.data, "application/octet-stream")}
    if route == "/v1/verify":
        return service.client.post(route, files=files)
    if route == "/v1/media":
        return service.client.post(route, files=files, data={**FORM, "caption": case.name},
                                   headers={"Authorization": f"Bearer {SERVICE_KEY}"})  # fmt: skip
    return service.client.post(route, files=files, data={"registration": service.signed_registration},
                               headers={"Authorization": f"Bearer {NEWSROOM_KEY}"})  # fmt: skip


@pytest.mark.parametrize("case", FILES, ids=[c.name for c in FILES])
def test_file_case_on_every_upload_route(corpus_service: CorpusService, case: FileCase) -> None:
    verify, media, signed = (post_file(corpus_service, route, case) for route in ROUTES)
    for response in (verify, media, signed):
        assert response.status_code < 500, (response.status_code, response.text[:300])
    if case.expect == "image" or (case.expect == "either" and verify.status_code == 200):
        assert verify.status_code == 200, verify.text[:300]
        assert verify.json()["verdict"] in {"unknown", "original", "edited", "lookalike", "retracted"}
        assert media.status_code == 202, media.text[:300]
        assert refusal(signed, frozenset({"file_mismatch"})) == "file_mismatch"  # decoded, and not the signed file
        return
    allowed = case.codes if case.expect == "reject" else frozenset(case.codes)
    code = refusal(verify, allowed)
    assert refusal(media, allowed) == code, "verify and register disagree about the same file"
    assert refusal(signed, allowed) == code, "verify and signed registration disagree about the same file"


@pytest.mark.parametrize("case", FORMS, ids=[c.name for c in FORMS])
def test_form_case(corpus_service: CorpusService, case: FormCase) -> None:
    image = save(picture(abs(hash(case.name)) % 1_000_000 + 10_000), "JPEG")
    response = corpus_service.client.post(
        "/v1/media", files={"file": (case.filename, image, case.content_type)}, data={**FORM, **case.fields},
        headers={"Authorization": f"Bearer {SERVICE_KEY}"})  # fmt: skip
    assert response.status_code < 500, response.text[:300]
    if case.expect == "accept" or (case.expect == "either" and response.status_code == 202):
        assert response.status_code == 202, response.text[:300]
        status = corpus_service.client.get(f"/v1/media/{response.json()['content_hash']}",
                                           headers={"Authorization": f"Bearer {SERVICE_KEY}"})  # fmt: skip
        assert status.status_code == 200, status.text[:300]
        return
    refusal(response, REQUEST_CODES)
    verify = corpus_service.client.post("/v1/verify", files={"file": ("a.jpg", image, "image/jpeg")})
    assert verify.status_code == 200, verify.text[:300]  # the file itself is fine whatever the form said


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("case", RAW, ids=[c.name for c in RAW])
def test_malformed_request_body(corpus_service: CorpusService, case: RawCase, route: str) -> None:
    headers = {"Authorization": f"Bearer {SERVICE_KEY if route == '/v1/media' else NEWSROOM_KEY}"}
    if case.content_type is not None:
        headers["Content-Type"] = case.content_type
    response = corpus_service.client.post(route, content=case.body, headers=headers)
    assert response.status_code < 500, (response.status_code, response.text[:300])
    if response.status_code >= 400:
        refusal(response, REQUEST_CODES)
    else:  # only a verify upload can succeed without the form's other fields
        assert route == "/v1/verify" and response.status_code == 200, response.text[:300]


def test_the_service_still_answers_after_the_corpus(corpus_service: CorpusService) -> None:
    health = corpus_service.client.get("/healthz")
    assert health.status_code == 200 and health.json()["status"] == "ok", health.text
    fresh = corpus_service.client.post("/v1/verify", files={"file": ("a.jpg", save(picture(77_777), "JPEG"))})
    assert fresh.status_code == 200 and fresh.json()["verdict"] == "unknown", fresh.text[:300]
