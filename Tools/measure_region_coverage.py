#!/usr/bin/env python3
"""How well the editor's finding regions match where radiologists draw the finding (NIH expert boxes).

For every NIH image in ../shared/data/nih-labelled with an expert box for Cardiomegaly or Effusion, the region
that `cxr-edit edit IMG --add cardiomegaly` (resp. `--add "pleural effusion" --side right|left`) would repaint is
placed on the image, for the default extent and for every severity level of findings.json, and compared with
the box:

    coverage = area(bbox(region) & box) / area(box)      (how much of the finding the edit can reach)
    inside   = area(bbox(region) & box) / area(bbox(region))   (how much of the edit lies on the finding)

plus the fit score (weak below the editor's threshold, 0.6) and, for information, the pixel-level
`mask_coverage` = area(region & box) / area(box).

Region placement
----------------
The atlas fit (scale, offset, score, method and part transforms) comes from the release binary itself: `cxr-edit
explain IMG --add ... --json` fits the atlas exactly as `edit` does and prints the transforms (full double
precision) and the fraction of the image the edit would repaint (`edit_coverage`), but no mask. A segmented fit
(`method: segmenter`, docs/regions.md) has a transform per part (`parts`: right_lung, left_lung, heart): the
right-*/left-* regions are placed by their lung's, heart by the heart's, the rest by the top-level one. The mask
is rebuilt here as `RegionFitter.place(RegionRequest, fit:)` does (Sources/CXRFindings/RegionRequest.swift, RegionFitter.swift,
Sources/CXRImaging/Mask.swift):

  1. per transform, the union of the extent's atlas PNGs it places (Masks/, each binarised at 0.5 of its maximum);
  2. each union sampled through its transform at every image pixel centre, u = ((x + 0.5) - offsetX) / scaleX - 0.5
     (same for v), by bilinear interpolation with zeros outside the atlas, in float32 weights as in Swift, set
     where >= 0.5, and the results joined;
  3. grown by round(grow * (scaleX + scaleY) / 2) image pixels (+ --dilate, 0 here): every pixel whose exact
     squared Euclidean distance to a set pixel is <= r^2.

`--check` runs `cxr-edit explain` for every image, finding and level (and every --extent alternative, via
`--region ... --dilate`) and compares the repainted pixel count with the rebuilt mask's; the count of mismatches
is written to the JSON (0 of 1,182 at the time of writing: the rebuild is exact, not an approximation). The
atlas PNGs are read from this checkout's Masks/, which must equal those the binary finds. Boxes are read in the frame `--box-frame` (boxes.csv: NIH's 1024 px boxes already
scaled to 256, like its images) and scaled to each image's own size (x by width / frame, y by height / frame), so
smaller or larger copies of the images work too.

Usage:
    Tools/measure_region_coverage.py                     # default and all levels, writes Tools/runs/region_coverage.json
    Tools/measure_region_coverage.py --binary .build/release/cxr-edit --fits Tools/runs/fits-new.json --refit
                                                         # after a change of the fitter: a fresh fit cache
    Tools/measure_region_coverage.py --check             # also verify every rebuilt mask against cxr-edit explain
    Tools/measure_region_coverage.py --extent cardiomegaly=heart+mediastinum:20 --extent "effusion={side}-lower-zone:16"
    Tools/measure_region_coverage.py --sweep             # try region sets x grow per finding, list those meeting targets
    Tools/measure_region_coverage.py --doc --figure      # (re)write the section of docs/regions.md, draw the figure

Also reported: "severity from box size" (each box gets the level its size tertile names, as the inpainting UNet's
training masks do), AP vs PA, fit failures, and `fixed_extent_bound`: the best mean coverage any fixed rectangle in
the fitted atlas frame (one per side) reaches with mean inside >= 50%, an upper bound for every regions:grow extent.
"""
import argparse
import collections
import csv
import itertools
import json
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "nih-labelled"
DEFAULT_BINARY = REPO.parent / "main" / ".build" / "release" / "cxr-edit"
FINDINGS_JSON = REPO / "Sources" / "CXRFindings" / "Resources" / "findings.json"
MASKS = REPO / "Masks"
THRESHOLD = 0.6  # FitPolicy.defaultMinimumScore
TARGET_COVERAGE, TARGET_INSIDE = 0.75, 0.5

# NIH box label -> (vocabulary id, `--add` phrase, short key for --extent)
FINDINGS = {
    "Cardiomegaly": ("cardiomegaly", "cardiomegaly", "cardiomegaly"),
    "Effusion": ("pleural-effusion", "pleural effusion", "effusion"),
}
KEY_TO_NIH = {"cardiomegaly": "Cardiomegaly", "effusion": "Effusion", "pleural-effusion": "Effusion",
              "pleural effusion": "Effusion"}


# ---------------------------------------------------------------------------------------------- extents

def load_extents():
    d = json.load(open(FINDINGS_JSON))
    by_id = {f["id"]: f for f in d["findings"]}
    out = {}
    for nih, (fid, _, _) in FINDINGS.items():
        ext = by_id[fid]["extent"]
        out[nih] = {"default": ext["default"],
                    "levels": {k: (list(v["regions"]), int(v["grow"])) for k, v in ext["levels"].items()}}
    return out


def expand(templates, side):
    """`{side}` -> the one side (extents of a one-sided box); order kept, no repeats (Finding.expand)."""
    out = []
    for t in templates:
        e = t.replace("{side}", side) if "{side}" in t else t
        if e not in out:
            out.append(e)
    return out


def parse_extent(spec):
    """'cardiomegaly=heart+mediastinum:20' -> ('Cardiomegaly', (['heart', 'mediastinum'], 20))."""
    if "=" not in spec or ":" not in spec:
        raise SystemExit(f"--extent {spec!r}: expected FINDING=region+region:grow, e.g. effusion={{side}}-lower-zone:16")
    key, rest = spec.split("=", 1)
    regions, grow = rest.rsplit(":", 1)
    nih = KEY_TO_NIH.get(key.strip().lower())
    if nih is None:
        raise SystemExit(f"--extent {spec!r}: finding must be one of {sorted(KEY_TO_NIH)}")
    names = [r.strip() for r in regions.split("+") if r.strip()]
    for n in names:
        if not (MASKS / f"{n.replace('{side}', 'right')}.png").exists():
            raise SystemExit(f"--extent {spec!r}: unknown region {n!r}")
    return nih, (names, int(grow))


