"""The C2PA summary and the stripped-credentials note, from constructed manifest stores (no reader, no file)."""

from __future__ import annotations

from ledger.core.content_credentials import (
    MAX_ITEMS,
    MAX_TEXT,
    REGISTRATION_ASSERTION,
    ContentCredentials,
    credentials_removed,
    summarize,
)


def store(**active: object) -> dict[str, object]:
    manifest = {"claim_generator_info": [{"name": "Cam", "version": "1.0"}], "title": "a.jpg",
                "signature_info": {"issuer": "Example News", "common_name": "Photo Desk", "time": "2026-01-01T00:00:00+00:00"},
                **active}  # fmt: skip
    return {"active_manifest": "urn:1", "manifests": {"urn:1": manifest}, "validation_state": "Valid"}


def test_summary_names_generator_signer_time_actions_and_ingredients() -> None:
    actions = {"label": "c2pa.actions.v2", "data": {"actions": [
        {"action": "c2pa.created", "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"},
        {"action": "c2pa.edited", "softwareAgent": {"name": "Editor", "version": "2"}, "when": "2026-01-02"}]}}
    ingredient = {"title": "raw.dng", "format": "image/x-adobe-dng", "relationship": "parentOf", "active_manifest": "urn:0"}
    summary = summarize(store(assertions=[actions], ingredients=[ingredient]))
    assert summary.state == "valid" and summary.claim_generator == "Cam 1.0"
    assert summary.signer_name == "Photo Desk (Example News)" and summary.signed_at == "2026-01-01T00:00:00+00:00"
    assert [a.action for a in summary.actions] == ["c2pa.created", "c2pa.edited"]
    assert summary.actions[1].software_agent == "Editor 2" and summary.actions[1].when == "2026-01-02"
    assert summary.ingredients[0].has_credentials and summary.ingredients[0].relationship == "parentOf"
    assert summary.ledger_registration is None


def test_a_hostile_store_is_bounded() -> None:
    many = {"label": "c2pa.actions", "data": {"actions": [{"action": "x" * 10_000}] * 1000}}
    summary = summarize({**store(assertions=[many], ingredients=[{"title": "i"}] * 1000),
                         "validation_status": [{"code": f"c{i}", "url": "u"} for i in range(1000)]})  # fmt: skip
    assert len(summary.actions) == MAX_ITEMS and len(summary.ingredients) == MAX_ITEMS
    assert len(summary.failures) == MAX_ITEMS and len(summary.actions[0].action) == MAX_TEXT
    assert summarize({"manifests": "nonsense", "active_manifest": 3}).state == "invalid"
    assert summarize({"manifests": {"a": 1}, "active_manifest": "a"}).failure_codes == ["claim.missing"]


def test_failures_make_a_store_without_a_reported_state_invalid() -> None:
    broken = {**store(), "validation_state": None, "validation_status": [{"code": "claimSignature.mismatch"}]}
    assert summarize(broken).state == "invalid"
    assert summarize({**store(), "validation_state": "Trusted"}).state == "trusted"


def test_the_ledgers_assertion_is_reported() -> None:
    ours = {"label": REGISTRATION_ASSERTION, "data": {"chain_id": 31337, "publisher": "0xabc", "contract": "0xdef"}}
    assert summarize(store(assertions=[ours])).ledger_registration == {"chain_id": 31337, "publisher": "0xabc",
                                                                       "contract": "0xdef"}  # fmt: skip


def test_removed_credentials_note() -> None:
    original = summarize(store())
    note = credentials_removed(None, original, "0x01", "2026-11-30T12:00:00Z")
    assert note is not None and note.message == ("Content Credentials were removed from this copy; the original "
                                                 "carried them, signed by Photo Desk (Example News), and this ledger "
                                                 "recorded it at 2026-11-30T12:00:00Z.")  # fmt: skip
    broken = credentials_removed(ContentCredentials.unreadable("bad box"), original, "0x01", None)
    assert broken is not None and broken.message.startswith("The Content Credentials of this copy do not validate")
    assert broken.message.endswith("signed by Photo Desk (Example News).")  # no ledger time offline (compare)
    assert credentials_removed(original, original, "0x01", None) is None  # the copy still carries valid ones
    assert credentials_removed(None, None, "0x01", None) is None  # the original carried none
    assert credentials_removed(None, ContentCredentials.unreadable("x"), "0x01", None) is None  # nor valid ones
