"""Do `--add` / `--remove` edits change what a classifier sees? Measured against matched null edits, with the CLI.

Run (after `swift build -c release`):
  nice -n 10 /work/venv/bin/python Tools/cxr_mini/evaluate_edits.py [--n 24] [--bin .build/release/cxr-edit]
      [--out /work/train-state/edit-eval] [--extra "--strength 0.8"]

The method is ../shared/docs/EVALUATION.md's. Images: the model's held-out split (common.is_heldout, by patient),
NIH only (labels). For each held-out no-finding image, the CLI at its default settings makes
`--add cardiomegaly` (mild, moderate, severe), `--add "pleural effusion"` (small, moderate, large; both sides) and
`--add pneumothorax`, each with `--null-edit` (same image, seed, strength, region; prompt without the finding);
for each held-out positive a `--remove` edit with its null edit. The demo classifier, retrained on real images only
without the held-out patients (Tools/cxr_mini/eval-classifier; the shipped one trained on most of them), scores
every file: effect = p(edit) - p(null) for the finding's label; scale = the classifier's own gap
between real held-out positives and negatives; re-synthesis sensitivity = p(null) - p(input) (0 under the default
`--detail difference`, whose null edit is the input; with `--extra "--detail off"` what the model's own rendering
moves). Also: a right-sided effusion's change on each side of the image,
and the null edits' fidelity to the input (PSNR, sharpness ratio = Laplacian variance null / input), regional
(default) and `--global`; Frechet distances in the demo classifier's feature space between the default `--add`
edits (and their null edits, and the inputs) and the real held-out positives of the finding. Runs are cached in --out (rerunning resumes). Figures -> Tools/cxr_mini/runs/edit_eval.json
(or --json), contact sheet (input | null edit | edit | 4 x |edit - null|) -> docs/images/model/edits.png.
"""
import argparse, json, shlex, subprocess, sys, time
from pathlib import Path
import numpy as np
import torch
from PIL import Image
import common, metrics, scoring
from scoring import LAB, demo_cnn, gaps, has, load_classifier
from train_demo_classifier import held_out as classifier_held_out  # the classifiers' own split rule

p = argparse.ArgumentParser()
p.add_argument("--n", type=int, default=24)
p.add_argument("--bin", default=str(common.REPO / ".build" / "release" / "cxr-edit"))
p.add_argument("--out", default="/work/train-state/edit-eval")
p.add_argument("--extra", default="", help="extra CLI flags for every edit (e.g. a model or strength)")
p.add_argument("--json", default=str(common.RUNS / "edit_eval.json"))
p.add_argument("--sheet", default=str(common.DOC_IMG / "edits.png"))
p.add_argument("--remove-sheet", default=str(common.DOC_IMG / "removals.png"),
               help="input | null edit | --remove edit | 4 x |edit - null| for 2 held-out positives of each finding")
p.add_argument("--skip-global", action="store_true")
p.add_argument("--classifier", default=str(common.EVAL_CLASSIFIER),
               help="the scoring classifier's folder (demo CNN layout: model.safetensors, config.json); default: "
                    "the demo classifier retrained without this split's held-out patients (Models/cxr-demo-classifier "
                    "trained on 109 of the 142 held-out NIH images)")
p.add_argument("--panel", nargs="*", default=[],
               help="more classifier folders (e.g. the --classifier recipe under other seeds: train_demo_classifier.py "
                    "--hold-out-cxr-mini --seed S) that score the same edits too: how much a figure owes to one "
                    "classifier")
p.add_argument("--removals-only", action="store_true", help="only the --remove edits (e.g. with --extra \"--strength 1\")")
p.add_argument("--quick", action="store_true",
               help="a check during training: the default --add of each finding and the removals, no severities, "
                    "no sides, no global edits")
a = p.parse_args()
OUT = Path(a.out)
OUT.mkdir(parents=True, exist_ok=True)

clf = load_classifier(a.classifier)
CLF_SPLIT = json.loads((Path(a.classifier) / "config.json").read_text())["training"]["split"]


