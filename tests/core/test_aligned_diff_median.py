"""The pixel comparison's median equals numpy's on the arrays it is given (it only takes a faster route)."""

from __future__ import annotations

import numpy as np
import pytest

from ledger.core.wild.aligned_diff import median


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8, np.int16])
def test_the_median_is_numpys_for_odd_even_and_quantised_arrays(dtype) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(5)
    for size in (1, 2, 3, 4, 51, 50, 1_000, 20_001, 20_000):
        for values in (rng.random(size) * 255, np.round(rng.normal(0, 3, size)) % 40, np.full(size, 7.0)):
            array = values.astype(dtype)
            expected = float(np.median(array))
            assert median(array) == expected, (dtype, size, median(array), expected)
            assert median(array.reshape(-1, 1)) == expected  # any shape: the median of all its values


def test_the_median_of_nothing_is_not_a_number() -> None:
    assert np.isnan(median(np.zeros(0, np.float32)))
