"""Content Credentials (C2PA): the summary of a manifest store that readers are shown, and the note for a copy
whose credentials were stripped. Pure: it shapes the manifest-store JSON that the C2PA reader
(``ledger.adapters.c2pa.reader``) produced; it never parses JUMBF or checks a signature itself.

The manifest store is untrusted input (a reader's upload): every list and string taken from it is bounded here, so
one answer stays small whatever the file carried.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

# The ledger's own assertion in manifests it signs at registration (``ledger.adapters.c2pa.writer``).
REGISTRATION_ASSERTION = "org.provenance-ledger.registration"

MAX_ITEMS = 32  # actions, ingredients, failing checks: a real manifest has a handful; a hostile one is cut here
MAX_TEXT = 300  # any string taken from the manifest store
UNREADABLE = "manifest.unreadable"  # our code for a manifest store the C2PA reader could not parse at all

CredentialState = Literal["trusted", "valid", "invalid"]


class CredentialCheck(BaseModel):
    """One failing validation check, as the C2PA reader names it (``claimSignature.mismatch``, ...)."""

    code: str
    explanation: str | None = None
    url: str | None = None


class CredentialSigner(BaseModel):
    """Who signed the active manifest, from its signing certificate."""

    issuer: str | None = Field(None, description="the organisation named in the signing certificate's subject (the "
                                                "C2PA reader calls it `issuer`)")
    common_name: str | None = None
    serial_number: str | None = None
    algorithm: str | None = None


class CredentialAction(BaseModel):
    action: str
    when: str | None = None
    software_agent: str | None = None
    digital_source_type: str | None = None


class CredentialIngredient(BaseModel):
    title: str | None = None
    format: str | None = None
    relationship: str | None = Field(None, description="parentOf | componentOf | inputTo")
    has_credentials: bool = Field(False, description="the ingredient carried its own manifest")


class ContentCredentials(BaseModel):
    """The C2PA manifest an image carries, summarised: who signed it, with what, when, what was done, from what,
    and whether it validates (``failures`` lists every failing check)."""

    state: CredentialState = Field(description="`trusted` (valid, signer on this service's trust list), `valid` "
                                               "(signature and bindings hold; signer not on the trust list) or "
                                               "`invalid` (a check failed, or the manifest could not be read)")  # fmt: skip
    active_manifest: str | None = None
    claim_generator: str | None = None
    title: str | None = None
    format: str | None = None
    signer: CredentialSigner | None = None
    signed_at: str | None = Field(None, description="the time stamp of the signature (a time-stamping "
                                                    "authority's), when it has one")  # fmt: skip
    actions: list[CredentialAction] = []
    ingredients: list[CredentialIngredient] = []
    failures: list[CredentialCheck] = Field([], description="every failing check, the untrusted signer included")
    manifests: int = Field(0, description="manifests in the store (the active one and its ingredients')")
    ledger_registration: dict[str, Any] | None = Field(
        None, description=f"the `{REGISTRATION_ASSERTION}` assertion, when this ledger signed the manifest")

    @classmethod
    def unreadable(cls, message: str) -> ContentCredentials:
        """A manifest store the C2PA reader found but could not parse: invalid, with the reader's reason."""
        return cls(state="invalid", failures=[CredentialCheck(code=UNREADABLE, explanation=_text(message))])

    @property
    def signer_name(self) -> str | None:
        if self.signer is None:
            return None
        names = [n for n in (self.signer.common_name, self.signer.issuer) if n]
        if len(names) == 2 and names[0] != names[1]:
            return f"{names[0]} ({names[1]})"
        return names[0] if names else None

    @property
    def failure_codes(self) -> list[str]:
        return sorted({f.code for f in self.failures})


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value[:MAX_ITEMS] if isinstance(v, dict)] if isinstance(value, list) else []


def _claim_generator(manifest: dict[str, Any]) -> str | None:
    if manifest.get("claim_generator"):
        return _text(manifest["claim_generator"])
    infos = _dicts(manifest.get("claim_generator_info"))
    words = [" ".join(str(i[k]) for k in ("name", "version") if i.get(k)) for i in infos]
    return _text(", ".join(w for w in words if w)) or None


def _actions(manifest: dict[str, Any]) -> list[CredentialAction]:
    found: list[CredentialAction] = []
    for assertion in _dicts(manifest.get("assertions")):
        label = str(assertion.get("label", ""))
        if label != "c2pa.actions" and not label.startswith("c2pa.actions."):
            continue
        data = assertion.get("data") if isinstance(assertion.get("data"), dict) else {}
        for action in _dicts(data.get("actions")):  # type: ignore[union-attr]
            if len(found) >= MAX_ITEMS:
                return found
            agent = action.get("softwareAgent")
            if isinstance(agent, dict):
                agent = " ".join(str(agent[k]) for k in ("name", "version") if agent.get(k))
            found.append(CredentialAction(action=_text(action.get("action")) or "unnamed", when=_text(action.get("when")),
                                          software_agent=_text(agent) or None,
                                          digital_source_type=_text(action.get("digitalSourceType"))))  # fmt: skip
    return found


