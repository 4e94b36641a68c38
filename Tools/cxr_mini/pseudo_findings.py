"""Pseudo-effusions for train_inpaint.py --pseudo: one patient's film with and without a pleural effusion.

A `--remove` edit of an effusion starts from the patient's own noisy latents, which still hold the
opacity, and the inpainting UNet keeps what they hold whatever the prompt says (prompt_pull.py). Teaching it to let
go needs examples that start from a film with the finding and end at the same film without it; the data has no such
pairs, and another patient's tissue as the target (--translate) taught the model to paint blocks. So each training
negative of effusion gets one drawn into its own film, inside its own effusion mask at a random side, and encoded by
the frozen VAE; train_inpaint.py noises these latents and asks for the film as it was.

Drawn in pixels (grey values in 0..1, the mask slot's 32 x 32 mask brought to 256 px and softened): fluid fills the
mask from its lowest rows up to a random level, higher at the lateral chest wall (the meniscus), densest at the
base; it whitens the film toward 1 and hides the lung markings under it. Crude, and meant to be: at the noise levels
where a removal starts only the coarse opacity survives in the latents. Not for pneumothorax: drawn the same way
(the mask's area blurred and darkened, a bright line at its inner edge) it made a grey blob of the whole lung.

Run (from Tools/cxr_mini; minutes on 2 cores): python pseudo_findings.py [--sheet PNG]
Writes STATE/pseudo_findings.pt: train positions, mask slots, findings and latents (as prepare_inpaint.py's).
"""
import argparse, os, random, time
import torch
import torch.nn.functional as F
import common
from diffusers import AutoencoderKL

p = argparse.ArgumentParser()
p.add_argument("--sheet", help="PNG: film | with the pseudo-finding | difference, for 8 of them (look before training)")
p.add_argument("--limit", type=int, default=0, help="only the first N negatives (a quick look, or a smaller set)")
p.add_argument("--seed", type=int, default=0)
a = p.parse_args()
torch.set_num_threads(int(os.environ.get("CXR_THREADS", "2")))
rng = random.Random(a.seed)

D = torch.load(common.STATE / "inpaint_data.pt", weights_only=False)
rows = common.load_rows()
imgs = common.load_images(rows)
assert D["names"] == [r["filename"] for r in rows], "inpaint_data.pt was made from other rows: run prepare_inpaint.py"
slot_index = {s: k for k, s in enumerate(D["slots"])}
train_idx, descs, m32 = D["train_idx"], D["desc"], D["masks32"]


def soft(mask32, sigma):
    """A 32 x 32 boolean mask at 256 px, blurred by a Gaussian of sigma px (0..1)."""
    m = F.interpolate(mask32[None, None].float(), size=256, mode="bilinear", align_corners=False)
    return blur(m, sigma)[0, 0].clamp(0, 1)


def blur(x, sigma):
    r = int(3 * sigma)
    g = torch.exp(-torch.arange(-r, r + 1).float() ** 2 / (2 * sigma ** 2))
    g = g / g.sum()
    x = F.conv2d(F.pad(x, (r, r, 0, 0), mode="replicate"), g.view(1, 1, 1, -1))
    return F.conv2d(F.pad(x, (0, 0, r, r), mode="replicate"), g.view(1, 1, -1, 1))


def effusion(img, mask32):
    """Fluid inside the mask: from its base up to a level that climbs toward the lateral wall."""
    r = soft(mask32, 4)
    ys, xs = torch.nonzero(mask32, as_tuple=True)
    y0, y1 = (ys.min().item() * 8, ys.max().item() * 8 + 8)
    x0, x1 = (xs.min().item() * 8, xs.max().item() * 8 + 8)
    lateral_left = (x0 + x1) / 2 < 128  # the mask lies on the image's left half: the wall is at its left
    yy, xx = torch.meshgrid(torch.arange(256).float(), torch.arange(256).float(), indexing="ij")
    toward_wall = ((x1 - xx) if lateral_left else (xx - x0)).clamp(0) / max(x1 - x0, 1)
    level = y1 - rng.uniform(0.3, 0.9) * (y1 - y0) - rng.uniform(0.1, 0.35) * (y1 - y0) * toward_wall ** 2
    depth = ((yy - level) / max(y1 - y0, 1)).clamp(0, 1)
    w = r * torch.sigmoid((yy - level) / rng.uniform(2, 6)) * (0.55 + 0.45 * depth.sqrt())
    hidden = img + (blur(img[None, None], 3)[0, 0] - img) * 0.7 * w  # the markings fade under fluid
    return hidden + rng.uniform(0.45, 0.85) * (1 - hidden) * w


DRAW = {"pleural-effusion": effusion}
picks = []  # (train position, slot, finding)
for fid in DRAW:
    lacking = [j for j in range(len(train_idx)) if all(i != fid for i, _, _ in descs[j])]
    for j in lacking[:a.limit] if a.limit else lacking:
        side = rng.choice(["right", "left"])
        picks.append((j, slot_index[(fid, side)], fid))

vae = AutoencoderKL.from_pretrained(str(common.MODEL_DIR / "vae"), torch_dtype=torch.float32).eval()
films, lats, t0 = [], [], time.time()
for s in range(0, len(picks), 32):
    batch = []
    for j, k, fid in picks[s:s + 32]:
        img = imgs[train_idx[j]].float() / 255
        batch.append(DRAW[fid](img, m32[j, k]))
    x = torch.stack(batch)
    for n, (j, _, _) in enumerate(picks[s:s + 32]):
        if a.sheet and len(films) < 8:
            films.append((imgs[train_idx[j]].float() / 255, x[n]))
    with torch.no_grad():
        u8 = (x * 255).round().clamp(0, 255).to(torch.uint8)  # as a film would be stored
        lats.append(vae.encode(common.to_model(u8)).latent_dist.mean.half())
    print(f"{s + len(batch)}/{len(picks)} {time.time() - t0:.0f}s", flush=True)

if a.sheet:  # 8 rows: film | with the pseudo-effusion | 0.5 + 4 x difference
    from PIL import Image
    rows_ = [torch.cat([f, g, (0.5 + 4 * (g - f)).clamp(0, 1)], 1) for f, g in films]
    Image.fromarray((torch.cat(rows_, 0) * 255).byte().numpy()).save(a.sheet)
torch.save({"pos": [j for j, _, _ in picks], "slot": [k for _, k, _ in picks], "finding": [f for _, _, f in picks],
            "latents": torch.cat(lats), "seed": a.seed}, common.STATE / "pseudo_findings.pt")
print("done", len(picks), flush=True)