def extent_label(regions, grow):
    return "+".join(regions) + f":{grow}"


# ---------------------------------------------------------------------------------------------- placement

_atlas = {}


def atlas_region(name):
    """Atlas PNG binarised at 0.5 of the maximum (RegionAtlas.mask(named:))."""
    if name not in _atlas:
        im = Image.open(MASKS / f"{name}.png")
        a = np.asarray(im.convert("L") if im.mode not in ("L", "I;16", "I") else im, dtype=np.float64)
        maxv = 65535.0 if im.mode in ("I;16", "I") else 255.0
        _atlas[name] = (a / maxv >= 0.5).astype(np.float32)
    return _atlas[name]


PART_OF_PREFIX = (("right-", "right_lung"), ("left-", "left_lung"))


def transform_for(fit, name):
    """The transform that places region `name` (AtlasFit.transform(forRegion:)): with a segmented fit, its lung's
    for right-*/left-*, the heart's for heart; else (and for a part without its own) the top-level one."""
    parts = fit.get("parts") or {}
    key = next((k for p, k in PART_OF_PREFIX if name.startswith(p)), "heart" if name == "heart" else None)
    t = parts.get(key) if key else None
    return t if t else {k: fit[k] for k in ("scale_x", "scale_y", "offset_x", "offset_y")}


def sample(names, fit, width, height):
    """Union of `names` sampled at the image's pixel centres, ungrown (RegionFitter.place, dilate 0): names that
    share a transform are joined in the atlas first, each group sampled through its own transform."""
    groups = []
    for n in names:
        t = transform_for(fit, n)
        g = next((g for g in groups if g[0] == t), None)
        if g:
            g[1].append(n)
        else:
            groups.append((t, [n]))
    out = np.zeros((height, width), bool)
    for t, group in groups:
        out |= sample_group(group, t, width, height)
    return out


def sample_group(names, fit, width, height):
    """Union of `names` sampled through one transform (scale_x, scale_y, offset_x, offset_y)."""
    src = np.zeros_like(atlas_region(names[0]))
    for n in names:
        src = np.maximum(src, atlas_region(n))
    ah, aw = src.shape
    xs = np.arange(width, dtype=np.float64)
    ys = np.arange(height, dtype=np.float64)
    u = ((xs + 0.5) - fit["offset_x"]) / fit["scale_x"] - 0.5
    v = ((ys + 0.5) - fit["offset_y"]) / fit["scale_y"] - 0.5
    U, V = np.meshgrid(u, v)
    x0 = np.floor(U).astype(np.int64)
    y0 = np.floor(V).astype(np.int64)
    fx = (U - x0).astype(np.float32)
    fy = (V - y0).astype(np.float32)
    pad = np.zeros((ah + 2, aw + 2), np.float32)  # zeros outside; index shifted by 1
    pad[1:-1, 1:-1] = src

    def at(xx, yy):
        ok = (xx >= -1) & (xx <= aw) & (yy >= -1) & (yy <= ah)
        xc = np.clip(xx, -1, aw) + 1
        yc = np.clip(yy, -1, ah) + 1
        return np.where(ok, pad[yc, xc], np.float32(0))

    one = np.float32(1)
    top = at(x0, y0) * (one - fx) + at(x0 + 1, y0) * fx
    bottom = at(x0, y0 + 1) * (one - fx) + at(x0 + 1, y0 + 1) * fx
    val = top * (one - fy) + bottom * fy
    inside = (U > -1) & (V > -1) & (U < aw) & (V < ah)
    return inside & (val >= np.float32(0.5))


def swift_round(x):
    """Swift's Double.rounded(): half away from zero (Python's round() is half to even)."""
    return float(np.sign(x) * np.floor(abs(x) + 0.5))


def growth_px(grow_atlas, fit, dilate=0):
    """Int((Double(grow) * (scaleX + scaleY) / 2).rounded()) + dilate (RegionFitter.place(_:fit:))."""
    return int(swift_round(grow_atlas * (fit["scale_x"] + fit["scale_y"]) / 2)) + dilate


_dist = {}


def place_exact(names, fit, width, height, grow_atlas, dilate=0):
    """The repainted region: the sampled union grown by the extent's grow scaled to image pixels (+ dilate),
    every pixel whose exact squared Euclidean distance to the union is <= r^2 (RegionRequest placement,
    Mask.dilated(by:)). Distance maps are cached per (fit, regions) so that sweeps over grow are cheap."""
    r = min(growth_px(grow_atlas, fit, dilate), 1024)
    key = (json.dumps(fit, sort_keys=True), width, height, tuple(names))
    if key not in _dist:
        mask = sample(names, fit, width, height)
        if len(_dist) > 4096:
            _dist.clear()
        _dist[key] = np.rint(ndimage.distance_transform_edt(~mask) ** 2) if mask.any() else None
    d2 = _dist[key]
    if d2 is None:
        return np.zeros((height, width), bool), r
    return d2 <= r * r, r


# ---------------------------------------------------------------------------------------------- geometry

def bbox(mask):
    """[x0, y0, x1, y1) in continuous pixel coordinates, or None when empty."""
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return None
    return (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))


def inter(a, b):
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return max(w, 0.0) * max(h, 0.0)


def area(b):
    return (b[2] - b[0]) * (b[3] - b[1])


def mask_box_overlap(mask, box):
    """Area of the mask inside the (continuous) box: each pixel counts by the fraction of it in the box."""
    h, w = mask.shape
    x = np.arange(w, dtype=np.float64)
    y = np.arange(h, dtype=np.float64)
    wx = np.clip(np.minimum(x + 1, box[2]) - np.maximum(x, box[0]), 0, 1)
    wy = np.clip(np.minimum(y + 1, box[3]) - np.maximum(y, box[1]), 0, 1)
    return float((mask * wy[:, None] * wx[None, :]).sum())


# ---------------------------------------------------------------------------------------------- CLI

