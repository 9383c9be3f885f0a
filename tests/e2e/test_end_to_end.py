"""The whole path on real parts: `provenance up` (anvil, contract, indexer, anchorer, API), a publisher
added with the CLI, an image registered over HTTP, anchored on chain, mirrored, and verified."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import httpx
from PIL import Image
from web3 import Web3

from ledger.adapters.chain.artifact import load_artifact
from ledger.core.eip712 import Domain, recover_registration_signer
from ledger.core.records import Registration, record_uid
from tests.conftest import PUBLISHER_DOMAIN, PUBLISHER_NAME, Published, RunningService, wait_for


def auth(published: Published) -> dict[str, str]:
    return {"Authorization": f"Bearer {published.api_key}"}


def test_registered_image_verifies_as_original(published: Published) -> None:
    url = published.service.url
    response = httpx.post(f"{url}/v1/verify", files={"file": ("x.jpg", published.image.read_bytes(), "image/jpeg")})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["verdict"] == "original"
    [match] = body["matches"]
    assert match["publisher"]["name"] == PUBLISHER_NAME
    assert match["publisher"]["domain"] == PUBLISHER_DOMAIN
    assert match["caption"] == "Rain on a city street"
    assert match["credit"] == "Jane Doe / Daily Example"
    assert match["taken_at"] == "2026-11-01T10:00:00Z"
    assert match["tx_hash"].startswith("0x") and match["block_number"] >= 1
    assert body["indexed_block"] >= match["block_number"]
    assert body["head_block"] >= body["indexed_block"]

    by_hash = httpx.get(f"{url}/v1/verify/{published.content_hash}").json()
    assert by_hash["verdict"] == "original"
    assert by_hash["matches"][0]["uid"] == match["uid"]


def test_lossless_resave_verifies_as_same_pixels(published: Published) -> None:
    buffer = io.BytesIO()
    Image.open(published.image).save(buffer, format="PNG")
    response = httpx.post(f"{published.service.url}/v1/verify", files={"file": ("x.png", buffer.getvalue(), "image/png")})
    body = response.json()
    assert body["verdict"] == "same_pixels", body
    assert body["matches"][0]["match"] == "pixels"
    assert body["matches"][0]["publisher"]["name"] == PUBLISHER_NAME


def test_unrelated_photo_is_unknown(published: Published, pdq_fixtures: Path) -> None:
    other = pdq_fixtures / "reg-test-input" / "labelme-subset" / "q0122.jpg"
    body = httpx.post(f"{published.service.url}/v1/verify", files={"file": ("y.jpg", other.read_bytes())}).json()
    assert body["verdict"] == "unknown"
    assert body["matches"] == []
    assert body["indexed_block"] is not None


def test_record_is_on_chain_with_the_signed_registration(published: Published) -> None:
    """What the API says matches the chain itself, and the receipt's signature recovers the publisher."""
    service = published.service
    status = httpx.get(f"{service.url}/v1/media/{published.content_hash}", headers=auth(published)).json()
    chain = httpx.get(f"{service.url}/v1/chain").json()
    assert status["status"] == "anchored"
    assert status["contract"] == chain["contract"] and status["chain_id"] == chain["chain_id"] == 31337

    deployment = json.loads((service.data_dir / "deployment.json").read_text())
    w3 = Web3(Web3.HTTPProvider(deployment["rpc_url"]))
    receipt = w3.eth.get_transaction_receipt(status["tx_hash"])
    assert receipt["status"] == 1 and receipt["blockNumber"] == status["block_number"]
    contract = w3.eth.contract(address=chain["contract"], abi=load_artifact()["abi"])
    [event] = contract.events.Registered().process_receipt(receipt)
    publisher = event["args"]["publisher"]
    assert "0x" + event["args"]["contentHash"].hex() == published.content_hash
    assert "0x" + event["args"]["uid"].hex() == status["uid"] == record_uid(publisher, published.content_hash)
    assert "0x" + event["args"]["manifestHash"].hex() == status["manifest_hash"]
    assert published.content_hash == "0x" + hashlib.sha256(published.image.read_bytes()).hexdigest()

    registration = Registration(
        published.content_hash, "0x" + event["args"]["pixelHash"].hex(), "0x" + event["args"]["pdqHash"].hex(),
        status["manifest_hash"], "0x" + event["args"]["parent"].hex(),
    )  # fmt: skip
    signer = recover_registration_signer(
        Domain(chain["chain_id"], chain["contract"]), registration, publisher, status["nonce"], status["deadline"],
        status["signature"],
    )  # fmt: skip
    assert signer == publisher


