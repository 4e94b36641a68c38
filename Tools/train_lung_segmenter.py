#!/usr/bin/env python3
"""Trains the small lung/heart segmenter that places the finding regions per image (issue 13, item 4).

Data: the JSRT radiographs and their SCR masks in ../shared/data/cxr256 (images/jsrt_<id>.png, masks_jsrt/
<id>_{right_lung,left_lung,heart}.png, 256x256). Split as the atlas (Tools/make_region_atlas.py): ids sorted by
name, every 5th (index % 5 == 4) held out; the held-out cases are used only for the Dice printed at the end.
JSRT terms (research and education, no redistribution): the weights are an aggregate of the training set and
may be committed with their model card; the images, masks and per-image predictions may not.

Input, exactly as Swift's `LungSegmenter` prepares it (Sources/CXRFindings/LungSegmenter.swift): the grey image
rank-equalised at its own size (RegionFitter.equalise: each value becomes its mean rank in 0...1), resized to
128x128 (bilinear, antialiased, the aspect ignored), mapped to -1...1. Rank equalisation makes exposure, window,
gamma and bit depth irrelevant, so augmentation only has to cover what equalisation cannot: placement (scale,
aspect, shift, small rotation), noise, blur, bright lines (tubes, wires) and basal opacities over the lung (a
pleural effusion hides the diaphragm, but the lung field, which the regions are placed on, stays where it was).

Network (`SegmenterNet`, mirrored layer for layer in Swift): a U-Net of Conv3x3 + GroupNorm(8) + SiLU blocks,
stride-2 convolutions down (128 -> 4 px), nearest 2x upsampling and skip concatenation up, a 1x1 head giving
three logits (right lung, left lung, heart; image left = patient's right) at 64x64, upsampled bilinearly to
the image. Loss: BCE + soft Dice at 128x128. Weights are saved as fp16 safetensors.

Usage (2 shared cores: nice, one thread):
    nice -n 15 /work/venv/bin/python Tools/train_lung_segmenter.py --steps 1500
    nice -n 15 /work/venv/bin/python Tools/train_lung_segmenter.py --evaluate-only   # held-out Dice, saved weights
    nice -n 15 /work/venv/bin/python Tools/train_lung_segmenter.py --evaluate-only --parity-fixture
        # also rewrites Tests/Fixtures/segmenter/parity.json (Swift's SegmenterTests compare their masks with it)
"""
import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "cxr256"
OUT = REPO / "Sources" / "CXRFindings" / "Resources" / "segmenter" / "lung-heart-segmenter.safetensors"
PARTS = ("right_lung", "left_lung", "heart")
SIZE = 128          # network input
WIDTHS = (16, 32, 64, 64, 64)   # encoder widths at 64, 32, 16, 8, 4 px
GROUPS = 8


class Block(nn.Module):
    """Conv3x3(stride) + GroupNorm + SiLU, Conv3x3 + GroupNorm + SiLU."""

    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1)
        self.norm1 = nn.GroupNorm(GROUPS, cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1)
        self.norm2 = nn.GroupNorm(GROUPS, cout)

    def forward(self, x):
        x = F.silu(self.norm1(self.conv1(x)))
        return F.silu(self.norm2(self.conv2(x)))


class SegmenterNet(nn.Module):
    def __init__(self):
        super().__init__()
        w = WIDTHS
        self.down = nn.ModuleList([Block(1, w[0], 2)] + [Block(w[i - 1], w[i], 2) for i in range(1, len(w))])
        ups, cin = [], w[-1]
        for i in range(len(w) - 2, -1, -1):   # 8, 16, 32, 64 px
            cout = max(w[i], 16) if i > 0 else 16
            ups.append(Block(cin + w[i], cout))
            cin = cout
        self.up = nn.ModuleList(ups)
        self.head = nn.Conv2d(cin, len(PARTS), 1)

    def forward(self, x):
        skips = []
        for b in self.down:
            x = b(x)
            skips.append(x)
        skips.pop()
        for b in self.up:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
            x = b(torch.cat([x, skips.pop()], 1))
        return self.head(x)  # [N, 3, 64, 64]


