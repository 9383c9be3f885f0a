"""Plain regression tests for what the fuzzers of this folder found (issue 14): each was a 500 or an exception that
was not the project's own, and is now a 4xx with a stable code and a sentence."""

from __future__ import annotations

import json

import pytest

from ledger.core.merkle import MerkleTree, registration_tree
from ledger.core.records import Registration
from ledger.errors import InvalidTree
from tests.corpus.conftest import NEWSROOM_KEY, SERVICE_KEY, CorpusService, corpus_service
from tests.corpus.generate import picture, save


def refusal(response) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    body = response.json()["error"]
    return response.status_code, body["code"], body["message"]


@pytest.mark.parametrize("signature", ["0x", "0x" + "00" * 65, "0x" + "ff" * 65])
def test_an_unrecoverable_signature_is_invalid_signature_not_a_500(corpus_service: CorpusService, signature: str,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    # No chain here: the publisher is an EOA, whose ERC-1271 call answers "no" on a real node.
    monkeypatch.setattr(corpus_service.client.app.state.ledger, "contract_signature", lambda *_: False)  # type: ignore[attr-defined]
    bundle = json.loads(corpus_service.signed_registration) | {"signature": signature}
    response = corpus_service.client.post("/v1/registrations", headers={"Authorization": f"Bearer {NEWSROOM_KEY}"},
                                          data={"registration": json.dumps(bundle)})  # fmt: skip
    status, code, message = refusal(response)
    assert (status, code) == (422, "invalid_signature") and "signature" in message


def test_a_lone_surrogate_in_a_signed_caption_is_invalid_text_not_a_500(corpus_service: CorpusService) -> None:
    bundle = json.loads(corpus_service.signed_registration)
    bundle["manifest"]["caption"] = "Crowd \ud800"
    bundle.pop("registration")
    body = json.dumps(bundle)  # ensure_ascii: the surrogate travels as the escape "\ud800", as a client may send it
    assert "\\ud800" in body
    response = corpus_service.client.post("/v1/registrations", headers={"Authorization": f"Bearer {NEWSROOM_KEY}"},
                                          data={"registration": body})  # fmt: skip
    status, code, message = refusal(response)
    assert (status, code) == (422, "invalid_text") and "surrogate" in message


def test_a_date_before_year_one_in_utc_is_invalid_input_not_a_500(corpus_service: CorpusService) -> None:
    image = save(picture(424_242, 64, 48), "JPEG")
    response = corpus_service.client.post("/v1/media", headers={"Authorization": f"Bearer {SERVICE_KEY}"},
                                          files={"file": ("a.jpg", image)},
                                          data={"caption": "c", "credit": "c", "taken_at": "0001-01-01T00:00:00+01:00"})  # fmt: skip
    status, code, message = refusal(response)
    assert (status, code) == (422, "invalid_input") and "taken_at" in message


def test_an_avif_that_libavif_refuses_is_not_an_image_not_a_500(corpus_service: CorpusService) -> None:
    data = bytearray(save(picture(0, 48, 40), "AVIF", quality=60))
    data[81] ^= 1  # in the item location box: "Failed to decode image: Missing or empty image item" (a RuntimeError)
    response = corpus_service.client.post("/v1/verify", files={"file": ("a.avif", bytes(data))})
    status, code, _ = refusal(response)
    assert (status, code) == (422, "not_an_image")


@pytest.mark.parametrize("change", [{"leafEncoding": ["not a type"] + ["bytes32"] * 4 + ["address"]},
                                    {"leafEncoding": ["address"] * 6}, {"leafEncoding": ["bytes7"] + ["bytes32"] * 4 + ["address"]}])  # fmt: skip
def test_a_tree_dump_whose_types_do_not_fit_is_invalid_merkle_tree(change: dict) -> None:  # type: ignore[type-arg]
    regs = [Registration("0x" + f"{i:02x}" * 32, "0x" + "bb" * 32, "0x" + "cc" * 32, "0x" + "dd" * 32) for i in (1, 2)]
    dump = registration_tree("0x70997970C51812dc3A010C7d01b50e0d17dc79C8", regs).dump() | change
    with pytest.raises(InvalidTree):
        MerkleTree.load(dump)
    for not_a_dump in (None, [], "standard-v1"):
        with pytest.raises(InvalidTree):
            MerkleTree.load(not_a_dump)  # type: ignore[arg-type]
