"""Benchmark cases for copy detection "in the wild": a pure, matcher-agnostic generator.

    from cases import build
    cs = build(split="heldout", seed=9, per_photo=2)      # plan only: cheap, exact counts
    cs.registries["main"]   -> names registered in the main registry; cs.images[name] -> registered bytes
    for case in cs: ...      # materialises each Case (query bytes) lazily and deterministically
    cs.pair_counts()         # distinct pairs (distinct queries x registered images), per category

Dependencies: numpy, Pillow, cv2, augly (+ pdqhash for the flat-photo test, optional).
Photos: the sources of scripts/bench_match.py photo_files(), reduced to <= 2048 px.
Splits: a fixed "calibration" / "heldout" half of the photos (independent of the seed). Evaluating on one split
registers that split's photos; the other split supplies the distinct queries (its photos, and non-overlapping
tiles of its larger photos, half of the tiles registered as decoys, half queried).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import pickle
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
warnings.filterwarnings("ignore")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image, ImageDraw, ImageFont, ImageOps  # noqa: E402

from scripts.matchbench.photos import photo_files  # noqa: E402

cv2.setNumThreads(1)

import augly.image as imaugs  # noqa: E402
from augly.image import utils as _imutils  # noqa: E402,F401

ROOT = Path(__file__).resolve().parents[2]
MAX_SIDE = 2048
AUGLY_ASSETS = Path(imaugs.__file__).resolve().parents[1] / "assets"
FONTS = AUGLY_ASSETS / "fonts"
TEMPLATES = AUGLY_ASSETS / "screenshot_templates"
CACHE = ROOT / "var" / "bench-cache"  # derived templates (ignored by git, like the rest of var/)
TEXT_FONTS = ["OpenSans-Bold", "OpenSans-Regular", "SourceSansPro-Black", "Chunkfive", "IBMPlexSans-Bold",
              "NotoSerif-Regular", "OstrichSans-Heavy", "IBMPlexMono-Bold"]  # fmt: skip
WORDS = ("breaking news exclusive live update fake hoax viral shocking truth photo source report watch now share "
         "today official leaked alert claim verified").split()  # fmt: skip


# ==================================================================================================================
# photos
# ==================================================================================================================
def stereo_files() -> dict[str, Path]:
    """Multi-view material shipped in installed packages: only scikit-image's stereo_motorcycle (left/right)."""
    import skimage

    data = Path(skimage.__file__).parent / "data"
    return {"stereo-left": data / "motorcycle_left.png", "stereo-right": data / "motorcycle_right.png"}


@dataclass
class Photo:
    name: str
    image: Image.Image  # canonical RGB (EXIF orientation applied), <= MAX_SIDE
    data: bytes  # what is registered
    path: str
    quality: int  # PDQ quality (or texture score) of the image
    split: str = ""

    @property
    def large(self) -> bool:
        return min(self.image.size) >= 768


def jpeg(image: Image.Image, quality: int = 85) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, format="JPEG", quality=int(quality))
    return out.getvalue()


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, format="PNG", compress_level=1)
    return out.getvalue()


def texture_quality(image: Image.Image) -> int:
    """PDQ quality (0-100) via pdqhash; without pdqhash, a gradient-energy proxy on the same 0-100 scale."""
    arr = np.asarray(image.convert("RGB"))
    try:
        import pdqhash

        return int(pdqhash.compute(arr)[1])
    except ImportError:  # pragma: no cover
        g = np.asarray(image.convert("L").resize((64, 64), Image.Resampling.BILINEAR), dtype=np.float32)
        return int(min(100, (np.abs(np.diff(g, axis=0)).sum() + np.abs(np.diff(g, axis=1)).sum()) / 90))


def _load(name: str, path: Path) -> Photo:
    raw = path.read_bytes()
    with Image.open(io.BytesIO(raw)) as im:
        orientation = im.getexif().get(274, 1)
        mode = im.mode
        fmt = im.format
        image = ImageOps.exif_transpose(im)
        if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
            rgba = image.convert("RGBA")
            bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            image = Image.alpha_composite(bg, rgba).convert("RGB")
        else:
            image = image.convert("RGB")
    data = raw
    if max(image.size) > MAX_SIDE:
        image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
        data = jpeg(image, 92)
        image = Image.open(io.BytesIO(data)).convert("RGB")
    elif orientation not in (None, 1) or mode not in ("RGB", "L") or fmt not in ("JPEG", "PNG"):
        data = png(image)
    return Photo(name, image, data, str(path), texture_quality(image))


def _split_of(photos: list[Photo]) -> None:
    """Fixed halves: large and small photos separately, ordered by a hash of the name, alternately assigned."""
    for group in (sorted([p for p in photos if p.large], key=lambda p: hashlib.sha256(p.name.encode()).hexdigest()),
                  sorted([p for p in photos if not p.large], key=lambda p: hashlib.sha256(p.name.encode()).hexdigest())):  # fmt: skip
        for i, p in enumerate(group):
            p.split = "calibration" if i % 2 == 0 else "heldout"


@lru_cache(maxsize=1)
def _all_photos(min_quality: int = 50) -> tuple[Photo, ...]:
    photos = [_load(n, p) for n, p in photo_files()]
    photos = [p for p in photos if p.quality >= min_quality]
    _split_of(photos)
    return tuple(photos)


def load_photos(split: str | None = None, min_quality: int = 50) -> list[Photo]:
    """Named RGB photos (flat ones excluded: PDQ quality < min_quality). split: None/'all', 'calibration', 'heldout'."""
    photos = list(_all_photos(min_quality))
    if split in (None, "all"):
        return photos
    if split not in ("calibration", "heldout"):
        raise ValueError(split)
    return [p for p in photos if p.split == split]


def excluded_photos(min_quality: int = 50) -> list[tuple[str, int]]:
    return [(n, q) for n, q in ((n, _load(n, p).quality) for n, p in photo_files()) if q < min_quality]


@lru_cache(maxsize=1)
def stereo_photos() -> dict[str, Photo]:
    return {k: _load(k, p) for k, p in stereo_files().items()}


