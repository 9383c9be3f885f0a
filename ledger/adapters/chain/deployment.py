"""The deployment record in the data directory: which contract, on which chain, from which artifact.

Deploy once, then reuse. A record that no longer matches the chain or the checkout is reported with what
to do; it is never silently replaced, because replacing it would orphan every record on the old contract.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from web3 import Web3

from ledger.adapters.chain.artifact import artifact_digest
from ledger.adapters.chain.client import RegistryClient
from ledger.errors import DeploymentError

log = logging.getLogger("ledger.deploy")


@dataclass(frozen=True, slots=True)
class Deployment:
    chain_id: int
    address: str
    block: int
    tx_hash: str | None
    artifact_digest: str
    rpc_url: str
    deployed_at: str

    @classmethod
    def load(cls, path: Path) -> Deployment:
        try:
            return cls(**json.loads(path.read_text()))
        except FileNotFoundError as exc:
            raise DeploymentError(
                f"no deployment recorded in {path}: start the service with `provenance up` first "
                "(or pass the same --data-dir)"
            ) from exc
        except (TypeError, ValueError) as exc:
            raise DeploymentError(f"{path} is not a deployment record: {exc}") from exc

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2) + "\n")
        tmp.replace(path)


def ensure_deployment(
    w3: Web3,
    path: Path,
    artifact: dict[str, Any],
    admin_key: str,
    rpc_url: str,
    redeploy: bool = False,
    existing_contract: str | None = None,
) -> Deployment:
    """Return the deployment to use: the recorded one if it still holds, a given one, or a new one."""
    digest = artifact_digest(artifact)
    chain_id = w3.eth.chain_id
    if existing_contract:
        return _adopt(w3, path, artifact, existing_contract, rpc_url, digest)
    if path.exists() and not redeploy:
        recorded = Deployment.load(path)
        problem = _mismatch(w3, recorded, artifact, chain_id, digest)
        if problem:
            raise DeploymentError(
                f"{problem}. The records of that deployment are not carried over by a new one; to deploy a "
                f"fresh contract anyway run `provenance up --redeploy` (the old record is kept in {path}.old)."
            )
        if recorded.rpc_url != rpc_url:
            recorded = Deployment(**{**asdict(recorded), "rpc_url": rpc_url})
            recorded.save(path)
        log.info("reusing contract %s on chain %d (deployed in block %d)", recorded.address, chain_id, recorded.block)
        return recorded
    if path.exists():
        path.replace(path.with_name(path.name + ".old"))
    client, sent = RegistryClient.deploy(w3, artifact, admin_key)
    deployment = Deployment(
        chain_id=chain_id,
        address=client.address,
        block=sent.block_number or 0,
        tx_hash=sent.tx_hash,
        artifact_digest=digest,
        rpc_url=rpc_url,
        deployed_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    deployment.save(path)
    log.info("deployed MediaRegistry at %s on chain %d in block %d", client.address, chain_id, deployment.block)
    return deployment


def _mismatch(w3: Web3, recorded: Deployment, artifact: dict[str, Any], chain_id: int, digest: str) -> str | None:
    if recorded.chain_id != chain_id:
        return f"the recorded contract is on chain {recorded.chain_id} but the node is chain {chain_id}"
    if not w3.eth.get_code(Web3.to_checksum_address(recorded.address)):
        return (
            f"the recorded contract {recorded.address} has no code on the chain (was the chain state in "
            "the data directory deleted?)"
        )
    if recorded.artifact_digest != digest:
        return (
            f"the recorded contract was deployed from artifact {recorded.artifact_digest[:18]}..., but the "
            f"checkout's contracts/build/MediaRegistry.json is {digest[:18]}..."
        )
    return None


def _adopt(w3: Web3, path: Path, artifact: dict[str, Any], address: str, rpc_url: str, digest: str) -> Deployment:
    """Use a contract someone else deployed (``--rpc-url`` + ``--contract``)."""
    address = Web3.to_checksum_address(address)
    if not w3.eth.get_code(address):
        raise DeploymentError(f"no contract code at {address} on {rpc_url}")
    if path.exists():
        recorded = Deployment.load(path)
        if recorded.address == address and recorded.chain_id == w3.eth.chain_id:
            return recorded
    deployment = Deployment(
        chain_id=w3.eth.chain_id,
        address=address,
        block=first_block_with_code(w3, address),
        tx_hash=None,
        artifact_digest=digest,
        rpc_url=rpc_url,
        deployed_at="unknown",
    )
    deployment.save(path)
    log.info("using contract %s on chain %d (code since block %d)", address, deployment.chain_id, deployment.block)
    return deployment


def first_block_with_code(w3: Web3, address: str) -> int:
    """Binary search for the deploy block; 0 when the node keeps no old state (then the indexer scans from 0)."""
    low, high = 0, w3.eth.block_number
    try:
        while low < high:
            mid = (low + high) // 2
            if w3.eth.get_code(address, mid):
                high = mid
            else:
                low = mid + 1
    except Exception:  # noqa: BLE001 - a pruned node cannot answer old states; scanning from 0 is still correct
        return 0
    return low
