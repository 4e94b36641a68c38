"""Shared helpers for xrv_adapter.py and xrv_to_safetensors.py (not run on its own).

Imports torchxrayvision, working around torchvision wheels built for another torch build (their fake-op
registration fails with "operator torchvision::nms does not exist"; torchxrayvision's DenseNet never uses
those ops, so that one module is skipped and the import retried).
"""
import sys
import types


def import_xrv():
    try:
        import torchxrayvision as xrv
        return xrv
    except RuntimeError as e:
        if "torchvision::" not in str(e):
            raise
        for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")
                     or m == "torchxrayvision" or m.startswith("torchxrayvision.")]:
            del sys.modules[name]
        sys.modules["torchvision._meta_registrations"] = types.ModuleType("torchvision._meta_registrations")
        import torchxrayvision as xrv
        return xrv


def load_model(xrv, weights=None, pt=None, labels_from=None, cache_dir=None):
    """A torchxrayvision DenseNet in eval mode, its output labels ("" = unused) and op_threshs (or None).

    weights: a torchxrayvision weights name ("densenet121-res224-all"; downloaded to ~/.torchxrayvision once).
    pt: a torchxrayvision .pt file already on disk (a pickled whole model: only load files you trust);
        labels_from names the weights entry whose labels/op_threshs apply (default: matched by file name).
    """
    import os
    import torch
    if weights:
        model = xrv.models.DenseNet(weights=weights, cache_dir=cache_dir)
        op = model.op_threshs
        return model.eval(), list(model.targets), (None if op is None else op.float())
    if not pt:
        raise SystemExit("give --weights NAME or --pt FILE")
    obj = torch.load(pt, map_location="cpu", weights_only=False)
    state = obj.state_dict() if hasattr(obj, "state_dict") else obj
    entry = None
    if labels_from:
        entry = xrv.models.model_urls[labels_from]
    else:
        base = os.path.basename(pt)
        for v in xrv.models.model_urls.values():
            if os.path.basename(v.get("weights_url", "")) == base:
                entry = v
                break
    ncls = state["classifier.weight"].shape[0]
    labels = list(entry["labels"]) if entry else list(xrv.datasets.default_pathologies)[:ncls]
    op = torch.tensor(entry["op_threshs"], dtype=torch.float32) if entry and "op_threshs" in entry else None
    if "op_threshs" in state and state["op_threshs"] is not None and op is None:
        op = state["op_threshs"].float()
    # Rebuild a clean module of the same shape and load the weights into it.
    growth = state["features.denseblock1.denselayer1.conv2.weight"].shape[0]
    blocks = []
    b = 1
    while f"features.denseblock{b}.denselayer1.conv1.weight" in state:
        n = 1
        while f"features.denseblock{b}.denselayer{n + 1}.conv1.weight" in state:
            n += 1
        blocks.append(n)
        b += 1
    model = xrv.models.DenseNet(growth_rate=growth, block_config=tuple(blocks),
                                num_init_features=state["features.conv0.weight"].shape[0],
                                bn_size=state["features.denseblock1.denselayer1.conv1.weight"].shape[0] // growth,
                                num_classes=ncls)
    model.load_state_dict({k: v for k, v in state.items() if k != "op_threshs"})
    model.op_threshs = op
    return model.eval(), labels, op
