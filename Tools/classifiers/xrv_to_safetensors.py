"""Converts a torchxrayvision DenseNet to a safetensors file that `cxr-edit` loads natively
(classifier spec "densenet121:FILE.safetensors"), with the label list and operating points included.

Optional: cxr-edit reads torchxrayvision's .pt downloads (pickled whole DenseNets) directly with its safe
unpickler. This script is for what that does not cover: attaching the labels and operating points of a
torchxrayvision weights name to a raw training file (--labels-from), or other pickled models, which the safe
reader refuses (they can run code) and which are moved here, once, into a plain tensor file.

Run (torchxrayvision installed: pip install torchxrayvision):
    python Tools/classifiers/xrv_to_safetensors.py --weights densenet121-res224-all --out xrv-all.safetensors
    python Tools/classifiers/xrv_to_safetensors.py --pt ~/.torchxrayvision/nih-densenet121-...-best.pt \
        [--labels-from densenet121-res224-nih] --out xrv-nih.safetensors
--weights downloads the named weights into ~/.torchxrayvision (or --cache-dir) if not there yet.
--pt loads a file on disk with torch.load(weights_only=False): only for files you trust.
Output: the state_dict in float32 with torchxrayvision's names (num_batches_tracked dropped), "op_threshs"
(when the weights have operating points), and metadata "labels" (JSON list, "" for unused outputs).
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from xrv_common import import_xrv, load_model  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weights", help="torchxrayvision weights name, e.g. densenet121-res224-all")
    ap.add_argument("--pt", help="torchxrayvision .pt file on disk (trusted)")
    ap.add_argument("--labels-from", help="weights name whose labels/op_threshs apply to --pt")
    ap.add_argument("--cache-dir")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    xrv = import_xrv()
    from safetensors.torch import save_file
    model, labels, op = load_model(xrv, args.weights, args.pt, args.labels_from, args.cache_dir)
    tensors = {k: v.detach().float().contiguous() for k, v in model.state_dict().items()
               if not k.endswith("num_batches_tracked") and k != "op_threshs"}
    if op is not None:
        tensors["op_threshs"] = op.detach().float().contiguous()
    save_file(tensors, args.out, metadata={"format": "pt", "labels": json.dumps(labels),
                                           "source": args.weights or os.path.basename(args.pt)})
    n = sum(v.numel() for k, v in tensors.items() if "running" not in k and k != "op_threshs")
    print(f"wrote {args.out}: {len(tensors)} tensors, {n} parameters, {len(labels)} outputs, "
          f"operating points: {'yes' if op is not None else 'no'}")


if __name__ == "__main__":
    main()