def test_registering_twice_is_a_conflict(published: Published) -> None:
    response = httpx.post(
        f"{published.service.url}/v1/media", headers=auth(published),
        files={"file": ("x.jpg", published.image.read_bytes())}, data={"caption": "again", "credit": "again"},
    )  # fmt: skip
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "already_registered"


def test_restart_keeps_chain_contract_and_mirror(tmp_path: Path, pdq_fixtures: Path) -> None:
    """Stop with SIGTERM and start again on the same data directory: same chain, same contract, same records,
    and the indexer resumes without duplicating anything."""
    service = RunningService(tmp_path / "var")
    service.start()
    try:
        api_key = service.add_publisher("Restart Times", "restart.example")
        image = pdq_fixtures / "bridge-mods" / "aaa-orig.jpg"
        accepted = httpx.post(
            f"{service.url}/v1/media", headers={"Authorization": f"Bearer {api_key}"},
            files={"file": (image.name, image.read_bytes())}, data={"caption": "A bridge", "credit": "R. Times"},
        )  # fmt: skip
        assert accepted.status_code == 202, accepted.text
        content_hash = accepted.json()["content_hash"]
        wait_for(lambda: httpx.get(f"{service.url}/v1/verify/{content_hash}").json()["verdict"] == "original")
        before = httpx.get(f"{service.url}/v1/chain").json()
        assert service.stop() == 0
        assert (service.data_dir / "chain" / "state.json").stat().st_size > 0

        service.start()
        after = httpx.get(f"{service.url}/v1/chain").json()
        assert after["contract"] == before["contract"]
        assert after["deploy_block"] == before["deploy_block"]
        assert after["head_block"] >= before["head_block"]
        body = httpx.get(f"{service.url}/v1/verify/{content_hash}").json()
        assert body["verdict"] == "original"
        assert len(body["matches"]) == 1
        # The same publisher key still works after the restart: register a second image.
        second = pdq_fixtures / "bridge-mods" / "high-contrast.jpg"
        accepted = httpx.post(
            f"{service.url}/v1/media", headers={"Authorization": f"Bearer {api_key}"},
            files={"file": (second.name, second.read_bytes())}, data={"caption": "Contrast", "credit": "R. Times"},
        )  # fmt: skip
        assert accepted.status_code == 202
        second_hash = accepted.json()["content_hash"]
        wait_for(lambda: httpx.get(f"{service.url}/v1/verify/{second_hash}").json()["verdict"] == "original")
    finally:
        service.stop()
    assert "Traceback" not in service.log(), service.log()


def test_changed_artifact_is_reported_not_replaced(tmp_path: Path) -> None:
    """A deployment recorded from another artifact is refused with what to do, and nothing is redeployed."""
    service = RunningService(tmp_path / "var")
    service.start()
    service.stop()
    record_file = service.data_dir / "deployment.json"
    record = json.loads(record_file.read_text())
    record["artifact_digest"] = "0x" + "00" * 32
    record_file.write_text(json.dumps(record))
    try:
        service.start(timeout=20)
    except RuntimeError as exc:
        message = str(exc)
    else:
        service.stop()
        raise AssertionError("the service started on a mismatched deployment")
    assert "--redeploy" in message and "deployment_mismatch" in message
    assert json.loads(record_file.read_text())["address"] == record["address"]