def tiles(photo: Photo, target: int = 320, min_quality: int = 50) -> list[tuple[str, tuple[int, int, int, int], str]]:
    """Non-overlapping grid tiles of a large photo: (name, box, 'A'|'B' checkerboard half)."""
    w, h = photo.image.size
    cols, rows = max(2, w // target), max(2, h // target)
    tw, th = w // cols, h // rows
    out = []
    for r in range(rows):
        for c in range(cols):
            box = (c * tw, r * th, (c + 1) * tw, (r + 1) * th)
            if texture_quality(photo.image.crop(box)) >= min_quality:  # flat tiles (sky, wall) are not pictures
                out.append((f"{photo.name}#t{r}{c}", box, "AB"[(r + c) % 2]))
    return out


# ==================================================================================================================
# steps: each takes (image, mask, rng) and returns (image, mask, params). mask: "L" image of pasted pixels or None.
# kind: "geometry" (no picture content changed), "photometric" (global pixel change), "local" (overlay/paste).
# ==================================================================================================================
@dataclass(frozen=True)
class Step:
    name: str
    kind: str
    fn: Callable[..., tuple[Image.Image, Image.Image | None, dict]]
    paste: bool = False  # records what it paints in the mask (pasted box / text / emoji)


def _u(rng: np.random.Generator, a: float, b: float) -> float:
    return float(rng.uniform(a, b))


def _mask_rgb(mask: Image.Image | None) -> Image.Image | None:
    return None if mask is None else mask.convert("RGB")


def _mask_back(m: Image.Image | None) -> Image.Image | None:
    return None if m is None else m.convert("L").point(lambda v: 255 if v >= 128 else 0)


def _geo(aug: Callable[..., Image.Image], image: Image.Image, mask: Image.Image | None, **kw: object):
    out = aug(image, **kw).convert("RGB")
    m = _mask_back(aug(_mask_rgb(mask), **kw)) if mask is not None else None
    if m is not None and m.size != out.size:
        m = m.resize(out.size, Image.Resampling.NEAREST)
    return out, m


def _paste_mask(before: Image.Image, after: Image.Image, mask: Image.Image | None) -> Image.Image:
    diff = np.abs(np.asarray(before, dtype=np.int16) - np.asarray(after, dtype=np.int16)).max(axis=2) > 12
    old = np.zeros(diff.shape, bool) if mask is None else np.asarray(mask) > 0
    return Image.fromarray(((old | diff) * 255).astype(np.uint8), "L")


def _font(name: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONTS / f"{name}.ttf"), max(6, int(size)))


@cache
def _font_chars(name: str) -> int:
    with open(FONTS / f"{name}.pkl", "rb") as f:
        return len(pickle.load(f))


@lru_cache(maxsize=1)
def _emojis() -> tuple[str, ...]:
    return tuple(sorted(str(p) for p in (AUGLY_ASSETS / "twemojis").rglob("*.png")))


def _black_template(name: str) -> tuple[str, str]:
    """A black copy of an AugLy screenshot template (same file name, since AugLy keys its bboxes.json by it), so
    the pasted-area mask goes through the same placement as the picture."""
    folder = CACHE / "black"
    folder.mkdir(parents=True, exist_ok=True)
    path, boxes = folder / name, folder / "bboxes.json"
    if not path.exists():
        with Image.open(TEMPLATES / name) as t:
            Image.new("RGB", t.size, (0, 0, 0)).save(path)
    if not boxes.exists():
        boxes.write_bytes((TEMPLATES / "bboxes.json").read_bytes())
    return str(path), str(boxes)


# -- AugLy functions that work ----------------------------------------------------------------------------------
def s_augly_screenshot(template: str):
    def fn(im, mask, rng):
        kw = dict(template_filepath=str(TEMPLATES / template), template_bboxes_filepath=str(TEMPLATES / "bboxes.json"),
                  crop_src_to_fit=bool(rng.random() < 0.5))  # fmt: skip
        out = imaugs.overlay_onto_screenshot(im, **kw).convert("RGB")
        m = None
        if mask is not None:
            m = _mask_back(imaugs.overlay_onto_screenshot(_mask_rgb(mask), **{**kw, "template_filepath": _black_template(template)[0],
                                                                                    "template_bboxes_filepath": _black_template(template)[1]}))
        return out, m, {"template": template, "crop_src_to_fit": kw["crop_src_to_fit"]}

    return fn


def s_emoji(im, mask, rng):
    size = _u(rng, 0.15, 0.35)
    emoji = _emojis()[int(rng.integers(len(_emojis())))]
    kw = dict(emoji_path=emoji, emoji_size=size, opacity=float(rng.choice([1.0, 1.0, _u(rng, 0.6, 1.0)])),
              x_pos=_u(rng, 0.0, max(0.0, 1 - size * im.height / im.width)),
              y_pos=_u(rng, 0.0, 1 - size))  # fmt: skip
    out = imaugs.overlay_emoji(im, **kw).convert("RGB")
    return out, _paste_mask(im, out, mask), {**kw, "emoji_path": Path(emoji).relative_to(AUGLY_ASSETS).as_posix()}


def s_augly_text(im, mask, rng):
    font = str(rng.choice(TEXT_FONTS))
    n = _font_chars(font)
    lines = int(rng.integers(1, 3))
    text = [[int(c) for c in rng.integers(0, n, int(rng.integers(5, 12)))] for _ in range(lines)]
    size = _u(rng, 0.1, 0.2)
    kw = dict(text=text, font_file=str(FONTS / f"{font}.ttf"), font_size=size, opacity=float(rng.choice([1.0, _u(rng, 0.6, 1.0)])),
              color=tuple(int(c) for c in rng.integers(0, 256, 3)), x_pos=_u(rng, 0.0, 0.4), y_pos=_u(rng, 0.0, 0.75))  # fmt: skip
    out = imaugs.overlay_text(im, **kw).convert("RGB")
    return out, _paste_mask(im, out, mask), {**kw, "font_file": font}


