"""Generates Tests/Fixtures/classifiers/ (parity fixtures for Sources/CXRClassifiers).

Run from the repository root (needs torchxrayvision in the venv: pip install --no-deps torchxrayvision,
plus pandas and scikit-image; no weights are downloaded):
    /work/venv/bin/python Tools/classifiers/make_classifier_fixtures.py [--part densenet|demo|all]

Deterministic: synthetic images come from numpy's PCG64 with fixed seeds, model weights from
torch.manual_seed, so rerunning rewrites identical files (same torch / numpy / Pillow).

densenet part (torchxrayvision parity on random weights; a reduced-width DenseNet with the same code path
as DenseNet-121 keeps the fixture small):
  images/*.png            four synthetic radiograph-like images: 256x256 grey 8-bit, 320x280 RGB 8-bit,
                          150x170 grey 16-bit (upsampled), 600x640 grey 8-bit (blurred downsample)
  xrv_inputs.safetensors  torchxrayvision preprocessing of each image (normalize to [-1024, 1024], channel
                          mean, XRayCenterCrop, XRayResizer(224)): "<image stem>" -> [1, 224, 224]
  densenet_small.safetensors / densenet_small_state.pt   weights (state_dict names, op_threshs included)
  densenet_small_module.pt  a tiny model pickled whole by torchxrayvision itself (torch.save(model)), as its
                          own .pt files are: the safe reader loads it (and make_xrv_pickle_fixture.py checks
                          that its stand-in classes unpickle it)
  densenet_small.json     architecture, labels, op_threshs, and expected outputs per image: logits,
                          sigmoid, op_norm
demo part (needs Models/cxr-demo-classifier, trained by train_demo_classifier.py):
  demo_expected.json      preprocessed-input checksums and sigmoid outputs of the demo model for three of the
                          synthetic images, plus two held-out NIH images by file name (tests skip those when
                          ../shared/data is absent; no NIH pixels are stored)
"""
import argparse
import json
import os
import sys
import types

import numpy as np
import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "classifiers")

# torchvision wheels built for another torch fail while registering their fake ops; torchxrayvision's
# DenseNet does not use them, so skip that module.
sys.modules.setdefault("torchvision._meta_registrations", types.ModuleType("torchvision._meta_registrations"))


def synth(w, h, seed, rgb=False, bits=8):
    """A smooth chest-like pattern (dark lungs, bright mediastinum) with mild noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    u = (x + 0.5) / w - 0.5
    v = (y + 0.5) / h - 0.5
    img = 0.55 + 0.25 * np.exp(-(u / 0.12) ** 2) - 0.3 * (np.exp(-((u + 0.22) / 0.12) ** 2 - (v / 0.3) ** 2)
                                                          + np.exp(-((u - 0.22) / 0.12) ** 2 - (v / 0.3) ** 2))
    img += 0.15 * v + 0.05 * np.sin(9 * u + 3 * v)
    img += rng.normal(0, 0.01, size=img.shape)
    img = np.clip(img, 0, 1)
    maxv = 65535 if bits == 16 else 255
    a = np.round(img * maxv).astype(np.uint16 if bits == 16 else np.uint8)
    if rgb:
        tint = np.stack([a, np.clip(a.astype(np.int32) + 7, 0, maxv), np.clip(a.astype(np.int32) - 5, 0, maxv)], -1)
        return Image.fromarray(tint.astype(np.uint8))
    return Image.fromarray(a)  # uint16 -> "I;16", uint8 -> "L"


IMAGES = [("grey256", dict(w=256, h=256, seed=1)),
          ("rgb320x280", dict(w=320, h=280, seed=2, rgb=True)),
          ("grey16_150x170", dict(w=150, h=170, seed=3, bits=16)),
          ("grey600x640", dict(w=600, h=640, seed=4))]


def write_images():
    d = os.path.join(OUT, "images")
    os.makedirs(d, exist_ok=True)
    paths = {}
    for name, kw in IMAGES:
        p = os.path.join(d, name + ".png")
        synth(**kw).save(p, optimize=False, compress_level=9)
        paths[name] = p
    return paths


def xrv_preprocess(path):
    """torchxrayvision's documented preprocessing (README): normalize, channel mean, crop, resize 224."""
    import skimage.io
    import torchxrayvision as xrv
    img = skimage.io.imread(path)
    maxval = 65535 if img.dtype == np.uint16 else 255
    img = xrv.datasets.normalize(img, maxval)
    if img.ndim == 3:
        img = img.mean(2)
    img = img[None, ...]
    img = xrv.datasets.XRayCenterCrop()(img)
    img = xrv.datasets.XRayResizer(224)(img)
    return img.astype(np.float32)


