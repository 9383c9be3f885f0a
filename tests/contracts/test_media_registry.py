"""MediaRegistry behaviour on an in-process chain (eth-tester + py-evm), plus one run on a real anvil node."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from eth_abi import encode
from eth_utils import keccak, to_checksum_address
from web3 import EthereumTesterProvider, Web3
from web3.contract import Contract

from ledger.adapters.chain.artifact import load_artifact
from ledger.adapters.chain.errors import (
    ERROR_STRING_SELECTOR,
    PANIC_SELECTOR,
    UndecodableRevert,
    contract_revert,
    decode_custom_error,
)
from ledger.core import eip712
from ledger.core.eip712 import Domain, registration_digest
from ledger.core.records import Registration, record_uid
from ledger.core.types import ZERO_HASH
from ledger.errors import ContractRevert

from .helpers import anvil_node, deploy_registry, hexstr, reverted_with, sample_hash, sample_registration

# A later issue targets register <= 60,000 gas including the 21,000 intrinsic cost; keep this version inside it.
REGISTER_GAS_BUDGET = 60_000


@pytest.fixture(scope="module")
def artifact() -> dict[str, Any]:
    return load_artifact()


@pytest.fixture(scope="module")
def abi(artifact: dict[str, Any]) -> list[dict[str, Any]]:
    return artifact["abi"]  # type: ignore[no-any-return]


@pytest.fixture
def w3() -> Web3:
    return Web3(EthereumTesterProvider())


@pytest.fixture
def accounts(w3: Web3) -> dict[str, str]:
    a = w3.eth.accounts
    return {"admin": a[0], "publisher": a[1], "other_publisher": a[2], "stranger": a[3]}


@pytest.fixture
def registry(w3: Web3, artifact: dict[str, Any], accounts: dict[str, str]) -> Contract:
    return deploy_registry(w3, artifact, accounts["admin"])


@pytest.fixture
def with_publisher(w3: Web3, registry: Contract, accounts: dict[str, str]) -> Contract:
    for who, name, domain in (
        ("publisher", "Daily Example", "daily.example"),
        ("other_publisher", "Wire Example", "wire.example"),
    ):
        tx = registry.functions.addPublisher(accounts[who], name, domain).transact({"from": accounts["admin"]})
        w3.eth.wait_for_transaction_receipt(tx)
    return registry


def register(w3: Web3, registry: Contract, reg: Registration, sender: str) -> Any:
    tx = registry.functions.register(reg.as_contract_tuple()).transact({"from": sender})
    receipt = w3.eth.wait_for_transaction_receipt(tx)
    assert receipt["status"] == 1
    return receipt


def block_time(w3: Web3, receipt: Any) -> int:
    return int(w3.eth.get_block(receipt["blockNumber"])["timestamp"])


# ------------------------------------------------------------------------------------------------- admin


def test_deployer_is_owner_and_ownership_moves_in_two_steps(
    w3: Web3, registry: Contract, accounts: dict[str, str], abi: list[dict[str, Any]]
) -> None:
    admin, new_admin = accounts["admin"], accounts["stranger"]
    assert registry.functions.owner().call() == admin
    w3.eth.wait_for_transaction_receipt(registry.functions.transferOwnership(new_admin).transact({"from": admin}))
    assert registry.functions.owner().call() == admin
    assert registry.functions.pendingOwner().call() == new_admin
    w3.eth.wait_for_transaction_receipt(registry.functions.acceptOwnership().transact({"from": new_admin}))
    assert registry.functions.owner().call() == new_admin
    assert reverted_with(
        abi, lambda: registry.functions.addPublisher(accounts["publisher"], "n", "d").transact({"from": admin})
    ) == ("OwnableUnauthorizedAccount", (admin,))


def test_owner_adds_publisher(w3: Web3, registry: Contract, accounts: dict[str, str]) -> None:
    publisher = accounts["publisher"]
    assert registry.functions.isActivePublisher(publisher).call() is False
    tx = registry.functions.addPublisher(publisher, "Daily Example", "daily.example").transact(
        {"from": accounts["admin"]}
    )
    receipt = w3.eth.wait_for_transaction_receipt(tx)

    (event,) = registry.events.PublisherAdded().process_receipt(receipt)
    assert event["args"]["publisher"] == publisher
    assert event["args"]["name"] == "Daily Example"
    assert event["args"]["domain"] == "daily.example"
    # (name, domain, addedAt, suspendedAt)
    assert registry.functions.getPublisher(publisher).call() == (
        "Daily Example",
        "daily.example",
        block_time(w3, receipt),
        0,
    )
    assert registry.functions.isActivePublisher(publisher).call() is True


def test_non_owner_cannot_add_publisher(
    registry: Contract, accounts: dict[str, str], abi: list[dict[str, Any]]
) -> None:
    stranger = accounts["stranger"]
    assert reverted_with(
        abi, lambda: registry.functions.addPublisher(stranger, "Me", "me.example").transact({"from": stranger})
    ) == ("OwnableUnauthorizedAccount", (stranger,))


def test_add_publisher_rejects_zero_address(
    registry: Contract, accounts: dict[str, str], abi: list[dict[str, Any]]
) -> None:
    zero = "0x" + "00" * 20
    assert reverted_with(
        abi, lambda: registry.functions.addPublisher(zero, "n", "d").transact({"from": accounts["admin"]})
    ) == ("MediaRegistryZeroAddress", ())


def test_duplicate_add_publisher(with_publisher: Contract, accounts: dict[str, str], abi: list[dict[str, Any]]) -> None:
    publisher = accounts["publisher"]
    assert reverted_with(
        abi,
        lambda: with_publisher.functions.addPublisher(publisher, "Again", "again.example").transact(
            {"from": accounts["admin"]}
        ),
    ) == ("MediaRegistryPublisherExists", (publisher,))


def test_suspend_and_reenable(
    w3: Web3, with_publisher: Contract, accounts: dict[str, str], abi: list[dict[str, Any]]
) -> None:
    registry, admin, publisher = with_publisher, accounts["admin"], accounts["publisher"]
    before = register(w3, registry, sample_registration("before"), publisher)
    before_uid = record_uid(publisher, sample_registration("before").content_hash)

    receipt = w3.eth.wait_for_transaction_receipt(
        registry.functions.suspendPublisher(publisher).transact({"from": admin})
    )
    (event,) = registry.events.PublisherSuspended().process_receipt(receipt)
    assert event["args"]["publisher"] == publisher
    info = registry.functions.getPublisher(publisher).call()
    assert info[3] == block_time(w3, receipt) and info[2] > 0
    assert registry.functions.isActivePublisher(publisher).call() is False

    # A suspended publisher cannot register; its earlier record stays.
    reg = sample_registration("during")
    assert reverted_with(
        abi, lambda: registry.functions.register(reg.as_contract_tuple()).transact({"from": publisher})
    ) == ("MediaRegistryPublisherSuspended", (publisher,))
    assert registry.functions.getRecord(before_uid).call()[0] == publisher
    assert registry.functions.getRecord(before_uid).call()[1] == block_time(w3, before)
    # Suspending twice is refused.
    assert reverted_with(
        abi, lambda: registry.functions.suspendPublisher(publisher).transact({"from": admin})
    ) == ("MediaRegistryPublisherSuspended", (publisher,))

    receipt = w3.eth.wait_for_transaction_receipt(
        registry.functions.reenablePublisher(publisher).transact({"from": admin})
    )
    (event,) = registry.events.PublisherReenabled().process_receipt(receipt)
    assert event["args"]["publisher"] == publisher
    assert registry.functions.getPublisher(publisher).call()[3] == 0
    assert registry.functions.isActivePublisher(publisher).call() is True
    register(w3, registry, reg, publisher)
    # Re-enabling an active publisher is refused.
    assert reverted_with(
        abi, lambda: registry.functions.reenablePublisher(publisher).transact({"from": admin})
    ) == ("MediaRegistryPublisherNotSuspended", (publisher,))


def test_suspend_and_reenable_need_owner_and_known_publisher(
    with_publisher: Contract, accounts: dict[str, str], abi: list[dict[str, Any]]
) -> None:
    registry, admin, stranger = with_publisher, accounts["admin"], accounts["stranger"]
    for fn in (registry.functions.suspendPublisher, registry.functions.reenablePublisher):
        assert reverted_with(abi, lambda fn=fn: fn(stranger).transact({"from": admin})) == (
            "MediaRegistryUnknownPublisher",
            (stranger,),
        )
        assert reverted_with(abi, lambda fn=fn: fn(accounts["publisher"]).transact({"from": stranger})) == (
            "OwnableUnauthorizedAccount",
            (stranger,),
        )


# ------------------------------------------------------------------------------------------ registration


def test_publisher_registers(
    w3: Web3, with_publisher: Contract, accounts: dict[str, str], record_property: Any
) -> None:
    registry, publisher = with_publisher, accounts["publisher"]
    reg = sample_registration("protest-photo")
    uid = record_uid(publisher, reg.content_hash)
    assert hexstr(registry.functions.register(reg.as_contract_tuple()).call({"from": publisher})) == uid

    receipt = register(w3, registry, reg, publisher)
    gas = receipt["gasUsed"]
    record_property("register_gas_eth_tester", gas)
    print(f"\nregister gasUsed on eth-tester (py-evm, Prague rules), no parent: {gas}")
    assert gas <= REGISTER_GAS_BUDGET

    (event,) = registry.events.Registered().process_receipt(receipt)
    args = event["args"]
    registered_at = block_time(w3, receipt)
    assert hexstr(args["uid"]) == uid
    assert args["publisher"] == publisher
    assert hexstr(args["contentHash"]) == reg.content_hash
    assert hexstr(args["pixelHash"]) == reg.pixel_hash
    assert hexstr(args["pdqHash"]) == reg.pdq_hash
    assert hexstr(args["manifestHash"]) == reg.manifest_hash
    assert hexstr(args["parent"]) == ZERO_HASH
    assert args["registeredAt"] == registered_at
    # uid, publisher and contentHash are the indexed topics an indexer filters by.
    log = receipt["logs"][0]
    assert [hexstr(t) for t in log["topics"][1:]] == [
        uid,
        "0x" + "00" * 12 + publisher[2:].lower(),
        reg.content_hash,
    ]

    # (publisher, registeredAt, flags)
    assert registry.functions.getRecord(uid).call() == (publisher, registered_at, 0)
    assert hexstr(registry.functions.recordUid(publisher, reg.as_contract_tuple()[0]).call()) == uid


def test_record_fits_in_one_slot(w3: Web3, with_publisher: Contract, accounts: dict[str, str]) -> None:
    """The packed record: publisher (low 20 bytes), registeredAt (next 8), flags (next 4) in one word."""
    registry, publisher = with_publisher, accounts["publisher"]
    reg = sample_registration("packed")
    receipt = register(w3, registry, reg, publisher)
    uid = record_uid(publisher, reg.content_hash)
    # Storage layout: Ownable._owner (0), Ownable2Step._pendingOwner (1), EIP712 fallback strings (2, 3),
    # Nonces._nonces (4), _records (5), _publishers (6).
    slot = keccak(encode(["bytes32", "uint256"], [bytes.fromhex(uid[2:]), 5]))
    word = int.from_bytes(w3.eth.get_storage_at(registry.address, slot), "big")
    assert word & ((1 << 160) - 1) == int(publisher, 16)
    assert (word >> 160) & ((1 << 64) - 1) == block_time(w3, receipt)
    assert word >> 224 == 0
    next_slot = (int.from_bytes(slot, "big") + 1).to_bytes(32, "big")
    assert int.from_bytes(w3.eth.get_storage_at(registry.address, next_slot), "big") == 0


def test_non_publisher_cannot_register(
    with_publisher: Contract, accounts: dict[str, str], abi: list[dict[str, Any]]
) -> None:
    stranger = accounts["stranger"]
    reg = sample_registration("x")
    assert reverted_with(
        abi, lambda: with_publisher.functions.register(reg.as_contract_tuple()).transact({"from": stranger})
    ) == ("MediaRegistryNotPublisher", (stranger,))


def test_register_twice_is_refused(
    w3: Web3, with_publisher: Contract, accounts: dict[str, str], abi: list[dict[str, Any]]
) -> None:
    publisher = accounts["publisher"]
    reg = sample_registration("twice")
    register(w3, with_publisher, reg, publisher)
    # Same content hash, other hashes changed: the uid only depends on publisher and content hash.
    again = Registration(reg.content_hash, sample_hash("p2"), sample_hash("q2"), sample_hash("m2"))
    assert reverted_with(
        abi, lambda: with_publisher.functions.register(again.as_contract_tuple()).transact({"from": publisher})
    ) == ("MediaRegistryAlreadyRegistered", (record_uid(publisher, reg.content_hash),))


def test_same_image_by_two_publishers_gives_two_records(
    w3: Web3, with_publisher: Contract, accounts: dict[str, str]
) -> None:
    reg = sample_registration("wire-photo")
    first = register(w3, with_publisher, reg, accounts["publisher"])
    second = register(w3, with_publisher, reg, accounts["other_publisher"])
    uid1 = record_uid(accounts["publisher"], reg.content_hash)
    uid2 = record_uid(accounts["other_publisher"], reg.content_hash)
    assert uid1 != uid2
    assert with_publisher.functions.getRecord(uid1).call()[1] == block_time(w3, first)
    assert with_publisher.functions.getRecord(uid2).call()[1] == block_time(w3, second)


def test_unknown_parent_is_refused(
    with_publisher: Contract, accounts: dict[str, str], abi: list[dict[str, Any]]
) -> None:
    parent = sample_hash("no such record")
    reg = sample_registration("crop", parent=parent)
    assert reverted_with(
        abi,
        lambda: with_publisher.functions.register(reg.as_contract_tuple()).transact({"from": accounts["publisher"]}),
    ) == ("MediaRegistryUnknownParent", (parent,))


def test_known_parent_is_accepted_even_from_another_publisher(
    w3: Web3, with_publisher: Contract, accounts: dict[str, str]
) -> None:
    original = sample_registration("original")
    register(w3, with_publisher, original, accounts["publisher"])
    parent_uid = record_uid(accounts["publisher"], original.content_hash)

    crop = sample_registration("crop", parent=parent_uid)
    receipt = register(w3, with_publisher, crop, accounts["other_publisher"])
    print(f"\nregister gasUsed on eth-tester, with a parent: {receipt['gasUsed']}")
    assert receipt["gasUsed"] <= REGISTER_GAS_BUDGET
    (event,) = with_publisher.events.Registered().process_receipt(receipt)
    assert hexstr(event["args"]["parent"]) == parent_uid
    assert event["args"]["publisher"] == accounts["other_publisher"]


def test_zero_content_hash_is_refused(
    with_publisher: Contract, accounts: dict[str, str], abi: list[dict[str, Any]]
) -> None:
    reg = Registration(ZERO_HASH, sample_hash("p"), sample_hash("q"), sample_hash("m"))
    assert reverted_with(
        abi,
        lambda: with_publisher.functions.register(reg.as_contract_tuple()).transact({"from": accounts["publisher"]}),
    ) == ("MediaRegistryEmptyContentHash", ())


# ------------------------------------------------------------------------------------------------ EIP-712


def test_registration_typehash_matches_python(registry: Contract) -> None:
    assert hexstr(registry.functions.REGISTRATION_TYPEHASH().call()) == eip712.REGISTRATION_TYPEHASH


def test_eip712_domain_matches_python(w3: Web3, registry: Contract, accounts: dict[str, str]) -> None:
    domain = Domain(w3.eth.chain_id, registry.address).as_dict()
    fields, name, version, chain_id, verifying_contract, salt, extensions = registry.functions.eip712Domain().call()
    assert fields == b"\x0f"
    assert (name, version, chain_id, verifying_contract) == (
        domain["name"],
        domain["version"],
        domain["chainId"],
        domain["verifyingContract"],
    )
    assert salt == b"\x00" * 32 and list(extensions) == []

    type_hash = keccak(text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
    separator = keccak(
        encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [type_hash, keccak(text=name), keccak(text=version), chain_id, verifying_contract],
        )
    )
    assert registry.functions.DOMAIN_SEPARATOR().call() == separator
    assert registry.functions.nonces(accounts["publisher"]).call() == 0


@pytest.mark.parametrize(
    ("label", "has_parent", "nonce", "deadline"),
    [("plain", False, 0, 1_900_000_000), ("derived", True, 7, 2**256 - 1)],
)
def test_hash_registration_matches_python_digest(
    w3: Web3, registry: Contract, accounts: dict[str, str], label: str, has_parent: bool, nonce: int, deadline: int
) -> None:
    reg = sample_registration(label, parent=sample_hash("parent") if has_parent else ZERO_HASH)
    publisher = accounts["publisher"]
    on_chain = registry.functions.hashRegistration(reg.as_contract_tuple(), publisher, nonce, deadline).call()
    expected = registration_digest(Domain(w3.eth.chain_id, registry.address), reg, publisher, nonce, deadline)
    assert hexstr(on_chain) == expected
    # The digest is bound to the contract address: another deployment gives another digest.
    other = registration_digest(
        Domain(w3.eth.chain_id, to_checksum_address("0x" + "11" * 20)), reg, publisher, nonce, deadline
    )
    assert other != expected


# ---------------------------------------------------------------------------------------- real anvil node


@pytest.fixture
def anvil() -> Iterator[Web3]:
    with anvil_node() as w3:
        yield w3


def test_register_on_anvil(anvil: Web3, artifact: dict[str, Any], record_property: Any) -> None:
    w3 = anvil
    admin, publisher, stranger = w3.eth.accounts[:3]
    registry = deploy_registry(w3, artifact, admin)
    w3.eth.wait_for_transaction_receipt(
        registry.functions.addPublisher(publisher, "Daily Example", "daily.example").transact({"from": admin})
    )
    reg = sample_registration("anvil")
    receipt = register(w3, registry, reg, publisher)
    gas = receipt["gasUsed"]
    record_property("register_gas_anvil", gas)
    print(f"\nregister gasUsed on anvil 1.7.1, no parent: {gas}")
    assert gas <= REGISTER_GAS_BUDGET

    uid = record_uid(publisher, reg.content_hash)
    logs = registry.events.Registered().get_logs(from_block=0, argument_filters={"publisher": publisher})
    assert len(logs) == 1
    args = logs[0]["args"]
    assert hexstr(args["uid"]) == uid
    assert hexstr(args["contentHash"]) == reg.content_hash
    assert hexstr(args["manifestHash"]) == reg.manifest_hash
    assert args["registeredAt"] == block_time(w3, receipt)
    assert logs[0]["transactionHash"] == receipt["transactionHash"]

    # A revert from a real node decodes the same way (web3 raises ContractCustomError with the data).
    assert reverted_with(
        artifact["abi"], lambda: registry.functions.register(reg.as_contract_tuple()).transact({"from": stranger})
    ) == ("MediaRegistryNotPublisher", (stranger,))


# ------------------------------------------------------------------------------------------ revert decoding


def test_decode_custom_error_builtins_and_unknown(abi: list[dict[str, Any]]) -> None:
    reason = ERROR_STRING_SELECTOR + encode(["string"], ["nope"])
    assert decode_custom_error(abi, reason) == ("Error", ("nope",))
    assert decode_custom_error(abi, "0x" + (PANIC_SELECTOR + encode(["uint256"], [0x11])).hex()) == ("Panic", (0x11,))
    with pytest.raises(UndecodableRevert):
        decode_custom_error(abi, "0xdeadbeef")
    with pytest.raises(UndecodableRevert):
        decode_custom_error(abi, b"\x01")


def test_contract_revert_carries_name_and_args(
    with_publisher: Contract, accounts: dict[str, str], abi: list[dict[str, Any]]
) -> None:
    stranger = accounts["stranger"]
    reg = sample_registration("x")
    with pytest.raises(Exception) as caught:
        with_publisher.functions.register(reg.as_contract_tuple()).transact({"from": stranger})
    revert = contract_revert(abi, caught.value)
    assert isinstance(revert, ContractRevert)
    assert (revert.error_name, revert.error_args) == ("MediaRegistryNotPublisher", (stranger,))
    assert "MediaRegistryNotPublisher" in revert.message
