from __future__ import annotations

from eth_abi import encode
from eth_utils import event_abi_to_log_topic, keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.adapters.chain.artifact import load_artifact
from ledger.adapters.indexer.decode import EventDecoder

ABI = load_artifact()["abi"]
EVENTS = {e["name"]: e for e in ABI if e.get("type") == "event"}
words = st.binary(min_size=32, max_size=32)
addresses = st.binary(min_size=20, max_size=20)


def log_of(event: dict, topics: list[bytes], data: bytes) -> dict:
    return {"topics": ["0x" + event_abi_to_log_topic(event).hex()] + ["0x" + t.hex() for t in topics],
            "data": "0x" + data.hex(), "blockNumber": "0x10", "blockHash": "0x" + "11" * 32,
            "transactionHash": "0x" + "22" * 32, "logIndex": "0x3"}  # fmt: skip


@settings(max_examples=50, deadline=None)
@given(uid=words, publisher=addresses, content=words, hashes=st.lists(words, min_size=4, max_size=4),
       at=st.integers(0, 2**64 - 1))  # fmt: skip
def test_fast_and_general_paths_agree_on_registered(uid, publisher, content, hashes, at) -> None:  # type: ignore[no-untyped-def]
    event = EVENTS["Registered"]
    data = encode(["bytes32"] * 4 + ["uint64"], [*hashes, at])
    log = log_of(event, [uid, b"\0" * 12 + publisher, content], data)
    decoder = EventDecoder(ABI)
    fast, general = decoder.decode(log), decoder.decode(log, general=True)
    assert fast == general
    assert fast is not None and fast.args["registeredAt"] == at and fast.block_number == 16 and fast.log_index == 3
    assert fast.args["uid"] == "0x" + uid.hex()


def test_dynamic_fields_use_the_general_decoder() -> None:
    event = EVENTS["PublisherAdded"]
    log = log_of(event, [b"\0" * 12 + b"\x42" * 20], encode(["string", "string"], ["Daily Example", "example.org"]))
    decoded = EventDecoder(ABI).decode(log)
    assert decoded is not None
    assert (decoded.args["name"], decoded.args["domain"]) == ("Daily Example", "example.org")
    assert decoded.args["publisher"].lower() == "0x" + "42" * 20


def test_unknown_event_is_skipped() -> None:
    log = {"topics": ["0x" + keccak(text="Other(uint256)").hex()], "data": "0x", "blockNumber": 1,
           "blockHash": "0x" + "00" * 32, "transactionHash": "0x" + "00" * 32, "logIndex": 0}  # fmt: skip
    assert EventDecoder(ABI).decode(log) is None


def test_range_adapts_to_the_number_of_logs() -> None:
    from ledger.adapters.indexer.scanner import TARGET_LOGS, Indexer

    indexer = Indexer.__new__(Indexer)
    indexer.max_range = 2000
    assert indexer._next_range(1000, 4 * TARGET_LOGS) == 250  # dense: a quarter of the blocks
    assert indexer._next_range(250, 10) == 500  # sparse: grow, at most doubling
    assert indexer._next_range(1500, 0) == 2000  # never past the maximum
    assert indexer._next_range(1, 50 * TARGET_LOGS) == 1
