"""Trains the demo chest X-ray classifier shipped in Models/cxr-demo-classifier/ (a demonstration, not a
clinical tool): the default classifier of `cxr-edit probe`, so that probe runs work offline.

Run (CPU, 2 threads: about 15 minutes wall on this project's 2-core machine while other jobs ran,
52-143 s per epoch; the repository's ../shared/data must exist):
    nice -n 10 /work/venv/bin/python Tools/classifiers/train_demo_classifier.py \
        --data ../shared/data --out Models/cxr-demo-classifier [--epochs 10]

Data (both 256x256 8-bit grey PNG, see their READMEs):
  - ../shared/data/nih-labelled: 1,787 NIH ChestX-ray14 images, NIH labels (findings, sex, view). Permissive.
  - ../shared/data/cxr256: only rows with license_class == "permissive" (COVID-19 image data collection
    images with open licences); JSRT and non-permissive rows are not used, so every training image may be
    redistributed. Findings there are COVID/pneumonia types, so only Abnormal/Male/AP view are labelled;
    the finding labels are masked out of the loss for those rows.
Held-out split: a row is held out when sha256(group key) mod 5 == 0, the group key being "nih:<patient_id>"
for NIH rows (patient-level split) and "covid:<patientid from notes>" (else the file name) for cxr256 rows.
Outputs: model.safetensors (fp32), config.json and MODEL_CARD.md, and prints the held-out AUROCs
(also written into config.json as "heldout_auroc"). Seeded (torch and numpy) with
torch.use_deterministic_algorithms, so a rerun on the same torch build and thread count should give the same
weights (not verified bit-for-bit: one run costs 15 minutes here).
"""
import argparse
import csv
import hashlib
import json
import math
import os
import re
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from demo_cnn import DemoCNN, LABELS, LAYERS, SIZE, export_state, preprocess  # noqa: E402
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cxr_mini"))
import common as cxr_mini_common  # noqa: E402  (cxr-mini's split rule, so that both sides use the one rule)

FINDING_LABELS = ["Atelectasis", "Cardiomegaly", "Effusion", "Infiltration", "Pneumothorax", "Edema",
                  "Pneumonia", "Nodule", "Mass"]


def held_out(key):
    return int(hashlib.sha256(key.encode()).hexdigest(), 16) % 5 == 0


def cxr_mini_held_out(filename, patient_id="", notes=""):
    """cxr-mini's own held-out split (Tools/cxr_mini/common.py): its edits are evaluated on these images."""
    return cxr_mini_common.is_heldout({"filename": filename, "patient_id": patient_id, "notes": notes})


def load_rows(data):
    """(path, split key, labels, held out by cxr-mini's split) per usable row."""
    rows = []
    nih = os.path.join(data, "nih-labelled")
    for r in csv.DictReader(open(os.path.join(nih, "labels.csv"))):
        findings = set(r["findings"].split("|"))
        y = {"Abnormal": 0.0 if findings == {"No Finding"} else 1.0}
        for f in FINDING_LABELS:
            y[f] = 1.0 if f in findings else 0.0
        if r["sex"] in ("M", "F"):
            y["Male"] = 1.0 if r["sex"] == "M" else 0.0
        if r["view"] in ("PA", "AP"):
            y["AP view"] = 1.0 if r["view"] == "AP" else 0.0
        rows.append((os.path.join(nih, "images", r["filename"]), "nih:" + r["patient_id"], y,
                     cxr_mini_held_out(r["filename"], r["patient_id"])))
    c256 = os.path.join(data, "cxr256")
    for r in csv.DictReader(open(os.path.join(c256, "labels.csv"))):
        if r["license_class"] != "permissive" or not r["source"].startswith("ieee8023"):
            continue  # JSRT / non-permissive excluded; the 2 NIH images are already in nih-labelled
        y = {"Abnormal": 0.0 if r["findings"] == "No Finding" else 1.0}
        if r["sex"] in ("M", "F"):
            y["Male"] = 1.0 if r["sex"] == "M" else 0.0
        if r["view"] in ("PA", "AP", "AP Supine"):
            y["AP view"] = 0.0 if r["view"] == "PA" else 1.0
        m = re.search(r"patientid=([^;]+)", r["notes"])
        key = "covid:" + (m.group(1).strip() if m else r["filename"])
        rows.append((os.path.join(c256, "images", r["filename"]), key, y,
                     cxr_mini_held_out(r["filename"], notes=r["notes"])))
    return rows


