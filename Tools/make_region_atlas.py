#!/usr/bin/env python3
"""Builds the average anatomical region atlas (Masks/*.png) from the JSRT SCR masks.

Run from the repository root (needs numpy + pillow, e.g. the project venv):

    /work/venv/bin/python Tools/make_region_atlas.py [--data ../shared/data/cxr256]

Inputs: <data>/masks_jsrt/<id>_{right_lung,left_lung,heart}.png and <data>/images/jsrt_<id>.png
(256x256, image left = patient's right). JSRT/SCR terms forbid redistributing images, masks or
per-image derivatives: only AVERAGES over many cases are written.

Held-out rule (fixed): the JSRT ids sorted by name; every 5th (index % 5 == 4) is held out and NOT
used for the atlas; Tests/CXRFindingsTests measure region fitting on those.

Frame: 256x256 "atlas frame". Every training case is mapped into it by the per-axis scale and
translation that sends its own lung bounding box (union of both lungs) onto the mean lung box, so
the atlas is sharp where lungs agree in shape rather than blurred by position/size differences.

Outputs (deterministic, bit-for-bit on re-run):
  Masks/<name>.png                      8-bit grey, 255 = region, for the 15 region names
  Masks/README.md is hand-written (not generated)
  Sources/CXRFindings/Resources/atlas/  copies of the region PNGs, template.png (mean
                                        rank-equalised radiograph in the atlas frame, used by the
                                        fitter), atlas.json (frame, lung box, derivation figures)
  docs/images/regions/overview.png      colour overview of all regions over the template
"""
import argparse
import json
import os

import numpy as np
from PIL import Image

SIZE = 256
NAMES = ["right-lung", "left-lung", "lungs", "heart", "mediastinum", "right-cp-angle", "left-cp-angle",
         "right-upper-zone", "right-middle-zone", "right-lower-zone", "left-upper-zone", "left-middle-zone",
         "left-lower-zone", "right-apex", "left-apex"]
APEX_FRACTION = 0.2          # top 20% of each lung's height
CP_HEIGHT_FRACTION = 0.25    # bottom 25% of the lung's height ...
CP_WIDTH_FRACTION = 0.5      # ... and its lateral half


def ids(data):
    names = sorted(f[:-len("_heart.png")] for f in os.listdir(os.path.join(data, "masks_jsrt")) if f.endswith("_heart.png"))
    train = [n for i, n in enumerate(names) if i % 5 != 4]
    held = [n for i, n in enumerate(names) if i % 5 == 4]
    return train, held


def load(path):
    return np.asarray(Image.open(path).convert("L"), dtype=np.float64)


def bbox(mask):
    ys, xs = np.nonzero(mask > 127)
    return float(xs.min()), float(xs.max() + 1), float(ys.min()), float(ys.max() + 1)


def warp(img, src_box, dst_box):
    """Bilinear resample of `img` so that src_box (x0, x1, y0, y1) lands on dst_box in a SIZE frame."""
    sx = (src_box[1] - src_box[0]) / (dst_box[1] - dst_box[0])
    sy = (src_box[3] - src_box[2]) / (dst_box[3] - dst_box[2])
    u = np.arange(SIZE) + 0.5
    xs = src_box[0] + (u - dst_box[0]) * sx - 0.5
    ys = src_box[2] + (u - dst_box[2]) * sy - 0.5
    x0 = np.floor(xs).astype(int); fx = xs - x0
    y0 = np.floor(ys).astype(int); fy = ys - y0
    h, w = img.shape

    def at(yy, xx):
        inside = (yy[:, None] >= 0) & (yy[:, None] < h) & (xx[None, :] >= 0) & (xx[None, :] < w)
        v = img[np.clip(yy, 0, h - 1)][:, np.clip(xx, 0, w - 1)]
        return np.where(inside, v, 0.0)

    return ((1 - fy)[:, None] * ((1 - fx)[None, :] * at(y0, x0) + fx[None, :] * at(y0, x0 + 1))
            + fy[:, None] * ((1 - fx)[None, :] * at(y0 + 1, x0) + fx[None, :] * at(y0 + 1, x0 + 1)))


def equalise(img):
    """Rank transform to [0, 1] (ties share the mean rank): contrast-independent, as the fitter does."""
    flat = img.ravel()
    order = np.argsort(flat, kind="stable")
    ranks = np.empty(flat.size)
    ranks[order] = np.arange(flat.size)
    # average ranks of equal values
    vals, inv = np.unique(flat, return_inverse=True)
    sums = np.bincount(inv, weights=ranks)
    counts = np.bincount(inv)
    return ((sums / counts)[inv] / (flat.size - 1)).reshape(img.shape)


def rows_cols(mask):
    ys, xs = np.nonzero(mask)
    return ys.min(), ys.max() + 1, xs.min(), xs.max() + 1


