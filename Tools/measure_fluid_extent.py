#!/usr/bin/env python3
"""Tunes and measures the image-dependent pleural effusion extent (PleuralFluid, issue 13) on the NIH expert boxes.

The default region of `cxr-edit edit IMG --remove "pleural effusion" --side S` is the effusion extent, grown as its
large level (SHIPPED["grow"] atlas px), clipped to the fluid estimated on the image
(Sources/CXRFindings/PleuralFluid.swift): the mean rank-equalised brightness over the segmented lung (its opacity)
moves the fluid's top (a share of the lung height) up as it rises above a typical effusion's; the region keeps the
rows from that top down to "base" lung heights below the lung, and from "wall" lung widths outside the chest wall to
the "lateral" share of the lung width; the same constants on both sides. A side whose clip leaves nothing keeps the
extent as it is. Measured as Tools/measure_region_coverage.py does: coverage = area(bbox(region) & box) / area(box),
inside = area(bbox(region) & box) / area(bbox(region)); target (issue 13): mean coverage >= 75% with mean inside
>= 50%.

Split by patient (labels.csv patient_id): even ids tune, odd ids are held out. Only the tuning half chooses the
constants, by one rule: the highest mean inside among the combinations whose coverage would hold on a fresh half,
i.e. the 10th percentile of the mean coverage over 70 boxes resampled from the tuning half (2,000 bootstrap draws)
is >= 75% (coverage first: fluid left outside a removal's region stays in the image).

    /work/venv/bin/python Tools/measure_fluid_extent.py --tune     # grid on the tuning half (Python mirror of the
                                                                   # measurement, lungs from the training script's
                                                                   # network in torch); writes the chosen constants'
                                                                   # figures on both halves, the same rule without
                                                                   # the opacity, the rule cross-validated within
                                                                   # the tuning half for constants shared by both
                                                                   # sides and per side, and the level swept
    /work/venv/bin/python Tools/measure_fluid_extent.py            # the shipped Swift measurement: runs `cxr-edit
        explain IMG --remove "pleural effusion" --side S --json` per box (fluid box from `pleural_fluid`), rebuilds
        the region, checks its pixel count against the binary's edit_coverage, and reports tune / held-out, PA / AP,
        against today's extent; also the lung opacity of NIH "No Finding" images against the effusion sides'.

Writes Tools/runs/fluid_extent.json (figures only: no image nor pixel of one).
"""
import argparse
import csv
import itertools
import json
import math
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "Tools"))
import measure_region_coverage as coverage  # noqa: E402

DATA = coverage.DEFAULT_DATA
OUT = REPO / "Tools" / "runs" / "fluid_extent.json"
FITS = REPO / "Tools" / "runs" / "region_coverage_fits_segmenter.json"
TARGET_COVERAGE = 0.75
# The shipped constants (PleuralFluid.swift), as chosen by --tune: the top (share of the lung height) at the typical
# opacity and moved per unit of opacity above it, the lateral share of the lung width, the margins at the wall and
# the base, growth.
SHIPPED = {"level": 0.35, "per_opacity": 2.0, "typical_opacity": 0.37, "lateral": 0.7, "wall": 0.15, "base": 0.15,
           "grow": 18}
# Before: the lateral band's bright run from the lung base (main, commit 2ae2335): tuning 77% / 39%, held out
# 75% / 46%; the same opacity clip with a top and a lateral share per side (branch fluid): tuning 77% / 46%, held
# out 71% / 57%.


# ---------------------------------------------------------------------------------------------- the measurement

def equalise(gray):
    """RegionFitter.equalise: each value becomes its mean rank in 0...1, as float32."""
    v = gray.astype(np.int64).ravel()
    hist = np.bincount(v, minlength=256).astype(np.float64)
    below = np.cumsum(hist) - hist
    mean_rank = ((below + (hist - 1) / 2) / max(v.size - 1, 1)).astype(np.float32)
    return mean_rank[v].reshape(gray.shape)


