"""One root error for the ledger; every subclass carries a stable code that the API and CLI show.

Twins that also subclass a built-in (``LedgerValueError(LedgerError, ValueError)``) let callers
that only know the built-in still catch them. (web3.py ``exceptions.py``)
"""

from __future__ import annotations


class LedgerError(Exception):
    """Root of every error this project raises on purpose."""

    code = "ledger_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class LedgerValueError(LedgerError, ValueError):
    code = "invalid_input"


class InvalidHash(LedgerValueError):
    code = "invalid_hash"


class NotAnImage(LedgerValueError):
    code = "not_an_image"


class UnsupportedFormat(LedgerValueError):
    code = "unsupported_format"


class TooLarge(LedgerValueError):
    code = "too_large"


class Unauthorized(LedgerError):
    code = "unauthorized"


class NotFound(LedgerError, LookupError):
    code = "not_found"


class AlreadyRegistered(LedgerError):
    code = "already_registered"


class ConfigError(LedgerError):
    code = "config_error"


class DeploymentError(LedgerError):
    """The recorded deployment does not match the chain or the checkout."""

    code = "deployment_mismatch"


class ChainError(LedgerError):
    code = "chain_error"


class ContractRevert(ChainError):
    """A transaction or call reverted; carries the decoded custom error, when known."""

    code = "contract_revert"

    def __init__(self, message: str, error_name: str | None = None, args: tuple = ()) -> None:
        super().__init__(message)
        self.error_name = error_name
        self.error_args = args
