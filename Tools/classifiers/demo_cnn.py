"""The demo chest X-ray classifier (PyTorch side), shared by train_demo_classifier.py and
make_classifier_fixtures.py. Not run on its own.

Architecture (what Sources/CXRClassifiers/DemoClassifier.swift implements natively): a stack of
3x3 convolutions (padding 1, no bias) each followed by BatchNorm (eps 1e-5) and ReLU, some with stride 2,
then global average pooling and one linear layer; outputs are independent sigmoids (multi-label).

Preprocessing (identical in Swift): grey (Pillow "L" luma for RGB), centre square crop on the long side
(torchxrayvision's XRayCenterCrop arithmetic), resize to `size` x `size` with Pillow's antialiased bilinear
filter on float pixels, then x = v / 255 * 2 - 1 (16-bit images are first scaled to 0...255 floats).
"""
import numpy as np
import torch
import torch.nn as nn
from PIL import Image

# (out_channels, stride) per conv-BN-ReLU layer.
LAYERS = [(16, 2), (32, 2), (64, 2), (64, 1), (128, 2), (128, 1)]
SIZE = 128
LABELS = ["Abnormal", "Atelectasis", "Cardiomegaly", "Effusion", "Infiltration", "Pneumothorax",
          "Edema", "Pneumonia", "Nodule", "Mass", "Male", "AP view"]


class DemoCNN(nn.Module):
    def __init__(self, layers=LAYERS, num_labels=len(LABELS), in_channels=1):
        super().__init__()
        blocks = []
        c = in_channels
        for out, stride in layers:
            blocks.append(nn.Sequential(
                nn.Conv2d(c, out, 3, stride=stride, padding=1, bias=False),
                nn.BatchNorm2d(out, eps=1e-5),
                nn.ReLU(inplace=True)))
            c = out
        self.layers = nn.ModuleList(blocks)
        self.dropout = nn.Dropout(0.2)
        self.classifier = nn.Linear(c, num_labels)

    def forward(self, x):
        for b in self.layers:
            x = b(x)
        x = x.mean(dim=(2, 3))
        return self.classifier(self.dropout(x))  # logits


def export_state(model):
    """Flat tensor dict with the names the Swift loader expects (layers.I.conv.weight, layers.I.bn.*)."""
    out = {}
    for i, b in enumerate(model.layers):
        out[f"layers.{i}.conv.weight"] = b[0].weight.detach().float().contiguous()
        for k in ("weight", "bias", "running_mean", "running_var"):
            out[f"layers.{i}.bn.{k}"] = getattr(b[1], k).detach().float().contiguous()
    out["classifier.weight"] = model.classifier.weight.detach().float().contiguous()
    out["classifier.bias"] = model.classifier.bias.detach().float().contiguous()
    return out


def load_state(model, tensors):
    for i, b in enumerate(model.layers):
        b[0].weight.data.copy_(tensors[f"layers.{i}.conv.weight"])
        for k in ("weight", "bias", "running_mean", "running_var"):
            getattr(b[1], k).data.copy_(tensors[f"layers.{i}.bn.{k}"])
    model.classifier.weight.data.copy_(tensors["classifier.weight"])
    model.classifier.bias.data.copy_(tensors["classifier.bias"])
    return model


def center_crop_box(w, h):
    """torchxrayvision's XRayCenterCrop: square of the short side, start = long // 2 - short // 2."""
    s = min(w, h)
    x0 = w // 2 - s // 2
    y0 = h // 2 - s // 2
    return x0, y0, s


def preprocess(path, size=SIZE):
    """Image file -> float32 [1, size, size] in [-1, 1]."""
    im = Image.open(path)
    if im.mode in ("I;16", "I;16B", "I"):
        a = np.asarray(im, dtype=np.float32) * np.float32(255.0 / 65535.0)
        f = Image.fromarray(a.astype(np.float32), mode="F")
    else:
        f = im.convert("L").convert("F")
    x0, y0, s = center_crop_box(f.width, f.height)
    f = f.crop((x0, y0, x0 + s, y0 + s))
    if f.size != (size, size):
        f = f.resize((size, size), Image.BILINEAR)
    a = np.asarray(f, dtype=np.float32) / np.float32(255.0)
    return (a * np.float32(2) - np.float32(1))[None]
