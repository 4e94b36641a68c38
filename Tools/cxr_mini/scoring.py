"""The demo classifier as the edit evaluations use it: load a classifier folder, score one image, a classifier's own
positive-negative gap. Shared by evaluate_edits.py (edits), region_oracle.py (real regions pasted between
patients) and brightness_probe.py (images changed in memory), so all read p(finding) the same way."""
import io, sys
from pathlib import Path
import numpy as np
import torch
from safetensors.torch import load_file
import common

sys.path.insert(0, str(common.REPO / "Tools" / "classifiers"))
import demo_cnn  # noqa: E402

# The CLI's finding name -> the NIH label the classifier was trained on.
LAB = {"cardiomegaly": "Cardiomegaly", "pleural effusion": "Effusion", "pneumothorax": "Pneumothorax"}


def load_classifier(folder):
    return demo_cnn.load_state(demo_cnn.DemoCNN(), load_file(str(Path(folder) / "model.safetensors"))).eval()


def probs(path, model):
    """p of each target finding's label for one image file."""
    return probs_of_input(demo_cnn.preprocess(str(path)), model)


def probs_of_input(x, model):
    """p of each target finding's label for one preprocessed image (demo_cnn.preprocess's array)."""
    with torch.no_grad():
        pr = torch.sigmoid(model(torch.from_numpy(x)[None]))[0]
    return {k: pr[demo_cnn.LABELS.index(v)].item() for k, v in LAB.items()}


def grey(path):
    """An image file as the grey array (H x W, float, 0..255) that probs_of_grey() scores."""
    from PIL import Image
    return np.asarray(Image.open(path).convert("L"), dtype=np.float64)


def probs_of_grey(img, model):
    """probs() of a grey image held in memory (H x W, 0..255), stored as the 8-bit PNG an edit would be."""
    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(np.clip(np.rint(img), 0, 255).astype(np.uint8)).save(buf, format="PNG")
    buf.seek(0)
    return probs_of_input(demo_cnn.preprocess(buf), model)


def has(row, finding):
    return LAB[finding] in row["findings"].split("|")


def gaps(P, rows):
    """A classifier's own gap per finding: mean p on the rows' real positives minus on the rest (P: file -> probs)."""
    out = {}
    for k in LAB:
        pos = [P[r["filename"]][k] for r in rows if has(r, k)]
        ng = [P[r["filename"]][k] for r in rows if not has(r, k)]
        out[k] = {"gap": float(np.mean(pos) - np.mean(ng)), "positives": len(pos), "negatives": len(ng)}
    return out