def classifier_trained_on(row):
    """Whether the scoring classifier trained on this NIH row (its split: train_demo_classifier.py's rule, plus
    cxr-mini's held-out patients for a --hold-out-cxr-mini retrain). A classifier scores the images it trained on
    more confidently, so its gap on them is not the gap of real findings it has not seen."""
    if row["dataset"] != "nih-labelled":
        return False  # its NIH images are nih-labelled's (an NIH image only in cxr256 was never among them)
    held = classifier_held_out("nih:" + row["patient_id"])
    return not (held or ("cxr-mini" in CLF_SPLIT and common.is_heldout(row)))


def probs(path, model=None):
    """p of each target finding's label for one image, by the scoring classifier (or `model`)."""
    return scoring.probs(path, model or clf)


def features(path):
    """The demo classifier's pooled features (128-d, before its linear layer) of one image."""
    x = torch.from_numpy(demo_cnn.preprocess(str(path)))[None]
    with torch.no_grad():
        for b in clf.layers:
            x = b(x)
    return x.mean(dim=(2, 3))[0].numpy()


def grey(path):
    return np.asarray(Image.open(path).convert("L"), dtype=np.float64)


def psnr(x, y):
    mse = np.mean((x - y) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255 ** 2 / mse)


def lapvar(x):
    lap = x[1:-1, :-2] + x[1:-1, 2:] + x[:-2, 1:-1] + x[2:, 1:-1] - 4 * x[1:-1, 1:-1]
    return float(lap.var())


def run(tag, src, args, seed):
    """One CLI edit with its null edit; cached by tag. Returns (edit path, null path, seconds)."""
    e, n = OUT / f"{tag}.png", OUT / f"{tag}.null.png"
    meta = OUT / f"{tag}.json"
    if e.exists() and n.exists() and meta.exists():
        return e, n, json.loads(meta.read_text()).get("wall_s", 0)
    cmd = [a.bin, "edit", src, *args, "--seed", str(seed), "-o", str(e), "--null-edit", str(n), "--overwrite",
           "--quiet", "--json", *shlex.split(a.extra)]
    t = time.time()
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0 and "fits this image poorly" in r.stderr:
        # What a user gets too: the CLI refuses to place regions on an image its atlas fit rejects. Counted, not
        # forced (a forced region would land in the wrong place and measure nothing).
        print(f"skipped (weak atlas fit): {src}", flush=True)
        skipped.append({"image": Path(src).name, "args": args})
        return None
    if r.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{r.stderr}")
    out = json.loads(r.stdout.strip().splitlines()[-1])
    out["wall_s"] = time.time() - t
    out["command"] = cmd
    meta.write_text(json.dumps(out))
    return e, n, out["wall_s"]


skipped = []


def boot_ci(v, rng, b=2000):
    v = np.asarray(v)
    means = [v[rng.integers(0, len(v), len(v))].mean() for _ in range(b)]
    return [float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))]


rows = [r for r in common.load_rows() if r["heldout"] and r["filename"].startswith("nih_")]
neg = [r for r in rows if r["findings"] == "No Finding"][:a.n]
res = {"images": {"no_finding": len(neg)},
       "settings": {"extra": a.extra, "binary": a.bin, "classifier": a.classifier, "classifier_split": CLF_SPLIT},
       "add": {}, "remove": {}, "gap": {}, "gap_unseen": {},
       "classifier_trained_on": {"held_out_images": sum(map(classifier_trained_on, rows)), "of": len(rows),
                                 "no_finding_edited": sum(map(classifier_trained_on, neg)), "of_edited": len(neg)}}
rng = np.random.default_rng(0)
# The classifier's own gap on real held-out images.
P = {r["filename"]: probs(r["path"]) for r in rows}
res["gap"] = gaps(P, rows)
# The same gap over every NIH image the classifier never trained on (cxr-mini's training images included: a gap is
# the classifier's, not the model's), a larger sample than the held-out split alone.
unseen = [r for r in common.load_rows() if r["filename"].startswith("nih_") and not classifier_trained_on(r)]
P.update({r["filename"]: probs(r["path"]) for r in unseen if r["filename"] not in P})
res["gap_unseen"] = gaps(P, unseen)
print("gap", res["gap"], "gap on images the classifier never trained on", res["gap_unseen"],
      "classifier trained on", res["classifier_trained_on"], flush=True)

plan = [("cardiomegaly", None, sev) for sev in ["mild", "moderate", "severe", None]] + \
       [("pleural effusion", None, sev) for sev in ["small", "moderate", "large", None]] + \
       [("pleural effusion", "right", None), ("pneumothorax", None, None)]
