from __future__ import annotations

from eth_account import Account
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ledger.core.eip712 import Domain, recover_registration_signer, registration_digest, sign_registration
from ledger.core.records import Registration, record_uid

# A throwaway TEST key (anvil's second development account); never holds value.
TEST_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
hashes = st.binary(min_size=32, max_size=32).map(lambda b: "0x" + b.hex())


@settings(max_examples=40, deadline=None)
@given(content=hashes, pixel=hashes, pdq=hashes, manifest=hashes, nonce=st.integers(0, 2**64), deadline=st.integers(0, 2**40))
@example(content="0x" + "00" * 32, pixel="0x" + "ff" * 32, pdq="0x" + "00" * 32, manifest="0x" + "00" * 32, nonce=0, deadline=0)
def test_signature_recovers_the_publisher(content: str, pixel: str, pdq: str, manifest: str, nonce: int, deadline: int) -> None:
    publisher = Account.from_key(TEST_KEY).address
    reg = Registration(content, pixel, pdq, manifest)
    domain = Domain(31337, CONTRACT)
    signature = sign_registration(TEST_KEY, domain, reg, nonce, deadline)
    assert recover_registration_signer(domain, reg, publisher, nonce, deadline, signature) == publisher


def test_signature_is_bound_to_chain_contract_and_nonce() -> None:
    publisher = Account.from_key(TEST_KEY).address
    reg = Registration("0x" + "01" * 32, "0x" + "02" * 32, "0x" + "03" * 32, "0x" + "04" * 32)
    domain = Domain(31337, CONTRACT)
    signature = sign_registration(TEST_KEY, domain, reg, 7, 10**10)
    digest = registration_digest(domain, reg, publisher, 7, 10**10)
    for other_domain, nonce in ((Domain(1, CONTRACT), 7), (Domain(31337, "0x" + "11" * 20), 7), (domain, 8)):
        assert registration_digest(other_domain, reg, publisher, nonce, 10**10) != digest
        assert recover_registration_signer(other_domain, reg, publisher, nonce, 10**10, signature) != publisher


def test_record_uid_depends_on_publisher_and_content() -> None:
    a, b = "0x" + "11" * 20, "0x" + "22" * 20
    content = "0x" + "ab" * 32
    assert record_uid(a, content) != record_uid(b, content)
    assert record_uid(a, content) == record_uid(a.upper().replace("0X", "0x"), content.upper().replace("0X", "0x"))
