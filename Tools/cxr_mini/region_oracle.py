"""How far can an edit confined to the finding's region move the classifier at all? Real regions swapped between
patients.

Run (after evaluate_edits.py, whose cached edits give the areas each edit repainted):
  /work/venv/bin/python Tools/cxr_mini/region_oracle.py --edits /work/train-state/edit-eval [--donors 8]

evaluate_edits.py measures `--add` / `--remove` as a share of the classifier's gap between real positives and
negatives. A regional edit can only reach the part of that gap the classifier reads inside the region: what it reads
elsewhere (projection, lines and tubes, exposure, the whole-image look of a sick patient) stays the patient's. This
script measures that ceiling with real pixels instead of a model. For each image that evaluate_edits.py edited, the
area its default edit repainted (the pixels where edit and input differ, closed and softened as the CLI's margin
is) is filled with the same area of other held-out patients:
  - removal: a held-out positive gets the area from no-finding patients (oracle), or from other positives of the
    same finding (control: the same seams and misregistration, the finding still there);
  - addition: a no-finding image gets the area from positives (oracle), or from other no-finding patients (control).
Effect = mean p(oracle) - mean p(control) over the donors, the null-edit rule with real tissue in place of the
model's, reported as a share of the classifier's own gap. The patients are not registered to each other (all are
centred frontal films at 256 px), so this is an estimate of the ceiling, not an exact one.
Figures -> Tools/cxr_mini/runs/region_oracle.json.
"""
import argparse, json
from pathlib import Path
import numpy as np
from PIL import Image
from scipy import ndimage
import common, scoring
from scoring import LAB, grey, has

p = argparse.ArgumentParser()
p.add_argument("--edits", default="/work/train-state/edit-eval", help="evaluate_edits.py's --out (its cached edits)")
p.add_argument("--n", type=int, default=24, help="images per finding and kind (evaluate_edits.py's --n)")
p.add_argument("--donors", type=int, default=8, help="donor patients per image, for the oracle and the control each")
p.add_argument("--classifier", default=str(common.EVAL_CLASSIFIER))
p.add_argument("--json", default=str(common.RUNS / "region_oracle.json"))
p.add_argument("--sheet", default="", help="also a contact sheet: input | control | oracle (one donor each) | area, "
               "for the first image of each finding and kind")
p.add_argument("--vae", action="store_true",
               help="round-trip every composite through the bundled model's VAE before scoring: does the VAE carry "
                    "what the area holds, or is the ceiling lower for any rendering of this model?")
p.add_argument("--model-eval", default=str(common.RUNS / "edit_eval.json"),
               help="the model's own evaluation, whose effect/gap is printed beside the ceiling")
a = p.parse_args()
EDITS = Path(a.edits)
clf = scoring.load_classifier(a.classifier)
if a.vae:
    import torch
    from diffusers import AutoencoderKL
    vae = AutoencoderKL.from_pretrained(str(common.MODEL_DIR / "vae")).eval()


def repainted(edit, src):
    """The area an edit repainted, soft: changed pixels, closed (a repainted pixel can round back to its old value)
    and blurred over a few pixels like the CLI's margin."""
    changed = grey(edit) != grey(src)
    area = ndimage.binary_fill_holes(ndimage.binary_closing(changed, iterations=4))
    return np.clip(ndimage.gaussian_filter(area.astype(np.float64), 2.0), 0, 1)


def round_trip(img):
    """The image as the model's VAE renders it (encode, decode; grey in all three channels)."""
    x = torch.from_numpy((img / 127.5 - 1).astype(np.float32))[None, None].expand(1, 3, -1, -1)
    with torch.no_grad():
        y = vae.decode(vae.encode(x).latent_dist.mean).sample
    return ((y[0].mean(0).clamp(-1, 1) + 1) * 127.5).numpy()


def p_of(img, finding):
    return scoring.probs_of_grey(round_trip(img) if a.vae else img, clf)[finding]


rows = [r for r in common.load_rows() if r["heldout"] and r["filename"].startswith("nih_")]
neg = [r for r in rows if r["findings"] == "No Finding"]
P = {r["filename"]: scoring.probs(r["path"], clf) for r in rows}
gap = scoring.gaps(P, rows)
model = json.loads(Path(a.model_eval).read_text()) if Path(a.model_eval).exists() else {}
res = {"settings": {"edits": str(EDITS), "donors": a.donors, "classifier": a.classifier, "vae": a.vae}, "gap": gap,
       "add": {}, "remove": {}}
rng = np.random.default_rng(0)
sheet = []
for finding in LAB:
    pos = [r for r in rows if has(r, finding)]
    for kind in ["add", "remove"]:
        hosts = neg[:a.n] if kind == "add" else pos[:a.n]
        # Oracle donors carry the opposite state; control donors the host's own state.
        oracle_pool, control_pool = (pos, neg) if kind == "add" else (neg, pos)
        eff, area_share = [], []
        for r in hosts:
            tag = f"{r['filename'][:-4]}." + (finding if kind == "add" else f"remove_{finding}").replace(" ", "_")
            e = EDITS / f"{tag}.png"
            if not e.exists():
                continue  # skipped by evaluate_edits.py (weak atlas fit) or not made
            m = repainted(e, r["path"])
            area_share.append(float(m.mean()))
            host = grey(r["path"])
            means, first = [], []
            for pool in (oracle_pool, control_pool):
                pool = [d for d in pool if d["patient_id"] != r["patient_id"]]
                pick = rng.choice(len(pool), size=min(a.donors, len(pool)), replace=False)
                made = [host * (1 - m) + grey(pool[j]["path"]) * m for j in pick]
                means.append(np.mean([p_of(x, finding) for x in made]))
                first.append(made[0])
            eff.append(means[0] - means[1])
            if len(eff) == 1:
                sheet.append(np.concatenate([host, first[1], first[0], m * 255], 1))
        sign = 1 if kind == "add" else -1
        g = gap[finding]["gap"]
        out = {"mean_effect": float(np.mean(eff)), "effect_over_gap": float(sign * np.mean(eff) / g),
               "right_way": float(np.mean(sign * np.array(eff) > 0)), "n": len(eff),
               "repainted_share_of_image": float(np.mean(area_share))}
        mk = model.get(kind, {}).get(finding)
        if mk:
            out["model_effect_over_gap"] = mk["effect_over_gap"]
        res[kind][finding] = out
        print(kind, finding, out, flush=True)
Path(a.json).write_text(json.dumps(res, indent=1))
if a.sheet:
    Image.fromarray(np.clip(np.concatenate(sheet, 0), 0, 255).astype(np.uint8)).save(a.sheet)
print("wrote", a.json)
