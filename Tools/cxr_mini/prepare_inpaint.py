"""Stage 5a: training data of the inpainting UNet: latents, finding-region masks and masked-image latents.

Run: nice -n 10 /work/venv/bin/python Tools/cxr_mini/prepare_inpaint.py [--workers N] [--limit N]
Reads the exported VAE (Models/cxr-mini/vae, frozen: the 4-channel UNet and the new one share its latent space),
the training images and findings.py's descriptions. For every training image it draws six masks, each an edit
extent as the Swift editor makes it (findings.json `extent`, atlas regions jittered like a fit, grown):
  0 cardiomegaly   1 right effusion   2 left effusion   3 right pneumothorax   4 left pneumothorax   5 other
(the image's own severity where its box gives one, else the default level for a positive, else a random level;
"other": the box of another finding of the image, a default region of one of its findings, or a random blob)
and encodes the masked image (pixels inside the mask set to 0, as diffusers' inpainting pipeline does) with the
VAE's posterior mean (bf16 autocast where the hardware has bf16, see --precision; the pipeline samples the
posterior, whose noise is larger).
Writes /work/train-state/inpaint_data.pt (CXR_STATE).
On a GPU the encoder is quick and drawing the masks (CPU) dominates: --workers N draws them in N processes
(same masks: each image's draw has its own seed). --limit N keeps only the first N training images (dry runs).
"""
import argparse, os, random, time
import torch
import torch.nn.functional as F
import common, findings, regions
from diffusers import AutoencoderKL

p = argparse.ArgumentParser()
p.add_argument("--workers", type=int, default=0, help="processes drawing the masks (0 = in this one, as before)")
p.add_argument("--limit", type=int, default=0, help="only the first N training images (0 = all; for dry runs)")
p.add_argument("--precision", choices=["auto", "bf16", "fp32"], default="auto",
               help="the encoder's autocast: auto = bf16 on a GPU or a CPU with AVX512-BF16/AMX (the committed "
                    "model's data), fp32 elsewhere (bf16 is emulated there: 5x slower on an AVX2 Zen 3)")
a = p.parse_args()
torch.set_num_threads(int(os.environ.get("CXR_THREADS", "2")))
dev = "cuda" if torch.cuda.is_available() else "cpu"
bf16 = a.precision == "bf16" or (a.precision == "auto" and (dev == "cuda" or common.cpu_has_bf16()))
rows = common.load_rows()
imgs = common.load_images(rows)
boxes, cuts = findings.box_sides_and_severity()
vae = AutoencoderKL.from_pretrained(str(common.MODEL_DIR / "vae"), torch_dtype=torch.float32).eval().to(dev)
vae = vae.to(memory_format=torch.channels_last)
sf = vae.config.scaling_factor
K = 6
SLOTS = [("cardiomegaly", None), ("pleural-effusion", "right"), ("pleural-effusion", "left"),
         ("pneumothorax", "right"), ("pneumothorax", "left")]


def encode(x):
    with torch.no_grad(), torch.autocast(dev, dtype=torch.bfloat16, enabled=bf16):
        return vae.encode(x.to(dev).contiguous(memory_format=torch.channels_last)).latent_dist.mean.float().cpu()


def own_level(desc, fid, side):
    """The level of an edit of fid/side on this image: its box severity, else default (positive), else None."""
    for i, s, v in desc:
        if i == fid and (side is None or s in (None, side, "bilateral")):
            return v or findings.BY_ID[fid]["extent"]["default"], True
    return None, False


def draw_masks(i, row, rng):
    desc = findings.describe(row, boxes)
    masks, meta = [], []
    for fid, side in SLOTS:
        level, positive = own_level(desc, fid, side)
        if level is None:
            level = rng.choice(findings.levels(fid))
        names, grow = findings.extent(fid, side, level)
        masks.append(regions.region_mask(names, grow, rng))
        meta.append((fid, side, level, positive))
    own_boxes = [(fid, b) for fid, (s, v, b) in boxes.get(row["filename"], {}).items()
                 if fid not in findings.TARGETS]
    u = rng.random()
    if own_boxes and u < 0.6:
        fid, b = rng.choice(own_boxes)
        masks.append(regions.box_mask(b, 10)); meta.append((fid, "box", None, True))
    elif desc and u < 0.8:
        fid, side, _ = rng.choice(desc)
        names, grow = findings.extent(fid, side)
        masks.append(regions.region_mask(names, max(grow, 6), rng)); meta.append((fid, side, None, True))
    else:
        masks.append(regions.random_blob(rng)); meta.append(("blob", None, None, False))
    return desc, masks, meta


class Draws(torch.utils.data.Dataset):
    """The masks of training image j (its own seed, so the same in any worker process and in any order)."""

    def __len__(self):
        return len(train_idx)

    def __getitem__(self, j):
        i = train_idx[j]
        desc, masks, meta = draw_masks(i, rows[i], random.Random(1000 + i))
        return i, desc, torch.stack(masks), meta  # masks: K x 256 x 256


t0 = time.time()
train_idx = [i for i, r in enumerate(rows) if not r["heldout"]]
if a.limit:
    train_idx = train_idx[:a.limit]
lat = torch.zeros(len(rows), 4, 32, 32)
todo = train_idx if a.limit else list(range(len(rows)))
for s in range(0, len(todo), 32):
    ids = todo[s:s + 32]
    lat[ids] = encode(common.to_model(imgs[ids]))
print(f"latents {time.time() - t0:.0f}s", flush=True)
mlat = torch.zeros(len(train_idx), K, 4, 32, 32, dtype=torch.float16)
mask32 = torch.zeros(len(train_idx), K, 32, 32, dtype=torch.bool)
metas, descs = [], []
B = 4  # images per encoder batch (x6 masks)
# fork: the workers inherit rows, boxes and the atlas (this script is not importable, so spawn cannot work).
loader = torch.utils.data.DataLoader(Draws(), batch_size=B, shuffle=False, num_workers=a.workers,
                                     collate_fn=lambda items: items,
                                     multiprocessing_context="fork" if a.workers else None)
for s, batch in zip(range(0, len(train_idx), B), loader):
    xs, ms = [], []
    for i, desc, m, meta in batch:
        descs.append(desc); metas.append(meta)
        x = common.to_model(imgs[i:i + 1])
        xs.append(x * (m[:, None] < 0.5))
        ms.append(m)
    z = encode(torch.cat(xs))
    n = len(ms)
    mlat[s:s + n] = z.view(n, K, 4, 32, 32).half()
    m = torch.stack(ms)  # n x K x 256 x 256
    mask32[s:s + n] = F.interpolate(m.view(n * K, 1, 256, 256), size=(32, 32)).view(n, K, 32, 32) >= 0.5
    if s % 200 == 0:
        print(f"{s}/{len(train_idx)} {time.time() - t0:.0f}s", flush=True)
torch.save({"names": [r["filename"] for r in rows], "latents": lat, "scaling_factor": sf, "train_idx": train_idx,
            "masked_latents": mlat, "masks32": mask32, "meta": metas, "desc": descs, "severity_cuts": cuts,
            "slots": SLOTS, "encoder_precision": "bf16" if bf16 else "fp32"}, common.STATE / "inpaint_data.pt")
print(f"done {time.time() - t0:.0f}s", flush=True)
