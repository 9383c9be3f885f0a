"""Axis-aligned boxes (a0, b0, a1, b1), in whatever units and axis order the caller uses."""

from __future__ import annotations

from typing import TypeVar

Number = TypeVar("Number", int, float)
Box = tuple[Number, Number, Number, Number]


def merge_boxes(boxes: list[tuple[Number, Number, Number, Number]], gap: Number) -> list[tuple[Number, Number, Number, Number]]:
    """Merge boxes that overlap or come within ``gap`` of each other, until none do."""
    merged = list(boxes)
    changed = True
    while changed:
        changed = False
        out: list[tuple[Number, Number, Number, Number]] = []
        for box in merged:
            for i, other in enumerate(out):
                if box[0] <= other[2] + gap and other[0] <= box[2] + gap and box[1] <= other[3] + gap and other[1] <= box[3] + gap:
                    out[i] = (min(box[0], other[0]), min(box[1], other[1]), max(box[2], other[2]), max(box[3], other[3]))
                    changed = True
                    break
            else:
                out.append(box)
        merged = out
    return merged
