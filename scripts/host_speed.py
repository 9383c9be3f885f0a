"""How fast this host is at the moment of a benchmark, so that runs on different days can be compared.

The benchmarks run on a shared virtual machine whose speed changes by hours and days: on 2026-12-02 a bare granian
app answered a request for 65-70 us of CPU in the morning session and 34-40 us in the afternoon one, with nothing
else running either time, and our figures moved with it (verify by hash 9,748 -> 17,390 requests a second, the
API's code unchanged). A figure with no record of the host's speed beside it cannot be told apart from a change of code.

Two fixed pieces of work, each the fastest of ``ROUNDS`` (the fastest is the host's speed; slower rounds are other
work interfering):
- ``python_loop_ms``: a pure-Python loop (dict, str and int work: what the API's per-request code is made of);
- ``jpeg_decode_ms``: decoding one 1 MP JPEG with Pillow (native code: what uploads and registrations are made of).

    python scripts/host_speed.py       (prints both as JSON)
"""

from __future__ import annotations

import io
import json
import os
import platform
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image

ROUNDS = 5


def _python_loop() -> int:
    table: dict[str, int] = {}
    total = 0
    for i in range(200_000):
        key = f"k{i % 1000}"
        table[key] = table.get(key, 0) + i
        total += len(key) * (i & 7)
    return total + len(table)


def _fastest_ms(work: Callable[[], object], rounds: int = ROUNDS) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return round(best * 1000, 2)


def _one_megapixel_jpeg() -> bytes:
    rng = np.random.default_rng(1)
    # A smooth picture with noise, like a photo to the codec (pure noise or flat colour would decode unlike one).
    y, x = np.mgrid[0:800, 0:1250]
    base = np.stack([(x * 0.2 + y * 0.1) % 256, (y * 0.3) % 256, (x * 0.15) % 256], axis=-1)
    pixels = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=90)
    return out.getvalue()


def measure() -> dict[str, float]:
    data = _one_megapixel_jpeg()

    def decode() -> None:
        with Image.open(io.BytesIO(data)) as image:
            image.load()

    return {"python_loop_ms": _fastest_ms(_python_loop), "jpeg_decode_ms": _fastest_ms(decode)}


def machine_facts(shared: str) -> dict[str, Any]:
    """The ``machine`` entry of a benchmark's results: cores, Python, platform, how it is shared, and its speed."""
    return {"cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "shared": shared, "host_speed": measure()}  # fmt: skip


def describe(speed: dict[str, float]) -> str:
    return f"host speed: Python loop {speed['python_loop_ms']:.1f} ms, 1 MP JPEG decode {speed['jpeg_decode_ms']:.1f} ms"


if __name__ == "__main__":
    print(json.dumps(measure()))
