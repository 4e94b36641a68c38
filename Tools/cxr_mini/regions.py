"""Region masks for training the inpainting UNet: the atlas regions the Swift editor fits to an image.

Atlas: Sources/CXRFindings/Resources/atlas/*.png (256x256 frame, JSRT average; Tools/make_region_atlas.py).
At edit time the Swift side fits the atlas (scale + translation) and grows the union of the extent's regions by
`grow` pixels; here the fit is replaced by a random jitter around the atlas frame (scale +-8%, shift +-10 px) so
that the model learns to fill regions that sit a little off, as fitted regions do.
"""
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
import common

ATLAS_DIR = common.REPO / "Sources" / "CXRFindings" / "Resources" / "atlas"
_cache = {}


def atlas(name):
    if name not in _cache:
        a = np.asarray(Image.open(ATLAS_DIR / f"{name}.png").convert("L"), dtype=np.float32) / 255.0
        _cache[name] = torch.from_numpy((a >= 0.5).astype(np.float32))
    return _cache[name]


def grow(mask, px):
    """Binary dilation by a disc of radius px (max-pool of a disc kernel)."""
    if px <= 0:
        return mask
    r = int(round(px))
    yy, xx = torch.meshgrid(torch.arange(-r, r + 1), torch.arange(-r, r + 1), indexing="ij")
    k = ((yy ** 2 + xx ** 2) <= px * px).float()[None, None]
    out = F.conv2d(mask[None, None], k, padding=r)[0, 0]
    return (out > 0.5).float()


def jitter(mask, rng, scale=0.08, shift=10.0):
    s = 1 + (rng.random() * 2 - 1) * scale, 1 + (rng.random() * 2 - 1) * scale
    t = (rng.random() * 2 - 1) * shift, (rng.random() * 2 - 1) * shift
    theta = torch.tensor([[1 / s[0], 0, -t[0] / 128], [0, 1 / s[1], -t[1] / 128]], dtype=torch.float32)[None]
    grid = F.affine_grid(theta, [1, 1, 256, 256], align_corners=False)
    return (F.grid_sample(mask[None, None], grid, mode="bilinear", align_corners=False)[0, 0] >= 0.5).float()


def region_mask(names, grow_px, rng=None):
    m = torch.zeros(256, 256)
    for n in names:
        m = torch.maximum(m, atlas(n))
    if rng is not None:
        m = jitter(m, rng)
    return grow(m, grow_px)


def box_mask(boxes, grow_px):
    m = torch.zeros(256, 256)
    for x, y, w, h in boxes:
        m[max(0, int(y)):min(256, int(y + h) + 1), max(0, int(x)):min(256, int(x + w) + 1)] = 1
    return grow(m, grow_px)


def random_blob(rng):
    """An ellipse somewhere in the chest (user masks are rarely atlas regions)."""
    cy, cx = rng.uniform(50, 210), rng.uniform(40, 216)
    ry, rx = rng.uniform(12, 60), rng.uniform(12, 60)
    yy, xx = torch.meshgrid(torch.arange(256.0), torch.arange(256.0), indexing="ij")
    return (((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1).float()
