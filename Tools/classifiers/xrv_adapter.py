#!/usr/bin/env python3
"""Example cxr-edit classifier adapter for torchxrayvision (protocol: docs/classifiers.md).

Use it as a probe classifier (spec "cmd:..."), e.g.
    cxr-edit probe ... --classifier "cmd:python Tools/classifiers/xrv_adapter.py --weights densenet121-res224-all"
Options:
    --weights NAME     torchxrayvision weights (downloaded to ~/.torchxrayvision once, or --cache-dir)
    --pt FILE          a torchxrayvision .pt already on disk (trusted file), with --labels-from NAME
    --device cpu|cuda  (default cpu)
Preprocessing is torchxrayvision's: skimage.io.imread, xrv.datasets.normalize(img, maxval) to [-1024, 1024]
(maxval 255 or 65535 by the PNG's bit depth), channel mean for colour, XRayCenterCrop, XRayResizer(224).
Outputs: the model's 18 outputs after sigmoid and op_norm (operating points mapped to 0.5), reported for
every non-empty label. Everything but protocol lines goes to stderr (torchxrayvision prints to stdout).
"""
import argparse
import json
import os
import sys

# Keep the protocol channel private: the real stdout is duplicated, fd 1 is pointed at stderr so any print()
# or library output cannot corrupt the JSON lines.
_proto = os.fdopen(os.dup(1), "w", buffering=1)
os.dup2(2, 1)
sys.stdout = sys.stderr

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from xrv_common import import_xrv, load_model  # noqa: E402


def send(obj):
    _proto.write(json.dumps(obj) + "\n")
    _proto.flush()


def preprocess(xrv, path):
    import numpy as np
    import skimage.io
    img = skimage.io.imread(path)
    maxval = 65535 if img.dtype == np.uint16 else 255
    img = xrv.datasets.normalize(img, maxval)
    if img.ndim == 3:
        img = img[:, :, :3].mean(2)
    img = img[None, ...]
    img = xrv.datasets.XRayCenterCrop()(img)
    img = xrv.datasets.XRayResizer(224)(img)
    return img.astype(np.float32)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights")
    ap.add_argument("--pt")
    ap.add_argument("--labels-from")
    ap.add_argument("--cache-dir")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    import torch
    xrv = import_xrv()
    model, labels, op = load_model(xrv, args.weights, args.pt, args.labels_from, args.cache_dir)
    if op is None:
        model.apply_sigmoid = True
    model = model.to(args.device)
    keep = [(i, n) for i, n in enumerate(labels) if n and not (op is not None and torch.isnan(op[i]))]
    send({"protocol": "cxr-edit-classifier/1", "name": "torchxrayvision " + (args.weights or os.path.basename(args.pt)),
          "labels": [n for _, n in keep]})
    for line in sys.stdin:
        if not line.strip():
            continue
        rid = None
        try:
            req = json.loads(line)
            rid = req["id"]
            x = torch.from_numpy(__import__("numpy").stack([preprocess(xrv, p) for p in req["images"]])).to(args.device)
            with torch.no_grad():
                out = model(x).clamp(0, 1).cpu().tolist()
            send({"id": rid, "predictions": [{n: row[i] for i, n in keep} for row in out]})
        except Exception as e:  # reported to cxr-edit, which stops with this message
            print(f"xrv_adapter: {type(e).__name__}: {e}", file=sys.stderr)
            send({"id": rid, "error": f"{type(e).__name__}: {e}"})


if __name__ == "__main__":
    main()