if a.quick:
    plan = [(f, None, None) for f in ["cardiomegaly", "pleural effusion", "pneumothorax"]]
    a.skip_global = True
if a.removals_only:
    plan, a.skip_global = [], True
sheet, fidelity, walls = [], {"regional": [], "global": []}, []
# The edits' own fidelity to the input (default --add edits; the finding's change included): with --detail
# difference the null edit is the input itself, so this is where what else an edit changes shows.
edit_fidelity = {"regional": [], "global": []}
made = {}  # default --add of each finding: (edit paths, null paths), for the Frechet distances
pairs = {"add": {}, "remove": {}}  # (edit, null) paths per key, for the --panel classifiers
for finding, side, sev in plan:
    key = finding + (f" {side}" if side else "") + (f" {sev}" if sev else "")
    eff, right_way, side_change, sens = [], [], [], []
    for i, r in enumerate(neg):
        args = ["--add", finding] + (["--side", side] if side else []) + (["--severity", sev] if sev else [])
        outcome = run(f"{r['filename'][:-4]}.{key.replace(' ', '_')}", r["path"], args, i)
        if outcome is None:
            continue
        e, n, w = outcome
        walls.append(w)
        pairs["add"].setdefault(key, []).append((e, n))
        pe, pn = probs(e), probs(n)
        eff.append(pe[finding] - pn[finding])
        sens.append(pn[finding] - P[r["filename"]][finding])
        if side == "right":
            d = np.abs(grey(e) - grey(n))
            h, wd = d.shape
            side_change.append((d[h // 2:, :wd // 2].mean(), d[h // 2:, wd // 2:].mean()))
        if sev is None and side is None:
            made.setdefault(finding, ([], []))[0].append(e)
            made[finding][1].append(n)
            x, y = grey(r["path"]), grey(n)
            fidelity["regional"].append((psnr(x, y), lapvar(y) / max(lapvar(x), 1e-9)))
            z = grey(e)
            edit_fidelity["regional"].append((psnr(x, z), lapvar(z) / max(lapvar(x), 1e-9)))
        if i < 3 and sev is None and side is None:
            x, y, z = grey(r["path"]), grey(n), grey(e)
            sheet.append(np.concatenate([x, y, z, np.clip(np.abs(z - y) * 4, 0, 255)], 1))
    g = res["gap"][finding]["gap"]
    res["add"][key] = {"mean_effect": float(np.mean(eff)), "ci95": boot_ci(eff, rng),
                       "right_way": float(np.mean(np.array(eff) > 0)), "effect_over_gap": float(np.mean(eff) / g),
                       "effect_over_gap_unseen": float(np.mean(eff) / res["gap_unseen"][finding]["gap"]),
                       "resynthesis_sensitivity": float(np.mean(sens)), "n": len(eff)}
    if side_change:
        sc = np.array(side_change)
        res["add"][key]["mean_abs_change_image_left_lower"] = float(sc[:, 0].mean())
        res["add"][key]["mean_abs_change_image_right_lower"] = float(sc[:, 1].mean())
    print(key, res["add"][key], flush=True)

remove_sheet = []
for finding in LAB:
    pos = [r for r in rows if has(r, finding)][:a.n]
    eff, sens = [], []
    for i, r in enumerate(pos):
        outcome = run(f"{r['filename'][:-4]}.remove_{finding.replace(' ', '_')}", r["path"], ["--remove", finding], i)
        if outcome is None:
            continue
        e, n, w = outcome
        pairs["remove"].setdefault(finding, []).append((e, n))
        pn = probs(n)[finding]
        eff.append(probs(e)[finding] - pn)
        sens.append(pn - P[r["filename"]][finding])
        if i < 2:
            x, y, z = grey(r["path"]), grey(n), grey(e)
            remove_sheet.append(np.concatenate([x, y, z, np.clip(np.abs(z - y) * 4, 0, 255)], 1))
    res["remove"][finding] = {"mean_effect": float(np.mean(eff)), "ci95": boot_ci(eff, rng),
                              "right_way": float(np.mean(np.array(eff) < 0)),
                              "effect_over_gap": float(-np.mean(eff) / res["gap"][finding]["gap"]),
                              "effect_over_gap_unseen": float(-np.mean(eff) / res["gap_unseen"][finding]["gap"]),
                              "resynthesis_sensitivity": float(np.mean(sens)), "n": len(eff)}
    print("remove", finding, res["remove"][finding], flush=True)

if not a.skip_global:
    for i, r in enumerate(neg[:12]):
        e, n, w = run(f"{r['filename'][:-4]}.global_cardiomegaly", r["path"],
                      ["--add", "cardiomegaly", "--global", "--strength", "0.5"], i)
        x, y = grey(r["path"]), grey(n)
        fidelity["global"].append((psnr(x, y), lapvar(y) / max(lapvar(x), 1e-9)))
        z = grey(e)
        edit_fidelity["global"].append((psnr(x, z), lapvar(z) / max(lapvar(x), 1e-9)))
def fidelity_summary(v):
    """Mean PSNR (dB; "inf" when every output equals its input) and sharpness ratio; identical = outputs equal to
    their inputs in every pixel (their PSNR is infinite, so the mean is over the others)."""
    v = np.array(v)
    finite = v[np.isfinite(v[:, 0]), 0]
    return {"psnr_db_mean": float(np.mean(finite)) if len(finite) else "inf",
            "identical_to_input": int(len(v) - len(finite)),
            "sharpness_ratio_mean": float(np.mean(v[:, 1])), "n": len(v)}


for name, table in [("null_fidelity", fidelity), ("edit_fidelity", edit_fidelity)]:
    for k, v in table.items():
        if v:
            res[f"{name}_{k}"] = fidelity_summary(v)
            print(name, k, res[f"{name}_{k}"])
# Frechet distance in the demo classifier's feature space (features standardised by all real held-out NIH images):
# do the --add edits of a finding lie nearer the real held-out positives of that finding than their null edits
# and the inputs do? Few images per set (n), so the covariance term is rough; compare within one run.
real = {r["filename"]: features(r["path"]) for r in rows}
ref = np.stack(list(real.values()))
res["frechet_demo_features"] = {}
for finding, (edits, nulls) in made.items():
    pos = np.stack([real[r["filename"]] for r in rows if has(r, finding)])
    fe, fn = np.stack([features(p) for p in edits]), np.stack([features(p) for p in nulls])
    fi = np.stack([real[r["filename"]] for r in neg])
    res["frechet_demo_features"][finding] = {
        "edits_to_real_positives": metrics.frechet(fe, pos, ref), "null_edits_to_real_positives": metrics.frechet(fn, pos, ref),
        "inputs_to_real_positives": metrics.frechet(fi, pos, ref), "null_edits_to_inputs": metrics.frechet(fn, fi, ref),
        "n_edits": len(edits), "n_real_positives": len(pos)}
    print("frechet", finding, res["frechet_demo_features"][finding], flush=True)

# The same edits scored by each --panel classifier: its own gap (held-out split) and the effect over it; the panel's
# mean beside the main classifier's figure says how much that figure owes to one training run of the scorer.
if a.panel:
    res["panel"] = {"classifiers": a.panel, "add": {}, "remove": {}}
    for folder in a.panel:
        c = load_classifier(folder)
        g = gaps({r["filename"]: probs(r["path"], c) for r in rows}, rows)
        for kind, sign in [("add", 1), ("remove", -1)]:
            for key, ps in pairs[kind].items():
                finding = next(f for f in LAB if key.startswith(f))
                eff = [probs(e, c)[finding] - probs(n, c)[finding] for e, n in ps]
                res["panel"][kind].setdefault(key, []).append(sign * float(np.mean(eff)) / g[finding]["gap"])
    for kind in ["add", "remove"]:
        for key, v in res["panel"][kind].items():
            res[kind][key]["effect_over_gap_panel_mean"] = float(np.mean(v))
            print("panel", kind, key, "effect/gap", [round(x, 3) for x in v], "mean", round(float(np.mean(v)), 3),
                  flush=True)
res["seconds_per_edit_with_null_mean"] = float(np.mean(walls))
res["skipped_weak_fit"] = skipped
Path(a.json).write_text(json.dumps(res, indent=1))
if sheet:
    Path(a.sheet).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.concatenate(sheet, 0).astype(np.uint8)).save(a.sheet)
if remove_sheet:
    Image.fromarray(np.concatenate(remove_sheet, 0).astype(np.uint8)).save(a.remove_sheet)
print("wrote", a.json, a.sheet, a.remove_sheet if remove_sheet else "")
