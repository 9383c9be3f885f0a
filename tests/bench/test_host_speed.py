"""The host's speed recorded beside every API and soak benchmark (scripts/host_speed.py)."""

from __future__ import annotations

import io

from PIL import Image

from scripts import host_speed


def test_the_jpeg_timed_is_a_one_megapixel_photo_like_file() -> None:
    data = host_speed._one_megapixel_jpeg()
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG" and image.size[0] * image.size[1] == 1_000_000
    assert 100_000 < len(data) < 1_000_000  # noisy enough to decode like a photo, not a flat or random file


def test_machine_facts_carry_both_timings() -> None:
    facts = host_speed.machine_facts("shared with nothing")
    speed = facts["host_speed"]
    assert set(speed) == {"python_loop_ms", "jpeg_decode_ms"}
    assert all(value > 0 for value in speed.values())
    assert facts["cores"] and facts["shared"] == "shared with nothing"
    assert "Python loop" in host_speed.describe(speed)
