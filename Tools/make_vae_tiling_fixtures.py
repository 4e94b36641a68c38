#!/usr/bin/env python3
"""Reference outputs of diffusers' tiled VAE (AutoencoderKL.enable_tiling()) for the Swift tiling parity test.

Run from the repository root after Tools/make_model_fixtures.py (it reads the sd1-tiny VAE that script writes):

    /work/venv/bin/python Tools/make_vae_tiling_fixtures.py

The sd1-tiny VAE has sample_size 64, so its tiles are 64 px / 8 latents: a 104x72 image and a 13x9 latent are
split into 3 x 2 tiles, the last row and column cut short by the edge (one of them to a single latent row, which
exercises diffusers' min() of the blend extent). Writes Tests/Fixtures/parity/vae-tiling.safetensors (fp32):
  tiling_image [1,3,104,72]    the encoder's input, in [-1, 1]
  tiling_mean, tiling_logvar   [1,4,13,9], the tiled posterior (logvar clamped as diffusers does)
  tiling_latent_in [1,4,13,9]  the decoder's input, torch.Generator().manual_seed(7) randn
  tiling_decoded [1,3,104,72]  the tiled decode
and vae-tiling.json (shapes, tile geometry, and how far the untiled outputs are from the tiled ones, so that the
test is known to tell them apart). Deterministic: running it twice gives identical bytes.
"""

import json
import os

import torch
from safetensors.torch import save_file

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
VAE = os.path.join(ROOT, "Tests", "Fixtures", "models", "sd1-tiny", "vae")
PARITY = os.path.join(ROOT, "Tests", "Fixtures", "parity")
HEIGHT, WIDTH = 104, 72


def test_image():
    """A smooth pattern plus a little seeded noise: structure that tiles must blend without seams."""
    g = torch.Generator().manual_seed(1234)
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, HEIGHT), torch.linspace(-1, 1, WIDTH), indexing="ij")
    r = torch.sin(3.0 * xs) * torch.cos(2.0 * ys)
    gr = 0.8 * torch.exp(-((xs - 0.3) ** 2 + (ys + 0.2) ** 2) * 3.0) - 0.4
    b = 0.6 * xs * ys
    img = torch.stack([r, gr, b])[None] + 0.05 * torch.randn((1, 3, HEIGHT, WIDTH), generator=g)
    return img.clamp(-1, 1)


def main():
    from diffusers import AutoencoderKL

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    vae = AutoencoderKL.from_pretrained(VAE, dtype=torch.float32).eval()
    f = 2 ** (len(vae.config.block_out_channels) - 1)
    image = test_image()
    latent = torch.randn((1, 4, HEIGHT // f, WIDTH // f), generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        whole = vae.encode(image).latent_dist, vae.decode(latent).sample
        vae.enable_tiling()
        dist = vae.encode(image).latent_dist
        decoded = vae.decode(latent).sample
    out = {
        "tiling_image": image,
        "tiling_mean": dist.mean,
        "tiling_logvar": dist.logvar,
        "tiling_latent_in": latent,
        "tiling_decoded": decoded,
    }
    out = {k: v.float().contiguous() for k, v in out.items()}
    save_file({k: out[k] for k in sorted(out)}, os.path.join(PARITY, "vae-tiling.safetensors"),
              metadata={"format": "pt"})
    untiled = {
        "mean": (whole[0].mean - dist.mean).abs().max().item(),
        "decoded": (whole[1] - decoded).abs().max().item(),
    }
    # The test's tolerance is 1e-4 of the output's scale: tiling must move the outputs far more than that.
    assert min(untiled.values()) > 1e-2, untiled
    meta = {
        "vae": os.path.relpath(VAE, ROOT),
        "diffusers": __import__("diffusers").__version__,
        "tile_sample_min_size": vae.tile_sample_min_size,
        "tile_latent_min_size": vae.tile_latent_min_size,
        "tile_overlap_factor": vae.tile_overlap_factor,
        "shapes": {k: list(v.shape) for k, v in out.items()},
        "untiled_max_abs_difference": {k: round(v, 4) for k, v in untiled.items()},
        "note": "tiling_image from seed 1234, tiling_latent_in from seed 7; fp32 weights and compute.",
    }
    with open(os.path.join(PARITY, "vae-tiling.json"), "w") as fh:
        json.dump(meta, fh, indent=2, sort_keys=True)
        fh.write("\n")
    for name in ("vae-tiling.safetensors", "vae-tiling.json"):
        print(f"{os.path.getsize(os.path.join(PARITY, name)):>8}  Tests/Fixtures/parity/{name}")


if __name__ == "__main__":
    main()
