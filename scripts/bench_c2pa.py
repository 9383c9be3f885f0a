"""What Content Credentials (C2PA) cost the service, measured; writes bench/results/c2pa.json and prints a table.

    .venv/bin/python scripts/bench_c2pa.py [--repeat 5]

- read: ``CredentialReader.read`` (c2pa-python, offline, summarised) on every file of ../shared/fixtures/c2pa,
  the median of ``--repeat`` runs per file, next to the fingerprint probe the same upload already pays;
- sign: ``sign_published`` (the manifest built, signed ES256 with a TEST certificate, embedded) on photos of
  several sizes, with the probe of the signed file the registration then runs.
Timings depend on the machine and on what else runs on it; the JSON records the CPU count and load average.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from ledger.adapters.c2pa.reader import NO_TRUST  # noqa: E402
from ledger.adapters.c2pa.signers import check_material  # noqa: E402
from ledger.adapters.c2pa.test_ca import create_test_ca, issue_test_signer  # noqa: E402
from ledger.adapters.c2pa.writer import sign_published  # noqa: E402
from ledger.core.fingerprint import Limits, probe_bytes, registration_probe  # noqa: E402

FIXTURES = ROOT.parent / "shared" / "fixtures"
OUT = ROOT / "bench" / "results" / "c2pa.json"


def median_ms(run, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return round(statistics.median(times) * 1000, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    limits = Limits(50 * 1024 * 1024, 60_000_000)
    reads = []
    for path in sorted((FIXTURES / "c2pa").glob("*.jp*g")):
        data = path.read_bytes()
        summary = NO_TRUST.read(data, "JPEG")
        reads.append({"file": path.name, "bytes": len(data), "state": summary.state if summary else None,
                      "read_ms": median_ms(lambda d=data: NO_TRUST.read(d, "JPEG"), args.repeat),
                      "probe_ms": median_ms(lambda d=data: probe_bytes(d, limits), args.repeat)})  # fmt: skip
    authority = create_test_ca()
    material = check_material(*issue_test_signer(authority, "bench.example", "Bench"))
    source = Image.open(FIXTURES / "c2pa" / "truepic-20230212-landscape.jpg").convert("RGB")
    signs = []
    for megapixels in (1, 4, 12):
        scale = (megapixels * 1e6 / (source.width * source.height)) ** 0.5
        size = (round(source.width * scale), round(source.height * scale))
        buffer = io.BytesIO()
        source.resize(size).save(buffer, format="JPEG", quality=90)
        data = buffer.getvalue()
        signed = sign_published(data, "JPEG", "bench.jpg", material, {"bench": True}).data
        signs.append({"megapixels": megapixels, "size": list(size), "bytes": len(data), "signed_bytes": len(signed),
                      "sign_ms": median_ms(lambda d=data: sign_published(d, "JPEG", "b.jpg", material, {}), args.repeat),
                      "probe_signed_ms": median_ms(lambda s=signed: registration_probe(s, limits), args.repeat)})  # fmt: skip
    result = {"machine": {"cpus": os.cpu_count(), "load_average": os.getloadavg(), "python": platform.python_version()},
              "repeat": args.repeat, "read": reads, "sign": signs,
              "note": "shared machine: other sessions ran at the same time; medians of --repeat runs"}  # fmt: skip
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=1) + "\n")
    print(f"{'file':42} {'bytes':>9} {'state':>8} {'read ms':>8} {'probe ms':>9}")
    for row in reads:
        print(f"{row['file']:42} {row['bytes']:>9} {str(row['state']):>8} {row['read_ms']:>8} {row['probe_ms']:>9}")
    print(f"\n{'MP':>3} {'bytes':>9} {'signed':>9} {'sign ms':>8} {'probe signed ms':>16}")
    for row in signs:
        print(f"{row['megapixels']:>3} {row['bytes']:>9} {row['signed_bytes']:>9} {row['sign_ms']:>8} {row['probe_signed_ms']:>16}")
    print(f"\nwrote {OUT.relative_to(ROOT)} (load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs: shared machine)")


if __name__ == "__main__":
    main()