def derive(right, left, heart):
    out = {"right-lung": right, "left-lung": left, "lungs": right | left, "heart": heart}
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    for side, lung in (("right", right), ("left", left)):
        top, bottom, x0, x1 = rows_cols(lung)
        h = bottom - top
        t1, t2 = top + round(h / 3), top + round(2 * h / 3)
        out[f"{side}-upper-zone"] = lung & (yy < t1)
        out[f"{side}-middle-zone"] = lung & (yy >= t1) & (yy < t2)
        out[f"{side}-lower-zone"] = lung & (yy >= t2)
        out[f"{side}-apex"] = lung & (yy < top + round(APEX_FRACTION * h))
        low = yy >= bottom - round(CP_HEIGHT_FRACTION * h)
        w = x1 - x0
        # patient's right lung is on the image left: its lateral side is small x
        lateral = (xx < x0 + round(CP_WIDTH_FRACTION * w)) if side == "right" else (xx >= x1 - round(CP_WIDTH_FRACTION * w))
        out[f"{side}-cp-angle"] = lung & low & lateral
    # mediastinum: between the medial lung borders, from the lung tops down, above the heart
    med = np.zeros_like(right)
    heart_rows = np.nonzero(heart.any(axis=1))[0]
    heart_top_global = heart_rows.min()
    heart_top_col = np.where(heart.any(axis=0), np.argmax(heart, axis=0), heart_top_global)
    for y in range(SIZE):
        r = np.nonzero(right[y])[0]; l = np.nonzero(left[y])[0]
        if r.size == 0 or l.size == 0:
            continue
        a, b = r.max() + 1, l.min()
        for x in range(a, b):
            if y < heart_top_col[x]:
                med[y, x] = True
    out["mediastinum"] = med & ~heart & ~(right | left)
    return out


def save(mask_or_grey, path):
    arr = mask_or_grey if mask_or_grey.dtype == np.uint8 else (mask_or_grey.astype(np.uint8) * 255)
    Image.fromarray(arr, mode="L").save(path, optimize=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="../shared/data/cxr256")
    ap.add_argument("--repo", default=".")
    a = ap.parse_args()
    train, held = ids(a.data)
    boxes = {}
    for n in train:
        r = load(os.path.join(a.data, "masks_jsrt", f"{n}_right_lung.png"))
        l = load(os.path.join(a.data, "masks_jsrt", f"{n}_left_lung.png"))
        boxes[n] = bbox(np.maximum(r, l))
    mean_box = tuple(float(np.mean([b[i] for b in boxes.values()])) for i in range(4))
    acc = {k: np.zeros((SIZE, SIZE)) for k in ("right_lung", "left_lung", "heart")}
    tmpl = np.zeros((SIZE, SIZE))
    cover = np.zeros((SIZE, SIZE))
    for n in train:
        for k in acc:
            acc[k] += warp(load(os.path.join(a.data, "masks_jsrt", f"{n}_{k}.png")) / 255.0, boxes[n], mean_box)
        img = load(os.path.join(a.data, "images", f"jsrt_{n}.png"))
        tmpl += warp(equalise(img), boxes[n], mean_box)
        cover += warp(np.ones_like(img), boxes[n], mean_box)
    prob = {k: v / len(train) for k, v in acc.items()}
    # mean over the cases whose image covers the pixel (no black rims from out-of-image samples)
    tmpl = np.where(cover > 1e-6, tmpl / np.maximum(cover, 1e-6), 0.0)
    right, left = prob["right_lung"] >= 0.5, prob["left_lung"] >= 0.5
    heart = (prob["heart"] >= 0.5) & ~right & ~left
    regions = derive(right, left, heart)
    assert sorted(regions) == sorted(NAMES)

    masks_dir = os.path.join(a.repo, "Masks")
    res_dir = os.path.join(a.repo, "Sources", "CXRFindings", "Resources", "atlas")
    img_dir = os.path.join(a.repo, "docs", "images", "regions")
    for d in (masks_dir, res_dir, img_dir):
        os.makedirs(d, exist_ok=True)
    for name in NAMES:
        save(regions[name], os.path.join(masks_dir, f"{name}.png"))
        save(regions[name], os.path.join(res_dir, f"{name}.png"))
    save(np.clip(np.round(tmpl * 255), 0, 255).astype(np.uint8), os.path.join(res_dir, "template.png"))
    info = {
        "frame": {"width": SIZE, "height": SIZE, "orientation": "PA; image left = patient's right"},
        "lung_box": {"x0": round(mean_box[0], 3), "x1": round(mean_box[1], 3), "y0": round(mean_box[2], 3), "y1": round(mean_box[3], 3)},
        "training_cases": len(train), "held_out_cases": len(held),
        "held_out_rule": "JSRT ids sorted by name; index % 5 == 4 held out",
        "threshold": 0.5, "apex_fraction": APEX_FRACTION,
        "cp_angle": {"height_fraction": CP_HEIGHT_FRACTION, "width_fraction": CP_WIDTH_FRACTION},
        "pixels": {name: int(regions[name].sum()) for name in NAMES},
    }
    with open(os.path.join(res_dir, "atlas.json"), "w") as f:
        json.dump(info, f, indent=2, sort_keys=True)
        f.write("\n")
    # overview: template in grey, each region tinted
    colours = {"right-upper-zone": (230, 80, 80), "right-middle-zone": (240, 160, 60), "right-lower-zone": (230, 220, 70),
               "left-upper-zone": (80, 120, 230), "left-middle-zone": (70, 200, 220), "left-lower-zone": (120, 220, 120),
               "heart": (220, 70, 200), "mediastinum": (160, 110, 60)}
    base = np.repeat((tmpl * 255)[:, :, None], 3, axis=2)
    over = base.copy()
    for name, c in colours.items():
        m = regions[name]
        over[m] = 0.45 * base[m] + 0.55 * np.array(c)
    for name in ("right-cp-angle", "left-cp-angle", "right-apex", "left-apex"):
        m = regions[name]
        edge = m & ~(np.roll(m, 1, 0) & np.roll(m, -1, 0) & np.roll(m, 1, 1) & np.roll(m, -1, 1))
        over[edge] = (255, 255, 255)
    big = Image.fromarray(np.clip(np.round(over), 0, 255).astype(np.uint8), mode="RGB").resize((512, 512), Image.NEAREST)
    big.save(os.path.join(img_dir, "overview.png"), optimize=True)
    print(json.dumps(info["lung_box"]), "train", len(train), "held", len(held))


if __name__ == "__main__":
    main()