def _ingredients(manifest: dict[str, Any]) -> list[CredentialIngredient]:
    return [CredentialIngredient(title=_text(i.get("title")), format=_text(i.get("format")),
                                 relationship=_text(i.get("relationship")),
                                 has_credentials=bool(i.get("active_manifest") or i.get("manifest_data")))
            for i in _dicts(manifest.get("ingredients"))]  # fmt: skip


def _failures(store: dict[str, Any]) -> list[CredentialCheck]:
    checks: list[CredentialCheck] = []
    seen: set[tuple[str, str | None]] = set()
    for status in _dicts(store.get("validation_status")):
        code, url = _text(status.get("code")) or "unknown", _text(status.get("url"))
        if (code, url) not in seen:
            seen.add((code, url))
            checks.append(CredentialCheck(code=code, explanation=_text(status.get("explanation")), url=url))
    return checks


def _registration(manifest: dict[str, Any]) -> dict[str, Any] | None:
    for assertion in _dicts(manifest.get("assertions")):
        if assertion.get("label") == REGISTRATION_ASSERTION and isinstance(assertion.get("data"), dict):
            return {str(k)[:64]: _text(v) if not isinstance(v, int | bool) else v
                    for k, v in list(assertion["data"].items())[:MAX_ITEMS]}  # fmt: skip
    return None


def summarize(store: dict[str, Any]) -> ContentCredentials:
    """The summary of a manifest store as the C2PA reader reports it (its ``json()``, parsed)."""
    manifests = store.get("manifests") if isinstance(store.get("manifests"), dict) else {}
    label = store.get("active_manifest")
    active = manifests.get(label) if isinstance(label, str) else None  # type: ignore[union-attr]
    failures = _failures(store)
    reported = str(store.get("validation_state") or "").lower()
    state: CredentialState = reported if reported in ("trusted", "valid", "invalid") else (  # type: ignore[assignment]
        "invalid" if failures else "valid")
    if not isinstance(active, dict):
        failures = failures or [CredentialCheck(code="claim.missing", explanation="no active manifest")]
        return ContentCredentials(state="invalid", failures=failures, manifests=len(manifests))  # type: ignore[arg-type]
    info = active.get("signature_info") if isinstance(active.get("signature_info"), dict) else {}
    signer = CredentialSigner(issuer=_text(info.get("issuer")), common_name=_text(info.get("common_name")),  # type: ignore[union-attr]
                              serial_number=_text(info.get("cert_serial_number")), algorithm=_text(info.get("alg")))  # type: ignore[union-attr]  # fmt: skip
    return ContentCredentials(
        state=state,
        active_manifest=_text(label),
        claim_generator=_claim_generator(active),
        title=_text(active.get("title")),
        format=_text(active.get("format")),
        signer=signer if any(signer.model_dump().values()) else None,
        signed_at=_text(info.get("time")),  # type: ignore[union-attr]
        actions=_actions(active),
        ingredients=_ingredients(active),
        failures=failures,
        manifests=len(manifests),  # type: ignore[arg-type]
        ledger_registration=_registration(active),
    )


class CredentialsRemoved(BaseModel):
    """The reader's copy lacks the Content Credentials (or carries broken ones) that the registered original it
    matched was published with: what the original carried, who signed it, and when this ledger recorded it."""

    message: str
    uid: str | None = None
    recorded_at: str | None = None
    original: ContentCredentials


def credentials_removed(query: ContentCredentials | None, original: ContentCredentials | None, uid: str | None,
                        recorded_at: str | None) -> CredentialsRemoved | None:  # fmt: skip
    """The note when the copy has no manifest, or a broken one, but the registered original carried one (a
    manifest that does not validate on the original is no credential to have lost)."""
    if original is None or original.state == "invalid":
        return None
    if query is not None and query.state != "invalid":
        return None
    signer = original.signer_name or "an unnamed signer"
    recorded = f", and this ledger recorded it at {recorded_at}" if recorded_at else ""  # none offline (compare)
    lead = ("Content Credentials were removed from this copy" if query is None else
            "The Content Credentials of this copy do not validate (they were changed or replaced)")  # fmt: skip
    message = f"{lead}; the original carried them, signed by {signer}{recorded}."
    return CredentialsRemoved(message=message, uid=uid, recorded_at=recorded_at, original=original)


# What a verifier computes from the file it holds to find the record: the uid cannot be written into the manifest,
# because it hashes the finished file, manifest included (see docs/c2pa.md).
RECORD_UID_RULE = "keccak256(abi.encode(publisher, sha256(this file)))"


def registration_assertion(chain_id: int, contract: str, publisher: str, pixel_sha256: str,
                           ledger_url: str | None) -> dict[str, Any]:  # fmt: skip
    """The ``org.provenance-ledger.registration`` assertion: where the record is (chain, contract), whose it is,
    the canonical-pixel hash it is registered with (embedding a manifest does not change pixels), and how to find
    the record and its transaction from the file."""
    assertion: dict[str, Any] = {"version": 1, "chain_id": chain_id, "contract": contract, "publisher": publisher,
                                 "pixel_sha256": pixel_sha256, "record_uid_rule": RECORD_UID_RULE}  # fmt: skip
    if ledger_url:
        assertion["ledger_url"] = ledger_url
        assertion["lookup"] = f"GET {ledger_url}/v1/verify/<sha256 of this file>: record uid, transaction, block"
    return assertion
