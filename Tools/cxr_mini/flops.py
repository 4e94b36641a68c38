"""Count FLOPs (2 x multiply-accumulates of conv/linear layers + attention matmuls) of the cxr-mini modules.

Run: /work/venv/bin/python Tools/cxr_mini/flops.py   (prints a JSON summary; also used by evaluate.py)
"""
import common
import json
import torch
import torch.nn as nn
import torch.nn.functional as F
from diffusers import AutoencoderKL, UNet2DConditionModel
from transformers import CLIPTextConfig, CLIPTextModel


def count(module, fn):
    """Run fn() with hooks; return FLOPs (conv, linear, and scaled-dot-product attention)."""
    total = [0]
    hooks = []

    def conv_hook(m, i, o):
        k = m.weight.shape[1] * m.weight.shape[2] * m.weight.shape[3]
        total[0] += 2 * o.numel() * k

    def lin_hook(m, i, o):
        total[0] += 2 * o.numel() * m.in_features

    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(lin_hook))
    orig = F.scaled_dot_product_attention

    def sdpa(q, k, v, *a, **kw):
        total[0] += 2 * q.shape[:-1].numel() * k.shape[-2] * (q.shape[-1] + v.shape[-1])
        return orig(q, k, v, *a, **kw)

    F.scaled_dot_product_attention = sdpa
    try:
        with torch.no_grad():
            fn()
    finally:
        F.scaled_dot_product_attention = orig
        for h in hooks:
            h.remove()
    return total[0]


def summary(vae=None, unet=None, text=None):
    vae = vae or AutoencoderKL(**common.VAE_CONFIG)
    unet = unet or UNet2DConditionModel(**common.UNET_CONFIG)
    text = text or CLIPTextModel(CLIPTextConfig(**common.TEXT_CONFIG))
    x = torch.zeros(1, 3, 256, 256)
    z = torch.zeros(1, 4, 32, 32)
    h = torch.zeros(1, 77, common.TEXT_CONFIG["hidden_size"])
    ids = torch.zeros(1, 77, dtype=torch.long)
    out = {
        "vae_encode_gflop": count(vae, lambda: vae.encode(x)) / 1e9,
        "vae_decode_gflop": count(vae, lambda: vae.decode(z)) / 1e9,
        "unet_gflop_per_sample": count(unet, lambda: unet(z, 500, encoder_hidden_states=h)) / 1e9,
        "text_encoder_gflop": count(text, lambda: text(ids)) / 1e9,
        "params": {"vae": sum(p.numel() for p in vae.parameters()),
                   "unet": sum(p.numel() for p in unet.parameters()),
                   "text_encoder": sum(p.numel() for p in text.parameters())},
    }
    s = 25  # 50-step edit at strength 0.5 = 25 denoising steps, batch 2 (guidance)
    out["edit_50steps_strength0.5_gflop"] = (out["vae_encode_gflop"] + out["vae_decode_gflop"]
                                             + 2 * out["text_encoder_gflop"] + s * 2 * out["unet_gflop_per_sample"])
    return out


if __name__ == "__main__":
    print(json.dumps(summary(), indent=1))