def s_pad_square(im, mask, rng):
    color = tuple(int(c) for c in rng.integers(0, 256, 3))
    out = imaugs.pad_square(im, color=color).convert("RGB")
    m = _mask_back(imaugs.pad_square(_mask_rgb(mask), color=(0, 0, 0))) if mask is not None else None
    return out, m, {"color": color}


def s_augly_rotate(im, mask, rng):
    deg = float(rng.choice([-1, 1]) * _u(rng, 3, 30))
    out, m = _geo(imaugs.rotate, im, mask, degrees=deg)
    return out, m, {"degrees": round(deg, 2)}


def s_augly_crop(im, mask, rng):
    sx, sy = _u(rng, 0.65, 0.95), _u(rng, 0.65, 0.95)
    x1, y1 = _u(rng, 0, 1 - sx), _u(rng, 0, 1 - sy)
    kw = dict(x1=x1, y1=y1, x2=x1 + sx, y2=y1 + sy)
    out, m = _geo(imaugs.crop, im, mask, **kw)
    return out, m, {k: round(v, 3) for k, v in kw.items()}


def s_aspect(im, mask, rng):
    ratio = float(math.exp(_u(rng, math.log(0.5), math.log(2.0))))
    out, m = _geo(imaugs.change_aspect_ratio, im, mask, ratio=ratio)
    return out, m, {"ratio": round(ratio, 3)}


def s_stripes(im, mask, rng):
    kw = dict(line_width=_u(rng, 0.1, 0.4), line_color=tuple(int(c) for c in rng.integers(0, 256, 3)),
              line_angle=_u(rng, -90, 90), line_density=_u(rng, 0.1, 0.4),
              line_type=str(rng.choice(["solid", "dotted", "dashed"])), line_opacity=_u(rng, 0.5, 1.0))  # fmt: skip
    return imaugs.overlay_stripes(im, **kw).convert("RGB"), mask, kw


def s_encoding(im, mask, rng):
    q = int(rng.integers(15, 50))
    return imaugs.encoding_quality(im, quality=q).convert("RGB"), mask, {"quality": q}


def _photometric(aug, **ranges):
    def fn(im, mask, rng):
        kw = {k: (_u(rng, *v) if isinstance(v, tuple) else v) for k, v in ranges.items()}
        return aug(im, **kw).convert("RGB"), mask, {k: (round(v, 3) if isinstance(v, float) else v) for k, v in kw.items()}

    return fn


def s_scale(im, mask, rng):
    f = _u(rng, 0.3, 0.8) if min(im.size) * 0.3 >= 96 else _u(rng, 0.6, 1.2)
    out, m = _geo(imaugs.scale, im, mask, factor=f)
    return out, m, {"factor": round(f, 3)}


def s_skew(im, mask, rng):
    kw = dict(skew_factor=float(rng.choice([-1, 1]) * _u(rng, 0.05, 0.3)), axis=int(rng.integers(0, 2)))
    out, m = _geo(imaugs.skew, im, mask, **kw)
    return out, m, kw


def s_hflip(im, mask, rng):
    out, m = _geo(imaugs.hflip, im, mask)
    return out, m, {}


def s_vflip(im, mask, rng):
    out, m = _geo(imaugs.vflip, im, mask)
    return out, m, {}


# -- reimplemented AugLy functions (broken on current Pillow / numpy) -------------------------------------------
def s_meme(im, mask, rng):
    """augly meme_format: a caption bar with text above the photo (getsize_multiline is gone: textbbox instead)."""
    w, h = im.size
    bar = int(h * _u(rng, 0.15, 0.3))
    bg = tuple(int(c) for c in rng.choice([[255, 255, 255], [0, 0, 0], list(rng.integers(0, 256, 3))]))
    fg = (0, 0, 0) if sum(bg) > 380 else (255, 255, 255)
    text = " ".join(rng.choice(WORDS, int(rng.integers(2, 5)))).upper()
    font_name = str(rng.choice(["Chunkfive", "OpenSans-Bold", "SourceSansPro-Black"]))
    canvas = Image.new("RGB", (w, h + bar), bg)
    canvas.paste(im, (0, bar))
    draw = ImageDraw.Draw(canvas)
    size = bar * 0.6
    font = _font(font_name, size)
    while size > 6 and draw.textbbox((0, 0), text, font=font)[2] > w * 0.92:
        size *= 0.9
        font = _font(font_name, size)
    x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=font)
    draw.text(((w - (x1 - x0)) / 2 - x0, (bar - (y1 - y0)) / 2 - y0), text, fill=fg, font=font)
    m = None
    if mask is not None:
        m = Image.new("L", canvas.size, 0)
        m.paste(mask, (0, bar))
    return canvas, m, {"bar_share": round(bar / h, 3), "text": text, "font": font_name, "bg": bg}


def s_perspective(im, mask, rng):
    """augly perspective_transform (np.float is gone): cv2.warpPerspective of a small random quad, black borders."""
    w, h = im.size
    sigma = _u(rng, 0.03, 0.08)
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = src + rng.normal(0, sigma, (4, 2)).astype(np.float32) * np.float32([w, h])
    H = cv2.getPerspectiveTransform(src, dst)
    out = cv2.warpPerspective(np.asarray(im), H, (w, h), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))
    m = None
    if mask is not None:
        m = Image.fromarray(cv2.warpPerspective(np.asarray(mask), H, (w, h), flags=cv2.INTER_NEAREST), "L")
    return Image.fromarray(out), m, {"sigma": round(sigma, 3), "corners": np.round(dst / [w, h], 3).tolist()}


# -- rotations, crops, combos ---------------------------------------------------------------------------------
def rotate_exact(im, mask, degrees: float, crop_corners: bool):
    out = im.rotate(degrees, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(0, 0, 0))
    m = mask.rotate(degrees, resample=Image.Resampling.NEAREST, expand=True, fillcolor=0) if mask is not None else None
    if crop_corners:
        wr, hr = _imutils.rotated_rect_with_max_area(im.width, im.height, degrees)
        cx, cy = out.width / 2, out.height / 2
        box = (int(cx - wr / 2), int(cy - hr / 2), int(cx + wr / 2), int(cy + hr / 2))
        out = out.crop(box)
        m = m.crop(box) if m is not None else None
    return out, m


