"""How should an edit's output be built from the model's renderings? Compares compositions on held-out images.

Run (after `swift build -c release`):
  nice /work/venv/bin/python Tools/cxr_mini/compare_compositions.py BIN OUT_DIR [N] [MODES]
  e.g. ... .build/release/cxr-edit /work/train-state/compose 12 raw,current,texture,full,nulldiff,bounded

For N held-out no-finding NIH images (`--add`) and N held-out positives (`--remove`) of cardiomegaly, effusion and
pneumothorax, the CLI makes each edit and its null edit with `--detail off` (the raw renderings), with plain SDEdit
(the default pipeline) and with `--invert`; the inverted null edit is the VAE round trip of the input. Each mode
then composes the output from the input x, the raw edit e, the raw null edit n and the round trip rt:
  raw       e (what --detail off writes)
  current   e + w * (x - rt), w from the blurred |e - rt| (--detail on, DetailTransfer)
  texture   w * (x + lowpass(e - rt)) + (1 - w) * e, w from |lowpass(e - rt)| (a variant)
  full      x + (e - rt)
  nulldiff  x + (e - n) (--detail difference, NullDifference); the null edit is then x
  bounded   nulldiff clamped between x and e
and scores edit and null with the retrained demo classifier (common.EVAL_CLASSIFIER): effect = p(edit) - p(null);
fidelity of both to x. Figures -> OUT_DIR/result.json; Tools/cxr_mini/runs/composition_compare_quick.json holds the
December 2026 run (scored then with Models/cxr-demo-classifier).
"""
import json, subprocess, sys
from pathlib import Path
import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file
from scipy.ndimage import uniform_filter
import common

sys.path.insert(0, str(common.REPO / "Tools" / "classifiers"))
import demo_cnn  # noqa: E402

BIN, OUT = sys.argv[1], Path(sys.argv[2])
N = int(sys.argv[3]) if len(sys.argv) > 3 else 12
MODES = sys.argv[4].split(",") if len(sys.argv) > 4 else ["raw", "current", "nulldiff"]
OUT.mkdir(parents=True, exist_ok=True)
MODEL = common.REPO / "Models" / "cxr-mini"
LAB = {"cardiomegaly": "Cardiomegaly", "pleural effusion": "Effusion", "pneumothorax": "Pneumothorax"}
clf = demo_cnn.DemoCNN()
demo_cnn.load_state(clf, load_file(str(common.EVAL_CLASSIFIER / "model.safetensors"))).eval()


def probs(img):
    p = OUT / "_score.png"
    Image.fromarray(np.clip(img.round(), 0, 255).astype(np.uint8)).save(p)
    x = torch.from_numpy(demo_cnn.preprocess(str(p)))[None]
    with torch.no_grad():
        pr = torch.sigmoid(clf(x))[0]
    return {k: pr[demo_cnn.LABELS.index(v)].item() for k, v in LAB.items()}


def grey(p):
    return np.asarray(Image.open(p).convert("L"), dtype=np.float64)


def psnr(x, y):
    m = np.mean((x - y) ** 2)
    return 99.0 if m == 0 else 10 * np.log10(255 ** 2 / m)


def lapvar(x):
    lap = x[1:-1, :-2] + x[1:-1, 2:] + x[:-2, 1:-1] + x[2:, 1:-1] - 4 * x[1:-1, 1:-1]
    return float(lap.var())


def raw_pair(tag, src, args, seed, extra):
    """The raw edit and null edit (--detail off), cached in OUT."""
    e, n = OUT / f"{tag}.png", OUT / f"{tag}.null.png"
    if not (e.exists() and n.exists()):
        cmd = [BIN, "edit", src, *args, "--seed", str(seed), "-o", str(e), "--null-edit", str(n), "--overwrite",
               "--quiet", "--detail", "off", "--model", str(MODEL), *extra]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode:
            sys.exit(r.stderr)
    return grey(e), grey(n)


def blur(v, radius, scale):
    """A box of `radius` px of a 256 px image, applied twice."""
    size = 2 * max(1, round(radius * scale)) + 1
    return uniform_filter(uniform_filter(v, size, mode="nearest"), size, mode="nearest")


def compose(mode, x, e, n, rt):
    s, tol = x.shape[0] / 256, 0.08 * 255
    if mode == "raw":
        return e, n
    if mode == "nulldiff":
        return x + (e - n), x
    if mode == "bounded":
        return np.clip(x + (e - n), np.minimum(x, e), np.maximum(x, e)), x

    def one(y):
        d = y - rt
        if mode == "full":
            return x + d
        if mode == "current":
            return y + np.clip(1 - blur(np.abs(d), 4, s) / tol, 0, 1) * (x - rt)
        lp = blur(d, 8, s)  # texture
        w = np.clip(1 - np.abs(lp) / tol, 0, 1)
        return w * (x + lp) + (1 - w) * y
    return one(e), one(n)


rows = [r for r in common.load_rows() if r["heldout"] and r["filename"].startswith("nih_")]
neg = [r for r in rows if r["findings"] == "No Finding"][:N]
res = {}
for method, extra in [("sdedit", []), ("inv", ["--invert"])]:
    for kind, finding in [("add", f) for f in LAB] + [("remove", f) for f in LAB]:
        imgs = neg if kind == "add" else [r for r in rows if LAB[finding] in r["findings"].split("|")][:N]
        stats = {}
        for i, r in enumerate(imgs):
            stem = f"{r['filename'][:-4]}.{kind}_{finding.replace(' ', '_')}"
            e, n = raw_pair(f"{stem}.{method}", r["path"], [f"--{kind}", finding], i, extra)
            _, rt = raw_pair(f"{stem}.inv", r["path"], [f"--{kind}", finding], i, ["--invert"])
            x = grey(r["path"])
            for mode in MODES:
                ce, cn = compose(mode, x, e, n, rt)
                st = stats.setdefault(mode, {k: [] for k in ["eff", "null_psnr", "null_sharp", "edit_psnr", "edit_sharp"]})
                st["eff"].append(probs(ce)[finding] - probs(cn)[finding])
                st["null_psnr"].append(psnr(x, cn))
                st["null_sharp"].append(lapvar(cn) / lapvar(x))
                st["edit_psnr"].append(psnr(x, ce))
                st["edit_sharp"].append(lapvar(ce) / lapvar(x))
        for mode, st in stats.items():
            sign = 1 if kind == "add" else -1
            out = {k: float(np.mean(v)) for k, v in st.items()}
            out["right_way"] = float(np.mean(sign * np.array(st["eff"]) > 0))
            out["n"] = len(st["eff"])
            res[f"{method}.{kind}.{finding}.{mode}"] = out
            print(method, kind, finding, mode, {k: round(v, 3) for k, v in out.items()}, flush=True)
(OUT / "result.json").write_text(json.dumps(res, indent=1))
