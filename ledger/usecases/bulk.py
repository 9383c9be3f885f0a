"""Bulk registration (`provenance register DIR|FILE...`): many files through the API, several to a request
(``POST /v1/media/batch``) and several requests at once, resumable, every file's outcome written as one JSON line so
no failure goes unseen.

Resume: the SHA-256 of each batch's files are looked up first, in one request (``POST /v1/media/receipts``); a file
this publisher already registered is ``skipped`` without being uploaded, so an interrupted run is simply run again.

Newsroom-held keys: an image with a ``NAME.signed.json`` beside it (``provenance sign``) is sent as that signed
registration with the image; a ``.signed.json`` given without its image is sent alone (fingerprints only). Captions: ``--caption`` and
``--credit`` for every file, overridden per image by a sidecar ``IMAGE.json`` (``{"caption", "credit",
"published_url", "taken_at", "parent"}``, ``parent`` the uid of the original) beside it.

Content Credentials (``--c2pa``): each file is signed by the service with the publisher's C2PA certificate, and the
signed file, the one registered and the one to publish, is written beside it as ``NAME.c2pa.EXT``. Files go one to a
request (``POST /v1/media`` with ``c2pa=true``: each answer names its own signed file). Resume looks that file up: a
source whose signed file exists and is registered is ``skipped``. (The source's own hash is not registered in this
mode, and signing again gives other bytes: keep the ``.c2pa`` files.)
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from ledger.adapters.publisher_api import PublisherApi

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".tif", ".tiff", ".avif", ".heic", ".heif"}
SIDECAR_FIELDS = ("caption", "credit", "published_url", "taken_at", "parent")
MAX_BUSY_WAIT_SECONDS = 30
SIGNED_SUFFIX = ".signed.json"  # what `provenance sign` writes beside each image


@dataclass(frozen=True, slots=True)
class Outcome:
    file: str
    sha256: str | None
    result: str  # accepted | skipped | failed
    status: str | None = None  # the registration's outbox status (pending, sent, anchored, ...)
    uid: str | None = None
    http_status: int | None = None
    error_code: str | None = None
    message: str | None = None
    seconds: float = 0.0
    published_file: str | None = None  # --c2pa: the signed file written beside the source (publish this one)


def image_files(paths: Iterable[Path]) -> list[Path]:
    """Files given, and image files under directories given (sorted, recursively), each once. A signed registration
    (``NAME.signed.json``) given beside its image ``NAME`` is sent with it, so it is listed once, as the image."""
    found: dict[Path, None] = {}
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and child.suffix.lower() in IMAGE_SUFFIXES:
                    found.setdefault(child, None)
        else:
            found.setdefault(path, None)
    return [p for p in found if not (p.name.endswith(SIGNED_SUFFIX) and signed_image(p) in found)]


def signed_image(bundle: Path) -> Path:
    return bundle.with_name(bundle.name.removesuffix(SIGNED_SUFFIX))


def signed_bundle_for(path: Path) -> tuple[Path | None, dict[str, Any] | None]:
    """(the image to send, the newsroom's signed registration) for ``path``: an image with a ``NAME.signed.json``
    beside it (written by ``provenance sign``), or such a document itself (its image beside it, if there)."""
    if path.name.endswith(SIGNED_SUFFIX):
        image = signed_image(path)
        return (image if image.is_file() else None), json.loads(path.read_text())
    bundle = path.with_name(path.name + SIGNED_SUFFIX)
    return path, (json.loads(bundle.read_text()) if bundle.is_file() else None)


def fields_for(path: Path, defaults: dict[str, str | None]) -> dict[str, str]:
    fields = dict(defaults)
    sidecar = path.with_name(path.name + ".json")
    if sidecar.is_file():
        extra = json.loads(sidecar.read_text())
        fields.update({k: extra[k] for k in SIDECAR_FIELDS if isinstance(extra.get(k), str)})
    return {k: v for k, v in fields.items() if v}


@dataclass(frozen=True, slots=True)
class Prepared:
    """A file read and hashed, ready to send."""

    path: Path
    data: bytes | None  # None: a signed registration sent without its image (fingerprints only)
    sha256: str
    fields: dict[str, str]
    started: float
    signed: dict[str, Any] | None = None  # the newsroom's signed registration (custody `publisher`)

    def item(self, part: str, keep_reference: bool) -> dict[str, Any]:
        if self.signed is not None:
            return {"signed": self.signed, "keep_reference": keep_reference, **({"file": part} if self.data else {})}
        return {"file": part, **self.fields, "keep_reference": keep_reference}


def _failed(path: Path, sha: str | None, status: int | None, code: str | None, message: str | None,
            started: float) -> Outcome:  # fmt: skip
    return Outcome(str(path), sha, "failed", None, None, status, code, message, time.monotonic() - started)


def register_chunk(api: PublisherApi, paths: list[Path], defaults: dict[str, str | None],
                   keep_reference: bool, busy_attempts: int = 6) -> list[Outcome]:  # fmt: skip
    """Register ``paths`` (at most one batch request's worth): one receipts lookup skips what this publisher already
    registered, one ``POST /v1/media/batch`` sends the rest; items refused as ``busy`` are sent again after their
    ``Retry-After``. One outcome per path, in any order."""
    outcomes: list[Outcome] = []
    ready: list[Prepared] = []
    for path in paths:
        started = time.monotonic()
        try:
            image, signed = signed_bundle_for(path)
            data = image.read_bytes() if image is not None else None
            fields = fields_for(path, defaults) if signed is None else {}
            if signed is not None:
                sha = str(signed["manifest"]["content_hash"])
            else:
                assert data is not None
                sha = "0x" + hashlib.sha256(data).hexdigest()
        except (OSError, ValueError, KeyError, TypeError) as exc:
            outcomes.append(_failed(path, None, None, "unreadable", f"{type(exc).__name__}: {exc}", started))
            continue
        ready.append(Prepared(image or path, data, sha, fields, started, signed))
    if not ready:
        return outcomes
    known = api.receipts([p.sha256 for p in ready])
    if known.status != 200:
        return outcomes + [_failed(p.path, p.sha256, known.status, known.error_code, known.message, p.started)
                           for p in ready]  # fmt: skip
    todo = []
    for prepared, receipt in zip(ready, known.body["receipts"], strict=True):
        if receipt is None:
            todo.append(prepared)
        else:
            outcomes.append(Outcome(str(prepared.path), prepared.sha256, "skipped", receipt.get("status"),
                                    receipt.get("uid"), 200, message="already registered by this publisher",
                                    seconds=time.monotonic() - prepared.started))  # fmt: skip
    for attempt in range(busy_attempts):
        if not todo:
            break
        items = [p.item(f"f{n}", keep_reference) for n, p in enumerate(todo)]
        answer = api.register_batch(items, {f"f{n}": (p.path.name, p.data) for n, p in enumerate(todo) if p.data})
        if answer.status != 200:
            return outcomes + [_failed(p.path, p.sha256, answer.status, answer.error_code, answer.message, p.started)
                               for p in todo]  # fmt: skip
        again, wait = [], 0
        for prepared, result in zip(todo, answer.body["results"], strict=True):
            elapsed = time.monotonic() - prepared.started
            if result["result"] == "accepted":
                outcomes.append(Outcome(str(prepared.path), prepared.sha256, "accepted", result.get("status"),
                                        result.get("uid"), 202, message=result.get("note"), seconds=elapsed))  # fmt: skip
            elif result.get("error_code") == "already_registered":  # twice in the folder, or raced with another run
                outcomes.append(Outcome(str(prepared.path), prepared.sha256, "skipped", None, None, 409,
                                        result["error_code"], result.get("message"), elapsed))  # fmt: skip
            elif result.get("retry_after") is not None and attempt + 1 < busy_attempts:
                again.append(prepared)
                wait = max(wait, int(result["retry_after"]))
            else:
                outcomes.append(_failed(prepared.path, prepared.sha256, result.get("http_status"),
                                        result.get("error_code"), result.get("message"), prepared.started))  # fmt: skip
        todo = again
        if todo:
            time.sleep(min(wait, MAX_BUSY_WAIT_SECONDS))
    return outcomes


def signed_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}.c2pa{path.suffix}")


def _sha(data: bytes) -> str:
    return "0x" + hashlib.sha256(data).hexdigest()


def register_signed_c2pa(api: PublisherApi, path: Path, defaults: dict[str, str | None], keep_reference: bool) -> Outcome:
    """``--c2pa``: one file through ``POST /v1/media`` with ``c2pa=true``, the signed file written beside it."""
    started = time.monotonic()
    name = str(path)
    try:
        data = path.read_bytes()
        fields = fields_for(path, defaults)
        lookup = signed_path(path).read_bytes() if signed_path(path).is_file() else data
    except (OSError, ValueError) as exc:
        return Outcome(name, None, "failed", error_code="unreadable", message=str(exc))
    sha = _sha(lookup)
    known = api.receipt(sha)
    if known.status == 200:
        return Outcome(name, sha, "skipped", known.body.get("status"), known.body.get("uid"), 200,
                       message="already registered by this publisher", seconds=time.monotonic() - started,
                       published_file=str(signed_path(path)) if lookup is not data else None)  # fmt: skip
    answer = api.register(path.name, data, {**fields, "keep_reference": str(keep_reference).lower(), "c2pa": "true"})
    elapsed = time.monotonic() - started
    if answer.status == 202:
        return _write_signed(api, path, answer.body, started)
    return Outcome(name, sha, "failed", None, None, answer.status, answer.error_code, answer.message, elapsed)


def _write_signed(api: PublisherApi, path: Path, body: dict[str, Any], started: float) -> Outcome:
    """Fetch the file the service signed and registered, check it is the registered one, write it beside ``path``."""
    sha, url = body.get("content_hash"), body.get("file_url") or ""
    status, signed = api.download(url)
    if status != 200 or _sha(signed) != sha:
        return Outcome(str(path), sha, "failed", body.get("status"), body.get("uid"), status, "signed_file_unavailable",
                       f"registered, but the signed file could not be fetched: get it from {url}",
                       time.monotonic() - started)  # fmt: skip
    target = signed_path(path)
    temporary = target.with_name(f".{target.name}.part")
    temporary.write_bytes(signed)
    temporary.replace(target)
    return Outcome(str(path), sha, "accepted", body.get("status"), body.get("uid"), 202, message=body.get("note"),
                   seconds=time.monotonic() - started, published_file=str(target))  # fmt: skip


def register_many(api: PublisherApi, files: list[Path], defaults: dict[str, str | None], report: IO[str],
                  concurrency: int = 4, keep_reference: bool = True,
                  progress: Callable[[Outcome], None] | None = None, batch_size: int = 8,
                  c2pa: bool = False) -> Counter[str]:  # fmt: skip
    """Register ``files``, ``batch_size`` to a request and at most ``concurrency`` requests at a time; one JSON line
    per file in ``report`` (flushed as each batch ends); returns the count of each result."""
    counts: Counter[str] = Counter()
    lock = threading.Lock()

    def record(outcome: Outcome) -> None:
        with lock:
            counts[outcome.result] += 1
            report.write(json.dumps(asdict(outcome)) + "\n")
            report.flush()
            if progress is not None:
                progress(outcome)

    def run(chunk: list[Path]) -> None:
        try:
            if c2pa:
                outcomes = [register_signed_c2pa(api, path, defaults, keep_reference) for path in chunk]
            else:
                outcomes = register_chunk(api, chunk, defaults, keep_reference)
        except Exception as exc:  # noqa: BLE001 - one batch's surprise must not hide the others' outcomes
            outcomes = [Outcome(str(p), None, "failed", error_code="client_error", message=f"{type(exc).__name__}: {exc}")
                        for p in chunk]  # fmt: skip
        for outcome in outcomes:
            record(outcome)

    size = 1 if c2pa else max(1, batch_size)
    chunks = [files[i : i + size] for i in range(0, len(files), size)]
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        list(pool.map(run, chunks))
    return counts


def summary_of(counts: Counter[str], total: int) -> dict[str, Any]:
    return {"files": total, "accepted": counts["accepted"], "skipped": counts["skipped"], "failed": counts["failed"]}