def largest(mask):
    lab, n = ndimage.label(mask)  # 4-connected, as LungMasks.largestComponent
    if n == 0:
        return mask
    sizes = ndimage.sum(mask, lab, range(1, n + 1))
    return lab == 1 + int(np.argmax(sizes))


def lung_box(mask):
    ys, xs = np.nonzero(mask)
    return (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1) if len(xs) else None


def opacity(eq, lung_mask):
    """Mean equalised brightness over the segmented lung (PleuralFluid.opacity)."""
    return float(eq[lung_mask].astype(np.float64).sum() / lung_mask.sum())


def fluid_box(lung, side, opac, p):
    """(level, box): the estimated top of the fluid as a share of the lung height and the box the region is kept in
    (PleuralFluid.measure), in the lung mask's pixels. p may give "level_right"/"level_left" and
    "lateral_right"/"lateral_left" instead of "level" and "lateral" (constants per side, for the comparison)."""
    x0, y0, x1, y1 = lung
    w, h = x1 - x0, y1 - y0
    level = p.get(f"level_{side}", p.get("level")) - p["per_opacity"] * (opac - p["typical_opacity"])
    top, bottom = y0 + h * level, y0 + h * (1 + p["base"])
    wall, inner = p["wall"] * w, p.get(f"lateral_{side}", p.get("lateral")) * w
    if side == "right":
        return level, (x0 - wall, top, x0 + inner, bottom)
    return level, (x1 - inner, top, x1 + wall, bottom)


def clip(mask, box):
    """PleuralFluid.clip: pixels whose top-left corner lies in the box."""
    h, w = mask.shape
    xs = np.arange(w)[None, :]
    ys = np.arange(h)[:, None]
    keep = (xs >= box[0]) & (xs < box[2]) & (ys >= box[1]) & (ys < box[3])
    return mask & keep


# ---------------------------------------------------------------------------------------------- cases

def load(data):
    labels = {r["filename"]: r for r in csv.DictReader(open(data / "labels.csv", newline=""))}
    cases = [c for c in coverage.load_cases(data) if c["finding"] == "Effusion"]
    for c in cases:
        c["patient"] = int(labels[c["filename"]]["patient_id"])
        c["half"] = "tune" if c["patient"] % 2 == 0 else "held_out"
    return cases, labels


def default_region(c, fit, grow=None):
    """The default effusion extent on the box's side, grown by its own grow (today's region) or by `grow`."""
    ext = coverage.load_extents()["Effusion"]
    regs, default_grow = ext["levels"][ext["default"]]
    grow = default_grow if grow is None else grow
    mask, _ = coverage.place_exact(coverage.expand(regs, c["side"]), fit, fit["width"], fit["height"], grow)
    return mask


def score(mask, box):
    return score_box(coverage.bbox(mask), box)


def score_box(b, box):
    """(coverage, inside) of the region's bbox b against the expert box."""
    if b is None:
        return 0.0, 0.0
    it = coverage.inter(b, box)
    return it / coverage.area(box), it / coverage.area(b)


def summarise(rows, key):
    out = {}
    for name, sel in (("all", rows), ("PA", [r for r in rows if r["view"] == "PA"]),
                      ("AP", [r for r in rows if r["view"] == "AP"])):
        if sel:
            out[name] = {"n": len(sel), "coverage_mean": statistics.fmean(r[key][0] for r in sel),
                         "inside_mean": statistics.fmean(r[key][1] for r in sel),
                         "fluid_found": sum(r.get("found", False) for r in sel) / len(sel)}
    return out


# ---------------------------------------------------------------------------------------------- tuning

def torch_lungs(data, filenames):
    """Largest-part lung masks per image from the training script's network (the Swift segmenter's twin)."""
    import torch
    import train_lung_segmenter as seg
    torch.set_num_threads(1)
    net = seg.SegmenterNet()
    seg.load_weights(net, seg.OUT)
    net.eval()
    u8 = torch.from_numpy(np.stack([np.asarray(Image.open(data / "images" / f).convert("L")) for f in filenames])
                          .astype(np.float32))
    prob = seg.predict(net, u8).numpy()
    return {f: {"right": largest(prob[i, 0] >= 0.5), "left": largest(prob[i, 1] >= 0.5)}
            for i, f in enumerate(filenames)}


