"""The toy training set and the pictures of docs/synthesize.md (balancing a skewed training set with synthesize).

Run from the repository root (../shared/data/nih-labelled must exist beside the repo for `toy`):

  /work/venv/bin/python Tools/synthesize_walkthrough.py toy --out /tmp/toy.csv
      picks the toy training set (single-label NIH images, first per patient in file-name order), prints its label
      counts and what each class lacks to reach --target images (the distribution of
      docs/examples/synthesize-balance.yaml).
  /work/venv/bin/python Tools/synthesize_walkthrough.py figures --toy /tmp/toy.csv --dataset synth-balance \
      --out docs/images/synthesize
      draws histogram.png (requested vs realised synthetic labels; the training set before and after) and
      contact-sheet.png (every generated image with its labels) from the dataset's labels.csv and the spec.

Deterministic: the same inputs give the same PNGs, byte for byte (numpy + Pillow only, Pillow's built-in font).
"""
import argparse
import csv
import os
import sys

import numpy as np
from PIL import Image, ImageDraw, ImageFont

CLASSES = ["No Finding", "Cardiomegaly", "Pneumothorax", "Effusion"]
TOY_COUNTS = {"No Finding": 9, "Cardiomegaly": 6, "Pneumothorax": 3, "Effusion": 2}
NIH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data", "nih-labelled", "labels.csv")


def font(size):
    return ImageFont.load_default(size=size)


