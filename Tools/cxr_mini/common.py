"""Shared helpers for cxr-mini: data loading, the held-out split, augmentation, model configs.

Not run directly. Used by prepare_data.py, train_vae.py, train_unet.py, export.py, evaluate.py.
Paths: data from ../shared/data (beside the repository), state in /work/train-state (outside the repo);
CXR_SHARED, CXR_STATE and CXR_RUNS override them (device_pack.py / device_train.sh rebuild both elsewhere).
"""
import csv, hashlib, json, os, re, sys

# A torchvision wheel that does not match torch breaks transformers/diffusers imports; cxr-mini needs none.
sys.modules.setdefault("torchvision", None)
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("CXR_SHARED", REPO.parent / "shared")) / "data"
STATE = Path(os.environ.get("CXR_STATE", "/work/train-state"))
# Run logs are committed beside the scripts; CXR_RUNS puts them elsewhere (device_train.sh's dry runs, which
# must not touch the tracked logs).
RUNS = Path(os.environ.get("CXR_RUNS", REPO / "Tools" / "cxr_mini" / "runs"))
MODEL_DIR = REPO / "Models" / "cxr-mini"
DOC_IMG = REPO / "docs" / "images" / "model"
# The classifier that scores the edits: the demo classifier's recipe retrained with this split's held-out patients
# held out too (train_demo_classifier.py --hold-out-cxr-mini), so it never trained on an image it scores.
EVAL_CLASSIFIER = REPO / "Tools" / "cxr_mini" / "eval-classifier"

def cpu_has_bf16():
    """Whether this CPU computes bf16 natively (AVX512-BF16 or AMX); elsewhere torch emulates it, slowly."""
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def save_checkpoint(obj, path):
    """torch.save through a temporary file and a rename: a run stopped while saving (the session ends, the machine
    is taken back) leaves the previous checkpoint whole, so --resume never meets a truncated file."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


# ---- architecture (kept inside what the Swift engine supports) ----
VAE_CONFIG = dict(
    in_channels=3, out_channels=3, latent_channels=4,
    down_block_types=["DownEncoderBlock2D"] * 4, up_block_types=["UpDecoderBlock2D"] * 4,
    block_out_channels=[32, 32, 64, 64], layers_per_block=1, norm_num_groups=16,
    act_fn="silu", sample_size=256, scaling_factor=1.0, mid_block_add_attention=True,
)
TEXT_CONFIG = dict(
    vocab_size=49408, hidden_size=128, intermediate_size=512, num_hidden_layers=3,
    num_attention_heads=4, max_position_embeddings=77, hidden_act="quick_gelu",
    bos_token_id=49406, eos_token_id=49407, pad_token_id=49407, projection_dim=128,
)
UNET_CONFIG = dict(
    sample_size=32, in_channels=4, out_channels=4,
    down_block_types=["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
    mid_block_type="UNetMidBlock2DCrossAttn",
    up_block_types=["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
    block_out_channels=[32, 64, 128], layers_per_block=1, attention_head_dim=4,
    cross_attention_dim=128, norm_num_groups=32, use_linear_projection=False,
)
SCHED_KW = dict(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                steps_offset=1, clip_sample=False, set_alpha_to_one=False, prediction_type="epsilon")


def training_alphas_cumprod():
    """The DDPM noise schedule's cumulative alphas (1000 timesteps) that the UNets are trained and probed with:
    SCHED_KW without the sampler-only keys."""
    from diffusers import DDPMScheduler
    kw = {k: v for k, v in SCHED_KW.items() if k not in ("steps_offset", "set_alpha_to_one")}
    return DDPMScheduler(**kw).alphas_cumprod


def token_ids(tok, captions):
    """Token ids of captions as the pipelines feed the text encoder: padded (and cut) to CLIP's 77 positions."""
    return tok(captions, padding="max_length", max_length=77, truncation=True, return_tensors="pt").input_ids


def group_key(row):
    """Key that keeps one patient's images on one side of the split."""
    if row["filename"].startswith("nih_") and row.get("patient_id"):
        return "nih-patient-" + str(int(row["patient_id"]))
    if row["filename"].startswith("nih_"):
        return "nih-patient-" + str(int(row["filename"][4:12]))
    m = re.search(r"patientid=([^;]+)", row.get("notes", "") or "")
    if m:
        return "covid-patient-" + m.group(1).strip()
    return row["filename"]


