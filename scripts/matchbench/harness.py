"""Evaluate a matcher on the cases of cases.py.

    from cases import build
    from harness import evaluate, Result
    report = evaluate(build("heldout"), register, verify, reset=reset)

register(name, data): add a registered image; verify(query bytes) -> Result; reset(): empty the registry (needed
only when the case set has more than one registry: the same-scene cases register the other stereo view).
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

POSITIVE = ("copy", "edited", "original", "same_pixels")
GROUP_TARGETS = {"single": 0.95, "rotation": 0.95, "screenshot": 0.95, "chain": 0.90, "combo": 0.90, "crop_deep": 0.85}
PASTE_MIN_SHARE = 0.04


@dataclass
class Result:
    verdict: str  # original / same_pixels / copy / edited / similar_scene / retracted / unknown
    matched: str | None = None  # registered name
    changed_boxes: list[tuple[float, float, float, float]] = field(default_factory=list)  # shares of the query image
    heatmap: np.ndarray | None = None  # 2-D, query frame (any resolution), NaN = not compared


def _iou_boxes(boxes: list[tuple[float, float, float, float]], target: tuple[float, float, float, float], grid: int = 200) -> float:
    """IoU between the union of boxes and the target box, rasterised on a grid over the query frame."""
    a = np.zeros((grid, grid), bool)
    for x0, y0, x1, y1 in boxes:
        a[int(max(0, y0) * grid) : int(np.ceil(min(1, y1) * grid)), int(max(0, x0) * grid) : int(np.ceil(min(1, x1) * grid))] = True
    b = np.zeros_like(a)
    x0, y0, x1, y1 = target
    b[int(y0 * grid) : int(np.ceil(y1 * grid)), int(x0 * grid) : int(np.ceil(x1 * grid))] = True
    union = (a | b).sum()
    return float((a & b).sum() / union) if union else 0.0


def _iou_heat(heat: np.ndarray, target: tuple[float, float, float, float], level: float = 0.5) -> float:
    """IoU between the heatmap's hot area (>= level x max) and the target box, in the heatmap's own grid."""
    h = np.nan_to_num(np.asarray(heat, dtype=np.float32), nan=0.0)
    if h.size == 0 or h.max() <= 0:
        return 0.0
    hot = h >= level * h.max()
    gh, gw = hot.shape
    b = np.zeros_like(hot)
    x0, y0, x1, y1 = target
    b[int(y0 * gh) : max(int(y0 * gh) + 1, int(np.ceil(y1 * gh))), int(x0 * gw) : max(int(x0 * gw) + 1, int(np.ceil(x1 * gw)))] = True
    union = (hot | b).sum()
    return float((hot & b).sum() / union) if union else 0.0


def _pct(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    v = sorted(values)
    q = lambda p: round(v[min(len(v) - 1, int(p * len(v)))], 1)  # noqa: E731
    return {"n": len(v), "median": round(statistics.median(v), 1), "p90": q(0.90), "p99": q(0.99), "max": round(v[-1], 1)}


def evaluate(cases: Any, register: Callable[[str, bytes], None], verify: Callable[[bytes], Result],
             reset: Callable[[], None] | None = None, progress: bool = True, keep_rows: bool = True) -> dict[str, Any]:  # fmt: skip
    """cases: a cases.CaseSet (registries + lazily built cases). Registers each registry's images, verifies its
    cases, and scores them. Returns a JSON-able dict (also printed as tables)."""
    started = time.time()
    registries: dict[str, list[str]] = cases.registries
    specs_by_reg: dict[str, list[Any]] = {}
    for s in cases.specs:
        specs_by_reg.setdefault(s.registry, []).append(s)
    rows: list[dict[str, Any]] = []
    verify_ms: list[float] = []
    register_ms: list[float] = []
    skipped_registries = []
    generation_errors: list[str] = []
    first = True
    for reg, specs in specs_by_reg.items():
        if not first:
            if reset is None:
                skipped_registries.append(reg)
                continue
            reset()
        first = False
        for name in registries[reg]:
            t = time.perf_counter()
            register(name, cases.images[name])
            register_ms.append((time.perf_counter() - t) * 1e3)
        for i, spec in enumerate(specs):
            try:
                case = next(cases.iter_cases([spec]))
            except Exception as exc:  # a generator bug must not end the run: reported, not scored
                generation_errors.append(f"{spec.id}: {type(exc).__name__}: {exc}"[:200])
                continue
            t = time.perf_counter()
            try:
                res = verify(case.query)
                error = None
            except Exception as exc:  # a crash is a miss, reported
                res, error = Result("unknown"), f"{type(exc).__name__}: {exc}"[:200]
            ms = (time.perf_counter() - t) * 1e3
            verify_ms.append(ms)
            rows.append(_score(case, res, ms, error, cases.origin))
            if progress and (i + 1) % 100 == 0:
                print(f"  [{reg}] {i + 1}/{len(specs)} cases, {time.time() - started:.0f} s", flush=True)
    report = summarise(rows, cases, verify_ms, register_ms)
    report["skipped_registries"] = skipped_registries
    report["generation_errors"] = generation_errors
    report["seconds"] = round(time.time() - started, 1)
    if keep_rows:
        report["rows"] = rows
    print_report(report)
    return report


def _score(case: Any, res: Result, ms: float, error: str | None, origin: dict[str, str]) -> dict[str, Any]:
    positive = res.verdict in POSITIVE and res.matched is not None
    row: dict[str, Any] = {"id": case.id, "family": case.family, "group": case.group, "registry": case.registry,
                           "expected": case.registered, "verdict": res.verdict, "matched": res.matched, "ms": round(ms, 1),
                           "geometry_only": case.geometry_only, "change": case.change}  # fmt: skip
    if error:
        row["error"] = error
    if case.registered is not None:
        row["detected"] = positive and res.matched == case.registered
        row["wrong_photo"] = positive and res.matched != case.registered
        row["false_match"] = row["wrong_photo"]
    else:
        row["detected"] = False
        row["false_match"] = positive
        if positive:
            same_source = origin.get(res.matched) == origin.get(case.source, case.source)
            row["false_kind"] = "same_scene" if case.group == "same_scene" else "distinct_crops" if same_source else "distinct"
    if case.registered is not None and case.pasted_box is not None and case.pasted_share is not None and case.pasted_share >= PASTE_MIN_SHARE:
        row["pasted_box"] = list(case.pasted_box)
        row["pasted_share"] = case.pasted_share
        iou_b = _iou_boxes(res.changed_boxes, case.pasted_box) if res.changed_boxes else 0.0
        iou_h = _iou_heat(res.heatmap, case.pasted_box) if res.heatmap is not None else 0.0
        row["iou_boxes"], row["iou_heat"] = round(iou_b, 3), round(iou_h, 3)
        row["paste_ok"] = bool(row["detected"] and res.verdict == "edited" and max(iou_b, iou_h) >= 0.5)
    return row


def summarise(rows: list[dict[str, Any]], cases: Any, verify_ms: list[float], register_ms: list[float]) -> dict[str, Any]:
    fam: dict[str, dict[str, Any]] = {}
    for r in rows:
        f = fam.setdefault(f"{r['group']}/{r['family']}", {"group": r["group"], "family": r["family"], "n": 0, "detected": 0,
                                                           "edited": 0, "false_match": 0, "verdicts": {}})  # fmt: skip
        f["n"] += 1
        f["detected"] += bool(r["detected"])
        f["edited"] += bool(r["detected"] and r["verdict"] == "edited")
        f["false_match"] += bool(r["false_match"])
        f["verdicts"][r["verdict"]] = f["verdicts"].get(r["verdict"], 0) + 1
    for f in fam.values():
        f["rate"] = round(f["detected"] / f["n"], 4) if f["n"] else 0.0
    groups: dict[str, dict[str, Any]] = {}
    for f in fam.values():
        g = groups.setdefault(f["group"], {"n": 0, "detected": 0, "false_match": 0, "families": 0, "worst": None, "worst_rate": 2.0})
        g["n"] += f["n"]
        g["detected"] += f["detected"]
        g["false_match"] += f["false_match"]
        g["families"] += 1
        if f["rate"] < g["worst_rate"]:
            g["worst"], g["worst_rate"] = f["family"], f["rate"]
    for name, g in groups.items():
        g["rate"] = round(g["detected"] / g["n"], 4) if g["n"] else 0.0
        if name in GROUP_TARGETS:
            g["target_every_family"] = GROUP_TARGETS[name]
            g["met"] = g["worst_rate"] >= GROUP_TARGETS[name]
    positives = [r for r in rows if r["expected"] is not None]
    negatives = [r for r in rows if r["expected"] is None]
    geo = [r for r in positives if r["geometry_only"] and r["detected"]]
    pasted = [r for r in rows if "paste_ok" in r]
    pasted_edit = [r for r in pasted if r["group"] == "edit"]
    false_list = [f"{r['id']} -> {r['matched']} ({r['verdict']})" for r in rows if r["false_match"]]
    pairs = cases.pair_counts()
    return {
        "split": cases.split, "seed": cases.seed, "cases": len(rows),
        "pairs": pairs,
        "families": dict(sorted(fam.items())),
        "groups": groups,
        "false_matches": {"total": len(false_list), "wrong_photo": sum(1 for r in positives if r["false_match"]),
                          "by_kind": {k: sum(1 for r in negatives if r["false_match"] and r.get("false_kind") == k)
                                      for k in ("distinct", "distinct_crops", "same_scene")},
                          "negative_queries": len(negatives), "list": false_list[:200], "target": 0,
                          "same_scene_verdicts": _count(r["verdict"] for r in negatives if r["group"] == "same_scene")},
        "geometry_only_edited": {"detected": len(geo), "edited": sum(r["verdict"] == "edited" for r in geo),
                                 "rate": round(sum(r["verdict"] == "edited" for r in geo) / len(geo), 4) if geo else None, "target": 0.02},
        "pasted": {"n": len(pasted), "ok": sum(r["paste_ok"] for r in pasted), "rate": round(sum(r["paste_ok"] for r in pasted) / len(pasted), 4) if pasted else None,
                   "edit_group_n": len(pasted_edit), "edit_group_rate": round(sum(r["paste_ok"] for r in pasted_edit) / len(pasted_edit), 4) if pasted_edit else None,
                   "called_edited": sum(r["verdict"] == "edited" and r["detected"] for r in pasted), "target": 0.90},
        "verify_ms": _pct(verify_ms), "register_ms": _pct(register_ms),
    }  # fmt: skip


def _count(items: Iterable[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for i in items:
        out[i] = out.get(i, 0) + 1
    return out


def print_report(rep: dict[str, Any]) -> None:
    print()
    print("| group | family | n | detected | rate | edited | false | verdicts |")
    print("|---|---|---|---|---|---|---|---|")
    for f in rep["families"].values():
        print(f"| {f['group']} | {f['family']} | {f['n']} | {f['detected']} | {f['rate']:.0%} | {f['edited']} | {f['false_match']} | "
              f"{' '.join(f'{k}:{v}' for k, v in sorted(f['verdicts'].items()))} |")  # fmt: skip
    print()
    print("| group | n | rate | worst family | target (every family) | met | false |")
    print("|---|---|---|---|---|---|---|")
    for name, g in rep["groups"].items():
        tgt = g.get("target_every_family")
        print(f"| {name} | {g['n']} | {g['rate']:.1%} | {g['worst']} {g['worst_rate']:.0%} | {'' if tgt is None else f'>= {tgt:.0%}'} | "
              f"{'' if tgt is None else ('yes' if g['met'] else 'no')} | {g['false_match']} |")  # fmt: skip
    fm, ge, pa, pr = rep["false_matches"], rep["geometry_only_edited"], rep["pasted"], rep["pairs"]
    print()
    print(f"false matches: {fm['total']} (wrong photo {fm['wrong_photo']}, distinct {fm['by_kind']['distinct']}, "
          f"distinct_crops {fm['by_kind']['distinct_crops']}, same_scene {fm['by_kind']['same_scene']}); negative queries "
          f"{fm['negative_queries']}; pairs: distinct {pr['distinct']:,}, distinct_crops {pr['distinct_crops']:,}, same_scene "
          f"{pr['same_scene']}, copy-vs-other-image {pr['other_image']:,}; same-scene verdicts {fm['same_scene_verdicts']}")  # fmt: skip
    if ge["rate"] is not None:
        print(f"geometry-only copies called edited: {ge['edited']}/{ge['detected']} = {ge['rate']:.1%} (target <= 2%)")
    if pa["rate"] is not None:
        print(f"pasted boxes/text >= 4%: edited with IoU >= 0.5: {pa['ok']}/{pa['n']} = {pa['rate']:.1%} (edit group "
              f"{pa['edit_group_rate']:.1%} of {pa['edit_group_n']}); called edited {pa['called_edited']} (target >= 90%)")  # fmt: skip
    v = rep["verify_ms"]
    print(f"verify ms: median {v.get('median')} p90 {v.get('p90')} p99 {v.get('p99')} max {v.get('max')} (n {v['n']})")


def save(report: dict[str, Any], path: str) -> None:
    with open(path, "w") as f:
        json.dump(report, f, indent=1, default=lambda o: o.item() if hasattr(o, "item") else str(o))
