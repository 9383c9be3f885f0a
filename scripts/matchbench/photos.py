"""The benchmark's photos: the shared fixtures' photos and those bundled with scikit-image and scikit-learn
(read from the installed packages; nothing is downloaded)."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures"


def photo_files() -> list[tuple[str, Path]]:
    """The photo list of scripts/bench_match.py (same names), read from the shared fixtures and installed packages."""
    pdq, c2pa = FIXTURES / "pdq", FIXTURES / "c2pa"
    files = [
        ("bridge", pdq / "bridge-mods" / "aaa-orig.jpg"),
        ("desk-exif", pdq / "reg-test-input" / "exif-rotn" / "exif-rotn-1.jpg"),
        ("coaster", pdq / "misc-images" / "c.png"),
        ("pen-and-coaster", pdq / "reg-test-input" / "pen-and-coaster.png"),
        ("small", pdq / "misc-images" / "small.jpg"),
        *[(p.stem, p) for p in sorted((pdq / "reg-test-input" / "labelme-subset").glob("*.jpg"))],
        ("ribbons", c2pa / "adobe-20220124-A.jpg"),
        ("gradient", c2pa / "adobe-20220124-C.jpg"),
        ("grate", c2pa / "adobe-20220124-I.jpg"),
        ("building", c2pa / "nikon-20221019-building.jpeg"),
        ("camera", c2pa / "truepic-20230212-camera.jpg"),
        ("landscape", c2pa / "truepic-20230212-landscape.jpg"),
        ("library", c2pa / "truepic-20230212-library.jpg"),
    ]
    try:
        import skimage

        data = Path(skimage.__file__).parent / "data"
        for name in ("astronaut", "brick", "camera", "cell", "chelsea", "clock_motion", "coffee", "coins", "grass",
                     "gravel", "hubble_deep_field", "ihc", "moon", "motorcycle_left", "page", "retina", "rocket", "text"):  # fmt: skip
            path = next(iter(sorted(data.glob(name + ".*"))), None)
            if path is not None:
                files.append(("skimage-" + name, path))
    except ImportError:
        pass
    try:
        import sklearn.datasets

        images = Path(sklearn.datasets.__file__).parent / "images"
        files += [("sklearn-" + p.stem, p) for p in sorted(images.glob("*.jpg"))]
    except ImportError:
        pass
    return [(n, p) for n, p in files if p.exists()]