def clipped_bbox(mask, box):
    """bbox(clip(mask, box)) without clipping the whole mask: the pixels whose top-left corner lies in the box are
    the columns ceil(x0)..<ceil(x1) and rows ceil(y0)..<ceil(y1)."""
    h, w = mask.shape
    x0, x1 = max(0, math.ceil(box[0])), min(w, math.ceil(box[2]))
    y0, y1 = max(0, math.ceil(box[1])), min(h, math.ceil(box[3]))
    if x1 <= x0 or y1 <= y0:
        return None
    sub = mask[y0:y1, x0:x1]
    rows, cols = np.nonzero(sub.any(1))[0], np.nonzero(sub.any(0))[0]
    if len(rows) == 0:
        return None
    return (float(x0 + cols[0]), float(y0 + rows[0]), float(x0 + cols[-1] + 1), float(y0 + rows[-1] + 1))


def grid_of(axes, fixed):
    return [{**fixed, **{k: round(float(x), 3) for k, x in zip(axes, v)}} for v in itertools.product(*axes.values())]


# Constants shared by both sides (shipped) and, for the comparison, a top and a lateral share per side (branch fluid).
BOTH_SIDES = {"level": np.arange(0.0, 0.61, 0.05), "per_opacity": [0.0, 1.0, 1.5, 2.0, 2.5],
              "lateral": [0.5, 0.6, 0.7, 0.8, 0.9], "wall": [0.1, 0.15, 0.2], "base": [0.1, 0.15, 0.2],
              "grow": [14, 18, 22]}
PER_SIDE = {"level_right": np.arange(0.0, 0.51, 0.05), "level_left": np.arange(0.2, 0.71, 0.05),
            "per_opacity": [0.0, 1.0, 1.5, 2.0], "lateral_right": [0.6, 0.7, 0.8, 0.9],
            "lateral_left": [0.5, 0.6, 0.7, 0.8, 0.9]}
PER_SIDE_FIXED = {"wall": 0.15, "base": 0.15, "grow": 18}


def resample_counts(rng, n, draws, size=70):
    """How often each of n boxes is drawn in each of `draws` bootstrap halves of `size` boxes."""
    counts = np.zeros((draws, n))
    for i, idx in enumerate(rng.integers(0, n, size=(draws, size))):
        np.add.at(counts[i], idx, 1)
    return counts


def choose(scores, counts):
    """The rule: index of the highest mean inside among the combinations whose bootstrap 10th percentile of mean
    coverage (over resampled halves of 70 boxes, `counts`) is >= TARGET_COVERAGE; scores: [combination, box, 2]."""
    mean = scores.mean(1)
    low = np.percentile(scores[:, :, 0] @ counts.T / counts.sum(1)[0], 10, axis=1)
    ok = np.nonzero(low >= TARGET_COVERAGE)[0]
    return int(ok[np.argmax(mean[ok, 1])]), float(low[ok[np.argmax(mean[ok, 1])]])


