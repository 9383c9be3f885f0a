"""Every error this project raises on purpose, in one module. Each carries a stable ``code`` that the API and the
CLI show, and descends from one base per HTTP status class, so ``api/errors.py`` maps a base, never a leaf:

    BadRequest 400 · InvalidInput 422 · Unauthorized 401 · NotFound 404 · RequestTimeout 408 · Conflict 409 ·
    TooLarge 413 · UnsupportedFormat 415 · RateLimited 429 · Unavailable 503 (configuration, deployment, chain, busy)

An error that says when to try again carries ``retry_after`` (seconds); the API sends it as ``Retry-After``.

Twins that also subclass a built-in (``LedgerValueError(LedgerError, ValueError)``) let callers that only know the
built-in still catch them. (web3.py ``exceptions.py``)
"""

from __future__ import annotations

from typing import Any


class LedgerError(Exception):
    """Root of every error this project raises on purpose."""

    code = "ledger_error"
    retry_after: int | None = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# -- 400: the request's framing is unusable -------------------------------------------------------------------------
class BadRequest(LedgerError):
    code = "bad_request"


class AmbiguousFraming(BadRequest):
    """Both ``Transfer-Encoding`` and ``Content-Length`` (or two different lengths): the request smuggling shape."""

    code = "ambiguous_framing"


class BodyLengthMismatch(BadRequest):
    """More body bytes arrived than the ``Content-Length`` announced."""

    code = "body_length_mismatch"


class UnsupportedAlgorithm(BadRequest):
    """A soft-binding algorithm this service does not resolve (the C2PA Soft Binding Resolution API answers 400)."""

    code = "unsupported_algorithm"


class InvalidBindingValue(BadRequest):
    """A soft-binding query value that is not what its algorithm takes (base64 of 32 bytes here)."""

    code = "invalid_binding_value"


# -- 408: the body arrived too slowly -------------------------------------------------------------------------------
class RequestTimeout(LedgerError):
    code = "request_timeout"


class BodyTimeout(RequestTimeout):
    code = "body_timeout"


# -- 429: this client sent too many requests ------------------------------------------------------------------------
class RateLimited(LedgerError):
    code = "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


# -- 422: the request or the input is not valid -------------------------------------------------------------------
class LedgerValueError(LedgerError, ValueError):
    code = "invalid_input"


InvalidInput = LedgerValueError


class InvalidHash(LedgerValueError):
    code = "invalid_hash"


class NotAnImage(LedgerValueError):
    code = "not_an_image"


class InvalidText(LedgerValueError):
    """A caption, credit, URL or date with control characters (NUL, escape sequences): refused, never stored."""

    code = "invalid_text"


class InvalidTree(LedgerValueError):
    """No leaves, a duplicate registration, a malformed dump, or a tree whose nodes do not hash up."""

    code = "invalid_merkle_tree"


class UndecodableRevert(LedgerValueError):
    """Revert data that matches no error of the ABI (or is too short or malformed to decode)."""

    code = "undecodable_revert"


# -- 413 / 415: the upload ----------------------------------------------------------------------------------------
class TooLarge(LedgerValueError):
    code = "too_large"


class UnsupportedFormat(LedgerValueError):
    code = "unsupported_format"


class InvalidSignature(LedgerValueError):
    """A signed registration whose signature is not the publisher's (EOA recovery, or ERC-1271 on chain)."""

    code = "invalid_signature"


class WrongDomain(LedgerValueError):
    """Signed for another chain id or contract than the one this service anchors on."""

    code = "wrong_chain_or_contract"


class SignatureExpired(LedgerValueError):
    code = "signature_expired"


class UnknownRecord(LedgerValueError):
    """A parent or successor uid that is neither on chain nor queued here."""

    code = "unknown_record"


class C2paUnsupportedFormat(UnsupportedFormat):
    """Content Credentials were asked for a format the C2PA library cannot embed a manifest in."""

    code = "c2pa_unsupported_format"


