"""Follows the registry's events with eth_getLogs from a checkpoint and mirrors them into the database.

Each range's rows and the checkpoint (block number + hash, and the head seen) commit in one transaction,
so a crash at any point resumes from the last committed range and replays are idempotent upserts.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from web3 import Web3
from web3.exceptions import Web3Exception, Web3RPCError

from ledger.chain.deployment import Deployment
from ledger.indexer.decode import EventDecoder
from ledger.store import repository as repo
from ledger.store.db import Database

log = logging.getLogger("ledger.indexer")

# Errors worth a retry with backoff: the node is down, slow, or refuses a range as too large.
RETRYABLE = (OSError, TimeoutError, Web3Exception)


class Indexer:
    def __init__(
        self,
        db: Database,
        w3: Web3,
        deployment: Deployment,
        abi: list[dict[str, Any]],
        confirmations: int = 0,
        max_range: int = 2000,
    ):
        self.db = db
        self.w3 = w3
        self.deployment = deployment
        self.decoder = EventDecoder(abi)
        self.confirmations = confirmations
        self.max_range = max_range
        self.range = max_range

    def step(self) -> int:
        """Index one range up to the safe head; returns the number of events mirrored (0 when caught up)."""
        head = self.w3.eth.block_number
        safe = head - self.confirmations
        with self.db.read() as session:
            checkpoint = repo.get_checkpoint(session, self.deployment.address)
            done = checkpoint.block_number if checkpoint else self.deployment.block - 1
            done_hash = checkpoint.block_hash if checkpoint else None
        if safe <= done:
            self._save_head(done, done_hash, head)
            return 0
        start, end = done + 1, min(safe, done + self.range)
        try:
            logs = self.w3.eth.get_logs(
                {"address": self.deployment.address, "fromBlock": start, "toBlock": end}
            )
        except Web3RPCError:
            if end > start:  # the node refused the range (too many results): halve it and try again
                self.range = max(1, (end - start + 1) // 2)
                log.info("range %d-%d refused; scanning %d blocks at a time", start, end, self.range)
                return 0
            raise
        events = [e for e in (self.decoder.decode(dict(item)) for item in logs) if e is not None]
        end_hash = "0x" + bytes(self.w3.eth.get_block(end)["hash"]).hex()
        with self.db.write() as session:
            for event in events:
                repo.apply_event(session, event)
            repo.save_checkpoint(session, self.deployment.address, self.deployment.chain_id, end, end_hash, head)
        if events:
            log.info("blocks %d-%d: %d events mirrored (head %d)", start, end, len(events), head)
        # Grow back towards the maximum after a success, in case an earlier refusal was a one-off.
        self.range = min(self.max_range, self.range * 2)
        return len(events)

    def _save_head(self, done: int, done_hash: str | None, head: int) -> None:
        with self.db.write() as session:
            repo.save_checkpoint(session, self.deployment.address, self.deployment.chain_id, done, done_hash, head)

    def run(self, stop: threading.Event, poll_seconds: float = 0.5) -> None:
        log.info(
            "indexer following %s on chain %d from block %d",
            self.deployment.address, self.deployment.chain_id, self.deployment.block,
        )  # fmt: skip
        backoff = poll_seconds
        while not stop.is_set():
            try:
                busy = self.step() > 0 or self._behind()
                backoff = poll_seconds
            except RETRYABLE as exc:
                log.warning("chain node unavailable (%s); retrying in %.1f s", exc, backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            if not busy:
                stop.wait(poll_seconds)

    def _behind(self) -> bool:
        with self.db.read() as session:
            checkpoint = repo.get_checkpoint(session, self.deployment.address)
        return bool(checkpoint and checkpoint.block_number < checkpoint.head_block - self.confirmations)


def wait_until_indexed(db: Database, contract: str, block: int, timeout: float = 30.0) -> None:
    """Block until the mirror has reached ``block`` (tests and CLI use this)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with db.read() as session:
            checkpoint = repo.get_checkpoint(session, contract)
            if checkpoint and checkpoint.block_number >= block:
                return
        time.sleep(0.05)
    raise TimeoutError(f"the indexer did not reach block {block} within {timeout:.0f} s")
