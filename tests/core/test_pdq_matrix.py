"""The matrix PDQ of the reader's search variants against pdqhash itself (the reference the registry anchors)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ledger.core import pdq_matrix
from ledger.core.fingerprint import Dihedral, hamming, hash_image, pdq_array


def _photos(root: Path) -> list[np.ndarray]:
    out = []
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() in {".jpg", ".jpeg", ".png"}:
            out.append(np.ascontiguousarray(hash_image(Image.open(path).convert("RGB"))))
    return out


def test_the_turned_hashes_are_pdqhash_of_the_turned_picture(pdq_fixtures: Path) -> None:
    distances = []
    photos = _photos(pdq_fixtures)
    assert len(photos) >= 20
    for rgb in photos:
        turned = pdq_matrix.turned_hashes(pdq_matrix.luma(rgb))
        assert [variant for variant, _ in turned] == [int(t) for t in list(Dihedral)[1:]]
        for variant, pdq in turned:
            distances.append(hamming(pdq, pdq_array(Dihedral(variant).invert(rgb))[0]))
    # float rounding may flip a coefficient that sits on the median; anything more is a wrong operator
    assert max(distances) <= 2
    assert sum(d == 0 for d in distances) >= 0.98 * len(distances)


@pytest.mark.parametrize("shape", [(2, 2), (1, 7), (5, 1), (64, 64), (65, 127), (129, 128), (300, 257), (512, 341),
                                   (342, 512), (17, 512)])  # fmt: skip
def test_a_window_hashes_as_pdqhash_at_any_size(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(sum(shape))
    # smooth content (noise would put many coefficients near the median), a window of a larger picture
    base = rng.integers(0, 256, (shape[0] // 8 + 2, shape[1] // 8 + 2, 3), dtype=np.uint8)
    big = np.asarray(Image.fromarray(base).resize((shape[1] + 9, shape[0] + 5), Image.Resampling.BICUBIC))
    window = big[3 : 3 + shape[0], 4 : 4 + shape[1]]
    pdq, quality = pdq_matrix.pdq_luma(pdq_matrix.luma(big)[3 : 3 + shape[0], 4 : 4 + shape[1]])
    expected, expected_quality = pdq_array(window)
    assert hamming(pdq, expected) <= 2
    assert quality == expected_quality