def s_rotation(degrees: float, crop_corners: bool):
    def fn(im, mask, rng):
        d = float(rng.choice([-1, 1]) * degrees)
        out, m = rotate_exact(im, mask, d, crop_corners)
        return out, m, {"degrees": d, "corners_cropped": crop_corners}

    return fn


def crop_area(im, mask, rng, area: float, jitter: float = 0.85):
    w, h = im.size
    side = math.sqrt(area)
    sx = _u(rng, max(side * jitter, area), min(1.0, side / jitter))
    sy = area / sx
    cw, ch = max(8, int(round(w * sx))), max(8, int(round(h * sy)))
    x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    box = (x, y, x + cw, y + ch)
    return im.crop(box), (mask.crop(box) if mask is not None else None), {"area": area, "box": [x / w, y / h, (x + cw) / w, (y + ch) / h]}


def s_crop_area(area: float | tuple[float, float]):
    def fn(im, mask, rng):
        a = area if isinstance(area, float) else _u(rng, *area)
        return crop_area(im, mask, rng, a)

    return fn


def s_frame(im, mask, rng):
    w, h = im.size
    b = max(2, int(max(w, h) * _u(rng, 0.03, 0.1)))
    color = tuple(int(c) for c in rng.choice([[255, 255, 255], [0, 0, 0], list(rng.integers(0, 256, 3))]))
    out = ImageOps.expand(im, b, fill=color)
    m = ImageOps.expand(mask, b, fill=0) if mask is not None else None
    return out, m, {"border": b, "color": color}


def s_flip_any(im, mask, rng):
    t = Image.Transpose.FLIP_LEFT_RIGHT if rng.random() < 0.7 else Image.Transpose.FLIP_TOP_BOTTOM
    return im.transpose(t), (mask.transpose(t) if mask is not None else None), {"flip": t.name}


def s_rot90(im, mask, rng):
    t = [Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_180, Image.Transpose.ROTATE_270][int(rng.integers(3))]
    return im.transpose(t), (mask.transpose(t) if mask is not None else None), {"turn": t.name}


def s_resize(im, mask, rng):
    f = _u(rng, 0.4, 0.8) if min(im.size) >= 320 else _u(rng, 0.8, 1.5)
    size = (max(16, int(im.width * f)), max(16, int(im.height * f)))
    return im.resize(size, Image.Resampling.LANCZOS), (mask.resize(size, Image.Resampling.NEAREST) if mask is not None else None), {"factor": round(f, 3)}


# -- feed screenshots of posts ----------------------------------------------------------------------------------
def feed_screenshot(im, mask, rng, cut: str):
    """A phone screenshot of a social-network feed: status bar, post header (avatar, name, handle), text lines, the
    photo filling 15-40% of the screenshot, cut by the viewport at the top or bottom, action bar, next post."""
    W = int(rng.choice([720, 1080]))
    u = W / 720
    dark = bool(rng.random() < 0.35)
    bg, fg, sub, line = ((0, 0, 0), (231, 233, 234), (113, 118, 123), (47, 51, 54)) if dark else \
        ((255, 255, 255), (15, 20, 25), (83, 100, 113), (239, 243, 244))  # fmt: skip
    share, visible = _u(rng, 0.15, 0.40), _u(rng, 0.55, 0.9)
    aspect = im.height / im.width
    status, nav = int(48 * u), int(96 * u)
    h_target = W * _u(rng, 1.7, 2.2)
    pw = int(min(W, max(0.4 * W, math.sqrt(h_target * share * W / (aspect * visible)))))
    if pw > 0.9 * W:
        pw = W
    margin_l = (W - pw) // 2
    ph = max(8, int(pw * aspect))
    vis = max(8, int(ph * visible))
    H = max(int(pw * vis / (share * W)), vis + status + nav + int(200 * u))
    canvas = Image.new("RGB", (W, H), bg)
    m = Image.new("L", (W, H), 0) if mask is not None else None
    draw = ImageDraw.Draw(canvas)
    f_name, f_text, f_small = _font("OpenSans-Bold", 28 * u), _font("OpenSans-Regular", 28 * u), _font("OpenSans-Regular", 24 * u)
    name = str(rng.choice(["Daily Herald", "News Now", "Metro Wire", "J. Smith", "Local Eye", "World Report"]))
    handle = "@" + name.lower().replace(" ", "").replace(".", "")

    def header(y: int) -> int:
        r = int(44 * u)
        draw.ellipse([int(20 * u), y, int(20 * u) + r, y + r], fill=tuple(int(c) for c in rng.integers(40, 220, 3)))
        draw.text((int(76 * u), y), name, fill=fg, font=f_name)
        draw.text((int(76 * u) + draw.textlength(name, font=f_name) + 10 * u, y + 2 * u), f"{handle} · {int(rng.integers(1, 23))}h", fill=sub, font=f_small)
        return y + r + int(8 * u)

    def text_lines(y: int, n: int) -> int:
        for _ in range(n):
            draw.text((int(76 * u), y), " ".join(rng.choice(WORDS, int(rng.integers(4, 8)))).capitalize(), fill=fg, font=f_text)
            y += int(38 * u)
        return y + int(10 * u)

    def actions(y: int) -> int:
        x = int(76 * u)
        for label in (f"{int(rng.integers(1, 999))}", f"{int(rng.integers(1, 99))}.{int(rng.integers(0, 9))}K", "♥ " + str(int(rng.integers(1, 9999))), "Share"):
            draw.text((x, y), label, fill=sub, font=f_small)
            x += int(150 * u)
        y += int(50 * u)
        draw.line([0, y, W, y], fill=line, width=max(1, int(2 * u)))
        return y + int(12 * u)

    photo = im.resize((pw, ph), Image.Resampling.LANCZOS)
    pmask = mask.resize((pw, ph), Image.Resampling.NEAREST) if mask is not None else None
    if cut == "bottom":  # end of an earlier post, then the post whose photo runs past the bottom of the viewport
        top = H - nav - vis
        y_head = max(status + int(8 * u), top - int(52 * u) - int(2 * 38 * u) - int(20 * u))
        y = status + int(10 * u)
        while y < y_head - int(90 * u):
            y = text_lines(y, 1)
        if y < y_head - int(62 * u):
            actions(y)
        y = header(y_head)
        text_lines(y, 2)
        canvas.paste(photo.crop((0, 0, pw, vis)), (margin_l, top))
        if m is not None and pmask is not None:
            m.paste(pmask.crop((0, 0, pw, vis)), (margin_l, top))
    else:  # the photo enters from under the status bar, then its action bar and the next post
        top = status
        canvas.paste(photo.crop((0, ph - vis, pw, ph)), (margin_l, top))
        if m is not None and pmask is not None:
            m.paste(pmask.crop((0, ph - vis, pw, ph)), (margin_l, top))
        y = actions(top + vis + int(12 * u))
        while y < H - nav - int(80 * u):
            y = header(y)
            y = text_lines(y, int(rng.integers(1, 4)))
    draw.rectangle([0, 0, W, status], fill=bg)
    draw.text((int(24 * u), int(8 * u)), f"{int(rng.integers(7, 23))}:{int(rng.integers(0, 60)):02d}", fill=fg, font=f_small)
    draw.text((W - int(170 * u), int(8 * u)), "LTE  87%", fill=fg, font=f_small)
    draw.rectangle([0, H - nav, W, H], fill=bg)
    draw.line([0, H - nav, W, H - nav], fill=line, width=max(1, int(2 * u)))
    for i, label in enumerate(("Home", "Search", "Alerts", "Inbox")):
        draw.text((int((i + 0.3) * W / 4), H - nav + int(30 * u)), label, fill=sub, font=f_small)
    params = {"width": W, "height": H, "dark": dark, "cut": cut, "photo_px": [margin_l, top, margin_l + pw, top + vis],
              "photo_share": round(pw * vis / (W * H), 3), "visible_share_of_photo": round(vis / ph, 3)}  # fmt: skip
    return canvas, m, params