def split_ids(data):
    ids = sorted(p.name[: -len("_heart.png")] for p in (data / "masks_jsrt").glob("*_heart.png"))
    return [n for i, n in enumerate(ids) if i % 5 != 4], [n for i, n in enumerate(ids) if i % 5 == 4]


def load(data, ids):
    imgs = np.stack([np.asarray(Image.open(data / "images" / f"jsrt_{n}.png").convert("L"), np.uint8) for n in ids])
    masks = np.stack([np.stack([np.asarray(Image.open(data / "masks_jsrt" / f"{n}_{p}.png").convert("L")) >= 128
                                for p in PARTS]) for n in ids]).astype(np.float32)
    return torch.from_numpy(imgs).float(), torch.from_numpy(masks)


def equalise(u8):
    """[N, H, W] integer-valued 0...255 -> mean rank in 0...1 per image (RegionFitter.equalise)."""
    n, h, w = u8.shape
    v = u8.reshape(n, -1).long()
    hist = torch.zeros(n, 256).scatter_add_(1, v, torch.ones_like(v, dtype=torch.float))
    below = torch.cumsum(hist, 1) - hist
    mean_rank = (below + (hist - 1) / 2) / (h * w - 1)
    return torch.gather(mean_rank, 1, v).reshape(n, h, w)


def prepare(u8):
    """Integer-valued grey [N, H, W] -> network input [N, 1, 128, 128] in -1...1."""
    eq = equalise(u8).unsqueeze(1)
    eq = F.interpolate(eq, size=(SIZE, SIZE), mode="bilinear", antialias=True, align_corners=False)
    return eq * 2 - 1