def test_publisher_retracts_and_readers_see_it(published: Published, pdq_fixtures: Path) -> None:
    """POST /v1/media/{hash}/retract: the anchorer revokes on chain, the indexer mirrors it, verify says retracted."""
    url, headers = published.service.url, auth(published)
    image = pdq_fixtures / "reg-test-input" / "labelme-subset" / "q1050.jpg"
    accepted = httpx.post(f"{url}/v1/media", headers=headers, files={"file": (image.name, image.read_bytes())},
                          data={"caption": "Old photo", "credit": "Archive"})  # fmt: skip
    assert accepted.status_code == 202, accepted.text
    content_hash = accepted.json()["content_hash"]
    response = httpx.post(f"{url}/v1/media/{content_hash}/retract", headers=headers,
                          json={"reason_code": 1, "reason": "Not taken where the caption says."})  # fmt: skip
    assert response.status_code == 202, response.text

    def retracted() -> dict | None:
        body = httpx.get(f"{url}/v1/verify/{content_hash}").json()
        return body if body["verdict"] == "retracted" else None

    body = wait_for(retracted)
    [match] = body["matches"]
    assert match["retracted"] is True and match["retraction_reason"] == "Not taken where the caption says."
    receipt = httpx.get(f"{url}/v1/media/{content_hash}", headers=headers).json()
    assert receipt["retraction_status"] == "anchored" and receipt["revoke_code"] == 1


def test_publisher_suspended_and_reenabled_with_the_cli(tmp_path: Path, pdq_fixtures: Path) -> None:
    """Issue 12: `provenance publisher suspend` (admin, on chain) makes the API refuse the publisher with 403 once
    the indexer mirrors it; `reenable` makes it accepted again; a second named key works and a revoked one not.
    (A service of its own: `test_audit_mirror_and_reindex` re-indexes the shared one while its indexer runs, and two
    indexers replaying suspend/re-enable in different ranges can leave the publishers table wrong; reported.)"""
    service = RunningService(tmp_path / "var")
    service.start()
    try:
        suspend_and_reenable(service, pdq_fixtures)
    finally:
        service.stop()


def suspend_and_reenable(service: RunningService, pdq_fixtures: Path) -> None:
    api_key = service.add_publisher("Suspended Daily", "suspended.example")
    keys = service.cli("publisher", "key", "list", "suspended.example", "--json")
    address = json.loads(keys.stdout.splitlines()[0])["publisher"]
    image = pdq_fixtures / "reg-test-input" / "labelme-subset" / "q1050.jpg"

    def post(key: str, image: Path = image) -> httpx.Response:
        return httpx.post(f"{service.url}/v1/media", headers={"Authorization": f"Bearer {key}"},
                          files={"file": (image.name, image.read_bytes(), "image/jpeg")},
                          data={"caption": "A street", "credit": "Staff"}, timeout=30)  # fmt: skip

    suspended = service.cli("publisher", "suspend", address)
    assert suspended.returncode == 0, suspended.stderr
    refused = wait_for(lambda: (r := post(api_key)).status_code == 403 and r)
    assert refused.json()["error"]["code"] == "publisher_suspended"

    assert service.cli("publisher", "reenable", address).returncode == 0
    second = service.cli("publisher", "key", "add", "suspended.example", "cms").stdout.strip()
    # Another image: a post made while the suspension was not yet mirrored was accepted (and held), so the first
    # image may already be this publisher's.
    other = pdq_fixtures / "reg-test-input" / "labelme-subset" / "q2821.jpg"
    accepted = wait_for(lambda: (r := post(second, other)).status_code == 202 and r)
    assert accepted.json()["status"] == "pending"
    assert service.cli("publisher", "key", "revoke", "suspended.example", "cms").returncode == 0
    revoked = post(second, other)
    assert revoked.status_code == 401 and revoked.json()["error"]["code"] == "api_key_revoked"