def s_feed(cut: str):
    return lambda im, mask, rng: feed_screenshot(im, mask, rng, cut)


# -- pasted boxes and text (local edits, >= 4% of the picture) --------------------------------------------------
def s_paste_box(im, mask, rng, donor: Image.Image | None = None):
    w, h = im.size
    area = _u(rng, 0.04, 0.12)
    ar = math.exp(_u(rng, math.log(0.5), math.log(2.5)))
    bw, bh = min(w - 2, int(math.sqrt(area * w * h * ar))), min(h - 2, int(math.sqrt(area * w * h / ar)))
    x, y = int(rng.integers(0, w - bw)), int(rng.integers(0, h - bh))
    kind = str(rng.choice(["solid", "logo", "patch"])) if donor is not None else str(rng.choice(["solid", "logo"]))
    out = im.copy()
    if kind == "patch":
        dw, dh = donor.size
        s = min(1.0, dw / bw, dh / bh)
        src_w, src_h = max(1, int(bw * s)), max(1, int(bh * s))
        dx, dy = int(rng.integers(0, dw - src_w + 1)), int(rng.integers(0, dh - src_h + 1))
        out.paste(donor.crop((dx, dy, dx + src_w, dy + src_h)).resize((bw, bh)), (x, y))
    else:
        draw = ImageDraw.Draw(out)
        fill = tuple(int(c) for c in rng.integers(0, 256, 3))
        draw.rectangle([x, y, x + bw - 1, y + bh - 1], fill=fill)
        if kind == "logo":
            fg = (0, 0, 0) if sum(fill) > 380 else (255, 255, 255)
            draw.text((x + bw * 0.06, y + bh * 0.25), str(rng.choice(WORDS)).upper(), fill=fg, font=_font("OpenSans-Bold", max(8, bh * 0.4)))
    m = Image.new("L", (w, h), 0) if mask is None else mask.copy()
    ImageDraw.Draw(m).rectangle([x, y, x + bw - 1, y + bh - 1], fill=255)
    return out, m, {"paste_kind": kind, "box_px": [x, y, x + bw, y + bh], "area": round(bw * bh / (w * h), 4)}


def s_paste_text(im, mask, rng):
    """Words written over the picture (no background box), sized so their bounding box covers >= 4% of it."""
    w, h = im.size
    text = " ".join(rng.choice(WORDS, int(rng.integers(1, 4)))).upper()
    font_name = str(rng.choice(TEXT_FONTS[:5]))
    target = _u(rng, 0.05, 0.14)
    out = im.copy()
    draw = ImageDraw.Draw(out)
    size = h * 0.1
    for _ in range(30):
        font = _font(font_name, size)
        x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=font, stroke_width=max(1, int(size / 15)))
        if (x1 - x0) * (y1 - y0) >= target * w * h or x1 - x0 > 0.9 * w:
            break
        size *= 1.15
    while (x1 - x0) > 0.95 * w and size > 8:
        size *= 0.9
        font = _font(font_name, size)
        x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=font, stroke_width=max(1, int(size / 15)))
    tw, th = x1 - x0, y1 - y0
    x, y = int(rng.integers(0, max(1, w - tw))), int(rng.integers(0, max(1, h - th)))
    color = tuple(int(c) for c in rng.choice([[255, 255, 255], [255, 220, 0], [230, 30, 30], list(rng.integers(0, 256, 3))]))
    stroke = (0, 0, 0) if sum(color) > 380 else (255, 255, 255)
    draw.text((x - x0, y - y0), text, fill=color, font=font, stroke_width=max(1, int(size / 15)), stroke_fill=stroke)
    m = Image.new("L", (w, h), 0) if mask is None else mask.copy()
    ImageDraw.Draw(m).rectangle([x, y, x + tw - 1, y + th - 1], fill=255)  # the text's box is the pasted area
    return out, m, {"text": text, "font": font_name, "box_px": [x, y, x + tw, y + th], "area": round(tw * th / (w * h), 4)}