def auroc(scores, labels):
    """Mann-Whitney AUROC with average ranks for ties; nan when one class is absent."""
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.float64)
    npos = labels.sum()
    nneg = len(labels) - npos
    if npos == 0 or nneg == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    s = scores[order]
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and s[j + 1] == s[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[labels == 1].sum() - npos * (npos + 1) / 2) / (npos * nneg))


CARD = """# cxr-demo-classifier — model card

**A demonstration, not a medical device and not for clinical use.** This small CNN exists so that
`cxr-edit probe` runs offline with a default classifier; its scores show how counterfactual edits move a
classifier's outputs, not whether a radiograph shows disease. For real studies use a validated model
(e.g. torchxrayvision's DenseNet, `densenet121:` or `cmd:` classifier specs — see docs/classifiers.md).

## Model
- Architecture: {n_layers} conv3x3-BatchNorm-ReLU layers (channels {channels}, strides {strides}), global average
  pool, linear, one sigmoid per label (multi-label). {params:,} parameters, float32 `model.safetensors`.
- Input: grey, centre square crop, bilinear resize to {size}x{size}, x = v / max * 2 - 1 (config.json `input`).
- Labels (torchxrayvision spelling where one exists): {labels}.
  `Abnormal` = any NIH finding vs "No Finding"; `Male` = patient sex; `AP view` = AP (incl. supine) vs PA.
- Swift implementation: `Sources/CXRClassifiers/DemoClassifier.swift` (parity with PyTorch tested).

## Training
`Tools/classifiers/train_demo_classifier.py` ({epochs} epochs, AdamW, one-cycle LR, BCE with positive weights
capped at 8, random shifts and contrast jitter; CPU, 2 threads). Data:
- **nih-labelled**: {n_nih} images from NIH ChestX-ray14 (Wang et al., CVPR 2017; NIH Clinical Center, no
  restriction on use — please cite the paper and acknowledge the NIH Clinical Center). Labels were text-mined
  from reports (~90% accurate), and half of the images come from NIH's bounding-box subset, so findings are
  over-represented compared with a clinical population.
- **cxr256, permissive rows only**: {n_covid} images from the COVID-19 image data collection (Cohen et al.,
  ieee8023/covid-chestxray-dataset) with open licences (per-image licence in the dataset's labels.csv). Only
  Abnormal/Male/AP view are labelled for them. JSRT and non-permissively licensed images were not used.

Held-out split: a row is held out when sha256(group key) mod 5 == 0, with group key `nih:<patient_id>` (no
patient is in both splits) or `covid:<patientid>`.{also_held_out} {n_train} training / {n_test} held-out images.

## Held-out AUROC
| label | AUROC | positives / labelled |
|---|---|---|
{rows}

Mean over labels: {mean:.3f}. These are small held-out sets (wide confidence intervals) from the same two
sources as training; expect lower performance on other hospitals, scanners and processing.

## Known shortcuts and limits
Trained on 128 px images from few sources: it can rely on view, text markers, collimation and source-specific
processing (e.g. COVID-collection images are mostly abnormal and often AP). That makes it a reasonable
*subject* for counterfactual shortcut probing, and a poor diagnostic tool.
"""

# Card text of a --hold-out-cxr-mini run (the classifier that Tools/cxr_mini/evaluate_edits.py scores edits with).
ALSO_HELD_OUT = """ Also held out: every patient of cxr-mini's held-out split
(Tools/cxr_mini/common.py `is_heldout`), so that this retrain (`--hold-out-cxr-mini`) never trained on the
held-out images whose edits Tools/cxr_mini/evaluate_edits.py scores with it."""

