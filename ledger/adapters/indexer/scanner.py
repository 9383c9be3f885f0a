"""Follows the registry's events with eth_getLogs from a checkpoint and mirrors them into the database.

- Checkpoint = block number + block hash, committed in the same transaction as that range's rows, so a
  crash at any point resumes from the last committed range; replays are idempotent (mirror.insert_ignore).
- Stays ``confirmations`` blocks behind the head. Before each range it checks that the checkpoint block is
  still canonical; if not, it walks back through the remembered block hashes to the fork point, rewinds the
  mirror there and re-applies the new branch.
- Ranges adapt: halve when the node refuses a range (too many results, timeouts), grow back on success.
- RPC failures (node down, restarting) are retried with backoff and a log line; it never exits on them.

RPC goes through the provider's raw ``make_request``: web3's result formatters cost more than the decode
itself on large log batches, and we decode with our own pure function anyway.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from web3 import Web3
from web3.exceptions import Web3Exception

from ledger.adapters.chain.deployment import Deployment
from ledger.adapters.indexer import mirror
from ledger.adapters.indexer.decode import EventDecoder
from ledger.adapters.store import repository as repo
from ledger.adapters.store.db import Database
from ledger.errors import ChainError, RpcError

log = logging.getLogger("ledger.adapters.indexer")


TARGET_LOGS = 10_000  # logs per eth_getLogs range; many public nodes refuse more than 10,000

# The node is down, restarting, slow or refused a request: retry with backoff, never crash.
RETRYABLE = (OSError, TimeoutError, Web3Exception, ChainError)


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

    # -- RPC ------------------------------------------------------------------------------------------
    def _rpc(self, method: str, params: list[Any]) -> Any:
        response = self.w3.provider.make_request(method, params)  # type: ignore[arg-type]
        if "error" in response:
            raise RpcError(method, dict(response["error"]))
        return response["result"]

    def head(self) -> int:
        return int(self._rpc("eth_blockNumber", []), 16)

    def block_hash(self, number: int) -> str | None:
        block = self._rpc("eth_getBlockByNumber", [hex(number), False])
        return block["hash"] if block else None

    # -- one step -------------------------------------------------------------------------------------
    def step(self) -> int:
        """Index one range up to the safe head; returns the number of events mirrored (0 when caught up)."""
        head = self.head()
        safe = head - self.confirmations
        with self.db.read() as session:
            checkpoint = repo.get_checkpoint(session, self.deployment.address)
            done = checkpoint.block_number if checkpoint else self.deployment.block - 1
            done_hash = checkpoint.block_hash if checkpoint else None
        # The checkpoint block must still be canonical: a reorg replaces it, and a node restarted from an older
        # state (anvil after a crash loses up to its state interval) no longer reaches it at all.
        if done_hash is not None and (done > head or self.block_hash(done) != done_hash):
            self._rewind(head)
            return 0
        if safe <= done:
            self._save_head(done, done_hash, head)
            return 0
        start, end = done + 1, min(safe, done + self.range)
        try:
            logs = self._rpc("eth_getLogs", [{"address": self.deployment.address, "fromBlock": hex(start), "toBlock": hex(end)}])
        except RpcError as exc:
            if end == start:
                raise
            self.range = max(1, (end - start + 1) // 2)
            log.info("range %d-%d refused (%s); scanning %d blocks at a time", start, end, exc.message, self.range)
            return 0
        end_hash = self.block_hash(end)
        if end_hash is None:
            return 0  # the head moved back under us (a reorg in progress); look again next step
        events = [e for e in map(self.decoder.decode, logs) if e is not None]
        if any(e.block_number == end and e.block_hash != end_hash for e in events):
            return 0  # logs and block from different branches: a reorg between the two calls
        with self.db.write() as session:
            mirror.apply_events(session, events)
            mirror.remember_block(session, end, end_hash)
            repo.save_checkpoint(session, self.deployment.address, self.deployment.chain_id, end, end_hash, head)
        if events:
            log.info("blocks %d-%d: %d events mirrored (head %d)", start, end, len(events), head)
        self.range = self._next_range(end - start + 1, len(logs))
        return len(events)

    def _next_range(self, blocks: int, logs: int) -> int:
        """Aim at about TARGET_LOGS logs a range (bounded memory and transaction size): shrink after a dense
        range, grow back (at most doubling) after a sparse one."""
        if logs > TARGET_LOGS:
            return max(1, blocks * TARGET_LOGS // logs)
        return min(self.max_range, max(1, blocks) * 2)

    def _rewind(self, head: int) -> None:
        with self.db.read() as session:
            known = mirror.recent_blocks(session)
        fork, fork_hash = self.deployment.block - 1, None
        for number, stored in known:
            if number <= head and self.block_hash(number) == stored:
                fork, fork_hash = number, stored
                break
        with self.db.write() as session:
            dropped = mirror.rewind(session, fork)
            repo.save_checkpoint(session, self.deployment.address, self.deployment.chain_id, fork, fork_hash, head)
        log.warning("chain reorganisation: rewound the mirror to block %d (%d events dropped); re-indexing", fork, dropped)

    def _save_head(self, done: int, done_hash: str | None, head: int) -> None:
        with self.db.write() as session:
            repo.save_checkpoint(session, self.deployment.address, self.deployment.chain_id, done, done_hash, head)

    # -- loop -----------------------------------------------------------------------------------------
    def catch_up(self) -> int:
        """Index until the safe head (as seen at the end); returns the number of events mirrored."""
        total = 0
        while True:
            total += self.step()
            if not self.behind():
                return total

    def checkpoint_block(self) -> int:
        with self.db.read() as session:
            checkpoint = repo.get_checkpoint(session, self.deployment.address)
        return checkpoint.block_number if checkpoint else self.deployment.block - 1

    def behind(self) -> bool:
        with self.db.read() as session:
            checkpoint = repo.get_checkpoint(session, self.deployment.address)
        return checkpoint is None or checkpoint.block_number < checkpoint.head_block - self.confirmations

    def run(self, stop: threading.Event, poll_seconds: float = 0.5) -> None:
        log.info(
            "indexer following %s on chain %d from block %d (%d confirmations)",
            self.deployment.address, self.deployment.chain_id, self.deployment.block, self.confirmations,
        )  # fmt: skip
        backoff = poll_seconds
        down_since: float | None = None
        while not stop.is_set():
            try:
                busy = self.step() > 0 or self.behind()
            except RETRYABLE as exc:
                if down_since is None:
                    down_since = time.monotonic()
                log.warning("chain node unavailable (%s); retrying in %.1f s", _short(exc), backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            if down_since is not None:
                log.info("chain node back after %.0f s; resuming", time.monotonic() - down_since)
                down_since = None
            backoff = poll_seconds
            if not busy:
                stop.wait(poll_seconds)


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]


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