def is_heldout(row):
    """Held-out 10%: sha1 of the group key (patient id, else file name), first 8 hex digits mod 10 == 0."""
    return int(hashlib.sha1(group_key(row).encode()).hexdigest()[:8], 16) % 10 == 0


def load_rows():
    """All training-material rows (cxr256 + nih-labelled; the NIH image in both counted once)."""
    rows = []
    seen = set()
    for sub in ["nih-labelled", "cxr256"]:
        with open(SHARED / sub / "labels.csv", newline="") as f:
            for r in csv.DictReader(f):
                if r["filename"] in seen:
                    continue
                seen.add(r["filename"])
                r["dataset"] = sub
                r["path"] = str(SHARED / sub / "images" / r["filename"])
                r["heldout"] = is_heldout(r)
                rows.append(r)
    rows.sort(key=lambda r: r["filename"])
    return rows


def load_images(rows):
    """uint8 tensor N x 256 x 256, cached in STATE/images_u8.pt."""
    from PIL import Image
    cache = STATE / "images_u8.pt"
    names = [r["filename"] for r in rows]
    if cache.exists():
        d = torch.load(cache)
        if d["names"] == names:
            return d["images"]
    arr = np.stack([np.asarray(Image.open(r["path"]).convert("L").resize((256, 256)), dtype=np.uint8) for r in rows])
    t = torch.from_numpy(arr)
    STATE.mkdir(parents=True, exist_ok=True)
    torch.save({"names": names, "images": t}, cache)
    return t


def to_model(u8):
    """uint8 N x H x W -> float N x 3 x H x W in [-1, 1] (grey replicated to 3 channels)."""
    x = u8.float().div(127.5).sub(1.0).unsqueeze(1)
    return x.expand(-1, 3, -1, -1).contiguous()


def augment(x, gen, shift=0.04, scale=0.05, bright=0.08):
    """Light augmentation: small random shift/scale (no flips: laterality matters), brightness/contrast."""
    n = x.shape[0]
    s = 1.0 + (torch.rand(n, generator=gen) * 2 - 1) * scale
    tx = (torch.rand(n, generator=gen) * 2 - 1) * shift * 2
    ty = (torch.rand(n, generator=gen) * 2 - 1) * shift * 2
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = 1 / s
    theta[:, 1, 1] = 1 / s
    theta[:, 0, 2] = tx
    theta[:, 1, 2] = ty
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    y = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    b = (torch.rand(n, 1, 1, 1, generator=gen) * 2 - 1) * bright
    c = 1.0 + (torch.rand(n, 1, 1, 1, generator=gen) * 2 - 1) * bright
    return (y * c + b).clamp(-1, 1)


def grad_l1(x, y):
    """L1 distance of the horizontal and vertical image gradients (the VAE stages' edge/perceptual proxy)."""
    dx = lambda t: t[..., :, 1:] - t[..., :, :-1]
    dy = lambda t: t[..., 1:, :] - t[..., :-1, :]
    return (dx(x) - dx(y)).abs().mean() + (dy(x) - dy(y)).abs().mean()


class RunLog:
    """Small JSON log of a run: settings, steps, wall time, loss curve (subsampled)."""

    def __init__(self, name, settings):
        self.path = RUNS / f"{name}.json"
        RUNS.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            self.d = json.loads(self.path.read_text())
            self.d.setdefault("resumes", []).append({"settings": settings, "at_step": self.d.get("steps", 0)})
        else:
            self.d = {"run": name, "settings": settings, "steps": 0, "wall_s": 0.0, "curve": []}

    def log(self, step, wall, **vals):
        self.d["steps"] = step
        self.d["wall_s"] = round(wall, 1)
        self.d["curve"].append({"step": step, "wall_s": round(wall, 1), **{k: round(float(v), 5) for k, v in vals.items()}})

    def save(self, **extra):
        self.d.update(extra)
        self.path.write_text(json.dumps(self.d, indent=1))