EVALUATION_ROLE = """**Role.** Not a model cxr-edit loads: the demo classifier's recipe retrained (`--hold-out-cxr-mini`) to score
cxr-mini's edits in `Tools/cxr_mini/evaluate_edits.py` on images it never trained on (the shipped demo classifier
trained on most of cxr-mini's held-out NIH images). Everything below applies to it as to the demo classifier.
"""


def write_model_card(out):
    cfg = json.load(open(os.path.join(out, "config.json")))
    from safetensors.numpy import load_file
    w = load_file(os.path.join(out, "model.safetensors"))
    params = sum(v.size for k, v in w.items() if "running" not in k)
    t = cfg["training"]
    rows = "\n".join(f"| {k} | {v:.3f} | {cfg['heldout_counts'][k]['positives']} / {cfg['heldout_counts'][k]['labelled']} |"
                     for k, v in cfg["heldout_auroc"].items())
    layers = cfg["layers"]
    text = CARD.format(n_layers=len(layers), channels=[l["out_channels"] for l in layers],
                       strides=[l["stride"] for l in layers], params=params, size=cfg["input"]["size"],
                       labels=", ".join(cfg["labels"]), epochs=t["epochs"], n_nih=t.get("nih_images", "1,787"),
                       n_covid=t.get("covid_images", "101"), n_train=t["images"], n_test=t["heldout_images"],
                       rows=rows, mean=float(np.nanmean(list(cfg["heldout_auroc"].values()))),
                       also_held_out=ALSO_HELD_OUT if "cxr-mini" in t["split"] else "")
    if "cxr-mini" in t["split"]:
        title, _, rest = text.partition("\n")
        text = (title.replace("cxr-demo-classifier", "cxr-mini evaluation classifier") + "\n\n" + EVALUATION_ROLE
                + rest)
    with open(os.path.join(out, "MODEL_CARD.md"), "w") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--card-only", action="store_true", help="rewrite MODEL_CARD.md from --out's config.json")
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--out", default="Models/cxr-demo-classifier")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--hold-out-cxr-mini", action="store_true",
                    help="also hold out cxr-mini's held-out patients: the classifier that scores cxr-mini's edits "
                         "(Tools/cxr_mini/evaluate_edits.py) must not have trained on the images it scores")
    ap.add_argument("--seed", type=int, default=0,
                    help="torch and numpy seed (the shipped model and the evaluation classifier use 0; other seeds "
                         "show how much a result depends on the one classifier that scores it)")
    args = ap.parse_args()
    if args.card_only:
        write_model_card(args.out)
        return
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)
    rng = np.random.default_rng(args.seed)

    rows = load_rows(args.data)
    t0 = time.time()
    X = np.stack([preprocess(p) for p, *_ in rows]).astype(np.float32)
    Y = np.zeros((len(rows), len(LABELS)), np.float32)
    M = np.zeros((len(rows), len(LABELS)), np.float32)
    for i, (_, _, y, _) in enumerate(rows):
        for k, v in y.items():
            Y[i, LABELS.index(k)] = v
            M[i, LABELS.index(k)] = 1
    test = np.array([held_out(k) or (args.hold_out_cxr_mini and mini) for _, k, _, mini in rows])
    print(f"{len(rows)} images ({test.sum()} held out), loaded in {time.time() - t0:.1f}s", flush=True)
    for j, lab in enumerate(LABELS):
        tr = (M[~test, j] == 1)
        te = (M[test, j] == 1)
        print(f"  {lab:14s} train {int(Y[~test, j][tr].sum())}/{int(tr.sum())}  "
              f"held-out {int(Y[test, j][te].sum())}/{int(te.sum())}")

    Xtr, Ytr, Mtr = torch.from_numpy(X[~test]), torch.from_numpy(Y[~test]), torch.from_numpy(M[~test])
    Xte = torch.from_numpy(X[test])
    # Positive weights so rare findings still shape the features (capped).
    pos = (Ytr * Mtr).sum(0)
    neg = ((1 - Ytr) * Mtr).sum(0)
    pos_weight = torch.clamp(neg / pos.clamp(min=1), max=8.0)

    model = DemoCNN()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    batch = 32
    steps_per_epoch = math.ceil(len(Xtr) / batch)
    total = steps_per_epoch * args.epochs
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=total, pct_start=0.15)
    pad = 8
    for epoch in range(args.epochs):
        model.train()
        perm = torch.from_numpy(rng.permutation(len(Xtr)))
        t1 = time.time()
        run = 0.0
        for s in range(steps_per_epoch):
            idx = perm[s * batch:(s + 1) * batch]
            xb = Xtr[idx]
            # Augmentation: random shift (reflect pad + crop), contrast/brightness jitter.
            xp = F.pad(xb, (pad, pad, pad, pad), mode="reflect")
            dx, dy = rng.integers(0, 2 * pad + 1, size=2)
            xb = xp[:, :, dy:dy + SIZE, dx:dx + SIZE]
            c = torch.from_numpy(rng.uniform(0.8, 1.2, size=(len(idx), 1, 1, 1)).astype(np.float32))
            b = torch.from_numpy(rng.uniform(-0.1, 0.1, size=(len(idx), 1, 1, 1)).astype(np.float32))
            xb = (xb * c + b).clamp(-1, 1)
            logits = model(xb)
            loss = F.binary_cross_entropy_with_logits(logits, Ytr[idx], weight=Mtr[idx],
                                                      pos_weight=pos_weight, reduction="sum")
            loss = loss / Mtr[idx].sum().clamp(min=1)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            run += loss.item()
        model.eval()
        with torch.no_grad():
            p = torch.sigmoid(torch.cat([model(Xte[i:i + 128]) for i in range(0, len(Xte), 128)])).numpy()
        aucs = {lab: auroc(p[M[test, j] == 1, j], Y[test, j][M[test, j] == 1]) for j, lab in enumerate(LABELS)}
        mean = np.nanmean(list(aucs.values()))
        print(f"epoch {epoch + 1}/{args.epochs} loss {run / steps_per_epoch:.4f} held-out mean AUROC {mean:.3f} "
              f"({time.time() - t1:.0f}s)", flush=True)

    os.makedirs(args.out, exist_ok=True)
    from safetensors.torch import save_file
    save_file(export_state(model), os.path.join(args.out, "model.safetensors"),
              metadata={"format": "pt", "model": "cxr-demo-cnn"})
    counts = {lab: {"positives": int(Y[test, j][M[test, j] == 1].sum()), "labelled": int((M[test, j] == 1).sum())}
              for j, lab in enumerate(LABELS)}
    config = {
        "architecture": "cxr-demo-cnn",
        "format_version": 1,
        "labels": LABELS,
        "layers": [{"out_channels": o, "stride": s} for o, s in LAYERS],
        "kernel_size": 3,
        "batch_norm_eps": 1e-5,
        "input": {"size": SIZE, "channels": 1, "crop": "center-square", "resize": "bilinear",
                  "scale": "x = v / max * 2 - 1"},
        "output": "sigmoid",
        "heldout_auroc": {k: round(v, 4) for k, v in aucs.items()},
        "heldout_counts": counts,
        "training": {"epochs": args.epochs, **({"seed": args.seed} if args.seed else {}),
                     "images": int((~test).sum()), "heldout_images": int(test.sum()),
                     "nih_images": sum(1 for _, k, *_ in rows if k.startswith("nih:")),
                     "covid_images": sum(1 for _, k, *_ in rows if k.startswith("covid:")),
                     "split": "sha256(group key) % 5 == 0 is held out; key nih:<patient_id> or covid:<patientid>"
                              + ("; cxr-mini's held-out patients too (common.is_heldout)" if args.hold_out_cxr_mini
                                 else ""),
                     "data": ["nih-labelled (NIH ChestX-ray14 subset)", "cxr256 permissive rows (COVID-19 image data collection)"]},
    }
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    write_model_card(args.out)
    print(json.dumps(config["heldout_auroc"], indent=1))


if __name__ == "__main__":
    main()