def explain(binary, image, nih, side, severity=None, regions=None, dilate=0):
    _, phrase, _ = FINDINGS[nih]
    cmd = [str(binary), "explain", str(image), "--add", phrase, "--json"]
    if side:
        cmd += ["--side", side]
    if severity:
        cmd += ["--severity", severity]
    for r in regions or []:
        cmd += ["--region", r]
    if dilate:
        cmd += ["--dilate", str(dilate)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


# ---------------------------------------------------------------------------------------------- summaries

def summarise(rows):
    if not rows:
        return {"n": 0}
    cov = [r["coverage"] for r in rows]
    ins = [r["inside"] for r in rows]
    mc = [r["mask_coverage"] for r in rows]
    s = {
        "n": len(rows),
        "coverage_mean": statistics.fmean(cov), "coverage_median": statistics.median(cov),
        "inside_mean": statistics.fmean(ins), "inside_median": statistics.median(ins),
        "share_coverage_ge_75": sum(c >= 0.75 for c in cov) / len(cov),
        "share_inside_ge_50": sum(i >= 0.5 for i in ins) / len(ins),
        "mask_coverage_mean": statistics.fmean(mc),
        "weak_fits": sum(r["weak"] for r in rows),
    }
    s["meets_targets"] = s["coverage_mean"] >= TARGET_COVERAGE and s["inside_mean"] >= TARGET_INSIDE
    return s


def groups(rows):
    """finding -> level -> {all, PA, AP, good_fits}, levels in the order rows first name them."""
    out = {}
    for (nih, level) in dict.fromkeys((r["finding"], r["level"]) for r in rows):
        rs = [r for r in rows if r["finding"] == nih and r["level"] == level]
        out.setdefault(nih, {})[level] = {
            "extent": rs[0]["extent"], "is_default": rs[0]["is_default"],
            "all": summarise(rs),
            "PA": summarise([r for r in rs if r["view"] == "PA"]),
            "AP": summarise([r for r in rs if r["view"] == "AP"]),
            "good_fits": summarise([r for r in rs if not r["weak"]]),
        }
    return out


# ---------------------------------------------------------------------------------------------- main work

def load_cases(data, frame=256.0):
    labels = {r["filename"]: r for r in csv.DictReader(open(data / "labels.csv", newline=""))}
    cases = []
    for r in csv.DictReader(open(data / "boxes.csv", newline="")):
        if r["finding"] not in FINDINGS:
            continue
        x, y, w, h = (float(r[k]) for k in "xywh")
        side = None
        if r["finding"] == "Effusion":
            side = "right" if x + w / 2 < frame / 2 else "left"  # image left = patient's right
        cases.append({"filename": r["filename"], "finding": r["finding"], "box": (x, y, x + w, y + h),
                      "side": side, "view": labels[r["filename"]]["view"]})
    return cases


def get_fits(binary, data, cases, cache_path, refit=False):
    """Atlas fit per image from `cxr-edit explain IMG --add cardiomegaly --json` (the fit `edit` uses), cached in
    `cache_path`; `refit` ignores the cache (after a change of the fitter; `--check` shows a stale cache)."""
    cache = json.load(open(cache_path)) if cache_path.exists() and not refit else {}
    changed = False
    for c in cases:
        fn = c["filename"]
        if fn in cache:
            continue
        j = explain(binary, data / "images" / fn, "Cardiomegaly", None)
        im = Image.open(data / "images" / fn)
        cache[fn] = {**{k: j["fit"][k] for k in ("scale_x", "scale_y", "offset_x", "offset_y", "score")},
                     "method": j["fit"].get("method", "template"), "parts": j["fit"].get("parts", {}),
                     "width": im.width, "height": im.height, "cardiomegaly_default_coverage": j["edit_coverage"]}
        changed = True
    if changed:
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        json.dump(cache, open(cache_path, "w"), indent=0, sort_keys=True)
    return cache


def level_list(extents, nih, alternatives):
    """(level name, regions, grow, is_default, severity word for the CLI or None) per level to measure."""
    e = extents[nih]
    out = [(name, regs, grow, name == e["default"], name) for name, (regs, grow) in e["levels"].items()]
    for regs, grow in alternatives.get(nih, []):
        out.append((f"custom {extent_label(regs, grow)}", regs, grow, False, None))
    return out


def measure(cases, fits, levels_of):
    rows = []
    for c in cases:
        fit = fits[c["filename"]]
        W, H = fit["width"], fit["height"]
        box = c["box"]
        for level, regs, grow, is_default, _ in levels_of(c["finding"]):
            side = c["side"] or "right"
            names = expand(regs, side) if c["side"] else [r for s in ("right", "left") for r in expand(regs, s)]
            names = list(dict.fromkeys(names))
            mask, r = place_exact(names, fit, W, H, grow)
            bb = bbox(mask)
            ib = inter(bb, box) if bb else 0.0
            rows.append({
                "filename": c["filename"], "finding": c["finding"], "side": c["side"], "view": c["view"],
                "level": level, "extent": extent_label(regs, grow), "is_default": is_default,
                "regions": names, "grow_px": r, "box": [round(v, 2) for v in box],
                "region_bbox": list(bb) if bb else None, "region_pixels": int(mask.sum()),
                "coverage": ib / area(box), "inside": ib / area(bb) if bb else 0.0,
                "mask_coverage": mask_box_overlap(mask, box) / area(box),
                "score": fit["score"], "weak": not (fit["score"] >= THRESHOLD),
            })
    return rows


def check(binary, data, cases, fits, levels_of):
    """Rebuilt mask pixel count == cxr-edit explain's edit_coverage * W * H, for every case and level."""
    n = bad = 0
    worst = []
    for c in cases:
        fit = fits[c["filename"]]
        W, H = fit["width"], fit["height"]
        img = data / "images" / c["filename"]
        for level, regs, grow, _, severity in levels_of(c["finding"]):
            side = c["side"]
            names = expand(regs, side) if side else [r for s in ("right", "left") for r in expand(regs, s)]
            names = list(dict.fromkeys(names))
            mask, r = place_exact(names, fit, W, H, grow)
            if severity is not None:
                j = explain(binary, img, c["finding"], side, severity=severity)
                assert j["edit_regions"] == names, (j["edit_regions"], names)
            else:  # an alternative extent: the same regions named, grown by --dilate in image pixels
                j = explain(binary, img, c["finding"], side, regions=names, dilate=r)
            cli = round(j["edit_coverage"] * W * H)
            n += 1
            if cli != int(mask.sum()):
                bad += 1
                worst.append((c["filename"], level, cli, int(mask.sum())))
    return {"compared": n, "mismatches": bad, "examples": worst[:10]}


def box_size_levels(cases, extents):
    """Severity of each box as the inpainting UNet's training data labels it (Tools/cxr_mini/findings.py
    box_sides_and_severity): tertiles of box width (cardiomegaly) or area (effusion) among the finding's boxes ->
    the finding's three upper levels (mild/moderate/severe, small/moderate/large)."""
    out = {}
    for nih in FINDINGS:
        cs = [c for c in cases if c["finding"] == nih]

        def v(c):
            x0, y0, x1, y1 = c["box"]
            return (x1 - x0) if nih == "Cardiomegaly" else (x1 - x0) * (y1 - y0)
        vals = sorted(v(c) for c in cs)
        cuts = [vals[len(vals) // 3], vals[2 * len(vals) // 3]]
        names = list(extents[nih]["levels"])[-3:]
        for c in cs:
            out[(c["filename"], nih)] = names[0] if v(c) < cuts[0] else names[1] if v(c) < cuts[1] else names[2]
    return out


def matched_rows(rows, cases, extents):
    """Per box, the row of the level its size gives (severity told to the editor), relabelled."""
    lv = box_size_levels(cases, extents)
    out = []
    for r in rows:
        if r["level"] == lv.get((r["filename"], r["finding"])):
            measure = "width" if r["finding"] == "Cardiomegaly" else "area"
            names = "/".join(list(extents[r["finding"]]["levels"])[-3:])
            out.append({**r, "level": "severity from box size", "is_default": False,
                        "extent": f"box-{measure} tertile -> {names}"})
    return out


def rectangle_bound(cases, fits, step=4):
    """Best any fixed extent could do: over every rectangle in the fitted atlas frame (corners on a `step` px grid,
    one per side for one-sided findings), the highest mean coverage whose mean inside is >= the target. Any extent
    (regions + grow) has a bbox that is, up to the fit's slight x/y scale difference in growth, such a rectangle.
    The frame is that of the transform placing the finding's regions: with a segmented fit, the side's lung
    (effusion) or the heart (cardiomegaly)."""
    out = {}
    g = np.arange(0, 256 + step, step, dtype=np.float64)
    iv = np.array([(a, b) for a in g for b in g if b > a])

    def frontier(A):
        """max coverage for each inside threshold t in 0.00..1.00 (np.nan when none reaches t)."""
        ab = (A[:, 2] - A[:, 0]) * (A[:, 3] - A[:, 1])
        ox = np.clip(np.minimum(A[None, :, 2], iv[:, None, 1]) - np.maximum(A[None, :, 0], iv[:, None, 0]), 0, None)
        oy = np.clip(np.minimum(A[None, :, 3], iv[:, None, 1]) - np.maximum(A[None, :, 1], iv[:, None, 0]), 0, None)
        lx = iv[:, 1] - iv[:, 0]
        best = np.full(101, np.nan)
        arg = [None] * 101
        for k in range(0, len(iv), 64):
            I = ox[k:k + 64, None, :] * oy[None, :, :]          # [x-intervals, y-intervals, cases]
            cov = (I / ab).mean(-1)
            ins = (I / (lx[k:k + 64, None, None] * lx[None, :, None])).mean(-1)
            tb = np.floor(ins * 100 + 1e-9).astype(int)        # inside >= tb/100
            for t in range(101):
                m = tb >= t
                if not m.any():
                    break
                c = np.where(m, cov, -1)
                j = np.unravel_index(np.argmax(c), c.shape)
                if np.isnan(best[t]) or c[j] > best[t]:
                    best[t] = c[j]
                    arg[t] = (iv[k + j[0]].tolist(), iv[j[1]].tolist())
        return best, arg

    for nih in FINDINGS:
        cs = [c for c in cases if c["finding"] == nih]
        sides = sorted({c["side"] for c in cs}, key=str)
        fr = {}
        for side in sides:
            A = []
            for c in cs:
                if c["side"] != side:
                    continue
                # the frame of the transform that places the finding's regions: its side's lung, or the heart
                f = transform_for(fits[c["filename"]], f"{side}-lung" if side else "heart")
                x0, y0, x1, y1 = c["box"]
                A.append([(x0 - f["offset_x"]) / f["scale_x"], (y0 - f["offset_y"]) / f["scale_y"],
                          (x1 - f["offset_x"]) / f["scale_x"], (y1 - f["offset_y"]) / f["scale_y"]])
            fr[side] = (len(A),) + frontier(np.array(A))
        n = sum(v[0] for v in fr.values())
        # joint best: inside may be traded between the sides, only the overall mean has to reach the target
        best = (-1.0, None)
        keys = list(fr)
        for ts in itertools.product(range(101), repeat=len(keys)):
            ins = sum(fr[k][0] * ts[i] / 100 for i, k in enumerate(keys)) / n
            if ins < TARGET_INSIDE - 1e-9:
                continue
            if any(np.isnan(fr[k][1][ts[i]]) for i, k in enumerate(keys)):
                continue
            cov = sum(fr[k][0] * fr[k][1][ts[i]] for i, k in enumerate(keys)) / n
            if cov > best[0]:
                best = (cov, ts)
        out[nih] = {
            "coverage_mean_max": best[0],
            "per_side": {str(k): {"n": fr[k][0], "inside_min": best[1][i] / 100,
                                  "coverage_mean": fr[k][1][best[1][i]],
                                  "rectangle_atlas_x0x1_y0y1": fr[k][2][best[1][i]],
                                  "coverage_at_inside_50": fr[k][1][50]}
                         for i, k in enumerate(keys)},
            "grid_px": step,
        }
    return out


def sweep(cases, fits, extents):
    """Region sets x grow per finding: every combination's mean coverage and inside (all images)."""
    candidates = {
        "Cardiomegaly": [["heart"], ["heart", "mediastinum"], ["heart", "{side}-lower-zone"],
                         ["heart", "right-lower-zone", "left-lower-zone"],
                         ["heart", "mediastinum", "right-lower-zone", "left-lower-zone"]],
        "Effusion": [["{side}-cp-angle"], ["{side}-lower-zone"], ["{side}-cp-angle", "{side}-lower-zone"],
                     ["{side}-cp-angle", "{side}-lower-zone", "{side}-middle-zone"],
                     ["{side}-lower-zone", "{side}-middle-zone"], ["{side}-lung"]],
    }
    out = {}
    for nih, sets in candidates.items():
        cs = [c for c in cases if c["finding"] == nih]
        res = []
        for regs in sets:
            for grow in range(0, 41, 2):
                rows = measure(cs, fits, lambda f: [("x", regs, grow, False, None)])
                s = summarise(rows)
                res.append({"extent": extent_label(regs, grow), "coverage_mean": s["coverage_mean"],
                            "inside_mean": s["inside_mean"], "meets_targets": s["meets_targets"]})
                print(f"  {nih:12s} {extent_label(regs, grow):60s} coverage {s['coverage_mean']:.3f} "
                      f"inside {s['inside_mean']:.3f}{'  MEETS' if s['meets_targets'] else ''}", file=sys.stderr)
        out[nih] = res
    return out


# ---------------------------------------------------------------------------------------------- outputs

def pct(x):
    return f"{100 * x:.0f}%"


HEADING = "## Where findings really lie (NIH expert boxes)"


def recommend(result):
    """Per finding: whether the default extent meets the targets, and which regions:grow would (from the sweep),
    else the closest one and the fixed-extent bound. Returns markdown lines (also printed)."""
    out = []
    sweep_res = result.get("sweep") or {}
    for nih, levels in result["summary"].items():
        default = next(g for g in levels.values() if g["is_default"])
        a, ap = default["all"], default["AP"]
        cands = sweep_res.get(nih, [])
        meeting = [c for c in cands if c["meets_targets"]]
        inside_ok = [c for c in cands if c["inside_mean"] >= TARGET_INSIDE]
        bound = result["fixed_extent_bound"][nih]
        head = (f"- **{nih}**: the default extent (`{default['extent']}`) covers {pct(a['coverage_mean'])} of the box "
                f"on average with {pct(a['inside_mean'])} of its bbox inside: ")
        if a["meets_targets"]:
            head += "target **met**, no change needed."
            margin = [c for c in meeting if c["coverage_mean"] >= TARGET_COVERAGE + 0.05]
            extra = ""
            if ap["n"] and not ap["meets_targets"]:
                extra += (f" AP images alone miss it ({pct(ap['coverage_mean'])} / {pct(ap['inside_mean'])}, n "
                          f"{ap['n']})")
                geo = result.get("view_geometry", {}).get(nih, {})
                if "AP" in geo and "PA" in geo:
                    g_ap, g_pa = geo["AP"], geo["PA"]
                    extra += (f": relative to the fitted atlas, AP boxes are wider (median {g_ap['box_width']:.0f} "
                              f"against {g_pa['box_width']:.0f} atlas px on PA; the region's bbox is "
                              f"{g_ap['region_bbox_width']:.0f}) and lie lower (centre {g_ap['box_centre_dy']:.0f} "
                              f"atlas px below the region's, PA {g_pa['box_centre_dy']:.0f})")
                extra += "."
            same = [c for c in margin if c["extent"].split(":")[0] == default["extent"].split(":")[0]]
            if same:
                c = min(same, key=lambda c: c["coverage_mean"])
                extra += (f" For a safety margin when the extents are next revised: `{c['extent']}` gives "
                          f"{pct(c['coverage_mean'])} / {pct(c['inside_mean'])}.")
            out.append(head + extra)
        else:
            head += "target **missed**."
            if meeting:
                best = max(meeting, key=lambda c: min(c["coverage_mean"] / TARGET_COVERAGE,
                                                      c["inside_mean"] / TARGET_INSIDE))
                head += (f" {len(meeting)} of the {len(cands)} extents tried meet both; the most balanced is "
                         f"`{best['extent']}` ({pct(best['coverage_mean'])} / {pct(best['inside_mean'])}).")
            else:
                head += (f" **No change of regions/grow meets both targets**: of the {len(cands)} extents tried "
                         f"(region sets x grow 0-40), ")
                if inside_ok:
                    best = max(inside_ok, key=lambda c: c["coverage_mean"])
                    head += (f"those with >= {pct(TARGET_INSIDE)} inside cover at most {pct(best['coverage_mean'])} "
                             f"(`{best['extent']}`: {pct(best['coverage_mean'])} / {pct(best['inside_mean'])})")
                else:
                    head += f"none keeps {pct(TARGET_INSIDE)} inside"
                hi = [c for c in cands if c["coverage_mean"] >= TARGET_COVERAGE]
                if hi:
                    c = max(hi, key=lambda c: c["inside_mean"])
                    head += (f", and those covering >= {pct(TARGET_COVERAGE)} keep at most {pct(c['inside_mean'])} "
                             f"inside (`{c['extent']}`)")
                sizes = result.get("box_sizes", {}).get(nih)
                if sizes:
                    head += (f". The boxes range from {sizes['w'][0]:.0f}x{sizes['h'][0]:.0f} to {sizes['w'][2]:.0f}x"
                             f"{sizes['h'][2]:.0f} px (10th-90th percentile of width and height, median "
                             f"{sizes['w'][1]:.0f}x{sizes['h'][1]:.0f})")
                head += (f". No extent can: the best fixed rectangle in the fitted atlas frame (one per side, "
                         f"{bound['grid_px']} px grid) reaches {pct(bound['coverage_mean_max'])} mean coverage at "
                         f"{pct(TARGET_INSIDE)} inside (per side, at {pct(TARGET_INSIDE)} inside each: "
                         + ", ".join(f"{k} {pct(v['coverage_at_inside_50'])}" for k, v in bound["per_side"].items())
                         + "): the boxes differ too much in size relative to the fitted lungs (the box "
                         "height ranges from a strip over the costophrenic angle to most of the hemithorax). "
                         + ("Placing the atlas on each lung as the segmenter finds it raised this bound (the "
                            "template fit's frame gives 65%) but not to the target: what is missing is how far "
                            "the fluid reaches in each image, which neither the lung fit nor the extent knows. "
                            "For `--remove`, the region now follows the fluid estimated on each image: see [the "
                            "next section](#effusion-removal-the-region-follows-the-lung-opacity)."
                            if result.get("fit_methods", {}).get("segmenter") else
                            "Reaching the target needs the region placed per image, not another extent."))
            out.append(head)
    return out


def fit_words(result):
    """How the measured images were fitted, e.g. 'segmented fit (258 images; template fit: 1)'."""
    m = result.get("fit_methods", {})
    if not m.get("segmenter"):
        return "template fit (the atlas registered to the image)"
    other = f"; template fit, its fallback: {m['template']}" if m.get("template") else ""
    return f"segmented fit (lungs and heart found by the segmenter: {m['segmenter']} images{other})"


def markdown(result):
    summary, fails, check_result = result["summary"], result["fit_failures"], result["check"]
    lines = [HEADING, ""]
    lines.append(
        f"`Tools/measure_region_coverage.py` places each finding's extent (findings.json) on the "
        f"{result['n_images']} NIH images of `../shared/data/nih-labelled` that carry an expert box for "
        f"Cardiomegaly or Effusion ({result['n_boxes']} boxes; effusion one-sided, on the box's side: image left = "
        "patient's right), as `cxr-edit edit IMG --add cardiomegaly` (resp. `--add \"pleural effusion\" --side "
        "right|left`) would repaint it, and compares the bounding box of the region with the expert box: "
        "**coverage** = area(bbox(region) & box) / area(box), **inside** = area(bbox(region) & box) / "
        f"area(bbox(region)). Target (issue 13): mean coverage >= {pct(TARGET_COVERAGE)} with mean inside >= "
        f"{pct(TARGET_INSIDE)}. Default levels in bold; \"severity from box size\" gives each box the level its "
        "size tertile names (as the inpainting UNet's training masks do). All images, weak fits included (as "
        f"`--force`). Regions placed by the {fit_words(result)}. Per-image rows: `{result['out']}`.")
    lines.append("")
    lines.append("| finding | level (regions:grow) | n | coverage mean / median | coverage >= 75% "
                 "| inside mean / median | PA coverage / inside | AP coverage / inside | target |")
    lines.append("|---|---|---|---|---|---|---|---|---|")
    for nih, levels in summary.items():
        for level, g in levels.items():
            a, pa, ap = g["all"], g["PA"], g["AP"]
            ext = g["extent"].replace("{side}", "{side}")
            name = f"alternative `{ext}`" if level.startswith("custom") else (
                f"{level} ({ext})" if level == "severity from box size" else f"{level} (`{ext}`)")
            if g["is_default"]:
                name = f"**{name}**"
            lines.append(
                f"| {nih} | {name} | {a['n']} | {pct(a['coverage_mean'])} / {pct(a['coverage_median'])} "
                f"| {pct(a['share_coverage_ge_75'])} | {pct(a['inside_mean'])} / {pct(a['inside_median'])} "
                f"| {pct(pa['coverage_mean'])} / {pct(pa['inside_mean'])} (n {pa['n']}) "
                f"| {pct(ap['coverage_mean'])} / {pct(ap['inside_mean'])} (n {ap['n']}) "
                f"| {'met' if a['meets_targets'] else 'missed'} |")
    lines.append("")
    fl = "; ".join(f"{nih} {f['weak']} of {f['n']} (PA {f['weak_PA']}, AP {f['weak_AP']}; median score "
                   f"{f['score_median']:.2f})" for nih, f in fails.items())
    worst = [r for r in result["rows"] if r["is_default"] and (r["filename"], r["finding"]) in
             {tuple(p) for p in result.get("figure_picks", [])[2::3]}]
    note = ""
    if worst:
        note = (" The score does not catch every misplacement: see the worst case of each finding in the picture ("
                + "; ".join(f"{r['finding']}: {r['view']}, score {r['score']:.2f}" for r in worst) + ").")
    lines.append(f"Fit failures (score below {THRESHOLD}): {fl}.{note}")
    lines.append("")
    lines.append(
        "The region is rebuilt in Python from the fit `cxr-edit explain IMG --add ... --json` prints (the same "
        "bilinear placement, 0.5 threshold and exact Euclidean growth of round(grow x mean fit scale) px as "
        "`RegionFitter.place`)"
        + (f"; its pixel count equals the `edit_coverage` cxr-edit reports in "
           f"{check_result['compared'] - check_result['mismatches']} of {check_result['compared']} image x level "
           "cases (`--check`)." if check_result else "."))
    lines.append("")
    lines.append("**Recommendation** (measured with `--sweep` and `--extent FINDING=REGIONS:GROW`; findings.json is "
                 "left as it is, the inpainting UNet is trained on these extents):")
    lines.append("")
    lines += recommend(result)
    lines.append("")
    ungrown = {c["extent"]: c for cs in (result.get("sweep") or {}).values() for c in cs}
    if "heart:0" in ungrown and "{side}-lower-zone:0" in ungrown:
        h, e = ungrown["heart:0"], ungrown["{side}-lower-zone:0"]
        if result.get("fit_methods", {}).get("segmenter"):
            lines.append(f"Issue 13 quotes 42% of a cardiomegaly box and 49% of an effusion box: the regions before "
                         f"any growth placed by the template fit (`heart:0` 48%, `{{side}}-lower-zone:0` 44%). Placed "
                         f"by the segmented fit they cover {pct(h['coverage_mean'])} and "
                         f"{pct(e['coverage_mean'])}.")
        else:
            lines.append(f"Issue 13 quotes 42% of a cardiomegaly box and 49% of an effusion box; that is close to the "
                         f"regions before any growth (`heart:0` covers {pct(h['coverage_mean'])} here, "
                         f"`{{side}}-lower-zone:0` {pct(e['coverage_mean'])}), not to the grown default extents "
                         "above.")
        lines.append("")
    lines.append("![Six NIH images: expert box (yellow), default region (cyan outline) and its bounding box (dashed "
                 "cyan); median PA, median AP and worst case per finding](images/regions/coverage.png)")
    lines.append("")
    lines.append("Images: NIH ChestX-ray14 (Wang et al., CVPR 2017), NIH Clinical Center; boxes from NIH's "
                 "BBox_List_2017.")
    lines.append("")
    return "\n".join(lines)


def write_doc(md, path):
    """Replaces the section under HEADING (up to the next `## ` heading) or appends it."""
    text = path.read_text()
    if HEADING in text:
        start = text.index(HEADING)
        nxt = text.find("\n## ", start + len(HEADING))
        text = text[:start] + md + (text[nxt + 1:] if nxt >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + md
    path.write_text(text)


def draw_figure(rows, fits, data, path, picks, levels_of):
    scale = 2
    tiles = []
    for fn, nih in picks:
        r = next(x for x in rows if x["filename"] == fn and x["finding"] == nih and x["is_default"])
        fit = fits[fn]
        W, H = fit["width"], fit["height"]
        regs, grow = next((rg, g) for lv, rg, g, d, _ in levels_of(nih) if d)
        mask, _ = place_exact(r["regions"], fit, W, H, grow)
        im = Image.open(data / "images" / fn).convert("RGB").resize((W * scale, H * scale), Image.NEAREST)
        a = np.asarray(im).copy()
        big = np.kron(mask.astype(np.uint8), np.ones((scale, scale), np.uint8)).astype(bool)
        edge = big & ~ndimage.binary_erosion(big, iterations=2, border_value=0)
        a[edge] = (0, 230, 255)
        im = Image.fromarray(a)
        d = ImageDraw.Draw(im)
        bx = [v * scale for v in r["box"]]
        d.rectangle(bx, outline=(255, 220, 0), width=3)
        if r["region_bbox"]:
            x0, y0, x1, y1 = [v * scale for v in r["region_bbox"]]
            for (p, q) in [((x0, y0), (x1, y0)), ((x1, y0), (x1, y1)), ((x1, y1), (x0, y1)), ((x0, y1), (x0, y0))]:
                n = int(max(abs(q[0] - p[0]), abs(q[1] - p[1])) // 6) + 1
                for k in range(n):
                    if k % 2 == 0:
                        t0, t1 = k / n, min((k + 1) / n, 1)
                        d.line([(p[0] + (q[0] - p[0]) * t0, p[1] + (q[1] - p[1]) * t0),
                                (p[0] + (q[0] - p[0]) * t1, p[1] + (q[1] - p[1]) * t1)], fill=(0, 230, 255), width=2)
        where = f" (patient's {r['side']})" if r["side"] else ""
        label = (f"{nih}{where}, {r['view']}, fit score {r['score']:.2f}\n"
                 f"coverage {pct(r['coverage'])}  inside {pct(r['inside'])}")
        d.rectangle([0, 0, W * scale, 30], fill=(0, 0, 0))
        d.multiline_text((4, 2), label, fill=(255, 255, 255), spacing=2)
        tiles.append(im)
    cols = 3
    rows_n = (len(tiles) + cols - 1) // cols
    tw, th = tiles[0].size
    sheet = Image.new("RGB", (cols * tw + (cols - 1) * 4, rows_n * th + (rows_n - 1) * 4), (255, 255, 255))
    for i, t in enumerate(tiles):
        sheet.paste(t, ((i % cols) * (tw + 4), (i // cols) * (th + 4)))
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(path, optimize=True)


def pick_examples(rows):
    """Per finding, a typical case (median coverage), one PA and one AP, and the worst non-weak case."""
    picks = []
    for nih in FINDINGS:
        rs = sorted([r for r in rows if r["finding"] == nih and r["is_default"] and not r["weak"]],
                    key=lambda r: r["coverage"])
        chosen = []
        for view in ("PA", "AP"):
            v = [r for r in rs if r["view"] == view]
            chosen.append(v[len(v) // 2])
        chosen.append(rs[0])
        picks += [(r["filename"], nih) for r in chosen]
    return picks


def view_geometry(rows, fits):
    """Per finding and view, for the default level: medians in atlas px (box size / fit scale) of the box's width
    and height, the region bbox's width, and how far the box centre lies right of / below the region bbox centre."""
    out = {}
    for nih in FINDINGS:
        for view in ("PA", "AP"):
            rs = [r for r in rows if r["finding"] == nih and r["is_default"] and r["view"] == view and r["region_bbox"]]
            if not rs:
                continue

            def med(f):
                return statistics.median(f(r, fits[r["filename"]]) for r in rs)
            out.setdefault(nih, {})[view] = {
                "n": len(rs),
                "box_width": med(lambda r, f: (r["box"][2] - r["box"][0]) / f["scale_x"]),
                "box_height": med(lambda r, f: (r["box"][3] - r["box"][1]) / f["scale_y"]),
                "region_bbox_width": med(lambda r, f: (r["region_bbox"][2] - r["region_bbox"][0]) / f["scale_x"]),
                "region_bbox_height": med(lambda r, f: (r["region_bbox"][3] - r["region_bbox"][1]) / f["scale_y"]),
                "box_centre_dx": med(lambda r, f: ((r["box"][0] + r["box"][2]) - (r["region_bbox"][0] + r["region_bbox"][2]))
                                     / 2 / f["scale_x"]),
                "box_centre_dy": med(lambda r, f: ((r["box"][1] + r["box"][3]) - (r["region_bbox"][1] + r["region_bbox"][3]))
                                     / 2 / f["scale_y"]),
            }
    return out


def rounded(o, digits=4):
    if isinstance(o, float):
        return round(o, digits)
    if isinstance(o, dict):
        return {str(k): rounded(v, digits) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [rounded(v, digits) for v in o]
    if isinstance(o, np.generic):
        return rounded(o.item(), digits)
    return o


def write_json(result, path):
    """Indented, except the long lists, written one object a line: sweep entries, and the rows as `cases` (one per
    box: image, finding, side, view, box [x0, y0, x1, y1] in image px, fit score, and per level the region's bbox,
    growth in px, pixel count, coverage, inside and mask_coverage)."""
    long = {k: result[k] for k in ("sweep", "rows") if k in result}
    head = json.dumps(rounded({k: v for k, v in result.items() if k not in long}), indent=1)
    parts = [head[:-2]]
    if "sweep" in long:
        parts.append(',\n "sweep": {' + ",".join(
            f'\n  "{nih}": [\n   ' + ",\n   ".join(json.dumps(rounded(c)) for c in cs) + "\n  ]"
            for nih, cs in long["sweep"].items()) + "\n }")
    if "rows" in long:
        cases = {}
        for r in long["rows"]:
            c = cases.setdefault((r["filename"], r["finding"]), {
                k: r[k] for k in ("filename", "finding", "side", "view", "box", "score", "weak")})
            c.setdefault("levels", {})[r["level"]] = {k: r[k] for k in (
                "extent", "grow_px", "region_bbox", "region_pixels", "coverage", "inside", "mask_coverage")}
        parts.append(',\n "cases": [\n  ' + ",\n  ".join(json.dumps(rounded(c)) for c in cases.values()) + "\n ]")
    text = "".join(parts) + "\n}\n"
    json.loads(text)
    path.write_text(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="nih-labelled folder (images/, labels.csv, boxes.csv)")
    ap.add_argument("--binary", type=Path, default=DEFAULT_BINARY, help="cxr-edit to fit and check with (run, not built)")
    ap.add_argument("--extent", action="append", default=[], metavar="FINDING=REGIONS:GROW",
                    help="also measure this alternative extent, e.g. cardiomegaly=heart+mediastinum:20 or "
                         "'effusion={side}-lower-zone:16' (regions joined by +, grow in atlas px); repeatable")
    ap.add_argument("--box-frame", type=float, default=256.0,
                    help="size of the square frame boxes.csv's boxes are given in (256: NIH's 1024 px boxes scaled "
                         "to the 256 px images, as in nih-labelled)")
    ap.add_argument("--out", type=Path, default=REPO / "Tools" / "runs" / "region_coverage.json", help="results JSON")
    ap.add_argument("--fits", type=Path, default=REPO / "Tools" / "runs" / "region_coverage_fits.json",
                    help="cache of the atlas fits (from cxr-edit explain)")
    ap.add_argument("--refit", action="store_true", help="fit every image again instead of reading --fits")
    ap.add_argument("--check", action="store_true", help="verify every rebuilt mask against cxr-edit explain")
    ap.add_argument("--sweep", action="store_true", help="try region sets x grow 0..40 per finding")
    ap.add_argument("--doc", action="store_true",
                    help="write the table and recommendation into docs/regions.md (replacing the section)")
    ap.add_argument("--figure", action="store_true", help="draw docs/images/regions/coverage.png")
    args = ap.parse_args()

    extents = load_extents()
    alternatives = {}
    for spec in args.extent:
        nih, e = parse_extent(spec)
        alternatives.setdefault(nih, []).append(e)

    def levels_of(nih):
        return level_list(extents, nih, alternatives)

    cases = load_cases(args.data, args.box_frame)
    fits = get_fits(args.binary, args.data, cases, args.fits, args.refit)
    for c in cases:  # box frame -> the image's own pixels
        f = fits[c["filename"]]
        kx, ky = f["width"] / args.box_frame, f["height"] / args.box_frame
        x0, y0, x1, y1 = c["box"]
        c["box"] = (x0 * kx, y0 * ky, x1 * kx, y1 * ky)
    rows = measure(cases, fits, levels_of)
    summary = groups(rows + matched_rows(rows, cases, extents))
    bound = rectangle_bound(cases, fits)
    fails = {}
    for nih in FINDINGS:
        cs = [c for c in cases if c["finding"] == nih]
        w = [c for c in cs if not (fits[c["filename"]]["score"] >= THRESHOLD)]
        fails[nih] = {"n": len(cs), "weak": len(w), "weak_PA": sum(c["view"] == "PA" for c in w),
                      "weak_AP": sum(c["view"] == "AP" for c in w),
                      "weak_images": sorted(c["filename"] for c in w),
                      "score_median": statistics.median(fits[c["filename"]]["score"] for c in cs)}
    check_result = check(args.binary, args.data, cases, fits, levels_of) if args.check else None
    result = {
        "what": "bbox of the fitted finding region vs NIH expert boxes (Tools/measure_region_coverage.py)",
        "out": str(args.out.resolve().relative_to(REPO)) if args.out.resolve().is_relative_to(REPO) else str(args.out),
        "data": str(args.data), "binary": str(args.binary), "threshold": THRESHOLD,
        "targets": {"coverage_mean": TARGET_COVERAGE, "inside_mean": TARGET_INSIDE},
        "extents": {k: v["levels"] for k, v in extents.items()},
        "alternatives": {k: [extent_label(*e) for e in v] for k, v in alternatives.items()},
        "n_boxes": len(cases), "n_images": len({c["filename"] for c in cases}),
        "summary": summary, "fit_failures": fails, "check": check_result,
        "fixed_extent_bound": bound, "view_geometry": view_geometry(rows, fits),
        "fit_methods": dict(collections.Counter(fits[fn].get("method", "template")
                                                for fn in {c["filename"] for c in cases})),
        "figure_picks": pick_examples(rows),
        "box_sizes": {nih: {k: np.percentile([c["box"][i + 2] - c["box"][i] for c in cases if c["finding"] == nih],
                                             [10, 50, 90]).tolist() for k, i in (("w", 0), ("h", 1))}
                      for nih in FINDINGS},
        "rows": rows,
    }
    if args.sweep:
        result["sweep"] = sweep(cases, fits, extents)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_json(result, args.out)

    for nih, levels in summary.items():
        for level, g in levels.items():
            a = g["all"]
            print(f"{nih:12s} {level:34s} {g['extent']:58s} n {a['n']:3d}  coverage {a['coverage_mean']:.3f} "
                  f"(med {a['coverage_median']:.3f}, >=75% {a['share_coverage_ge_75']:.2f})  inside "
                  f"{a['inside_mean']:.3f} (med {a['inside_median']:.3f})  PA {g['PA']['coverage_mean']:.3f}/"
                  f"{g['PA']['inside_mean']:.3f}  AP {g['AP']['coverage_mean']:.3f}/{g['AP']['inside_mean']:.3f}"
                  f"{'  MEETS' if a['meets_targets'] else ''}{'  [default]' if g['is_default'] else ''}")
    for nih, f in fails.items():
        print(f"{nih}: weak fits {f['weak']} of {f['n']} (PA {f['weak_PA']}, AP {f['weak_AP']})")
    for nih, b in bound.items():
        print(f"{nih}: best fixed rectangle in the atlas frame with mean inside >= {TARGET_INSIDE}: mean coverage "
              f"{b['coverage_mean_max']:.3f}", {k: round(v["coverage_at_inside_50"], 3) for k, v in b["per_side"].items()})
    if check_result:
        print(f"check: {check_result['mismatches']} mismatches in {check_result['compared']}", check_result["examples"])
    if args.figure:
        draw_figure(rows, fits, args.data, REPO / "docs" / "images" / "regions" / "coverage.png",
                    result["figure_picks"], levels_of)
    for line in recommend(result):
        print(line)
    if args.doc:
        write_doc(markdown(result), REPO / "docs" / "regions.md")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