def augment(img, masks, g):
    """Random placement, lines, basal opacities, blur and noise on 0...255 images; masks move with the image."""
    n = img.shape[0]
    s = torch.exp(torch.empty(n).uniform_(math.log(0.75), math.log(1.25), generator=g))
    ar = torch.exp(torch.empty(n).uniform_(-0.15, 0.15, generator=g))
    rot = torch.empty(n).uniform_(-0.17, 0.17, generator=g)
    tx, ty = (torch.empty(n).uniform_(-0.15, 0.15, generator=g) for _ in range(2))
    sx, sy = s * ar, s / ar   # output->input scale: > 1 shows more of the image (the chest smaller)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 0, 1] = sx * torch.cos(rot), -sx * torch.sin(rot)
    theta[:, 1, 0], theta[:, 1, 1] = sy * torch.sin(rot), sy * torch.cos(rot)
    theta[:, 0, 2], theta[:, 1, 2] = tx, ty
    grid = F.affine_grid(theta, (n, 1, 256, 256), align_corners=False)
    pad = torch.empty(n, 1, 1, 1).uniform_(0, 1, generator=g) < 0.5
    im = img.unsqueeze(1)
    im = F.grid_sample(im, grid, align_corners=False, padding_mode="zeros") + torch.where(
        pad, 0.0, F.grid_sample(torch.full_like(im, 255.0), grid, align_corners=False, padding_mode="zeros") - 255.0)
    im = im.clamp(0, 255)
    m = F.grid_sample(masks, grid, align_corners=False, padding_mode="zeros")
    yy, xx = torch.meshgrid(torch.arange(256.0), torch.arange(256.0), indexing="ij")
    for i in range(n):
        # Basal opacity over one lung (effusion-like: a meniscus rising to the side wall), masks unchanged.
        if torch.rand(1, generator=g) < 0.35:
            side = int(torch.randint(0, 2, (1,), generator=g))
            lung = m[i, side] > 0.5
            if lung.any():
                ys = yy[lung]
                top, bottom = float(ys.min()), float(ys.max())
                level = bottom - float(torch.empty(1).uniform_(0.1, 0.6, generator=g)) * (bottom - top)
                xs = xx[lung]
                cx = float(xs.mean())
                wall = float(xs.min()) if side == 0 else float(xs.max())
                lift = float(torch.empty(1).uniform_(0, 0.3, generator=g)) * (bottom - top)
                curve = level - lift * ((xx - cx) / max(abs(wall - cx), 1)).clamp(-1, 1) ** 2 * (
                    ((xx - cx) * (wall - cx)) > 0)
                alpha = ((yy - curve) / 8).clamp(0, 1) * float(torch.empty(1).uniform_(0.5, 1.0, generator=g))
                hemi = (xx < 128) if side == 0 else (xx >= 128)
                target = float(torch.empty(1).uniform_(150, 230, generator=g))
                im[i, 0] = torch.where(hemi, im[i, 0] * (1 - alpha) + target * alpha, im[i, 0])
        # Bright lines: tubes, wires, catheters.
        for _ in range(int(torch.randint(0, 4, (1,), generator=g))):
            p = torch.rand(4, generator=g) * 256
            d = p[2:] - p[:2]
            t = (((xx - p[0]) * d[0] + (yy - p[1]) * d[1]) / (d @ d + 1e-6)).clamp(0, 1)
            dist = torch.hypot(xx - p[0] - t * d[0], yy - p[1] - t * d[1])
            width = float(torch.empty(1).uniform_(0.7, 3, generator=g))
            im[i, 0] = torch.maximum(im[i, 0], 255 * (1 - dist / width).clamp(0, 1))
    blur = torch.rand(n, generator=g) < 0.3
    if blur.any():
        k = torch.tensor([1.0, 4, 6, 4, 1]) / 16
        b = F.conv2d(F.pad(im[blur], (2, 2, 2, 2), mode="replicate"), k.view(1, 1, 1, 5))
        im[blur] = F.conv2d(b, k.view(1, 1, 5, 1))
    im = im + torch.randn(im.shape, generator=g) * torch.empty(n, 1, 1, 1).uniform_(0, 6, generator=g)
    return im.squeeze(1).round().clamp(0, 255), m


def loss_fn(logits, target):
    up = F.interpolate(logits, size=target.shape[-2:], mode="bilinear", align_corners=False)
    bce = F.binary_cross_entropy_with_logits(up, target)
    p = torch.sigmoid(up)
    inter = (p * target).sum((2, 3))
    dice = 1 - (2 * inter + 1) / (p.sum((2, 3)) + target.sum((2, 3)) + 1)
    return bce + dice.mean()


def predict(net, u8):
    """Probabilities [N, 3, 256, 256] for integer-valued 256x256 images."""
    with torch.no_grad():
        out = []
        for k in range(0, len(u8), 16):
            logits = net(prepare(u8[k:k + 16]))
            out.append(torch.sigmoid(F.interpolate(logits, size=u8.shape[-2:], mode="bilinear", align_corners=False)))
        return torch.cat(out)


def dice_scores(prob, masks):
    pred = prob >= 0.5
    truth = masks >= 0.5
    lungs_p, lungs_t = pred[:, 0] | pred[:, 1], truth[:, 0] | truth[:, 1]

    def d(a, b):
        return (2 * (a & b).sum((1, 2)).float() / (a.sum((1, 2)) + b.sum((1, 2))).clamp(min=1).float())
    return {"lungs": d(lungs_p, lungs_t), "right_lung": d(pred[:, 0], truth[:, 0]),
            "left_lung": d(pred[:, 1], truth[:, 1]), "heart": d(pred[:, 2], truth[:, 2])}


def save(net, path, info):
    from safetensors.torch import save_file
    tensors = {k: v.detach().to(torch.float16).contiguous() for k, v in net.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata={"info": json.dumps(info)})


