"""Lists the convolution, linear and attention shapes a model runs, with how often each runs per call.

Why from diffusers rather than by hand: the shapes (skip concatenations, downsamplers, 1x1 shortcuts, cross-attention
on 77 tokens) and their call counts are exactly what a guided UNet step or a VAE decode executes, and the counts
weight each shape's time into a whole-step estimate. The models are built on torch's meta device, so nothing is
allocated or computed: only shapes propagate.

    /work/venv/bin/python Tools/bench/onednn/shapes.py > Tools/bench/onednn/shapes.json
"""

import collections
import json
import sys

import torch
import torch.nn.functional as F
from diffusers import AutoencoderKL, UNet2DConditionModel

SD15 = "/work/bench-models/sd15"
MINI = "Models/cxr-mini"


def record(model, run):
    """Runs `run()` on meta tensors and returns {key: count} for every conv2d, linear and attention call."""
    counts = collections.Counter()

    def conv_hook(m, args, out):
        n, c, h, w = args[0].shape
        o, _, kh, kw = m.weight.shape
        pad = m.padding if isinstance(m.padding, tuple) else (m.padding, m.padding)
        counts[("conv", n, c, h, w, o, kh, kw, m.stride[0], pad[0])] += 1

    def linear_hook(m, args, out):
        x = args[0]
        rows = x.numel() // x.shape[-1]
        counts[("linear", rows, m.in_features, m.out_features)] += 1

    for mod in model.modules():
        if isinstance(mod, torch.nn.Conv2d):
            mod.register_forward_hook(conv_hook)
        elif isinstance(mod, torch.nn.Linear):
            mod.register_forward_hook(linear_hook)
    sdpa = F.scaled_dot_product_attention

    def sdpa_rec(q, k, v, *a, **kw):
        b, heads, lq, d = q.shape
        counts[("attention", b, heads, lq, k.shape[2], d)] += 1
        return sdpa(q, k, v, *a, **kw)

    F.scaled_dot_product_attention = sdpa_rec
    try:
        with torch.no_grad():
            run()
    finally:
        F.scaled_dot_product_attention = sdpa
    return counts


def unet_shapes(folder, latent, batch=2, context=77):
    cfg = UNet2DConditionModel.load_config(folder + "/unet")
    with torch.device("meta"):
        unet = UNet2DConditionModel.from_config(cfg)
        x = torch.empty(batch, cfg["in_channels"], latent, latent)
        ctx = torch.empty(batch, context, cfg["cross_attention_dim"])
        t = torch.empty(batch, dtype=torch.long)
    return record(unet, lambda: unet(x, t, encoder_hidden_states=ctx))


def decoder_shapes(folder, size):
    cfg = AutoencoderKL.load_config(folder + "/vae")
    with torch.device("meta"):
        vae = AutoencoderKL.from_config(cfg)
        z = torch.empty(1, cfg["latent_channels"], size // 8, size // 8)
    return record(vae, lambda: vae.decode(z))


def rows(group, counts):
    out = []
    for key, n in sorted(counts.items(), key=lambda kv: (kv[0][0], kv[0][1:])):
        kind = key[0]
        if kind == "conv":
            _, b, c, h, w, o, kh, kw, s, p = key
            out.append(dict(group=group, op="conv", n=b, c=c, h=h, w=w, o=o, k=kh, stride=s, pad=p, calls=n))
        elif kind == "linear":
            _, m, k, nn = key
            out.append(dict(group=group, op="linear", m=m, k=k, n=nn, calls=n))
        else:
            _, b, heads, lq, lk, d = key
            out.append(dict(group=group, op="attention", b=b, heads=heads, lq=lq, lk=lk, d=d, calls=n))
    return out


def main():
    shapes = []
    shapes += rows("sd15-unet-512", unet_shapes(SD15, 64))
    shapes += rows("sd15-vae-decoder-512", decoder_shapes(SD15, 512))
    shapes += rows("mini-unet-256", unet_shapes(MINI, 32))
    shapes += rows("mini-vae-decoder-256", decoder_shapes(MINI, 256))
    json.dump(dict(source="diffusers on torch's meta device (Tools/bench/onednn/shapes.py)", shapes=shapes),
              sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
