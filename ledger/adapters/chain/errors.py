"""Decoding contract reverts into the custom error's name and arguments.

The contract reverts with custom errors that carry their explanation
(``MediaRegistryAlreadyRegistered(bytes32 uid)``); callers want that name and those values, not raw bytes.
Decoding is a pure function over the ABI; ``revert_data`` digs the raw bytes out of what the chain client raised
(web3's ``ContractLogicError.data`` on a real node, eth-tester's ``TransactionFailed`` message in process).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from typing import Any

from eth_abi import decode
from eth_abi.exceptions import DecodingError
from eth_abi.grammar import ABIType, BasicType, TupleType
from eth_abi.grammar import parse as parse_abi_type
from eth_utils import collapse_if_tuple, keccak, to_checksum_address

from ledger.errors import ContractRevert, UndecodableRevert

__all__ = [
    "ERROR_STRING_SELECTOR",
    "PANIC_SELECTOR",
    "UndecodableRevert",
    "contract_revert",
    "decode_custom_error",
    "revert_data",
]

ERROR_STRING_SELECTOR = keccak(text="Error(string)")[:4]  # 0x08c379a0, `require(cond, "reason")`
PANIC_SELECTOR = keccak(text="Panic(uint256)")[:4]  # 0x4e487b71, assert / overflow / division by zero

_BUILTIN_ERRORS: dict[bytes, tuple[str, list[str]]] = {
    ERROR_STRING_SELECTOR: ("Error", ["string"]),
    PANIC_SELECTOR: ("Panic", ["uint256"]),
}

_ETH_TESTER_PREFIX = "execution reverted: "


def _to_bytes(data: bytes | bytearray | str) -> bytes:
    if isinstance(data, (bytes, bytearray)):
        return bytes(data)
    text = data.strip()
    text = text[2:] if text[:2].lower() == "0x" else text
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise UndecodableRevert(f"revert data is not hex: {data!r}") from None


def _normalise(abi_type: ABIType, value: Any) -> Any:
    """Addresses checksummed, bytes as 0x hex strings (as hashes and uids read everywhere in the ledger)."""
    if abi_type.is_array:
        return tuple(_normalise(abi_type.item_type, v) for v in value)
    if isinstance(abi_type, TupleType):
        return tuple(_normalise(t, v) for t, v in zip(abi_type.components, value, strict=True))
    if isinstance(abi_type, BasicType) and abi_type.base == "address":
        return to_checksum_address(value)
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    return value


def _error_table(abi: Iterable[Mapping[str, Any]]) -> dict[bytes, tuple[str, list[str]]]:
    table = dict(_BUILTIN_ERRORS)
    for entry in abi:
        if entry.get("type") != "error":
            continue
        types = [collapse_if_tuple(dict(i)) for i in entry.get("inputs", [])]
        signature = f"{entry['name']}({','.join(types)})"
        table[keccak(text=signature)[:4]] = (entry["name"], types)
    return table


def decode_custom_error(
    abi: Iterable[Mapping[str, Any]], data: bytes | bytearray | str
) -> tuple[str, tuple[Any, ...]]:
    """Name and arguments of the error encoded in revert ``data`` (bytes or 0x hex), looked up in ``abi``.

    ``Error(string)`` and ``Panic(uint256)`` are always known. Addresses come back checksummed, ``bytesN`` and
    ``bytes`` as 0x hex strings, integers as ints. Raises ``UndecodableRevert`` when nothing matches.
    """
    raw = _to_bytes(data)
    if len(raw) < 4:
        raise UndecodableRevert(f"revert data too short for a selector: 0x{raw.hex()}")
    selector, payload = raw[:4], raw[4:]
    known = _error_table(abi).get(selector)
    if known is None:
        raise UndecodableRevert(f"no error in the ABI has selector 0x{selector.hex()}")
    name, types = known
    try:
        values = decode(types, payload)
    except (DecodingError, OverflowError, ValueError) as exc:
        raise UndecodableRevert(f"cannot decode {name} arguments from 0x{payload.hex()}: {exc}") from None
    return name, tuple(_normalise(parse_abi_type(t), v) for t, v in zip(types, values, strict=True))


def revert_data(exc: BaseException) -> bytes | None:
    """The raw revert bytes carried by a chain client's exception, or None when it carries none.

    Knows web3's ``ContractLogicError`` family (``.data`` as 0x hex) and eth-tester's ``TransactionFailed``, whose
    message is ``execution reverted: b'...'`` (the bytes' repr) when it passes through web3's tester provider.
    """
    data = getattr(exc, "data", None)
    if isinstance(data, (bytes, bytearray)):
        return bytes(data)
    if isinstance(data, str) and data[:2].lower() == "0x":
        try:
            return bytes.fromhex(data[2:])
        except ValueError:
            return None
    if exc.args and isinstance(exc.args[0], str):
        message: str = exc.args[0]
        if message.startswith(_ETH_TESTER_PREFIX):
            message = message[len(_ETH_TESTER_PREFIX) :]
        if message[:2] in ("b'", 'b"'):
            try:
                value = ast.literal_eval(message)
            except (ValueError, SyntaxError):
                return None
            return bytes(value) if isinstance(value, bytes) else None
    return None


def contract_revert(abi: Iterable[Mapping[str, Any]], exc: BaseException) -> ContractRevert:
    """A ``ContractRevert`` for ``exc``, with the decoded error name and arguments when they can be decoded."""
    data = revert_data(exc)
    if data is None:
        return ContractRevert(f"contract call reverted: {exc}")
    try:
        name, args = decode_custom_error(abi, data)
    except UndecodableRevert:
        return ContractRevert(f"contract call reverted with undecodable data 0x{data.hex()}")
    shown = ", ".join(repr(a) for a in args)
    return ContractRevert(f"contract call reverted: {name}({shown})", error_name=name, args=args)