class InvalidC2paSigner(LedgerValueError):
    """A C2PA signing certificate chain and key that cannot sign: unreadable, mismatched, or an unsupported key."""

    code = "invalid_c2pa_signer"


class C2paSigningFailed(LedgerValueError):
    """The C2PA library refused to sign this file (for example a manifest already in it that it cannot carry on)."""

    code = "c2pa_signing_failed"


class FileMismatch(LedgerValueError):
    """The file sent with a signed registration is not the one its manifest describes."""

    code = "file_mismatch"


# -- 401 / 403 / 404 ----------------------------------------------------------------------------------------------
class Unauthorized(LedgerError):
    code = "unauthorized"


class ApiKeyRevoked(Unauthorized):
    code = "api_key_revoked"


class Forbidden(LedgerError):
    """Known caller, not allowed now."""

    code = "forbidden"


class PublisherSuspended(Forbidden):
    """The publisher was suspended on chain (by the admin): its requests are refused until it is re-enabled."""

    code = "publisher_suspended"


class NotRecordPublisher(Forbidden):
    """A signed retraction of a record that another publisher registered: nobody retracts another's record."""

    code = "not_record_publisher"


class NotFound(LedgerError, LookupError):
    code = "not_found"


# -- 409: the request conflicts with what is already recorded ------------------------------------------------------
class Conflict(LedgerError):
    code = "conflict"


class AlreadyRegistered(Conflict):
    code = "already_registered"


class AlreadyRetracted(Conflict):
    code = "already_retracted"


class NonceInUse(Conflict):
    code = "nonce_in_use"


class PublisherHoldsKey(Conflict):
    """The newsroom keeps its own key: the service cannot sign for it (send signed registrations instead)."""

    code = "publisher_holds_key"


class NoC2paSigner(Conflict):
    """Content Credentials were asked for, but no C2PA signing certificate is installed for the publisher."""

    code = "c2pa_signer_missing"


class KeyNameTaken(Conflict):
    code = "key_name_taken"


class AlreadyRevoked(Conflict):
    code = "already_revoked"


# -- 503: the service cannot answer now (configuration, deployment, chain) ------------------------------------------
class Unavailable(LedgerError):
    code = "unavailable"


class ConfigError(Unavailable):
    code = "config_error"


class DeploymentError(Unavailable):
    """The recorded deployment does not match the chain or the checkout."""

    code = "deployment_mismatch"


class ChainError(Unavailable):
    code = "chain_error"


class StorageUnavailable(Unavailable):
    """The database refused a write: its disk is full or read-only, it stayed locked past the busy timeout, or its
    server is gone. Nothing of the request was kept; except when its filesystem failed as the write was committed
    (the message then says it may have been kept): sent again, a registration is then 202, or 409
    ``already_registered`` if it was kept."""

    code = "storage_unavailable"

    def __init__(self, message: str, retry_after: int = 5) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Busy(Unavailable):
    """Every decoding slot is taken and the queue for them is full (or waiting in it took too long)."""

    code = "busy"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RpcError(ChainError):
    """A JSON-RPC error answer from the node."""

    def __init__(self, method: str, error: dict[str, Any]):
        super().__init__(f"{method}: {error.get('message', error)}")
        self.rpc_code = error.get("code")


class InconsistentAnswers(ChainError):
    """Answers of the chain node contradict each other (logs from another branch or contract, a chain that moved
    under a scan, logs a block header says exist but the answer left out): nothing of that range is mirrored."""

    code = "chain_inconsistent"


class ContractRevert(ChainError):
    """A transaction or call reverted; carries the decoded custom error, when known."""

    code = "contract_revert"

    def __init__(self, message: str, error_name: str | None = None, args: tuple[Any, ...] = ()) -> None:
        super().__init__(message)
        self.error_name = error_name
        self.error_args = args
