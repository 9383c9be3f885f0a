"""Follows the registry's events with eth_getLogs from a checkpoint and mirrors them into the database.

- Checkpoint = block number + block hash, committed in the same transaction as that range's rows, so a
  crash at any point resumes from the last committed range; replays are idempotent (mirror.insert_ignore).
- Stays ``confirmations`` blocks behind the head. Before each range it checks that the checkpoint block is
  still canonical; if not (and a second answer agrees), it walks back through the remembered block hashes to the
  fork point, rewinds the mirror there and re-applies the new branch.
- Trusts no single answer of the node (a load-balanced RPC may serve two forks, or one backend behind the others;
  a reorg may land between two calls). A range is mirrored only when: the range's last block has the same hash
  before and after ``eth_getLogs``; the checkpoint block is still canonical after it; every log names this
  contract, lies inside the range, is not marked removed and carries the canonical hash of its block; and the
  newest blocks' headers (their logs bloom) do not show logs of the contract that the answer left out. Otherwise
  nothing of the range is written (``InconsistentAnswers``) and the range is read again after a back-off.
- Ranges adapt: halve when the node refuses a range (too many results) or times out, grow back on success.
- RPC failures (node down, restarting) are retried with backoff (at most ``RETRY_MAX_SECONDS`` apart) and a log
  line; it never exits on them. Nor on a database that refuses for a while (``StorageUnavailable``: locked past
  the busy timeout, disk full, server gone): the range is read again once it takes writes.

RPC goes through the provider's raw ``make_request``: web3's result formatters cost more than the decode
itself on large log batches, and we decode with our own pure function anyway.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any

import requests
from eth_abi.exceptions import DecodingError
from web3 import Web3
from web3.exceptions import Web3Exception

from ledger.adapters.chain.client import RETRY_MAX_SECONDS
from ledger.adapters.chain.deployment import Deployment
from ledger.adapters.indexer import mirror
from ledger.adapters.indexer.bloom import address_bytes, may_contain
from ledger.adapters.indexer.decode import DecodedEvent, EventDecoder
from ledger.adapters.store import repository as repo
from ledger.adapters.store.db import Database
from ledger.errors import ChainError, InconsistentAnswers, RpcError, StorageUnavailable

log = logging.getLogger("ledger.adapters.indexer")


TARGET_LOGS = 10_000  # logs per eth_getLogs range; many public nodes refuse more than 10,000
# The newest blocks of a range whose headers are read to check the answer left none of our logs out: a backend
# behind the others answers with nothing for blocks it does not have yet, and those are the newest ones.
STALE_WINDOW = 32
# Headers read in one JSON-RPC batch (public endpoints commonly cap batches at 50-100 calls).
BATCH_CALLS = 50
# Attempts catch_up makes at a range whose answers disagree before giving up (run() retries for ever).
INCONSISTENT_ATTEMPTS = 20

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
        self.address = deployment.address.lower()
        self._address_bytes = address_bytes(self.address)
        self.decoder = EventDecoder(abi)
        self.confirmations = confirmations
        self.max_range = max_range
        self.range = max_range
        self.inconsistencies = 0  # ranges refused because answers disagreed (tests and logs read it)

    # -- RPC ------------------------------------------------------------------------------------------
    def _rpc(self, method: str, params: list[Any]) -> Any:
        response = self.w3.provider.make_request(method, params)  # type: ignore[arg-type]
        if "error" in response:
            raise RpcError(method, dict(response["error"]))
        if "result" not in response:
            raise InconsistentAnswers(f"{method}: an answer without a result")
        return response["result"]

    def head(self) -> int:
        return int(self._rpc("eth_blockNumber", []), 16)

    def block_hash(self, number: int) -> str | None:
        block = self._rpc("eth_getBlockByNumber", [hex(number), False])
        return _lower(block["hash"]) if block else None

    def headers(self, numbers: Iterable[int]) -> dict[int, dict[str, Any] | None]:
        """Block headers by number, in JSON-RPC batches (one call each if the endpoint refuses batches)."""
        wanted = sorted(set(numbers))
        found: dict[int, dict[str, Any] | None] = {}
        for first in range(0, len(wanted), BATCH_CALLS):
            chunk = wanted[first : first + BATCH_CALLS]
            calls = [("eth_getBlockByNumber", [hex(n), False]) for n in chunk]
            answers = self.w3.provider.make_batch_request(calls)  # type: ignore[arg-type]
            if not isinstance(answers, list) or len(answers) != len(chunk):
                results = [self._rpc(method, params) for method, params in calls]
            else:
                results = []
                for (method, _), answer in zip(calls, answers, strict=True):
                    if "error" in answer:
                        raise RpcError(method, dict(answer["error"]))
                    results.append(answer.get("result"))
            for number, block in zip(chunk, results, strict=True):
                if block is not None and int(block["number"], 16) != number:
                    raise InconsistentAnswers(f"asked for block {number}, the node answered block {int(block['number'], 16)}")
                found[number] = block
        return found

    # -- one step -------------------------------------------------------------------------------------
    def step(self) -> int:
        """Index one range up to the safe head; returns the number of events mirrored (0 when caught up).
        Raises ``InconsistentAnswers`` when the node's answers about the range disagree (nothing written)."""
        head = self.head()
        safe = head - self.confirmations
        with self.db.read() as session:
            checkpoint = repo.get_checkpoint(session, self.deployment.address)
            done = checkpoint.block_number if checkpoint else self.deployment.block - 1
            done_hash = checkpoint.block_hash.lower() if checkpoint and checkpoint.block_hash else None
        read = (checkpoint.block_number, done_hash) if checkpoint else (None, None)
        # The checkpoint block must still be canonical: a reorg replaces it, and a node restarted from an older
        # state (anvil after a crash loses up to its state interval) no longer reaches it at all. Dropping
        # mirrored rows needs a second answer that agrees: one stale or forked answer must not rewind the mirror.
        if done_hash is not None and not self._canonical(done, done_hash, head):
            second_head = self.head()
            if self._canonical(done, done_hash, second_head):
                raise InconsistentAnswers(f"two answers disagree whether block {done} ({done_hash}) is canonical")
            self._rewind(second_head, read)
            return 0
        if safe <= done:
            self._save_head(done, done_hash, head, read)
            return 0
        start, end = done + 1, min(safe, done + self.range)
        pinned = self.block_hash(end)
        if pinned is None:
            raise InconsistentAnswers(f"the node reported head {head} but does not know block {end}")
        try:
            logs = self._rpc("eth_getLogs", [{"address": self.deployment.address, "fromBlock": hex(start), "toBlock": hex(end)}])
        except (RpcError, requests.Timeout) as exc:
            if end == start:
                raise
            self.range = max(1, (end - start + 1) // 2)
            log.info("range %d-%d refused (%s); scanning %d blocks at a time", start, end, _short(exc), self.range)
            return 0
        events = self._verified(logs, start, end, pinned, done, done_hash)
        with self.db.write() as session:
            if not self._still(session, read):
                return 0
            mirror.apply_events(session, events)
            mirror.remember_block(session, end, pinned)
            repo.save_checkpoint(session, self.deployment.address, self.deployment.chain_id, end, pinned, head)
        if events:
            log.info("blocks %d-%d: %d events mirrored (head %d)", start, end, len(events), head)
        self.range = self._next_range(end - start + 1, len(logs))
        return len(events)

    def _canonical(self, number: int, block_hash: str, head: int) -> bool:
        return number <= head and self.block_hash(number) == block_hash

    def _verified(
        self, logs: Sequence[dict[str, Any]], start: int, end: int, pinned: str, done: int, done_hash: str | None
    ) -> list[DecodedEvent]:
        """The range's events, after checking the ``eth_getLogs`` answer against block headers read after it."""
        if not isinstance(logs, list):
            raise InconsistentAnswers("eth_getLogs answered something other than a list")
        for entry in logs:
            if _lower(entry.get("address")) != self.address:
                raise InconsistentAnswers(f"eth_getLogs answered a log of another contract ({entry.get('address')})")
            if entry.get("removed"):
                raise InconsistentAnswers("eth_getLogs answered a log marked removed (a reorg under the answer)")
            if not start <= _quantity(entry, "blockNumber") <= end:
                raise InconsistentAnswers(f"eth_getLogs answered a log of block {_quantity(entry, 'blockNumber')}, outside {start}-{end}")
        by_block: dict[int, set[str]] = {}
        for entry in logs:
            by_block.setdefault(_quantity(entry, "blockNumber"), set()).add(_lower(entry.get("blockHash")))
        window = range(max(start, end - STALE_WINDOW + 1), end + 1)
        numbers = {*by_block, *window} | ({done} if done_hash is not None else set())
        headers = self.headers(numbers)
        if done_hash is not None and _hash(headers[done]) != done_hash:
            raise InconsistentAnswers(f"the checkpoint block {done} changed while its range was read")
        if _hash(headers[end]) != pinned:
            raise InconsistentAnswers(f"block {end} changed while its range was read (a reorganisation under the scan)")
        for number, hashes in by_block.items():
            canonical = _hash(headers[number])
            if hashes != {canonical}:
                raise InconsistentAnswers(
                    f"logs of block {number} carry hash {sorted(hashes)[0]}, the canonical block is {canonical}"
                )
        for number in window:
            header = headers[number]
            if header is None:
                raise InconsistentAnswers(f"the node does not know block {number} below its own head")
            if number - 1 in headers and number - 1 >= window.start and _lower(header["parentHash"]) != _hash(headers[number - 1]):
                raise InconsistentAnswers(f"headers of blocks {number - 1} and {number} come from different branches")
            if number not in by_block and may_contain(header["logsBloom"], self._address_bytes):
                self._check_empty(number, _hash(header))
        try:
            return [e for e in map(self.decoder.decode, logs) if e is not None]
        except (ValueError, TypeError, KeyError, DecodingError) as exc:
            raise InconsistentAnswers(f"eth_getLogs answered a log that does not decode ({_short(exc)})") from exc

    def _check_empty(self, number: int, block_hash: str | None) -> None:
        """The header's bloom says the block may hold our logs and the range answer had none: ask for that block
        alone by its hash (EIP-234). Logs there mean the range answer was incomplete (a stale backend)."""
        found = self._rpc("eth_getLogs", [{"address": self.deployment.address, "blockHash": block_hash}])
        if found:
            raise InconsistentAnswers(f"eth_getLogs left out {len(found)} log(s) of block {number} (a node behind the others?)")

    def _next_range(self, blocks: int, logs: int) -> int:
        """Aim at about TARGET_LOGS logs a range (bounded memory and transaction size): shrink after a dense
        range, grow back (at most doubling) after a sparse one."""
        if logs > TARGET_LOGS:
            return max(1, blocks * TARGET_LOGS // logs)
        return min(self.max_range, max(1, blocks) * 2)

    def _still(self, session: Any, read: tuple[int | None, str | None]) -> bool:
        """Take the mirror's write lock; is the checkpoint still the one this step read? Another writer (``provenance
        reindex`` beside the running indexer) may have moved it meanwhile: then this step writes nothing and the
        next one starts from where the other stopped, so events are applied once and in chain order."""
        mirror.lock_for_indexing(session)
        if mirror.checkpoint_is(session, self.deployment.address, *read):
            return True
        log.info("the checkpoint moved while this range was read (another indexer or a reindex wrote); reading on "
                 "from the new checkpoint")  # fmt: skip
        return False

    def _rewind(self, head: int, read: tuple[int | None, str | None] = (None, None)) -> None:
        with self.db.read() as session:
            known = mirror.recent_blocks(session)
        fork, fork_hash = self.deployment.block - 1, None
        for number, stored in known:
            if number <= head and self.block_hash(number) == stored.lower():
                fork, fork_hash = number, stored
                break
        with self.db.write() as session:
            if not self._still(session, read):
                return
            dropped = mirror.rewind(session, fork)
            repo.save_checkpoint(session, self.deployment.address, self.deployment.chain_id, fork, fork_hash, head)
        log.warning("chain reorganisation: rewound the mirror to block %d (%d events dropped); re-indexing", fork, dropped)

    def _save_head(self, done: int, done_hash: str | None, head: int, read: tuple[int | None, str | None]) -> None:
        with self.db.write() as session:
            if not self._still(session, read):
                return
            repo.save_checkpoint(session, self.deployment.address, self.deployment.chain_id, done, done_hash, head)

    # -- loop -----------------------------------------------------------------------------------------
    def catch_up(self) -> int:
        """Index until the safe head (as seen at the end); returns the number of events mirrored."""
        total, refused = 0, 0
        while True:
            try:
                total += self.step()
            except InconsistentAnswers as exc:
                refused += 1
                self.inconsistencies += 1
                log.warning("answers of the node disagree (%s); reading the range again", exc)
                if refused >= INCONSISTENT_ATTEMPTS:
                    raise
                time.sleep(min(0.05 * 2**refused, 1.0))
                continue
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
            except InconsistentAnswers as exc:
                self.inconsistencies += 1
                log.warning("answers of the node disagree (%s); nothing mirrored, reading again in %.1f s", exc, backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, RETRY_MAX_SECONDS)
                continue
            except RETRYABLE as exc:
                if down_since is None:
                    down_since = time.monotonic()
                log.warning("chain node unavailable (%s); retrying in %.1f s", _short(exc), backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, RETRY_MAX_SECONDS)
                continue
            except StorageUnavailable as exc:  # nothing of the range was written; exiting would only add a restart
                log.warning("%s; retrying in %.1f s", exc.message, backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, RETRY_MAX_SECONDS)
                continue
            if down_since is not None:
                log.info("chain node back after %.0f s; resuming", time.monotonic() - down_since)
                down_since = None
            backoff = poll_seconds
            if not busy:
                stop.wait(poll_seconds)


def _quantity(entry: dict[str, Any], key: str) -> int:
    try:
        return int(entry[key], 16)
    except (KeyError, TypeError, ValueError) as exc:
        raise InconsistentAnswers(f"eth_getLogs answered a log without a proper {key}") from exc


def _lower(value: Any) -> str:
    return str(value).lower()


def _hash(block: dict[str, Any] | None) -> str | None:
    return _lower(block["hash"]) if block else None


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
