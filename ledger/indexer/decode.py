"""Decoding a contract log into a named event: a pure function of the ABI and the log (no RPC)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_abi import decode
from eth_utils import event_abi_to_log_topic, to_checksum_address


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


def _normalise(abi_type: str, value: Any) -> Any:
    if abi_type == "address":
        return to_checksum_address(value)
    if abi_type.startswith("bytes") and isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    return value


class EventDecoder:
    def __init__(self, abi: list[dict[str, Any]]):
        self._by_topic: dict[bytes, dict[str, Any]] = {
            event_abi_to_log_topic(item): item for item in abi if item.get("type") == "event"
        }

    @property
    def topics(self) -> list[str]:
        return ["0x" + topic.hex() for topic in self._by_topic]

    def decode(self, log: dict[str, Any]) -> DecodedEvent | None:
        """None for a log of an event this ABI does not know (a later contract version, say)."""
        topics = [bytes.fromhex(_hex(t)[2:]) for t in log["topics"]]
        if not topics or topics[0] not in self._by_topic:
            return None
        abi = self._by_topic[topics[0]]
        indexed = [i for i in abi["inputs"] if i["indexed"]]
        plain = [i for i in abi["inputs"] if not i["indexed"]]
        args: dict[str, Any] = {}
        for item, topic in zip(indexed, topics[1:], strict=True):
            # Indexed dynamic types (string, bytes, arrays) are stored as their keccak hash only.
            if item["type"] in ("string", "bytes") or item["type"].endswith("]"):
                args[item["name"]] = "0x" + topic.hex()
            else:
                args[item["name"]] = _normalise(item["type"], decode([item["type"]], topic)[0])
        data = bytes.fromhex(_hex(log["data"])[2:])
        values = decode([i["type"] for i in plain], data) if plain else ()
        for item, value in zip(plain, values, strict=True):
            args[item["name"]] = _normalise(item["type"], value)
        return DecodedEvent(
            name=abi["name"],
            args=args,
            block_number=_int(log["blockNumber"]),
            block_hash=_hex(log["blockHash"]),
            tx_hash=_hex(log["transactionHash"]),
            log_index=_int(log["logIndex"]),
        )
