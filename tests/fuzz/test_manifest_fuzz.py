"""ledger.core.manifest under arbitrary captions, credits, URLs and dates: a manifest is built in its one canonical
form (UTF-8 JSON, sorted keys, compact; dates as YYYY-MM-DDTHH:MM:SSZ) or refused with the project's own 4xx-type
error. Fixed cases are in tests/core/test_manifest.py."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from eth_utils import keccak
from hypothesis import example, given
from hypothesis import strategies as st

from ledger.core.fingerprint import Fingerprint
from ledger.core.manifest import MAX_TEXT, build_manifest, parse_timestamp
from ledger.errors import LedgerValueError
from tests.fuzz.profile import examples

FP = Fingerprint("0x" + "01" * 32, "0x" + "02" * 32, "0x" + "03" * 32, 100, 640, 480, "JPEG")
PUBLISHER = "0x" + "aa" * 20
CANONICAL_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
# Every code point (surrogates included: JSON bodies and Python callers can carry them), short and near the limits.
texts = st.text(st.characters(codec=None, exclude_categories=()), max_size=40) | st.sampled_from(
    ["", " ", "\t", "\x00", "\x1b[31m", "\u202e", "\ud800", "a" * MAX_TEXT, "a" * (MAX_TEXT + 1), " " * 3000 + "a"])
dates = st.one_of(
    st.datetimes(timezones=st.timezones() | st.none()).map(lambda d: d.isoformat()),
    st.dates().map(lambda d: d.isoformat()),
    st.text(st.sampled_from("0123456789-:TZ+. "), max_size=32),
    texts,
)  # fmt: skip


@examples(300)
@given(caption=texts, credit=texts, url=st.none() | texts | texts.map(lambda t: "https://" + t), taken_at=st.none() | dates)
@example(caption="c", credit="c", url=None, taken_at="0001-01-01T00:00:00+01:00")
@example(caption="c", credit="c", url=None, taken_at="9999-12-31T23:59:59-01:00")
@example(caption="c", credit="c", url=None, taken_at="0001-01-01")
@example(caption="\ud800", credit="c", url=None, taken_at=None)
@example(caption="c", credit="c", url="https://\udfff", taken_at=None)
def test_a_manifest_is_canonical_or_refused(caption: str, credit: str, url: str | None, taken_at: str | None) -> None:
    try:
        manifest = build_manifest(PUBLISHER, FP, caption, credit, url, taken_at)
    except LedgerValueError:
        return
    raw = manifest.canonical_bytes()
    data = json.loads(raw.decode("utf-8"))
    assert raw == json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert manifest.hash() == "0x" + keccak(raw).hex()
    assert 0 < len(data["caption"]) <= MAX_TEXT and data["caption"] == data["caption"].strip()
    if data["taken_at"] is not None:
        assert CANONICAL_TIME.fullmatch(data["taken_at"])
    # The stored form reads back to the same manifest (a reader recomputes the hash from what was published).
    again = build_manifest(PUBLISHER, FP, data["caption"], data["credit"], data["published_url"], data["taken_at"])
    assert again.hash() == manifest.hash()


@examples(200)
@given(value=dates)
@example(value="0001-01-01T00:00:00+01:00")
@example(value="0001-01-01T00:30:00-00:31")
@example(value="2026-11-01T12:00:00+14:00")
def test_a_date_is_normalised_once_or_refused(value: str) -> None:
    try:
        normalised = parse_timestamp(value)
    except LedgerValueError:
        return
    if normalised is None:
        assert not value.strip()
        return
    assert CANONICAL_TIME.fullmatch(normalised), normalised
    assert parse_timestamp(normalised) == normalised
    moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    # The same instant, to the second (sub-seconds are dropped by design).
    assert datetime.fromisoformat(normalised.replace("Z", "+00:00")) == moment.astimezone(UTC).replace(microsecond=0)
