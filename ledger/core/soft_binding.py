"""The C2PA Soft Binding Resolution API's values (C2PA 2.2, "Soft Binding Resolution API", OpenAPI 1.0.0):
algorithm names, query values and the result shapes, and how a match of the ledger becomes one of its matches.

The ledger's bindings are not on C2PA's soft-binding algorithm list, so each carries our namespace and a version:

- ``org.provenance-ledger.pdq.1``: the PDQ hash (256 bits, Meta's ThreatExchange) of the canonical picture, found
  within Hamming distance 31 of a registered picture's on-chain PDQ or trimmed hash (``match_index.MATCH_DISTANCE``);
- ``org.provenance-ledger.sha256.1``: SHA-256 of the file's bytes (the on-chain ``contentHash``): exact;
- ``org.provenance-ledger.pixel-sha256.1``: SHA-256 of the canonical pixels (DESIGN.md; ``pixelHash``): exact.

A query value is the hash's 32 bytes, base64-encoded (the API's "algorithm specific format"). Pure: no I/O.
"""

from __future__ import annotations

import base64
import binascii

from pydantic import BaseModel, ConfigDict, Field

from ledger.core.match_index import MATCH_DISTANCE
from ledger.errors import InvalidBindingValue, UnsupportedAlgorithm

PDQ = "org.provenance-ledger.pdq.1"
SHA256 = "org.provenance-ledger.sha256.1"
PIXEL_SHA256 = "org.provenance-ledger.pixel-sha256.1"
FINGERPRINTS = (PDQ, SHA256, PIXEL_SHA256)
LEDGER_MANIFEST_PREFIX = "urn:provenance-ledger:record:"  # the ledger's own manifest of a record, by its uid
DEFAULT_RESULTS = 10  # the API's default maxResults
MAX_RESULTS = 100


class AlgorithmName(BaseModel):
    alg: str


class SupportedAlgorithms(BaseModel):
    """``c2pa.softBindingAlgList``."""

    watermarks: list[AlgorithmName] = []
    fingerprints: list[AlgorithmName] = [AlgorithmName(alg=a) for a in FINGERPRINTS]


class SoftBindingQuery(BaseModel):
    """``c2pa.softBindingQuery`` (the body of ``POST /matches/byBinding``)."""

    alg: str = Field(max_length=200)
    value: str = Field(max_length=1000)


class SoftBindingMatch(BaseModel):
    """One ``matches`` item of ``c2pa.softBindingQueryResult``; fields after ``similarityScore`` are the ledger's
    own (the schema allows more properties): the registration behind the manifest."""

    model_config = ConfigDict(populate_by_name=True)

    manifestId: str  # noqa: N815 - the API's name
    endpoint: str | None = None
    similarityScore: int | None = Field(None, ge=0, le=100)  # noqa: N815
    recordUid: str | None = None  # noqa: N815
    contentHash: str | None = None  # noqa: N815
    publisher: str | None = None
    registeredAt: str | None = None  # noqa: N815
    retracted: bool = False
    match: str | None = Field(None, description="how the ledger matched: exact | pixels | pdq | crop | keypoints")


class SoftBindingQueryResult(BaseModel):
    matches: list[SoftBindingMatch]


def supported(alg: str) -> str:
    if alg not in FINGERPRINTS:
        raise UnsupportedAlgorithm(f"algorithm {alg!r} is not supported here; see /services/supportedAlgorithms "
                                   f"({', '.join(FINGERPRINTS)})")  # fmt: skip
    return alg


def parse_value(alg: str, value: str) -> str:
    """A query value (base64 of the hash's 32 bytes; URL-safe base64 accepted) as the ledger's 0x hex."""
    supported(alg)
    text = value.strip()
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_" if ("-" in text or "_" in text) else None,
                               validate=True)  # fmt: skip
    except (binascii.Error, ValueError):
        raise InvalidBindingValue(f"the value of {alg} must be base64: {value[:80]!r}") from None
    if len(raw) != 32:
        raise InvalidBindingValue(f"the value of {alg} must encode 32 bytes, not {len(raw)}")
    return "0x" + raw.hex()


def encode_value(hex_hash: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_hash.removeprefix("0x"))).decode()


def similarity(match: str, distance: int | None) -> int | None:
    """0-100: exact file or pixels 100; a PDQ match by its distance (31 bits, the threshold, is 52; 0 is 100);
    other perceptual matches (keypoints, crops without a distance) have no score."""
    if match in ("exact", "pixels"):
        return 100
    if distance is None:
        return None
    return max(0, round(100 * (1 - distance / (2 * (MATCH_DISTANCE + 1)))))


def ledger_manifest_id(uid: str) -> str:
    return LEDGER_MANIFEST_PREFIX + uid


def result_count(max_results: int | None) -> int:
    if max_results is None:
        return DEFAULT_RESULTS
    if max_results < 1:
        raise InvalidBindingValue("maxResults must be at least 1")
    return min(max_results, MAX_RESULTS)
