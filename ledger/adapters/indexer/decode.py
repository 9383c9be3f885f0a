"""Decoding a contract log into a named event: a pure function of the ABI and the log (no RPC).

Events whose fields are all one-word static types (bytes32, uintN, address, bool) are decoded by slicing
32-byte words; that covers every high-volume event of the registry and is several times faster than the
general eth-abi decoder, which stays the fallback for strings and other dynamic types. The tests check
that both paths agree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from eth_abi import decode
from eth_utils import event_abi_to_log_topic, to_checksum_address

Word = Callable[[bytes], Any]


@dataclass(frozen=True, slots=True)
class DecodedEvent:
    name: str
    args: dict[str, Any]
    block_number: int
    block_hash: str
    tx_hash: str
    log_index: int


def _hex(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    text = str(value)
    return text if text.startswith("0x") else "0x" + text


def _int(value: Any) -> int:
    """Raw JSON-RPC gives quantities as hex strings; web3's formatted logs give ints."""
    return int(value, 16) if isinstance(value, str) else int(value)


@lru_cache(maxsize=4096)
def _checksum(address_hex: str) -> str:
    return to_checksum_address(address_hex)


def _normalise(abi_type: str, value: Any) -> Any:
    if abi_type.endswith("[]"):  # BatchAnchored's contentHashes: a list of the element type, normalised alike
        return [_normalise(abi_type[:-2], v) for v in value]
    if abi_type == "address":
        return _checksum(value.lower())
    if abi_type.startswith("bytes") and isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    return value


def _word_decoder(abi_type: str) -> Word | None:
    """A decoder for one 32-byte word of this type, or None if it needs the general decoder."""
    if abi_type == "bytes32":
        return lambda w: "0x" + w.hex()
    if abi_type.startswith("uint"):
        return lambda w: int.from_bytes(w, "big")
    if abi_type == "address":
        return lambda w: _checksum("0x" + w[12:].hex())
    if abi_type == "bool":
        return lambda w: w[31] == 1
    return None


@dataclass(frozen=True)
class _EventLayout:
    name: str
    indexed: list[dict[str, Any]]
    plain: list[dict[str, Any]]
    fast: list[Word] | None  # one word decoder per plain field, when all are one-word static types


class EventDecoder:
    def __init__(self, abi: list[dict[str, Any]]):
        self._by_topic: dict[bytes, _EventLayout] = {}
        for item in abi:
            if item.get("type") != "event":
                continue
            plain = [i for i in item["inputs"] if not i["indexed"]]
            words = [_word_decoder(i["type"]) for i in plain]
            self._by_topic[event_abi_to_log_topic(item)] = _EventLayout(
                name=item["name"],
                indexed=[i for i in item["inputs"] if i["indexed"]],
                plain=plain,
                fast=None if any(w is None for w in words) else words,  # type: ignore[arg-type]
            )

    @property
    def topics(self) -> list[str]:
        return ["0x" + topic.hex() for topic in self._by_topic]

    def decode(self, log: dict[str, Any], general: bool = False) -> DecodedEvent | None:
        """None for a log of an event this ABI does not know (a later contract version, say).
        ``general=True`` forces the eth-abi path (the tests compare both)."""
        topics = [bytes.fromhex(_hex(t)[2:]) for t in log["topics"]]
        if not topics or topics[0] not in self._by_topic:
            return None
        layout = self._by_topic[topics[0]]
        args: dict[str, Any] = {}
        for item, topic in zip(layout.indexed, topics[1:], strict=True):
            # Indexed dynamic types (string, bytes, arrays) are stored as their keccak hash only.
            if item["type"] in ("string", "bytes") or item["type"].endswith("]"):
                args[item["name"]] = "0x" + topic.hex()
            else:
                word = _word_decoder(item["type"])
                args[item["name"]] = (
                    word(topic) if word and not general else _normalise(item["type"], decode([item["type"]], topic)[0])
                )
        data = bytes.fromhex(_hex(log["data"])[2:])
        if layout.fast is not None and not general:
            for n, (item, word) in enumerate(zip(layout.plain, layout.fast, strict=True)):
                args[item["name"]] = word(data[32 * n : 32 * n + 32])
        elif layout.plain:
            values = decode([i["type"] for i in layout.plain], data)
            for item, value in zip(layout.plain, values, strict=True):
                args[item["name"]] = _normalise(item["type"], value)
        return DecodedEvent(
            name=layout.name,
            args=args,
            block_number=_int(log["blockNumber"]),
            block_hash=_hex(log["blockHash"]),
            tx_hash=_hex(log["transactionHash"]),
            log_index=_int(log["logIndex"]),
        )
