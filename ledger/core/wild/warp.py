"""Bring a reader's image into the registered picture's frame through a homography (shared by same_scene and
aligned_diff). The common frame is the reference copy's (<= 512 px), reduced further when the copy shows the
picture smaller than that (comparing at the copy's own resolution keeps its blur from looking like a change).

Pure: numpy + cv2.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np


@dataclass(frozen=True, slots=True)
class Aligned:
    ref: np.ndarray = field(repr=False)  # (h, w, 3) float32, reference in the work frame
    query: np.ndarray = field(repr=False)  # (h, w, 3) float32, query warped into the work frame
    valid: np.ndarray = field(repr=False)  # (h, w) bool, where the query covers the work frame
    work_to_query: np.ndarray = field(repr=False)  # 3x3: work px -> query px (of the query array given)
    factor: float  # work px per reference px


def norm_to_px(Hn: np.ndarray, src_size: tuple[int, int], dst_size: tuple[int, int]) -> np.ndarray:
    """Normalised homography -> pixel homography between images of the given (width, height)."""
    S = np.diag([float(src_size[0]), float(src_size[1]), 1.0])
    D = np.diag([float(dst_size[0]), float(dst_size[1]), 1.0])
    H = D @ Hn @ np.linalg.inv(S)
    return H / H[2, 2]


def align(reference: np.ndarray, query: np.ndarray, Hn: np.ndarray, max_side: int = 512) -> Aligned:
    """Warp ``query`` (H, W, 3 uint8) into ``reference``'s frame (shrunk to the copy's resolution if smaller).
    ``Hn`` maps reference normalised coords -> query normalised coords."""
    rh, rw = reference.shape[:2]
    qh, qw = query.shape[:2]
    H = norm_to_px(Hn, (rw, rh), (qw, qh))  # reference px -> query px
    s = float(np.sqrt(abs(np.linalg.det(H[:2, :2]))))  # query px per reference px (at the centre)
    f = min(1.0, s, max_side / max(rh, rw))
    f = max(f, 96.0 / max(rh, rw))  # never below ~96 px: too little to compare
    # Pre-reduce a large query (warpPerspective samples, it does not average).
    pre = 1.0
    if s / f > 1.6:
        pre = f / s * 1.2
        query = cv2.resize(query, (max(1, round(qw * pre)), max(1, round(qh * pre))), interpolation=cv2.INTER_AREA)
    Wf, Hf = max(8, round(rw * f)), max(8, round(rh * f))
    ref = cv2.resize(reference, (Wf, Hf), interpolation=cv2.INTER_AREA) if f < 1 else reference
    work_to_query_small = np.diag([pre, pre, 1.0]) @ H @ np.diag([rw / Wf, rh / Hf, 1.0])
    warped = cv2.warpPerspective(query, work_to_query_small, (Wf, Hf), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                 borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    ones = np.full(query.shape[:2], 255, np.uint8)
    valid = cv2.warpPerspective(ones, work_to_query_small, (Wf, Hf), flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP,
                                borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    valid = cv2.erode(valid, np.ones((5, 5), np.uint8)) > 0
    w2q = H @ np.diag([rw / Wf, rh / Hf, 1.0])
    return Aligned(ref.astype(np.float32), warped.astype(np.float32), valid, w2q / w2q[2, 2], Wf / rw)


def luma(rgb: np.ndarray) -> np.ndarray:
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114
