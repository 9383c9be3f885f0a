"""Issue 12, custody mode (b) end to end on a running service (`provenance up`, real anvil): the newsroom keeps its
key (an EOA, then an ERC-1271 contract wallet), signs offline with `provenance sign`, and sends the signed
registrations to POST /v1/registrations; the relayer sends them as signed, in nonce order."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import httpx
import numpy as np
from eth_account import Account
from PIL import Image
from web3 import Web3

from ledger.adapters.chain.artifact import load_artifact
from ledger.adapters.chain.client import RegistryClient
from ledger.config import ANVIL_TEST_ADMIN_KEY
from tests.conftest import ROOT, Published, RunningService, wait_for

TEST_KEYSTORE_PASSWORD = "newsroom-test-password"  # a test keystore's password, not a secret


def picture(seed: int, path: Path) -> Path:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)
    Image.fromarray(base).resize((640, 480), Image.Resampling.BICUBIC).save(path, quality=92)
    return path


def keystore(tmp_path: Path, name: str) -> tuple[str, Path, Path]:
    """A fresh TEST key in an encrypted keystore file, and its password file."""
    account = Account.create()
    path = tmp_path / f"{name}.keystore.json"
    path.write_text(json.dumps(Account.encrypt(account.key, TEST_KEYSTORE_PASSWORD)))
    password = tmp_path / f"{name}.password"
    password.write_text(TEST_KEYSTORE_PASSWORD)
    return account.address, path, password


def sign(files: list[Path], key: Path, password: Path, chain: dict, nonce: int, out: Path,
         *extra: str) -> list[dict]:  # type: ignore[type-arg]  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "ledger.cli.main", "sign", *map(str, files), "--key", str(key), "--password-file",
         str(password), "--chain-id", str(chain["chain_id"]), "--contract", chain["contract"], "--nonce", str(nonce),
         "--caption", "Flooded street", "--credit", "Newsroom staff", "--out", str(out), *extra],
        capture_output=True, text=True, cwd=ROOT, timeout=120, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )  # fmt: skip  (no PROVENANCE_* and no network needed: signing is offline)
    assert result.returncode == 0, result.stderr
    return [json.loads(Path(json.loads(line)["signed"]).read_text()) for line in result.stdout.splitlines()]


def sign_retraction(uid: str, key: Path, password: Path, chain: dict, nonce: int, out: Path,
                    *extra: str) -> dict:  # type: ignore[type-arg]  # fmt: skip
    """`provenance retract UID --key ...`: offline, like `provenance sign`."""
    result = subprocess.run(
        [sys.executable, "-m", "ledger.cli.main", "retract", uid, "--key", str(key), "--password-file", str(password),
         "--chain-id", str(chain["chain_id"]), "--contract", chain["contract"], "--nonce", str(nonce),
         "--reason-code", "1", "--reason", "The caption named the wrong town.", "--out", str(out), *extra],
        capture_output=True, text=True, cwd=ROOT, timeout=120, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(out.read_text())


def post_retraction(service: RunningService, api_key: str, signed: dict) -> httpx.Response:  # type: ignore[type-arg]
    return httpx.post(f"{service.url}/v1/retractions", headers={"Authorization": f"Bearer {api_key}"}, json=signed,
                      timeout=30)  # fmt: skip


def verdict_of(service: RunningService, image: Path) -> dict:  # type: ignore[type-arg]
    return httpx.post(f"{service.url}/v1/verify", files={"file": (image.name, image.read_bytes())}, timeout=30).json()


def post(service: RunningService, api_key: str, bundle: dict, image: Path | None = None) -> httpx.Response:  # type: ignore[type-arg]
    files = {"file": (image.name, image.read_bytes(), "image/jpeg")} if image else None
    return httpx.post(f"{service.url}/v1/registrations", headers={"Authorization": f"Bearer {api_key}"},
                      data={"registration": json.dumps(bundle)}, files=files, timeout=30)  # fmt: skip


def receipt(service: RunningService, api_key: str, content_hash: str) -> dict:  # type: ignore[type-arg]
    return httpx.get(f"{service.url}/v1/media/{content_hash}", headers={"Authorization": f"Bearer {api_key}"}).json()


def anchored(service: RunningService, api_key: str, content_hash: str) -> dict:  # type: ignore[type-arg]
    return wait_for(lambda: (r := receipt(service, api_key, content_hash))["status"] == "anchored" and r, timeout=60)


def test_newsroom_signs_offline_and_the_relayer_sends_it_as_signed(published: Published, tmp_path: Path) -> None:
    service = published.service
    chain = httpx.get(f"{service.url}/v1/chain").json()
    registry = RegistryClient(Web3(Web3.HTTPProvider(f"http://127.0.0.1:{service.chain_port}")), chain["contract"],
                              load_artifact()["abi"])  # fmt: skip
    address, key, password = keystore(tmp_path, "newsroom")
    added = service.cli("publisher", "add", "Newsroom Daily", "--domain", "newsroom.example", "--address", address)
    assert added.returncode == 0, added.stderr
    api_key = added.stdout.strip().splitlines()[-1]
    assert not list((service.data_dir / "keystore").glob(f"{address}*"))  # the service holds no key of it

    images = [picture(seed, tmp_path / f"n{seed}.jpg") for seed in range(4)]
    first, second = sign(images[:2], key, password, chain, 0, tmp_path / "signed")
    assert first["nonce"] == 0 and second["nonce"] == 1 and first["publisher"] == address

    # Refused before the 202: another contract, a changed caption (the signature no longer covers it), a wrong file.
    wrong = post(service, api_key, {**first, "contract": "0x" + "11" * 20})
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "wrong_chain_or_contract"
    tampered = post(service, api_key, {**first, "manifest": {**first["manifest"], "caption": "Riot"}, "registration": None})
    assert tampered.status_code == 422 and tampered.json()["error"]["code"] == "invalid_signature"
    mismatch = post(service, api_key, first, images[1])
    assert mismatch.status_code == 422 and mismatch.json()["error"]["code"] == "file_mismatch"
    unsigned = httpx.post(f"{service.url}/v1/media", headers={"Authorization": f"Bearer {api_key}"},
                          files={"file": ("a.jpg", images[0].read_bytes())}, data={"caption": "c", "credit": "c"})  # fmt: skip
    assert unsigned.status_code == 409 and unsigned.json()["error"]["code"] == "publisher_holds_key"

    # With the file (reference copy kept) and with the fingerprints only; then nonce 3 before nonce 2: it waits.
    accepted = post(service, api_key, first, images[0])
    assert accepted.status_code == 202, accepted.text
    only_hashes = post(service, api_key, second)
    assert only_hashes.status_code == 202 and "fingerprints only" in only_hashes.json()["note"]
    (fourth,) = sign(images[3:], key, password, chain, 3, tmp_path / "signed")
    assert post(service, api_key, fourth, images[3]).status_code == 202
    for bundle in (first, second):
        done = anchored(service, api_key, bundle["manifest"]["content_hash"])
        assert done["signature"] == bundle["signature"] and done["nonce"] == bundle["nonce"]  # sent as signed
        record = registry.get_record(done["uid"])
        assert record.publisher == address and record.relayed
    assert receipt(service, api_key, fourth["manifest"]["content_hash"])["status"] == "pending"  # nonce 2 missing
    (third,) = sign(images[2:3], key, password, chain, 2, tmp_path / "signed")
    assert post(service, api_key, third, images[2]).status_code == 202
    for bundle in (third, fourth):
        assert anchored(service, api_key, bundle["manifest"]["content_hash"])["signature"] == bundle["signature"]
    assert registry.nonce(address) == 4
    # A nonce already used on chain can never be relayed: refused before the 202, with the contract's next nonce.
    (stale,) = sign([picture(9, tmp_path / "n9.jpg")], key, password, chain, 2, tmp_path / "signed")
    used = post(service, api_key, stale)
    assert used.status_code == 409 and used.json()["error"]["code"] == "nonce_in_use"
    assert "already used on chain" in used.json()["error"]["message"] and "is 4" in used.json()["error"]["message"]
    missing = httpx.get(f"{service.url}/v1/media/{stale['manifest']['content_hash']}", headers={"Authorization": f"Bearer {api_key}"})
    assert missing.status_code == 404  # nothing was queued
    retract = httpx.post(f"{service.url}/v1/media/{first['manifest']['content_hash']}/retract",
                         headers={"Authorization": f"Bearer {api_key}"}, json={"reason_code": 1, "reason": "x"})  # fmt: skip
    assert retract.status_code == 409 and retract.json()["error"]["code"] == "publisher_holds_key"  # it revokes itself

    verdict = httpx.post(f"{service.url}/v1/verify", files={"file": ("x.jpg", images[0].read_bytes())}).json()
    assert verdict["verdict"] == "original" and verdict["matches"][0]["publisher"]["name"] == "Newsroom Daily"
    resized = io.BytesIO()
    Image.open(images[0]).resize((320, 240)).save(resized, format="JPEG", quality=80)
    copy = httpx.post(f"{service.url}/v1/verify", files={"file": ("y.jpg", resized.getvalue())}).json()
    assert copy["verdict"] == "copy"

    # Signed retraction (`provenance retract`, POST /v1/retractions, relayed with revokeBySig): refusals first.
    uid = anchored(service, api_key, first["manifest"]["content_hash"])["uid"]
    signed = sign_retraction(uid, key, password, chain, 4, tmp_path / "retract.json")
    assert signed["uid"] == uid and signed["publisher"] == address and signed["nonce"] == 4
    refusals = {
        "wrong_chain_or_contract": {**signed, "contract": "0x" + "11" * 20},
        "invalid_signature": {**signed, "reason": "Nothing was wrong."},  # the signature does not cover this text
        "signature_expired": sign_retraction(uid, key, password, chain, 4, tmp_path / "late.json", "--valid-days", "0"),
        "nonce_in_use": sign_retraction(uid, key, password, chain, 3, tmp_path / "used.json"),
        "unknown_record": sign_retraction("0x" + "ab" * 32, key, password, chain, 4, tmp_path / "unknown.json"),
    }
    for code, document in refusals.items():
        answer = post_retraction(service, api_key, document)
        assert answer.status_code in (409, 422) and answer.json()["error"]["code"] == code, (code, answer.text)
    # The service-held publisher's photo: this newsroom cannot retract it, whatever it signs.
    others = receipt(published.service, published.api_key, published.content_hash)["uid"]
    foreign = post_retraction(service, api_key, sign_retraction(others, key, password, chain, 4, tmp_path / "f.json"))
    assert foreign.status_code == 403 and foreign.json()["error"]["code"] == "not_record_publisher"

    accepted = post_retraction(service, api_key, signed)
    assert accepted.status_code == 202 and accepted.json() == {"uid": uid, "status": "pending"}, accepted.text
    again = post_retraction(service, api_key, sign_retraction(uid, key, password, chain, 5, tmp_path / "again.json"))
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_retracted"
    revocation = wait_for(lambda: registry.revocation(uid), timeout=60)
    assert revocation.revoked_by == address and not revocation.by_admin and revocation.reason_code == 1  # its own
    assert registry.nonce(address) == 5
    gone = wait_for(lambda: (v := verdict_of(service, images[0]))["verdict"] == "retracted" and v, timeout=60)
    assert gone["matches"][0]["publisher"]["name"] == "Newsroom Daily"
    assert verdict_of(published.service, published.image)["verdict"] != "retracted"  # the other record is untouched


def test_contract_wallet_newsroom_erc1271(published: Published, tmp_path: Path) -> None:
    from tests.contracts.helpers import harness_artifacts

    service = published.service
    chain = httpx.get(f"{service.url}/v1/chain").json()
    w3 = Web3(Web3.HTTPProvider(f"http://127.0.0.1:{service.chain_port}"))
    owner, key, password = keystore(tmp_path, "wallet-owner")
    art = harness_artifacts()["TestERC1271Wallet"]
    admin = Account.from_key(ANVIL_TEST_ADMIN_KEY)
    deploy = w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"]).constructor(owner).build_transaction(
        {"from": admin.address, "nonce": w3.eth.get_transaction_count(admin.address, "pending")})
    tx = w3.eth.send_raw_transaction(admin.sign_transaction(deploy).raw_transaction)
    wallet = w3.eth.wait_for_transaction_receipt(tx)["contractAddress"]
    added = service.cli("publisher", "add", "Wallet Times", "--domain", "wallet.example", "--address", wallet)
    assert added.returncode == 0, added.stderr
    api_key = added.stdout.strip().splitlines()[-1]

    image = picture(40, tmp_path / "w.jpg")
    (bundle,) = sign([image], key, password, chain, 0, tmp_path / "signed", "--publisher", wallet)
    assert bundle["publisher"] == wallet
    response = post(service, api_key, bundle, image)
    assert response.status_code == 202, response.text  # checked through the wallet's isValidSignature
    done = anchored(service, api_key, bundle["manifest"]["content_hash"])
    registry = RegistryClient(w3, chain["contract"], load_artifact()["abi"])
    record = registry.get_record(done["uid"])
    assert record.publisher == wallet and record.relayed and done["signature"] == bundle["signature"]

    # A key the wallet does not accept is refused before the 202.
    _, stranger, stranger_password = keystore(tmp_path, "stranger")
    (forged,) = sign([picture(41, tmp_path / "f.jpg")], stranger, stranger_password, chain, 1, tmp_path / "signed",
                     "--publisher", wallet)  # fmt: skip
    refused = post(service, api_key, forged)
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid_signature"

    # The wallet retracts by signature: the stranger's key is refused, the owner's accepted through ERC-1271.
    forged_retraction = sign_retraction(done["uid"], stranger, stranger_password, chain, 1, tmp_path / "fr.json",
                                        "--publisher", wallet)  # fmt: skip
    refused = post_retraction(service, api_key, forged_retraction)
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid_signature"
    signed = sign_retraction(done["uid"], key, password, chain, 1, tmp_path / "wr.json", "--publisher", wallet)
    assert post_retraction(service, api_key, signed).status_code == 202
    revocation = wait_for(lambda: registry.revocation(done["uid"]), timeout=60)
    assert revocation.revoked_by == wallet and not revocation.by_admin
    assert wait_for(lambda: verdict_of(service, image)["verdict"] == "retracted", timeout=60)
