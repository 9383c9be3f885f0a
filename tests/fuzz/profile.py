"""The Hypothesis settings every fuzz test here starts from: bounded and reproducible.

``derandomize``: the examples follow from each test's source, so two runs of `make test` try the same inputs and a
failure found once is found again (no example database is read or written: nothing outside the tmp directories).
``FUZZ_SCALE`` multiplies every example count for a longer hunt by hand (docs/RELIABILITY.md, "Fuzzing"); `make test`
leaves it at 1, which keeps the whole of tests/fuzz within about a minute on two shared cores.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

SCALE = max(1, int(os.environ.get("FUZZ_SCALE", "1")))

FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,  # shared cores: a slow example is not a failure
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
                           HealthCheck.function_scoped_fixture],
)


def examples(n: int) -> settings:
    """``FUZZ`` with ``n`` examples (times ``FUZZ_SCALE``)."""
    return settings(FUZZ, max_examples=n * SCALE)