def tune(cases, fits, data):
    """The grid on the tuning half (the images are 256 px, the segmenter's working size), chosen by the rule; then
    what the choice gives on both halves, what the opacity adds, and the rule cross-validated within the tuning half
    (4 folds of patients) for constants shared by both sides and per side."""
    files = sorted({c["filename"] for c in cases})
    lungs = torch_lungs(data, files)
    eqs = {f: equalise(np.asarray(Image.open(data / "images" / f).convert("L"))) for f in files}
    found = {}
    for c in cases:
        mask = lungs[c["filename"]][c["side"]]
        found[(c["filename"], c["side"])] = (lung_box(mask), opacity(eqs[c["filename"]], mask)) if mask.any() else None
    regions = {}

    def region(c, grow):
        key = (c["filename"], c["side"], grow)
        if key not in regions:
            regions[key] = default_region(c, fits[c["filename"]], grow)
        return regions[key]

    def scores(p, sel):
        out = np.zeros((len(sel), 2))
        for i, c in enumerate(sel):
            m = found[(c["filename"], c["side"])]
            b = clipped_bbox(region(c, p["grow"]), fluid_box(m[0], c["side"], m[1], p)[1]) if m else None
            # No lung, or a clip that leaves nothing: the extent as it is (RegionFitter.place).
            out[i] = score_box(b, c["box"]) if b else score(default_region(c, fits[c["filename"]]), c["box"])
        return out

    def figures(p, half):
        s = scores(p, [c for c in cases if c["half"] == half])
        return {"coverage_mean": float(s[:, 0].mean()), "inside_mean": float(s[:, 1].mean())}

    tuning = [c for c in cases if c["half"] == "tune"]
    rng = np.random.default_rng(13)
    counts = resample_counts(rng, len(tuning), 2000)
    fixed = {"typical_opacity": SHIPPED["typical_opacity"]}
    both = grid_of(BOTH_SIDES, fixed)
    per_side = grid_of(PER_SIDE, {**fixed, **PER_SIDE_FIXED})
    both_scores = np.array([scores(p, tuning) for p in both])
    per_side_scores = np.array([scores(p, tuning) for p in per_side])

    def chosen(params, s):
        j, low = choose(s, counts)
        return {"params": params[j], "coverage_p10": low, "tune": figures(params[j], "tune"),
                "held_out": figures(params[j], "held_out")}

    measured = chosen(both, both_scores)
    # The same rule without the opacity (one top for every image): what the measurement adds.
    flat = [i for i, p in enumerate(both) if p["per_opacity"] == 0.0]
    without = chosen([both[i] for i in flat], both_scores[flat])
    # Held out, paired per box: with minus without the opacity, 95% bootstrap interval of the mean difference.
    held = [c for c in cases if c["half"] == "held_out"]
    a, b = scores(measured["params"], held), scores(without["params"], held)
    draws = rng.integers(0, len(held), size=(2000, len(held)))
    paired = {name: {"mean": float((a[:, k] - b[:, k]).mean()),
                     "ci95": np.percentile((a[:, k] - b[:, k])[draws].mean(1), [2.5, 97.5]).tolist()}
              for k, name in ((1, "inside"), (0, "coverage"))}

    # The rule cross-validated within the tuning half: chosen on three folds of patients, scored on the fourth.
    folds = np.array([(c["patient"] // 2) % 4 for c in tuning])

    def cross_validated(s):
        out = np.zeros((len(tuning), 2))
        for f in range(4):
            train = folds != f
            j, _ = choose(s[:, train], resample_counts(rng, int(train.sum()), 500))
            out[~train] = s[j, ~train]
        return {"coverage_mean": float(out[:, 0].mean()), "inside_mean": float(out[:, 1].mean())}

    comparison = {name: {"chosen": chosen(params, s), "cross_validated": cross_validated(s)}
                  for name, params, s in (("both_sides", both, both_scores), ("per_side", per_side, per_side_scores))}
    # The frontier along the top: the chosen constants with the level moved, on both halves (reported, not chosen).
    sweep = [{"level": round(float(lv), 2), **{half: figures({**measured["params"], "level": float(lv)}, half)
                                               for half in ("tune", "held_out")}}
             for lv in np.arange(0.2, 0.51, 0.05)]
    return {"grid": {"both_sides": {k: [float(x) for x in v] for k, v in BOTH_SIDES.items()},
                     "per_side": {k: [float(x) for x in v] for k, v in PER_SIDE.items()},
                     "per_side_fixed": PER_SIDE_FIXED, "fixed": fixed},
            "rule": "max mean inside with the 10th percentile of the bootstrap mean coverage (70 of the tuning "
                    f"boxes, 2000 draws) >= {TARGET_COVERAGE} (tune half)",
            "measured_best": measured, "without_opacity": without, "held_out_measured_minus_without": paired,
            "constants_per_side_vs_both": comparison, "level_sweep": sweep}


# ---------------------------------------------------------------------------------------------- the shipped code

def explain_remove(binary, image, side):
    cmd = [str(binary), "explain", str(image), "--remove", "pleural effusion", "--side", side, "--json", "--force"]
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


def measure_shipped(cases, fits, data, binary, labels, normals_every):
    rows, mismatches = [], []
    for c in cases:
        fit = fits[c["filename"]]
        j = explain_remove(binary, data / "images" / c["filename"], c["side"])
        m = default_region(c, fit)
        fluid = j.get("pleural_fluid") or []
        region = m
        for f in fluid:  # one side: the extent grown by PleuralFluid.grow, clipped to the fluid's box
            b = f["box"]
            region = clip(default_region(c, fit, SHIPPED["grow"]), (b["x0"], b["y0"], b["x1"], b["y1"]))
        pixels = round(j["edit_coverage"] * fit["width"] * fit["height"])
        if pixels != int(region.sum()):
            mismatches.append((c["filename"], c["side"], pixels, int(region.sum())))
        row = {"filename": c["filename"], "side": c["side"], "view": c["view"], "half": c["half"],
               "found": bool(fluid), "level": fluid[0]["level"] if fluid else None,
               "opacity": fluid[0]["opacity"] if fluid else None,
               "today": score(m, c["box"]), "measured": score(region, c["box"])}
        rows.append(row)
    # Is the opacity a fluid detector? The same measurement on NIH "No Finding" images, against the effusion sides.
    normals = [f for f, r in labels.items() if r["findings"] == "No Finding"][::normals_every]
    normal_opacity = []
    for f in normals:
        for side in ("right", "left"):
            fluid = explain_remove(binary, data / "images" / f, side).get("pleural_fluid") or []
            normal_opacity += [x["opacity"] for x in fluid]
    effusion_opacity = [r["opacity"] for r in rows if r["opacity"] is not None]
    return rows, mismatches, {
        "images": len(normals), "every": normals_every, "sides_measured": len(normal_opacity),
        "opacity_quartiles_normal": np.percentile(normal_opacity, [25, 50, 75]).tolist(),
        "opacity_quartiles_effusion": np.percentile(effusion_opacity, [25, 50, 75]).tolist()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--binary", type=Path, default=REPO / ".build" / "release" / "cxr-edit")
    ap.add_argument("--tune", action="store_true", help="grid search on the tuning half (Python mirror)")
    ap.add_argument("--normals-every", type=int, default=4, help="every n-th NIH 'No Finding' image for the "
                    "false-positive rate")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    cases, labels = load(args.data)
    fits = json.load(open(FITS))
    for c in cases:  # boxes.csv frame (256) -> the image's pixels
        f = fits[c["filename"]]
        k = (f["width"] / 256.0, f["height"] / 256.0)
        x0, y0, x1, y1 = c["box"]
        c["box"] = (x0 * k[0], y0 * k[1], x1 * k[0], y1 * k[1])
    result = json.load(open(args.out)) if args.out.exists() else {}
    result["what"] = "PleuralFluid effusion extent vs NIH expert boxes (Tools/measure_fluid_extent.py)"
    result["split"] = "patient_id even: tune, odd: held out"
    result["shipped"] = SHIPPED
    if args.tune:
        result["tuning"] = coverage.rounded(tune(cases, fits, args.data))
        t = result["tuning"]
        for key in ("measured_best", "without_opacity"):
            print(key, t[key])
        print("held out, measured - without opacity:", t["held_out_measured_minus_without"])
        print("per side vs both sides:", json.dumps(t["constants_per_side_vs_both"]))
        print("level sweep:", json.dumps(t["level_sweep"]))
    else:
        rows, mismatches, normals = measure_shipped(cases, fits, args.data, args.binary, labels, args.normals_every)
        result["check"] = {"compared": len(rows), "mismatches": len(mismatches), "examples": mismatches[:5]}
        result["normals"] = normals
        result["figures"] = coverage.rounded({
            half: {key: summarise([r for r in rows if r["half"] == half], key)
                   for key in ("today", "measured")}
            for half in ("tune", "held_out")})
        result["rows"] = coverage.rounded(rows)
        print(json.dumps(result["figures"], indent=1))
        print("check", result["check"], "normals", normals)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