def toy(args):
    if not os.path.exists(args.labels):
        sys.exit(f"{args.labels}: not found (the NIH labelled set is expected beside the repo, ../shared/data)")
    rows = sorted(csv.DictReader(open(args.labels, newline="")), key=lambda r: r["filename"])
    picked, patients = [], set()
    count = {c: 0 for c in CLASSES}
    for r in rows:
        f = r["findings"]
        if f in TOY_COUNTS and count[f] < TOY_COUNTS[f] and r["patient_id"] not in patients:
            picked.append(r)
            patients.add(r["patient_id"])
            count[f] += 1
    with open(args.out, "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["filename", "patient_id", "label", "sex", "age", "view"])
        for r in picked:
            w.writerow([r["filename"], r["patient_id"], r["findings"], r["sex"], r["age"], r["view"]])
    need = {c: max(0, args.target - count[c]) for c in CLASSES}
    total = sum(need.values())
    print(f"toy training set: {len(picked)} images -> {args.out}")
    for c in CLASSES:
        print(f"  {c:13s} {count[c]:3d}   lacks {need[c]:3d}   fraction {need[c] / total:.9f}")
    print(f"synthetic images to request: {total}")


def read_csv(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def bars(draw, x0, y0, w, h, groups, series, colours, vmax, title, target=None):
    """Grouped (and optionally stacked) bar chart: groups = class names; series = list of (name, values or
    (bottom, top) pairs per class)."""
    f, fs = font(13), font(11)
    draw.text((x0 + w // 2, y0), title, fill=0, font=font(14), anchor="mt")
    top, bottom, left = y0 + 26, y0 + h - 34, x0 + 30
    draw.line([(left, top), (left, bottom), (x0 + w - 6, bottom)], fill=0)
    step = 2 if vmax <= 12 else 5
    for v in range(0, vmax + 1, step):
        y = bottom - (bottom - top) * v / vmax
        draw.line([(left - 4, y), (left, y)], fill=0)
        draw.text((left - 6, y), str(v), fill=0, font=fs, anchor="rm")
    gw = (x0 + w - 6 - left) / len(groups)
    bw = gw * 0.7 / len(series)
    for gi, g in enumerate(groups):
        gx = left + gi * gw + gw * 0.15
        for si, (_, values) in enumerate(series):
            v = values[gi]
            lo, hi = (0, v) if not isinstance(v, tuple) else v
            for (a, b), col in ([((0, lo), (200, 200, 200)), ((lo, hi), colours[si])] if isinstance(v, tuple) else [((0, hi), colours[si])]):
                if b <= a:
                    continue
                ya, yb = bottom - (bottom - top) * a / vmax, bottom - (bottom - top) * b / vmax
                draw.rectangle([gx + si * bw, yb, gx + (si + 1) * bw - 2, ya], fill=col, outline=(60, 60, 60))
            draw.text((gx + si * bw + bw / 2 - 1, bottom - (bottom - top) * hi / vmax - 2), str(hi), fill=0, font=fs, anchor="mb")
        draw.text((left + gi * gw + gw / 2, bottom + 6), g, fill=0, font=f, anchor="mt")
    if target is not None:
        y = bottom - (bottom - top) * target / vmax
        for xx in range(int(left), int(x0 + w - 6), 8):
            draw.line([(xx, y), (xx + 4, y)], fill=(200, 0, 0))
        draw.text((left + 4, y - 2), f"target {target}", fill=(200, 0, 0), font=fs, anchor="lb")
    # legend
    lx = left + 6
    for si, (name, _) in enumerate(series):
        draw.rectangle([lx, top + 2, lx + 10, top + 12], fill=colours[si], outline=(60, 60, 60))
        draw.text((lx + 14, top + 7), name, fill=0, font=fs, anchor="lm")
        lx += 20 + draw.textlength(name, font=fs)


def figures(args):
    toy_rows = read_csv(args.toy)
    real = [sum(r["label"] == c for r in toy_rows) for c in CLASSES]
    labels = read_csv(os.path.join(args.dataset, "labels.csv"))
    realised = [sum(r[c] == "1" for r in labels) for c in CLASSES]
    import json
    summary = json.load(open(os.path.join(args.dataset, "summary.json")))
    req = summary.get("requested_labels", {})
    requested = [int(req.get(c, 0)) for c in CLASSES]
    short = ["no finding", "cardiomegaly", "pneumothorax", "effusion"]

    img = Image.new("RGB", (900, 300), "white")
    d = ImageDraw.Draw(img)
    vmax = max(requested + realised) + 1
    bars(d, 0, 8, 440, 290, short, [("requested", requested), ("realised (labels.csv)", realised)],
         [(240, 170, 90), (70, 120, 200)], vmax, "synthetic images per label")
    after = [(a, a + b) for a, b in zip(real, realised)]
    vmax2 = max(h for _, h in after) + 2
    target = max(h for _, h in after) if len(set(h for _, h in after)) == 1 else None
    bars(d, 455, 8, 440, 290, short, [("real", real), ("real + synthetic", after)],
         [(200, 200, 200), (70, 120, 200)], vmax2, "toy training set: before / after", target=target)
    os.makedirs(args.out, exist_ok=True)
    img.save(os.path.join(args.out, "histogram.png"), optimize=True)

    # Contact sheet: every image in labels.csv order with its label, side/severity and demographics.
    cols, t, cap = 6, 120, 30
    n = len(labels)
    rows_n = (n + cols - 1) // cols
    sheet = Image.new("L", (cols * (t + 4) + 4, rows_n * (t + cap + 4) + 4), 255)
    sd = ImageDraw.Draw(sheet)
    fs = font(11)
    for i, r in enumerate(labels):
        x, y = 4 + (i % cols) * (t + 4), 4 + (i // cols) * (t + cap + 4)
        im = Image.open(os.path.join(args.dataset, r["file"])).convert("L").resize((t, t), Image.LANCZOS)
        sheet.paste(im, (x, y))
        finding = {"pleural-effusion": "effusion", "no-finding": "no finding"}.get(r["findings"], r["findings"]) or "-"
        side = {"left": "L", "right": "R", "bilateral": "both"}.get(r["side"], r["side"])
        demo = " ".join(v for v in [r["sex"][:1].upper() if r["sex"] else "", r["age"], r["view"]] if v)
        sd.text((x + t // 2, y + t + 2), f"{finding} {side} {r['severity'].replace('moderate', 'mod.')}".strip(), fill=0, font=fs, anchor="mt")
        sd.text((x + t // 2, y + t + 15), f"{demo}  #{os.path.basename(r['file'])[:6]}", fill=90, font=fs, anchor="mt")
    sheet.save(os.path.join(args.out, "contact-sheet.png"), optimize=True)
    for name in ["histogram.png", "contact-sheet.png"]:
        p = os.path.join(args.out, name)
        print(f"{p}: {os.path.getsize(p) // 1024} KB")
    print("real", dict(zip(CLASSES, real)), "requested", dict(zip(CLASSES, requested)), "realised", dict(zip(CLASSES, realised)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("toy")
    a.add_argument("--labels", default=NIH)
    a.add_argument("--out", required=True)
    a.add_argument("--target", type=int, default=11)
    b = sub.add_parser("figures")
    b.add_argument("--toy", required=True)
    b.add_argument("--dataset", required=True)
    b.add_argument("--out", required=True)
    args = ap.parse_args()
    toy(args) if args.cmd == "toy" else figures(args)


if __name__ == "__main__":
    main()
