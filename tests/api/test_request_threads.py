"""The API process (``python -m api``) runs each request's descriptor search with one OpenMP thread, whatever
thread of its pool the request lands on: nested per-core pools on a small host spin against each other (an unknown
upload took 3 s instead of 0.3 s with two API workers on 2 cores)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IN_A_NEW_THREAD = """
import threading, faiss
seen = []
thread = threading.Thread(target=lambda: seen.append(faiss.omp_get_max_threads()))
thread.start(); thread.join()
print(seen[0])
"""


def openmp_threads_in_a_request_thread(prelude: str) -> int:
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    out = subprocess.run([sys.executable, "-c", prelude + IN_A_NEW_THREAD], env=env, cwd=ROOT, capture_output=True,
                         text=True, timeout=120, check=True)  # fmt: skip
    return int(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: OpenMP starts one thread anyway")
def test_a_thread_of_the_api_process_searches_with_one_openmp_thread() -> None:
    # the premise: pinning the main thread alone leaves a new thread with one OpenMP thread per core
    assert openmp_threads_in_a_request_thread("import faiss; faiss.omp_set_num_threads(1)\n") > 1
    assert openmp_threads_in_a_request_thread("import api.__main__\n") == 1