# ==================================================================================================================
# families
# ==================================================================================================================
AUGLY_STEPS: dict[str, Step] = {
    "augly_screenshot_web": Step("overlay_onto_screenshot(web)", "geometry", s_augly_screenshot("web.png")),
    "augly_screenshot_mobile": Step("overlay_onto_screenshot(mobile)", "geometry", s_augly_screenshot("mobile.png")),
    "augly_emoji": Step("overlay_emoji", "local", s_emoji, paste=True),
    "augly_text": Step("overlay_text", "local", s_augly_text, paste=True),
    "augly_pad_square": Step("pad_square", "geometry", s_pad_square),
    "augly_rotate": Step("rotate", "geometry", s_augly_rotate),
    "augly_crop": Step("crop", "geometry", s_augly_crop),
    "augly_aspect": Step("change_aspect_ratio", "geometry", s_aspect),
    "augly_stripes": Step("overlay_stripes", "local", s_stripes),
    "augly_encoding": Step("encoding_quality", "geometry", s_encoding),
    "augly_meme": Step("meme_format(reimpl)", "geometry", s_meme),
    "augly_perspective": Step("perspective_transform(reimpl)", "geometry", s_perspective),
    "augly_scale": Step("scale", "geometry", s_scale),
    "augly_skew": Step("skew", "geometry", s_skew),
    "augly_hflip": Step("hflip", "geometry", s_hflip),
    "augly_vflip": Step("vflip", "geometry", s_vflip),
    "augly_blur": Step("blur", "photometric", _photometric(imaugs.blur, radius=(1.0, 3.0))),
    "augly_brightness": Step("brightness", "photometric", _photometric(imaugs.brightness, factor=(0.6, 1.5))),
    "augly_contrast": Step("contrast", "photometric", _photometric(imaugs.contrast, factor=(0.6, 1.6))),
    "augly_saturation": Step("saturation", "photometric", _photometric(imaugs.saturation, factor=(0.3, 2.0))),
    "augly_color_jitter": Step("color_jitter", "photometric", _photometric(imaugs.color_jitter, brightness_factor=(0.8, 1.2),
                                                                            contrast_factor=(0.8, 1.2), saturation_factor=(0.5, 1.5))),  # fmt: skip
    "augly_grayscale": Step("grayscale", "photometric", _photometric(imaugs.grayscale)),
    "augly_pixelization": Step("pixelization", "photometric", _photometric(imaugs.pixelization, ratio=(0.3, 0.7))),
    "augly_sharpen": Step("sharpen", "photometric", _photometric(imaugs.sharpen, factor=(1.5, 4.0))),
    "augly_noise": Step("random_noise", "photometric", _photometric(imaugs.random_noise, var=(0.002, 0.01))),
}
# Screenshots only as the last step of a chain (nothing is done to a screenshot afterwards but re-encoding).
CHAIN_POOL = [k for k in AUGLY_STEPS if not k.startswith("augly_screenshot")]
ROTATION_DEGREES = (2, 5, 8, 12, 15, 20)
JPEG_QUALITIES = (30, 50, 70, 90)


def _plain(step_key: str) -> list[Step]:
    return [AUGLY_STEPS[step_key]]


FAMILIES: dict[str, tuple[str, Callable[[np.random.Generator], list[Step]]]] = {}
for _k in AUGLY_STEPS:
    FAMILIES[_k] = ("single", (lambda k: (lambda rng: _plain(k)))(_k))
for _q in JPEG_QUALITIES:
    FAMILIES[f"jpeg_q{_q}"] = ("single", lambda rng: [])  # encoding only
for _d in ROTATION_DEGREES:
    FAMILIES[f"rot{_d}_black"] = ("rotation", (lambda d: lambda rng: [Step(f"rotate{d}", "geometry", s_rotation(d, False))])(_d))
    FAMILIES[f"rot{_d}_cropped"] = ("rotation", (lambda d: lambda rng: [Step(f"rotate{d}_cropped", "geometry", s_rotation(d, True))])(_d))
for _a in (80, 70, 60):
    FAMILIES[f"crop_{_a}"] = ("single", (lambda a: lambda rng: [Step(f"crop{a}", "geometry", s_crop_area(a / 100))])(_a))
FAMILIES["crop_50"] = ("crop_deep", lambda rng: [Step("crop50", "geometry", s_crop_area(0.5))])
FAMILIES["feed_cut_bottom"] = ("screenshot", lambda rng: [Step("feed_screenshot", "geometry", s_feed("bottom"))])
FAMILIES["feed_cut_top"] = ("screenshot", lambda rng: [Step("feed_screenshot", "geometry", s_feed("top"))])
FAMILIES["flip_frame"] = ("combo", lambda rng: [Step("flip", "geometry", s_flip_any), Step("frame", "geometry", s_frame)])
FAMILIES["rot90_crop"] = ("combo", lambda rng: [Step("rot90", "geometry", s_rot90), Step("crop", "geometry", s_crop_area((0.6, 0.9)))])
FAMILIES["flip_crop"] = ("combo", lambda rng: [Step("flip", "geometry", s_flip_any), Step("crop", "geometry", s_crop_area((0.6, 0.9)))])


def _chain(n: int):
    def pick(rng: np.random.Generator) -> list[Step]:
        keys = list(rng.choice(CHAIN_POOL, n, replace=False))
        if rng.random() < 0.15:  # sometimes a screenshot closes the chain
            keys[-1] = str(rng.choice(["augly_screenshot_web", "augly_screenshot_mobile"]))
        return [AUGLY_STEPS[k] for k in keys]

    return pick


FAMILIES["chain2"] = ("chain", _chain(2))
FAMILIES["chain3"] = ("chain", _chain(3))
_GEO_AFTER_EDIT = {"none": None, "resize": s_resize, "crop90": s_crop_area(0.9), "flip": s_flip_any, "rot5_cropped": s_rotation(5, True),
                   "frame": s_frame, "pad_square": s_pad_square}  # fmt: skip


