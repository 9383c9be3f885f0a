"""Bulk registration benchmark: `provenance register DIR` against a running service (`provenance up`: anvil,
indexer, anchorer, API), N distinct synthetic JPEGs (640 x 480), bounded concurrency, several files a request
(`POST /v1/media/batch`).

Measures: files accepted per second by the command (upload, decode, hashes, reference copy, keypoints, signature,
outbox commit), the time until every registration is anchored on chain and mirrored, and a resumed run (every file
skipped by its hash). Where the time goes: CPU seconds of each process of the service (API workers, anchorer,
indexer, chain node) and of the command during the run, what the rest of the machine used meanwhile (it may be
shared), and the API's work per file split into its steps, timed in this process on a sample of the same files.
Writes bench/results/bulk.json and prints a table.
Run: `.venv/bin/python scripts/bench_bulk.py [--files 1000] [--concurrency 4] [--batch-size 8]` (or `make bench`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.bench_api import cpu_seconds, descendants, machine_cpu  # noqa: E402
from tests.conftest import RunningService  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "bulk.json"


def make_images(folder: Path, count: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(12)
    for i in range(count):
        base = rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)
        Image.fromarray(base).resize((640, 480), Image.Resampling.BICUBIC).save(folder / f"img{i:05d}.jpg", quality=90)


def register(folder: Path, url: str, key_file: Path, report: Path, concurrency: int,
             batch_size: int) -> tuple[float, dict[str, int], float]:  # fmt: skip
    """One run of the command; (seconds, summary, the command's CPU seconds)."""
    started = time.monotonic()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        [sys.executable, "-m", "ledger.cli.main", "register", str(folder), "--url", url, "--api-key-file", str(key_file),
         "--caption", "Benchmark photo", "--credit", "Bench", "--concurrency", str(concurrency),
         "--batch-size", str(batch_size), "--report", str(report)],
        capture_output=True, text=True, cwd=ROOT, timeout=24 * 3600,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    summary = json.loads(done.stdout.strip().splitlines()[-1])["summary"]
    return elapsed, summary, cpu


def service_cpu(service: RunningService) -> dict[str, float]:
    """CPU seconds so far of each part of the running service, by what its processes run."""
    assert service.process is not None
    parts: dict[str, float] = {}
    for pid in [service.process.pid, *descendants(service.process.pid)]:
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"-m\0api" in command or any(b"-m\0api" in Path(f"/proc/{p}/cmdline").read_bytes()
                                          for p in ancestors(pid, service.process.pid)):  # fmt: skip
            part = "api"
        elif b"worker\0anchorer" in command:
            part = "anchorer"
        elif b"worker\0indexer" in command:
            part = "indexer"
        elif b"anvil" in command:
            part = "chain node"
        elif pid == service.process.pid:
            part = "supervisor"
        else:
            part = "other"
        parts[part] = parts.get(part, 0.0) + cpu_seconds([pid])
    return parts


def ancestors(pid: int, stop: int) -> list[int]:
    found = []
    while pid not in (stop, 0, 1):
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except OSError:
            break
        found.append(pid)
    return found


def api_steps(folder: Path, sample: int) -> dict[str, float]:
    """The API's work for one file, step by step, in milliseconds (median over ``sample`` of the files), timed in
    this process against a scratch SQLite: what one registration costs the server besides HTTP."""
    from eth_account import Account

    from ledger.adapters.store import repository as repo
    from ledger.adapters.store.db import Database
    from ledger.adapters.store.migrate import upgrade
    from ledger.adapters.store.models import PublisherAccountRow
    from ledger.core.eip712 import Domain, sign_registration
    from ledger.core.fingerprint import Limits, registration_probe
    from ledger.core.manifest import build_manifest
    from ledger.core.records import Registration
    from ledger.core.reference import make_reference
    from ledger.core.wild.local_features import extract_register
    from ledger.usecases.register import MatchingData, accept

    key = Account.create().key  # a throwaway TEST key
    publisher = Account.from_key(key).address
    domain = Domain(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3")
    steps: dict[str, list[float]] = {k: [] for k in ("decode and hashes", "reference copy", "keypoints",
                                                     "EIP-712 signature", "outbox commit (with matching data)")}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/steps.sqlite3")
        upgrade(db.engine)
        with db.write() as session:
            session.add(PublisherAccountRow(address=publisher, name="Bench", domain="bench.example",
                                            keystore_file=None, next_nonce=0, created_at=repo.utcnow()))  # fmt: skip
        for path in sorted(folder.iterdir())[:sample]:
            data = path.read_bytes()
            t0 = time.perf_counter()
            probe = registration_probe(data, Limits())
            t1 = time.perf_counter()
            make_reference(probe.image, probe.fingerprint.width, probe.fingerprint.height)
            t2 = time.perf_counter()
            extract_register(probe.image)
            t3 = time.perf_counter()
            fp = probe.fingerprint
            manifest = build_manifest(publisher, fp, "Benchmark photo", "Bench")
            sign_registration(key, domain, Registration(fp.sha256, fp.pixel_sha256, fp.pdq, manifest.hash()), 0, 2**40)
            t4 = time.perf_counter()
            matching = MatchingData.from_probe(probe)
            t5 = time.perf_counter()
            accept(db, domain, publisher, key, fp, manifest, 3600, matching)  # signs again, then commits
            t6 = time.perf_counter()
            for name, seconds in zip(steps, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, (t6 - t5) - (t4 - t3)), strict=True):
                steps[name].append(seconds * 1000)
        db.dispose()
    return {name: round(float(np.median(values)), 2) for name, values in steps.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--step-sample", type=int, default=50, help="files timed step by step in this process")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        make_images(base / "images", args.files)
        service = RunningService(base / "var")
        service.start()
        try:
            key_file = base / "api-key"
            key_file.write_text(service.add_publisher("Bench Daily", "bench.example"))
            report = base / "report.jsonl"
            started = time.monotonic()
            cpu_before, machine_before, load_before = service_cpu(service), machine_cpu()[0], os.getloadavg()[0]
            seconds, summary, client_cpu = register(base / "images", service.url, key_file, report, args.concurrency,
                                                    args.batch_size)  # fmt: skip
            cpu_after, machine_after = service_cpu(service), machine_cpu()[0]
            anchored_at = None
            deadline = time.monotonic() + 3600
            while time.monotonic() < deadline:
                if httpx.get(f"{service.url}/healthz").json().get("pending_registrations") == 0:
                    anchored_at = time.monotonic()
                    break
                time.sleep(0.5)
            all_anchored = (anchored_at - started) if anchored_at else None
            resume_seconds, resume_summary, _ = register(base / "images", service.url, key_file, report,
                                                         args.concurrency, args.batch_size)  # fmt: skip
        finally:
            service.stop()
        steps = api_steps(base / "images", args.step_sample)

    used = {part: round(cpu_after.get(part, 0.0) - cpu_before.get(part, 0.0), 1) for part in cpu_after}
    used["provenance register (client)"] = round(client_cpu, 1)
    machine_busy = machine_after - machine_before
    others = max(0.0, machine_busy - sum(used.values()))

    result = {
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version(),
                    "note": "the machine's 2 cores were shared with other sessions' work during the run"},
        "files": args.files, "concurrency": args.concurrency, "batch_size": args.batch_size,
        "image": "640x480 JPEG q90, distinct",
        "register": {"seconds": round(seconds, 2), "files_per_second": round(args.files / seconds, 1), **summary},
        "cpu_seconds_during_register": {**used, "rest of the machine (other sessions)": round(others, 1),
                                        "machine busy, all cores": round(machine_busy, 1),
                                        "machine capacity (cores x seconds)": round((os.cpu_count() or 1) * seconds, 1)},
        "load_average_before": round(load_before, 2),
        "api_ms_per_file_by_step": {"sample": args.step_sample, **steps},
        "anchored_seconds_after_start": round(all_anchored, 2) if all_anchored else None,
        "resume": {"seconds": round(resume_seconds, 2), **resume_summary},
    }  # fmt: skip
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{'step':<34}{'files':>8}{'seconds':>10}{'files/s':>10}  result")
    print(f"{'register (upload, hash, sign)':<34}{args.files:>8}{seconds:>10.1f}{args.files / seconds:>10.1f}  {summary}")
    if all_anchored:
        print(f"{'all anchored and mirrored':<34}{args.files:>8}{all_anchored:>10.1f}{args.files / all_anchored:>10.1f}")
    print(f"{'resume (all skipped by hash)':<34}{args.files:>8}{resume_seconds:>10.1f}{args.files / resume_seconds:>10.1f}  {resume_summary}")
    print(f"CPU seconds during the registering run ({seconds:.0f} s on {os.cpu_count()} cores, load before {load_before:.1f}):")
    for part, value in result["cpu_seconds_during_register"].items():
        print(f"  {part:<40}{value:>10.1f}")
    print(f"API work per file, median of {args.step_sample} (ms):")
    for step, value in steps.items():
        print(f"  {step:<40}{value:>10.1f}")
    print(f"written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
