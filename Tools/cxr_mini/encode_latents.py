"""Stage 2: encode the training images once with the trained VAE (posterior mean); measure the latent std.

Run: nice -n 10 /work/venv/bin/python Tools/cxr_mini/encode_latents.py [--minutes 6]
Reads /work/train-state/vae.pt; writes /work/train-state/latents.pt {names, latents (N,4,32,32) fp32 unscaled,
done mask (images encoded), heldout mask, std, scaling_factor = 1/std of the training latents} (as SD did).
Training images are encoded in a fixed shuffled order (seed 0) so that a time limit leaves a random subset.
Held-out images are not encoded (evaluation runs the exported pipeline on pixels).
"""
import argparse, time
import common
import torch
from diffusers import AutoencoderKL

p = argparse.ArgumentParser()
p.add_argument("--minutes", type=float, default=6)
a = p.parse_args()
torch.set_num_threads(int(__import__("os").environ.get("CXR_THREADS", "2")))
rows = common.load_rows()
imgs = common.load_images(rows)
vae = AutoencoderKL(**common.VAE_CONFIG)
vae.load_state_dict(torch.load(common.STATE / "vae.pt")["model"])
vae.eval()
held = torch.tensor([r["heldout"] for r in rows])
order = torch.nonzero(~held).flatten()
order = order[torch.randperm(len(order), generator=torch.Generator().manual_seed(0))]
lat = torch.zeros(len(rows), 4, 32, 32)
done = torch.zeros(len(rows), dtype=torch.bool)
t0 = time.time()
with torch.no_grad():
    for i in range(0, len(order), 16):
        idx = order[i:i + 16]
        lat[idx] = vae.encode(common.to_model(imgs[idx])).latent_dist.mean
        done[idx] = True
        if i % 160 == 0:
            print(i, f"{time.time() - t0:.0f}s", flush=True)
        if time.time() - t0 > a.minutes * 60:
            break
std = lat[done].std().item()
mean = lat[done].mean().item()
torch.save({"names": [r["filename"] for r in rows], "latents": lat, "done": done, "heldout": held, "std": std,
            "mean": mean, "scaling_factor": 1.0 / std, "encode_s": time.time() - t0}, common.STATE / "latents.pt")
print("encoded", int(done.sum()), "of", len(order), "std", std, "mean", mean, "scaling_factor", 1 / std,
      f"{time.time() - t0:.0f}s")
