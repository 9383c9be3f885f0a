"""Bulk registration (`provenance register DIR|FILE...`): many files through the API with bounded concurrency,
resumable, every file's outcome written as one JSON line so no failure goes unseen.

Resume: each file's SHA-256 is looked up first (``GET /v1/media/{hash}``); a file this publisher already registered
is ``skipped`` without being uploaded, so an interrupted run is simply run again. Captions: ``--caption`` and
``--credit`` for every file, overridden per image by a sidecar ``IMAGE.json`` (``{"caption", "credit",
"published_url", "taken_at", "parent"}``, ``parent`` the uid of the original) beside it.

Content Credentials (``--c2pa``): each file is signed by the service with the publisher's C2PA certificate, and the
signed file, the one registered and the one to publish, is written beside it as ``NAME.c2pa.EXT``. Resume looks
that file up: a source whose signed file exists and is registered is ``skipped``. (The source's own hash is not
registered in this mode, and signing again gives other bytes: keep the ``.c2pa`` files.)
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
    """Files given, and image files under directories given (sorted, recursively), each once."""
    found: dict[Path, None] = {}
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and child.suffix.lower() in IMAGE_SUFFIXES:
                    found.setdefault(child, None)
        else:
            found.setdefault(path, None)
    return list(found)


def fields_for(path: Path, defaults: dict[str, str | None]) -> dict[str, str]:
    fields = dict(defaults)
    sidecar = path.with_name(path.name + ".json")
    if sidecar.is_file():
        extra = json.loads(sidecar.read_text())
        fields.update({k: extra[k] for k in SIDECAR_FIELDS if isinstance(extra.get(k), str)})
    return {k: v for k, v in fields.items() if v}


def signed_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}.c2pa{path.suffix}")


def _sha(data: bytes) -> str:
    return "0x" + hashlib.sha256(data).hexdigest()


def register_one(api: PublisherApi, path: Path, defaults: dict[str, str | None], keep_reference: bool,
                 c2pa: bool = False) -> Outcome:  # fmt: skip
    started = time.monotonic()
    name = str(path)
    try:
        data = path.read_bytes()
        fields = fields_for(path, defaults)
        lookup = signed_path(path).read_bytes() if c2pa and signed_path(path).is_file() else data
    except (OSError, ValueError) as exc:
        return Outcome(name, None, "failed", error_code="unreadable", message=str(exc))
    sha = _sha(lookup)
    known = api.receipt(sha)
    if known.status == 200:
        return Outcome(name, sha, "skipped", known.body.get("status"), known.body.get("uid"), 200,
                       message="already registered by this publisher", seconds=time.monotonic() - started,
                       published_file=str(signed_path(path)) if lookup is not data else None)  # fmt: skip
    extra = {"c2pa": "true"} if c2pa else {}
    answer = api.register(path.name, data, {**fields, "keep_reference": str(keep_reference).lower(), **extra})
    elapsed = time.monotonic() - started
    if answer.status == 202 and c2pa:
        return _write_signed(api, path, answer.body, started)
    if answer.status == 202:
        return Outcome(name, sha, "accepted", answer.body.get("status"), answer.body.get("uid"), 202,
                       message=answer.body.get("note"), seconds=elapsed)  # fmt: skip
    if answer.status == 409 and answer.error_code == "already_registered":  # raced with another run
        return Outcome(name, sha, "skipped", None, None, 409, answer.error_code, answer.message, elapsed)
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
                  progress: Callable[[Outcome], None] | None = None, c2pa: bool = False) -> Counter[str]:  # fmt: skip
    """Register ``files``, at most ``concurrency`` at a time; one JSON line per file in ``report`` (flushed as each
    ends); returns the count of each result."""
    counts: Counter[str] = Counter()
    lock = threading.Lock()

    def run(path: Path) -> None:
        try:
            outcome = register_one(api, path, defaults, keep_reference, c2pa)
        except Exception as exc:  # noqa: BLE001 - one file's surprise must not hide the others' outcomes
            outcome = Outcome(str(path), None, "failed", error_code="client_error", message=f"{type(exc).__name__}: {exc}")
        with lock:
            counts[outcome.result] += 1
            report.write(json.dumps(asdict(outcome)) + "\n")
            report.flush()
            if progress is not None:
                progress(outcome)

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        list(pool.map(run, files))
    return counts


def summary_of(counts: Counter[str], total: int) -> dict[str, Any]:
    return {"files": total, "accepted": counts["accepted"], "skipped": counts["skipped"], "failed": counts["failed"]}