def _edit(kind: str, then: bool):
    def pick(rng: np.random.Generator) -> list[Step]:
        steps = [Step("paste_box", "local", s_paste_box, paste=True) if kind == "box" else Step("paste_text", "local", s_paste_text, paste=True)]
        if then:
            key = str(rng.choice([k for k in _GEO_AFTER_EDIT if k != "none"]))
            steps.append(Step(key, "geometry", _GEO_AFTER_EDIT[key]))
        return steps

    return pick


FAMILIES["edit_box"] = ("edit", _edit("box", False))
FAMILIES["edit_text"] = ("edit", _edit("text", False))
FAMILIES["edit_box_then_geometry"] = ("edit", _edit("box", True))
FAMILIES["edit_text_then_geometry"] = ("edit", _edit("text", True))

# Families applied to distinct and same-scene queries (a representative, cheap subset).
NEGATIVE_FAMILIES = ["jpeg_q70", "augly_scale", "crop_80", "rot5_cropped", "feed_cut_bottom", "augly_emoji", "augly_text",
                     "flip_crop", "augly_screenshot_mobile", "chain2", "augly_pad_square", "augly_blur"]  # fmt: skip


# ==================================================================================================================
# cases
# ==================================================================================================================
@dataclass
class Case:
    id: str
    family: str
    group: str  # single chain combo crop_deep screenshot rotation edit distinct distinct_crops same_scene
    registered: str | None  # the registered image the query is a copy of (None: must match nothing)
    source: str  # the image the query was made from
    query: bytes
    fmt: str  # jpeg / png
    geometry_only: bool
    change: str  # geometry / photometric / local
    pasted_box: tuple[float, float, float, float] | None  # shares of the query image
    pasted_share: float | None
    steps: list[dict]
    registry: str = "main"
    size: tuple[int, int] = (0, 0)


@dataclass(frozen=True)
class Spec:
    id: str
    family: str
    group: str
    registered: str | None
    source: str  # key into CaseSet.sources
    seed: int
    registry: str = "main"


def _seed(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:8], "little")


def materialize(spec: Spec, source: Image.Image, donor: Image.Image | None = None) -> Case:
    rng = np.random.default_rng(spec.seed)
    group, pick = FAMILIES[spec.family]
    steps = pick(rng)
    im, mask = source.convert("RGB"), None
    applied = []
    for step in steps:
        if step.fn is s_paste_box:
            im, mask, params = s_paste_box(im, mask, rng, donor)
        else:
            im, mask, params = step.fn(im, mask, rng)
        applied.append({"step": step.name, "kind": step.kind, **_jsonable(params)})
    kinds = {s["kind"] for s in applied}
    change = "local" if "local" in kinds else "photometric" if "photometric" in kinds else "geometry"
    screenshot = any(s.name.startswith(("feed_screenshot", "overlay_onto_screenshot")) for s in steps)
    if spec.family.startswith("jpeg_q"):
        q, fmt = int(spec.family[6:]), "jpeg"
    elif screenshot:
        q, fmt = 0, "png"
    else:
        q, fmt = int(rng.integers(72, 93)), "jpeg"
    data = jpeg(im, q) if fmt == "jpeg" else png(im)
    applied.append({"step": "encode", "kind": "geometry", "format": fmt, **({"quality": q} if q else {})})
    box = share = None
    if mask is not None and any(s.paste for s in steps):
        arr = np.asarray(mask) > 0
        if arr.any():
            ys, xs = np.nonzero(arr)
            w, h = im.size
            box = (round(float(xs.min()) / w, 4), round(float(ys.min()) / h, 4), round(float(xs.max() + 1) / w, 4), round(float(ys.max() + 1) / h, 4))
            share = round((box[2] - box[0]) * (box[3] - box[1]), 4)
    return Case(spec.id, spec.family, spec.group, spec.registered, spec.source, data, fmt, change == "geometry", change,
                box, share, applied, spec.registry, im.size)  # fmt: skip


def _jsonable(obj):  # type: ignore[no-untyped-def]
    return json.loads(json.dumps(obj, default=lambda o: o.item() if hasattr(o, "item") else str(o)))


