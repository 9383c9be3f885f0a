"""Bulk registration benchmark: `provenance register DIR` against a running service (`provenance up`: anvil,
indexer, anchorer, API), N distinct synthetic JPEGs (640 x 480), bounded concurrency.

Measures: files accepted per second by the command (upload, decode, hashes, reference copy, keypoints, signature,
outbox commit), the time until every registration is anchored on chain and mirrored, and a resumed run (every file
skipped by its hash). Writes bench/results/bulk.json and prints a table.
Run: `.venv/bin/python scripts/bench_bulk.py [--files 1000] [--concurrency 4]` (or `make bench`).
"""

from __future__ import annotations

import argparse
import json
import platform
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

from tests.conftest import RunningService  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "bulk.json"


def make_images(folder: Path, count: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(12)
    for i in range(count):
        base = rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)
        Image.fromarray(base).resize((640, 480), Image.Resampling.BICUBIC).save(folder / f"img{i:05d}.jpg", quality=90)


def register(folder: Path, url: str, key_file: Path, report: Path, concurrency: int) -> tuple[float, dict[str, int]]:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "ledger.cli.main", "register", str(folder), "--url", url, "--api-key-file", str(key_file),
         "--caption", "Benchmark photo", "--credit", "Bench", "--concurrency", str(concurrency), "--report", str(report)],
        capture_output=True, text=True, cwd=ROOT, timeout=24 * 3600,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    summary = json.loads(done.stdout.strip().splitlines()[-1])["summary"]
    return elapsed, summary


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=4)
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
            seconds, summary = register(base / "images", service.url, key_file, report, args.concurrency)
            anchored_at = None
            deadline = time.monotonic() + 3600
            while time.monotonic() < deadline:
                if httpx.get(f"{service.url}/healthz").json().get("pending_registrations") == 0:
                    anchored_at = time.monotonic()
                    break
                time.sleep(0.5)
            all_anchored = (anchored_at - started) if anchored_at else None
            resume_seconds, resume_summary = register(base / "images", service.url, key_file, report, args.concurrency)
        finally:
            service.stop()

    result = {
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"platform": platform.platform(), "cpus": __import__("os").cpu_count(), "python": platform.python_version(),
                    "note": "the machine's 2 cores were shared with other sessions' work during the run"},
        "files": args.files, "concurrency": args.concurrency, "image": "640x480 JPEG q90, distinct",
        "register": {"seconds": round(seconds, 2), "files_per_second": round(args.files / seconds, 1), **summary},
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
    print(f"written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
