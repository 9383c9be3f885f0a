"""PDQ of the reader's search variants (the picture turned back 7 ways, its thirds, its cuts) as two matrix products.

Why not ``pdqhash.compute`` for these: PDQ's blur (two passes of Jarosz box filters along each axis) followed by
decimation to 64 x 64 is linear and separable, so the 64 x 64 buffer is ``Ay @ luma @ Ax.T`` with ``Ay`` (64 x H)
and ``Ax`` (64 x W) fixed by the picture's size. One product serves all four flips at once (a flipped axis is the
same operator with its columns reversed), and a transpose is the transposed buffer, so the 7 turned hashes cost
one pair of products (~4 ms for a 512 px picture) instead of 7 calls (~40 ms: each converts to luma in float64
and filters the whole picture again). The reference's filter is asymmetric for even window sizes, which is why a
turned hash cannot be derived from the upright DCT alone (pdqhash.compute_dihedral's differ by up to 46 bits
from the hash of the turned picture).

Equal to ``pdqhash.compute`` bit for bit but for float rounding: over the fixtures' 490 turned hashes 489 were
identical and one differed by 2 bits (a coefficient at the median), the quality always equal
(tests/core/test_pdq_matrix.py). Registered and anchored hashes stay ``pdqhash``'s (an auditor recomputes them);
these are only compared within a search radius. Pure: numpy.
"""

from __future__ import annotations

import functools

import numpy as np

from ledger.core.fingerprint import Dihedral

SIDE = 64  # PDQ decimates to 64 x 64
MIN_SIDE = 5  # the reference hashes a smaller picture as 256 zero bits of quality 0
# The DCT rows PDQ keeps (the 16 lowest frequencies after the constant one).
_DCT = np.array([[np.sqrt(2 / 64) * np.cos(np.pi / 2 / 64 * (i + 1) * (2 * j + 1)) for j in range(64)]
                 for i in range(16)], np.float32)  # fmt: skip


def luma(rgb: np.ndarray) -> np.ndarray:
    """The float32 luma pdqhash hashes (its own formula, so the levels are the same to the bit)."""
    return (rgb[:, :, 0] * 0.299 + rgb[:, :, 1] * 0.587 + rgb[:, :, 2] * 0.114).astype(np.float32)


@functools.lru_cache(maxsize=64)
def sampler(n: int) -> np.ndarray:
    """(64, n): PDQ's two Jarosz passes along an axis of length ``n`` (box1DFloat: the window [k - (full - half),
    k + half) clipped to the axis, averaged over what is inside), read at its 64 decimation points."""
    full = (n + 2 * SIDE - 1) // (2 * SIDE)
    half = (full + 2) // 2
    k = np.arange(n)
    lo, hi = np.maximum(0, k - (full - half)), np.minimum(n, k + half)
    count = (hi - lo).astype(np.float64)
    picked = ((np.arange(SIDE) + 0.5) * n / SIDE).astype(int)
    first = np.zeros((SIDE, n))  # the first pass's weights for each decimation point
    for row, at in enumerate(picked):
        first[row, lo[at] : hi[at]] = 1.0 / count[at]
    # the second pass: output j takes first[k] / count[k] from every k whose window holds j
    sums = np.concatenate([np.zeros((SIDE, 1)), np.cumsum(first / count, axis=1)], axis=1)
    j = np.arange(n)
    start, stop = np.clip(j - half + 1, 0, n), np.clip(j + full - half + 1, 0, n)
    matrix = sums[:, stop] - sums[:, start]
    matrix.flags.writeable = False
    return np.ascontiguousarray(matrix.astype(np.float32))


def _hash(buffer: np.ndarray) -> str:
    """The 256 bits of a 64 x 64 buffer: its 16 x 16 DCT above its median, in pdqhash's bit order."""
    coefficients = (_DCT @ buffer @ _DCT.T).ravel()
    median = np.partition(coefficients, 127)[127]  # the reference's Torben median: the 128th smallest
    return "0x" + np.packbits((coefficients > median)[::-1]).tobytes().hex()


def _quality(buffer: np.ndarray) -> int:
    """The reference's gradient measure (levels differences in percent, truncated, summed, / 90, at most 100)."""
    down = ((buffer[:-1, :] - buffer[1:, :]) * 100 / 255).astype(np.int32)
    across = ((buffer[:, :-1] - buffer[:, 1:]) * 100 / 255).astype(np.int32)
    return min(100, int((np.abs(down).sum() + np.abs(across).sum()) // 90))


def pdq_luma(grey: np.ndarray) -> tuple[str, int]:
    """PDQ hash (0x hex) and quality of a luma array (any strides, e.g. a window of ``luma``)."""
    if min(grey.shape) < MIN_SIDE:
        return "0x" + "00" * 32, 0
    buffer = sampler(grey.shape[0]) @ grey @ sampler(grey.shape[1]).T
    return _hash(buffer), _quality(buffer)


def _layout(turn: Dihedral) -> tuple[bool, bool, bool]:
    """``turn.invert`` as (transposed, rows reversed, columns reversed) of the picture it is applied to."""
    probe = turn.invert(np.arange(6).reshape(2, 3))
    corner = int(probe[0, 0])
    return probe.shape == (3, 2), corner // 3 == 1, corner % 3 == 2


_LAYOUTS = {turn: _layout(turn) for turn in Dihedral}


def turned_hashes(grey: np.ndarray) -> list[tuple[int, str]]:
    """(variant, PDQ) of the luma turned back by each of the 7 rotations/flips (``turn.invert``), as
    ``pdq_luma(turn.invert(grey))`` would give them, from one pair of products."""
    rows, cols = sampler(grey.shape[0]), sampler(grey.shape[1])
    both = (np.concatenate([rows, rows[:, ::-1]]) @ grey) @ np.concatenate([cols, cols[:, ::-1]]).T  # 128 x 128
    out = []
    for turn in list(Dihedral)[1:]:
        transposed, down, across = _LAYOUTS[turn]
        buffer = both[SIDE * down : SIDE * (down + 1), SIDE * across : SIDE * (across + 1)]
        out.append((int(turn), _hash(buffer.T if transposed else buffer)))
    return out
