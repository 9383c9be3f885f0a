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

from ledger.adapters import durable
from ledger.adapters.chain.artifact import artifact_digest
from ledger.adapters.chain.bytecode import same_code
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
    # The local node this service started for it ("anvil", "hardhat", "ganache"); None for a chain given by URL.
    local_node: str | None = None
    evm_target: str = "cancun"  # which build of the registry (ledger/adapters/chain/compile.py)

    @property
    def started_node(self) -> bool:
        return self.local_node is not None

    @classmethod
    def load(cls, path: Path) -> Deployment:
        try:
            data = json.loads(path.read_text())
            if isinstance(data, dict) and "local_node" not in data:
                # Records written before the chain choice existed came from the anvil `provenance up` started.
                local = data.get("chain_id") == 31337 and str(data.get("rpc_url", "")).startswith("http://127.0.0.1:")
                data["local_node"] = "anvil" if local else None
            if isinstance(data, dict) and isinstance(data.get("address"), str):
                data["address"] = Web3.to_checksum_address(data["address"])  # a record written by another tool
            return cls(**data)
        except FileNotFoundError as exc:
            raise DeploymentError(
                f"no deployment recorded in {path}: start the service with `provenance up` first "
                "(or pass the same --data-dir)"
            ) from exc
        except (TypeError, ValueError) as exc:
            raise DeploymentError(f"{path} is not a deployment record: {exc}") from exc

    def save(self, path: Path) -> None:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        durable.replace(path, (json.dumps(asdict(self), indent=2) + "\n").encode())


def ensure_deployment(
    w3: Web3,
    path: Path,
    artifact: dict[str, Any],
    admin_key: str,
    rpc_url: str,
    redeploy: bool = False,
    existing_contract: str | None = None,
    local_node: str | None = None,
    evm_target: str = "cancun",
    deploy: bool = True,
) -> Deployment:
    """Return the deployment to use: the recorded one if it still holds, a given one, or a new one (only when
    ``deploy``: on a chain the service did not start, deploying is asked for explicitly)."""
    digest = artifact_digest(artifact)
    chain_id = w3.eth.chain_id
    if existing_contract:
        return _adopt(w3, path, artifact, existing_contract, rpc_url, digest, evm_target)
    if path.exists() and not redeploy:
        recorded = Deployment.load(path)
        if recorded.local_node != local_node:
            raise DeploymentError(
                f"the data directory's contract was deployed on {_chain_name(recorded.local_node)}, but this run "
                f"uses {_chain_name(local_node)}: start with the same chain (--chain / --rpc-url), or use another "
                "--data-dir for the other chain"
            )
        if recorded.local_node == "hardhat" and not w3.eth.get_code(Web3.to_checksum_address(recorded.address)):
            raise DeploymentError(
                f"the Hardhat node keeps no state, so the chain of the last run is gone, and with it contract "
                f"{recorded.address} and every record anchored on it. The database still holds what was mirrored "
                "from it; this service will not show those records as if they were on chain. To start a new ledger "
                "on a new contract run `provenance up --chain hardhat --redeploy` (the mirror is emptied, this "
                "service's publishers are added to the new contract, and registrations in the outbox are anchored "
                "again with new times); to keep records across restarts use --chain anvil or --chain ganache"
            )
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
    if not deploy:
        raise DeploymentError(
            f"no contract recorded in {path} for the chain at {rpc_url}: pass --contract ADDRESS to use a deployed "
            "MediaRegistry, or --deploy to deploy one with the admin key (PROVENANCE_ADMIN_KEYSTORE)"
        )
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
        local_node=local_node,
        evm_target=evm_target,
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


def _adopt(
    w3: Web3, path: Path, artifact: dict[str, Any], address: str, rpc_url: str, digest: str, evm_target: str
) -> Deployment:
    """Use a contract someone else deployed (``--rpc-url`` + ``--contract``): only on the chain the data directory
    already follows, and only if its code is the checkout's artifact (immutables aside)."""
    address = Web3.to_checksum_address(address)
    chain_id = w3.eth.chain_id
    code = bytes(w3.eth.get_code(address))
    if not code:
        raise DeploymentError(f"no contract code at {address} on {rpc_url}")
    if not same_code(code, bytes.fromhex(artifact["deployedBytecode"][2:])):
        raise DeploymentError(
            f"the code at {address} on chain {chain_id} is not this checkout's MediaRegistry ({evm_target} build): "
            "refusing to adopt it (check the address, or pass --evm-target if the chain runs the other build)"
        )
    if path.exists():
        recorded = Deployment.load(path)
        if recorded.chain_id != chain_id:
            raise DeploymentError(
                f"the data directory follows chain {recorded.chain_id}, but {rpc_url} is chain {chain_id}: "
                "use the RPC URL of that chain, or another --data-dir for this one"
            )
        if recorded.address != address:
            raise DeploymentError(
                f"the data directory follows contract {recorded.address}, not {address}: use another --data-dir "
                "for another contract (its mirror and outbox belong to the recorded one)"
            )
        if recorded.rpc_url != rpc_url:
            recorded = Deployment(**{**asdict(recorded), "rpc_url": rpc_url})
            recorded.save(path)
        return recorded
    deployment = Deployment(
        chain_id=w3.eth.chain_id,
        address=address,
        block=first_block_with_code(w3, address),
        tx_hash=None,
        artifact_digest=digest,
        rpc_url=rpc_url,
        deployed_at="unknown",
        evm_target=evm_target,
    )
    deployment.save(path)
    log.info("using contract %s on chain %d (code since block %d)", address, deployment.chain_id, deployment.block)
    return deployment


def _chain_name(local_node: str | None) -> str:
    return f"a local {local_node} node" if local_node else "a chain given by --rpc-url"


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
