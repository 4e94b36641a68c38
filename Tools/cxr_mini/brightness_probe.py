"""Does the scorer read pleural fluid from the brightness of the area an edit repaints? A probe without a model.

For each effusion edit of an evaluate_edits.py folder (--out), the area the edit repainted (where the edit differs
from its null edit, grown by 3 px and softened) is changed in pixels, and the scoring classifier's p(Effusion) of
the result is compared with that of the null edit (the input, under the default --detail difference):
- removal (the held-out positives' `--remove` edits): the area darkened toward the film's lung level (its 25th
  percentile): y = x - a * area * max(0, blur(x) - level), a = 0.5 and 1;
- addition (the no-finding images' default `--add` edits): the area brightened toward white, y = x + a * area *
  (255 - x) * 0.5, a = 0.5 and 1.
The model's own edits of the same folder are scored beside them. If a removal that clears the area's brightness
moves the scorer little while a brightening moves it much, the scorer reads fluid from what the brightness does
not carry (the shape of the costophrenic angle and the diaphragm, the texture), and a removal has to render that.

Run (from Tools/cxr_mini): python brightness_probe.py [EVAL_FOLDER] [--classifier DIR] [--json OUT]
"""
import argparse, glob, json
import numpy as np
from scipy import ndimage
import common, scoring

p = argparse.ArgumentParser()
p.add_argument("folder", nargs="?", default="/work/train-state/edit-eval",
               help="an evaluate_edits.py --out folder (its default here)")
p.add_argument("--classifier", default=str(common.EVAL_CLASSIFIER))
p.add_argument("--json")
a = p.parse_args()
clf = scoring.load_classifier(a.classifier)
LABEL = "pleural effusion"


def p_effusion(x):
    return scoring.probs_of_grey(x, clf)[LABEL]


def area(edit, null):
    changed = np.abs(edit - null) > 2
    return ndimage.gaussian_filter(ndimage.binary_dilation(changed, iterations=3).astype(float), 6)


def darkened(x, r, s):
    level = np.percentile(x[x > 10], 25)
    return x - s * r * np.maximum(0, ndimage.gaussian_filter(x, 8) - level)


def brightened(x, r, s):
    return x + s * r * (255 - x) * 0.5


out = {}
for kind, pattern, change in [("remove", "*.remove_pleural_effusion.png", darkened),
                              ("add", "*.pleural_effusion.png", brightened)]:
    rows = {"model": [], "0.5": [], "1": []}
    for e in sorted(glob.glob(f"{a.folder}/{pattern}")):
        n = e[:-4] + ".null.png"
        x, y = scoring.grey(n), scoring.grey(e)
        base = p_effusion(x)
        rows["model"].append(p_effusion(y) - base)
        r = area(y, x)
        for s in (0.5, 1):
            rows[f"{s:g}"].append(p_effusion(change(x, r, s)) - base)
    sign = -1 if kind == "remove" else 1
    out[kind] = {k: {"mean_effect": float(np.mean(v)), "right_way": float(np.mean(sign * np.array(v) > 0)),
                     "n": len(v)} for k, v in rows.items()}
    for k, v in out[kind].items():
        print(f"{kind} {k:6} effect {v['mean_effect']:+.4f}  right way {100 * v['right_way']:.0f}%  n {v['n']}")
if a.json:
    out["settings"] = {"folder": a.folder, "classifier": a.classifier}
    open(a.json, "w").write(json.dumps(out, indent=1))