SMALL = dict(growth_rate=8, block_config=(2, 2, 2, 2), num_init_features=16, bn_size=4)
TINY = dict(growth_rate=2, block_config=(1, 1, 1, 1), num_init_features=4, bn_size=1)


def randomize_bn(model, gen):
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            n = m.num_features
            m.weight.data = 0.5 + torch.rand(n, generator=gen)
            m.bias.data = 0.2 * torch.randn(n, generator=gen)
            m.running_mean.data = 0.3 * torch.randn(n, generator=gen)
            m.running_var.data = 0.5 + torch.rand(n, generator=gen)


def densenet_part(paths):
    import torchxrayvision as xrv
    from safetensors.torch import save_file
    inputs = {name: xrv_preprocess(p) for name, p in paths.items()}
    save_file({k: torch.from_numpy(v) for k, v in inputs.items()}, os.path.join(OUT, "xrv_inputs.safetensors"))

    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    model = xrv.models.DenseNet(weights=None, **SMALL)
    randomize_bn(model, gen)
    model.classifier.bias.data = 0.1 * torch.randn(model.classifier.bias.shape, generator=gen)
    # Inputs span [-1024, 1024]: scale the head so logits are a few units and sigmoid/op_norm stay unsaturated.
    model.classifier.weight.data *= 0.01
    model.eval()
    # Known operating points; NaN for the last four (as torchxrayvision's single-dataset models have).
    op = [0.05 + 0.05 * i for i in range(14)] + [float("nan")] * 4
    labels = list(xrv.models.DenseNet.targets[:14]) + [""] * 4
    expected = {}
    for name, x in inputs.items():
        t = torch.from_numpy(x)[None]
        with torch.no_grad():
            model.op_threshs = None
            model.apply_sigmoid = False
            logits = model(t)[0]
            model.op_threshs = torch.tensor(op)
            normed = model(t)[0]
        expected[name] = {"logits": logits.tolist(), "sigmoid": torch.sigmoid(logits).tolist(),
                          "op_norm": normed.tolist()}
    model.op_threshs = torch.tensor(op)
    sd = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(sd, os.path.join(OUT, "densenet_small.safetensors"))
    torch.save(sd, os.path.join(OUT, "densenet_small_state.pt"))
    params = sum(p.numel() for p in model.parameters())

    torch.manual_seed(2)
    tiny = xrv.models.DenseNet(weights=None, **TINY)
    torch.save(tiny, os.path.join(OUT, "densenet_small_module.pt"))

    full = xrv.models.DenseNet(weights=None)
    full_params = sum(p.numel() for p in full.parameters())
    with open(os.path.join(OUT, "densenet_small.json"), "w") as f:
        json.dump({"architecture": SMALL, "parameters": params, "densenet121_parameters": full_params,
                   "labels": labels, "op_threshs": [None if v != v else v for v in op],
                   "expected": expected}, f, indent=1)
        f.write("\n")
    print(f"densenet_small: {params} parameters; DenseNet-121 (18 outputs): {full_params}")


def demo_part(paths):
    from safetensors.torch import load_file
    from demo_cnn import DemoCNN, preprocess, load_state
    mdir = os.path.join(ROOT, "Models", "cxr-demo-classifier")
    cfg = json.load(open(os.path.join(mdir, "config.json")))
    layers = [(l["out_channels"], l["stride"]) for l in cfg["layers"]]
    model = load_state(DemoCNN(layers, len(cfg["labels"])), load_file(os.path.join(mdir, "model.safetensors"))).eval()
    size = cfg["input"]["size"]

    def run(path):
        x = preprocess(path, size)
        with torch.no_grad():
            p = torch.sigmoid(model(torch.from_numpy(x)[None]))[0]
        return {"input_sum": float(np.float64(x).sum()), "input_abs_sum": float(np.abs(np.float64(x)).sum()),
                "input_corner": [float(v) for v in x[0, :2, :4].ravel()],
                "probabilities": p.tolist()}

    out = {"labels": cfg["labels"], "synthetic": {}, "nih": {}}
    for name in ("grey256", "rgb320x280", "grey16_150x170"):
        out["synthetic"][name] = run(paths[name])
    nih = os.path.join(ROOT, "..", "shared", "data", "nih-labelled", "images")
    for fn in ("nih_00000506_013.png", "nih_00000005_000.png"):  # held-out: AP effusion; PA no finding
        p = os.path.join(nih, fn)
        if os.path.exists(p):
            out["nih"][fn] = run(p)
    with open(os.path.join(OUT, "demo_expected.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print("demo_expected.json:", {k: len(v) for k, v in out.items() if isinstance(v, dict)})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--part", default="all", choices=["densenet", "demo", "all"])
    args = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    paths = write_images()
    if args.part in ("densenet", "all"):
        densenet_part(paths)
    if args.part in ("demo", "all"):
        demo_part(paths)


if __name__ == "__main__":
    main()
