"""Writes pickled whole-model DenseNets, as torchxrayvision's downloadable .pt files are, for the safe reader.

Run from the repository root (torch and safetensors; torchxrayvision is NOT needed):
    /work/venv/bin/python Tools/classifiers/make_xrv_pickle_fixture.py

torchxrayvision's published weights are `torch.save(model)` of its DenseNet, written by the PyTorch of early
2020, i.e. in the legacy (pre-1.6, non-zip) layout. Unpickling needs the classes by module and name only, so
this script registers stand-in classes under torchxrayvision's names (a module `torchxrayvision.models` put
into sys.modules) with the same submodule names and attributes, and pickles them in both layouts. It checks
itself against the real library's artefacts before writing: the stand-ins must unpickle
densenet_small_module.pt (saved by torchxrayvision itself) and, loaded with densenet_small.safetensors,
reproduce the logits torchxrayvision gave in densenet_small.json.

Writes Tests/Fixtures/classifiers/:
  densenet_small_model_zip.pt     the reduced-width model of densenet_small.safetensors (same tensors), with
                                  `targets`/`pathologies` and the `op_threshs` buffer of densenet_small.json,
                                  as DenseNet(weights=...) has them; torch.save zip layout
  densenet_small_model_legacy.pt  the same model, legacy layout (_use_new_zipfile_serialization=False)
  densenet_tiny_model_2020.pt     a tiny model as torchxrayvision of spring 2020 built it: `pathologies` only,
                                  `op_threshs` a plain list attribute (not a buffer), each module with the
                                  `_backend` attribute of torch < 1.5 and without `_non_persistent_buffers_set`;
                                  legacy layout
  densenet_tiny_model_2020.json   its labels, operating points and tensors (for the Swift tests)
The zip file is byte-for-byte reproducible; legacy storage keys are memory addresses (torch's own choice),
so the legacy files differ between runs in those keys only.
"""
import json
import math
import os
import sys
import types
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "classifiers")
MODULE = "torchxrayvision.models"


# Stand-ins: what matters to a pickle is each class's module and name, and each instance's __dict__ (which
# submodules, parameters, buffers and plain attributes it holds). Forward passes are here only for the
# self-check against torchxrayvision's logits.

class _DenseLayer(nn.Sequential):
    __module__ = MODULE

    def __init__(self, cin, growth, bn_size, drop_rate):
        super().__init__()
        width = bn_size * growth
        self.add_module("norm1", nn.BatchNorm2d(cin))
        self.add_module("relu1", nn.ReLU(inplace=True))
        self.add_module("conv1", nn.Conv2d(cin, width, kernel_size=1, stride=1, bias=False))
        self.add_module("norm2", nn.BatchNorm2d(width))
        self.add_module("relu2", nn.ReLU(inplace=True))
        self.add_module("conv2", nn.Conv2d(width, growth, kernel_size=3, stride=1, padding=1, bias=False))
        self.drop_rate = drop_rate

    def forward(self, x):
        return torch.cat([x, super().forward(x)], 1)


class _DenseBlock(nn.Sequential):
    __module__ = MODULE

    def __init__(self, layers, cin, bn_size, growth, drop_rate):
        super().__init__()
        for i in range(layers):
            self.add_module(f"denselayer{i + 1}", _DenseLayer(cin + i * growth, growth, bn_size, drop_rate))


class _Transition(nn.Sequential):
    __module__ = MODULE

    def __init__(self, cin, cout):
        super().__init__()
        self.add_module("norm", nn.BatchNorm2d(cin))
        self.add_module("relu", nn.ReLU(inplace=True))
        self.add_module("conv", nn.Conv2d(cin, cout, kernel_size=1, stride=1, bias=False))
        self.add_module("pool", nn.AvgPool2d(kernel_size=2, stride=2))