def load_weights(net, path):
    from safetensors.torch import load_file
    net.load_state_dict({k: v.float() for k, v in load_file(str(path)).items()})


PARITY_IMAGES = ("nih_00000001_000.png", "covid_0639.png", "covid_0490.png")   # Samples/: permissive licences


def parity_fixture(net):
    """Per Samples/ image: the working size and, per part, the set pixels and their box, computed as Swift's
    LungSegmenter does (equalised at full size, 128x128 input, logits resized to the image reduced to <= 256 px
    on the long side, threshold 0)."""
    out = {"what": "Tools/train_lung_segmenter.py --parity-fixture on Samples/ images, prepared as LungSegmenter "
                   "does: per part, set pixels (logit >= 0) and their box [x0, y0, x1, y1) at the working size "
                   "(long side <= 256)", "images": {}}
    for name in PARITY_IMAGES:
        g = np.array(Image.open(REPO / "Samples" / name).convert("L"))
        h, w = g.shape
        k = max(1.0, max(w, h) / 256)
        ww, wh = max(8, int(np.floor(w / k + 0.5))), max(8, int(np.floor(h / k + 0.5)))
        with torch.no_grad():
            logits = net(prepare(torch.from_numpy(g).float()[None]))
            logits = F.interpolate(logits, size=(wh, ww), mode="bilinear", align_corners=False)[0]
        parts = {}
        for c, p in enumerate(PARTS):
            m = (logits[c] >= 0).numpy()
            ys, xs = np.nonzero(m)
            parts[p] = {"pixels": int(m.sum()),
                        "box": [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1]}
        out["images"][name] = {"working_size": [ww, wh], "parts": parts}
    path = REPO / "Tests" / "Fixtures" / "segmenter" / "parity.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--batch", type=int, default=12)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--evaluate-only", action="store_true")
    ap.add_argument("--parity-fixture", action="store_true", help="rewrite Tests/Fixtures/segmenter/parity.json")
    a = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    train, held = split_ids(a.data)
    net = SegmenterNet()
    hi, hm = load(a.data, held)
    if not a.evaluate_only:
        ti, tm = load(a.data, train)
        g = torch.Generator().manual_seed(a.seed)
        opt = torch.optim.AdamW(net.parameters(), lr=a.lr, weight_decay=1e-4)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, total_steps=a.steps, pct_start=0.1)
        t0 = time.time()
        for step in range(a.steps):
            idx = torch.randint(0, len(ti), (a.batch,), generator=g)
            img, m = augment(ti[idx], tm[idx], g)
            m128 = F.interpolate(m, size=(SIZE, SIZE), mode="area")
            loss = loss_fn(net(prepare(img)), m128)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            if step % 50 == 0 or step == a.steps - 1:
                print(f"step {step} loss {loss.item():.4f} {time.time() - t0:.0f}s", flush=True)
        net.eval()
        d = dice_scores(predict(net, hi), hm)
        info = {"training_cases": len(train), "held_out_cases": len(held),
                "held_out_rule": "JSRT ids sorted by name; index % 5 == 4 held out", "steps": a.steps,
                "batch": a.batch, "seed": a.seed, "input": SIZE, "widths": list(WIDTHS), "groups": GROUPS,
                "parts": list(PARTS), "held_out_dice": {k: round(float(v.mean()), 4) for k, v in d.items()},
                "seconds": round(time.time() - t0)}
        save(net, a.out, info)
        print(json.dumps(info))
    else:
        load_weights(net, a.out)
    net.eval()
    d = dice_scores(predict(net, hi), hm)
    print("held-out JSRT Dice (%d images): " % len(held)
          + ", ".join(f"{k} {float(v.mean()):.3f} (min {float(v.min()):.3f})" for k, v in d.items()))
    if a.parity_fixture:
        parity_fixture(net)


if __name__ == "__main__":
    main()