@dataclass
class CaseSet:
    split: str
    seed: int
    specs: list[Spec]
    registries: dict[str, list[str]]  # registry -> registered names (register all before verifying its cases)
    images: dict[str, bytes]  # registered name -> bytes
    origin: dict[str, str]  # registered name / query source -> photo it was cut from
    _sources: dict[str, Callable[[], Image.Image]] = field(repr=False, default_factory=dict)

    def __len__(self) -> int:
        return len(self.specs)

    def __iter__(self) -> Iterator[Case]:
        return self.iter_cases()

    def source_image(self, key: str) -> Image.Image:
        return self._sources[key]()

    def iter_cases(self, specs: list[Spec] | None = None) -> Iterator[Case]:
        for spec in specs if specs is not None else self.specs:
            donor_key = [k for k in self._sources if not k.startswith(spec.source.split("#")[0])]
            donor = self._sources[donor_key[spec.seed % len(donor_key)]]() if spec.family.startswith("edit_box") else None
            yield materialize(spec, self.source_image(spec.source), donor)

    def subset(self, families: list[str] | None = None, groups: list[str] | None = None, limit_per_family: int | None = None) -> CaseSet:
        seen: dict[str, int] = {}
        out = []
        for s in self.specs:
            if families and s.family not in families and s.group not in ("distinct", "distinct_crops", "same_scene"):
                continue
            if groups and s.group not in groups:
                continue
            key = f"{s.group}:{s.family}"
            if limit_per_family is not None and seen.get(key, 0) >= limit_per_family:
                continue
            seen[key] = seen.get(key, 0) + 1
            out.append(s)
        return CaseSet(self.split, self.seed, out, self.registries, self.images, self.origin, self._sources)

    def counts(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for s in self.specs:
            out.setdefault(s.group, {}).setdefault(s.family, 0)
            out[s.group][s.family] += 1
        return out

    def pair_counts(self) -> dict[str, int]:
        """Pairs (query, registered image) that must not match: distinct queries x registered images of their
        registry, split into 'distinct' (other photos), 'distinct_crops' (non-overlapping tiles of the same photo)
        and 'same_scene'; plus 'other_image' pairs of copy queries with every registered image but their own."""
        out = {"distinct": 0, "distinct_crops": 0, "same_scene": 0, "other_image": 0}
        for s in self.specs:
            names = self.registries[s.registry]
            if s.registered is not None:
                out["other_image"] += len(names) - 1
                continue
            src = self.origin.get(s.source, s.source)
            same = sum(1 for n in names if self.origin.get(n) == src)
            if s.group == "same_scene":
                out["same_scene"] += 1
                out["distinct"] += len(names) - 1
            else:
                out["distinct_crops"] += same
                out["distinct"] += len(names) - same
        out["distinct_queries"] = sum(1 for s in self.specs if s.registered is None)
        out["registered"] = {k: len(v) for k, v in self.registries.items()}  # type: ignore[assignment]
        return out


def build(split: str = "heldout", seed: int = 9, per_photo: int = 2, families: list[str] | None = None,
          negatives_per_tile: int = 8, negatives_per_photo: int = 12, stereo: bool = True) -> CaseSet:  # fmt: skip
    """Plan the benchmark for one split: copies of that split's photos (per_photo parameterisations per family),
    distinct queries from the other split, same-scene queries (stereo pair, both directions). Cheap: no image work
    beyond loading the photos; cases are made when iterated."""
    if split not in ("calibration", "heldout"):
        raise ValueError(split)
    other = "heldout" if split == "calibration" else "calibration"
    mine, theirs = load_photos(split), load_photos(other)
    sources: dict[str, Callable[[], Image.Image]] = {}
    images: dict[str, bytes] = {}
    origin: dict[str, str] = {}
    main: list[str] = []
    for p in mine:
        images[p.name] = p.data
        origin[p.name] = p.name
        sources[p.name] = (lambda p=p: p.image)
        main.append(p.name)
    specs: list[Spec] = []
    fams = families or list(FAMILIES)
    for p in mine:
        for fam in fams:
            group = FAMILIES[fam][0]
            for k in range(per_photo):
                specs.append(Spec(f"{p.name}/{fam}/{k}", fam, group, p.name, p.name, _seed(seed, split, p.name, fam, k)))
    # distinct: tiles of the other split's large photos (A half registered as decoys, B half queried), other
    # split's smaller photos queried whole.
    neg_rng = np.random.default_rng(_seed(seed, split, "negatives"))
    for p in theirs:
        if p.large:
            for name, box, half in tiles(p):
                origin[name] = p.name
                sources[name] = (lambda p=p, box=box: p.image.crop(box))
                if half == "A":
                    images[name] = jpeg(p.image.crop(box), 92)
                    main.append(name)
                else:
                    for k, fam in enumerate(neg_rng.choice(NEGATIVE_FAMILIES, negatives_per_tile, replace=False)):
                        specs.append(Spec(f"{name}/{fam}/{k}", str(fam), "distinct_crops*", None, name, _seed(seed, name, fam, k)))
        else:
            origin[p.name] = p.name
            sources[p.name] = (lambda p=p: p.image)
            for k, fam in enumerate(neg_rng.choice(NEGATIVE_FAMILIES, min(negatives_per_photo, len(NEGATIVE_FAMILIES)), replace=False)):
                specs.append(Spec(f"{p.name}/{fam}/{k}", str(fam), "distinct", None, p.name, _seed(seed, p.name, fam, k)))
    # tile queries are 'distinct_crops' when their photo has registered tiles (always, by construction)
    specs = [Spec(s.id, s.family, "distinct_crops" if s.group == "distinct_crops*" else s.group, s.registered, s.source, s.seed, s.registry)
             for s in specs]  # fmt: skip
    registries = {"main": main}
    if stereo:
        st = stereo_photos()
        for view, other_view in (("stereo-left", "stereo-right"), ("stereo-right", "stereo-left")):
            reg = f"scene:{view}"
            images[view] = st[view].data
            origin[view] = "stereo"
            origin[other_view] = "stereo"
            sources[other_view] = (lambda v=other_view: st[v].image)
            registries[reg] = [n for n in main if n != "skimage-motorcycle_left"] + [view]
            for fam in ["jpeg_q90", *NEGATIVE_FAMILIES, "rot5_black", "crop_70", "augly_hflip", "augly_perspective"]:
                for k in range(2 if fam not in ("jpeg_q90",) else 1):
                    specs.append(Spec(f"{other_view}@{view}/{fam}/{k}", fam, "same_scene", None, other_view,
                                      _seed(seed, view, fam, k), reg))  # fmt: skip
    return CaseSet(split, seed, specs, registries, images, origin, sources)


def describe() -> dict[str, object]:
    """Photo inventory for the notes."""
    photos = load_photos()
    return {"photos": {p.name: {"size": p.image.size, "pdq_quality": p.quality, "split": p.split, "large": p.large} for p in photos},
            "excluded_flat": excluded_photos()}  # fmt: skip


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--split", default="heldout")
    ap.add_argument("--seed", type=int, default=9)
    ap.add_argument("--per-photo", type=int, default=2)
    ap.add_argument("--dump", type=Path, help="write every query and a cases.jsonl here")
    args = ap.parse_args()
    cs = build(args.split, args.seed, args.per_photo)
    print(json.dumps({"counts": cs.counts(), "pairs": cs.pair_counts()}, indent=1))
    if args.dump:
        args.dump.mkdir(parents=True, exist_ok=True)
        with open(args.dump / "cases.jsonl", "w") as f:
            for c in cs:
                fn = c.id.replace("/", "__").replace("#", "_").replace("@", "_at_") + "." + ("jpg" if c.fmt == "jpeg" else "png")
                (args.dump / fn).write_bytes(c.query)
                row = {k: v for k, v in c.__dict__.items() if k != "query"}
                f.write(json.dumps({**row, "file": fn}) + "\n")