class DenseNet(nn.Module):
    __module__ = MODULE

    def __init__(self, growth_rate, block_config, num_init_features, bn_size, num_classes=18, in_channels=1,
                 op_threshs_buffer=True):
        super().__init__()
        self.apply_sigmoid = False
        self.weights = None
        self.features = nn.Sequential(OrderedDict([
            ("conv0", nn.Conv2d(in_channels, num_init_features, kernel_size=7, stride=2, padding=3, bias=False)),
            ("norm0", nn.BatchNorm2d(num_init_features)),
            ("relu0", nn.ReLU(inplace=True)),
            ("pool0", nn.MaxPool2d(kernel_size=3, stride=2, padding=1)),
        ]))
        c = num_init_features
        for i, layers in enumerate(block_config):
            self.features.add_module(f"denseblock{i + 1}", _DenseBlock(layers, c, bn_size, growth_rate, 0))
            c += layers * growth_rate
            if i != len(block_config) - 1:
                self.features.add_module(f"transition{i + 1}", _Transition(c, c // 2))
                c //= 2
        self.features.add_module("norm5", nn.BatchNorm2d(c))
        self.classifier = nn.Linear(c, num_classes)
        if op_threshs_buffer:
            self.register_buffer("op_threshs", None)
        else:
            self.op_threshs = None

    def forward(self, x):
        f = F.relu(self.features(x))
        return self.classifier(F.adaptive_avg_pool2d(f, (1, 1)).flatten(1))


def register_stand_ins():
    package = types.ModuleType("torchxrayvision")
    package.__path__ = []
    models = types.ModuleType(MODULE)
    models.__file__ = os.path.relpath(os.path.abspath(__file__))
    for cls in (_DenseLayer, _DenseBlock, _Transition, DenseNet):
        setattr(models, cls.__name__, cls)
    package.models = models
    sys.modules["torchxrayvision"] = package
    sys.modules[MODULE] = models


class OldBackend:
    """torch < 1.5 kept `self._backend = thnn_backend` on every module; it pickled as a call of this function."""

    def __reduce__(self):
        from torch.nn.backends.thnn import _get_thnn_function_backend
        return (_get_thnn_function_backend, ())


def self_check():
    """The stand-ins are torchxrayvision's classes as far as pickles and weights are concerned."""
    torch.load(os.path.join(OUT, "densenet_small_module.pt"), map_location="cpu", weights_only=False)
    spec = json.load(open(os.path.join(OUT, "densenet_small.json")))
    model = small_model(spec)
    inputs = load_file(os.path.join(OUT, "xrv_inputs.safetensors"))
    for name, exp in spec["expected"].items():
        with torch.no_grad():
            got = model(inputs[name][None])[0].double()
        err = (got - torch.tensor(exp["logits"], dtype=torch.float64)).abs().max().item()
        assert err < 1e-4, f"stand-in logits differ from torchxrayvision's by {err} on {name}"


def small_model(spec):
    a = spec["architecture"]
    model = DenseNet(a["growth_rate"], tuple(a["block_config"]), a["num_init_features"], a["bn_size"])
    sd = load_file(os.path.join(OUT, "densenet_small.safetensors"))
    model.op_threshs = torch.empty(18)  # a registered buffer: torch keeps it in _buffers
    model.load_state_dict(sd)
    # What DenseNet(weights=NAME) sets: targets, pathologies (the same list), input_resolution.
    model.targets = list(spec["labels"])
    model.pathologies = model.targets
    model.weights = "densenet121-res224-fixture"
    model.input_resolution = 224
    return model.eval()


def tiny_2020_model():
    torch.manual_seed(3)
    model = DenseNet(2, (1, 1, 1, 1), 4, 1, num_classes=5, op_threshs_buffer=False)
    gen = torch.Generator().manual_seed(4)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.data = 0.1 * torch.randn(m.num_features, generator=gen)
            m.running_var.data = 0.5 + torch.rand(m.num_features, generator=gen)
    model.pathologies = ["Effusion", "", "Cardiomegaly", "Pneumothorax", "Mass"]
    model.op_threshs = [0.25, float("nan"), 0.5, 0.125, 0.75]
    return model.eval()


def age_to_torch_1_4(model):
    """Module attributes as torch < 1.5 pickled them (after which the model's own methods no longer work)."""
    for m in model.modules():
        m._backend = OldBackend()
        del m.__dict__["_non_persistent_buffers_set"]


def placeholder_source(cls):
    """torch's legacy save stores each module class's source file and text beside its name (to warn on load when
    the class changed). The fixtures keep that record's shape with a one-line placeholder, so that they hold no
    library source and no local paths."""
    return [f"# {cls.__module__}.{cls.__qualname__}: source not stored in this fixture\n"], 1, "<fixture>"


def main():
    torch.set_num_threads(1)
    torch.serialization.get_source_lines_and_file = placeholder_source
    register_stand_ins()
    self_check()
    spec = json.load(open(os.path.join(OUT, "densenet_small.json")))
    small = small_model(spec)
    torch.save(small, os.path.join(OUT, "densenet_small_model_zip.pt"))
    torch.save(small, os.path.join(OUT, "densenet_small_model_legacy.pt"), _use_new_zipfile_serialization=False)

    tiny = tiny_2020_model()
    tensors = {k: v.flatten().tolist() for k, v in tiny.state_dict().items() if v.is_floating_point()}
    age_to_torch_1_4(tiny)
    torch.save(tiny, os.path.join(OUT, "densenet_tiny_model_2020.pt"), _use_new_zipfile_serialization=False)
    with open(os.path.join(OUT, "densenet_tiny_model_2020.json"), "w") as f:
        json.dump({"labels": tiny.pathologies,
                   "op_threshs": [None if math.isnan(v) else v for v in tiny.op_threshs],
                   "tensors": tensors}, f, indent=1)
        f.write("\n")
    for name in ("densenet_small_model_zip.pt", "densenet_small_model_legacy.pt", "densenet_tiny_model_2020.pt"):
        print(name, os.path.getsize(os.path.join(OUT, name)), "bytes")


if __name__ == "__main__":
    main()
