"""Checks that a folder written by `cxr-edit init-model` loads in diffusers with every weight present.

Run: /work/venv/bin/python Tools/bench/check_load.py /work/bench-models/sd15
Fails (exit 1) on missing or unexpected keys, or a parameter count that differs from the published architecture.
"""
import sys

import hide_torchvision  # noqa: F401  (must precede transformers/diffusers)
import torch
from diffusers import AutoencoderKL, UNet2DConditionModel
from transformers import CLIPTextModel, CLIPTokenizer

EXPECTED_UNET = {"sd15": 859_520_964, "sd21base": 865_910_724}


def main(path):
    torch.set_num_threads(2)
    models, failures = {}, []
    for name, cls in (("unet", UNet2DConditionModel), ("vae", AutoencoderKL), ("text_encoder", CLIPTextModel)):
        model, info = cls.from_pretrained(path, subfolder=name, torch_dtype=torch.float32, output_loading_info=True)
        for kind in ("missing_keys", "unexpected_keys", "mismatched_keys", "error_msgs"):
            if info.get(kind):
                failures.append(f"{name} {kind}: {list(info[kind])[:5]}")
        if any(torch.isnan(p).any() for p in model.parameters()):
            failures.append(f"{name}: NaN weights")
        models[name] = model
    counts = {n: sum(p.numel() for p in m.parameters()) for n, m in models.items()}
    print(counts)
    tok = CLIPTokenizer.from_pretrained(path, subfolder="tokenizer")
    ids = tok(["", "Large right pleural effusion."], padding="max_length", max_length=77, return_tensors="pt").input_ids
    print("tokenizer ok:", tuple(ids.shape), "pad id", tok.pad_token_id)
    if counts["unet"] not in EXPECTED_UNET.values():
        failures.append(f"unexpected UNet size {counts['unet']}")
    with torch.inference_mode():
        emb = models["text_encoder"](ids)[0]
        print("text embeddings finite:", bool(torch.isfinite(emb).all()), "std", float(emb.std()))
    for f in failures:
        print("FAIL", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
