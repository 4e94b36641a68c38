"""A quick look, during training, at whether the inpainting UNet adds findings (PyTorch/diffusers, not the CLI).

Run: nice -n 10 /work/venv/bin/python Tools/cxr_mini/quick_eval.py [--n 12] [--steps 25] [--strength 0.8]
Takes the current EMA weights in /work/train-state/inpaint.pt, and for n held-out no-finding NIH images makes,
per target finding, an `--add` edit and its null edit (same seed, strength, mask; prompt without the finding)
inside the finding's default extent placed at the atlas frame (no fit), pastes the input back outside the mask,
and scores both with the retrained demo classifier (common.EVAL_CLASSIFIER): effect = p(edit) - p(null). Writes a
contact sheet (input | null | edit | 4x|edit - null|) to /work/train-state/quick_eval.png. The figures that count are made
by evaluate_edits.py through the real CLI.
"""
import argparse, sys
import numpy as np
import torch
import common, findings, regions
from PIL import Image
from diffusers import DDIMScheduler, StableDiffusionInpaintPipeline, UNet2DConditionModel, AutoencoderKL
from transformers import CLIPTextModel, CLIPTokenizer
from safetensors.torch import load_file

sys.path.insert(0, str(common.REPO / "Tools" / "classifiers"))
import demo_cnn  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--n", type=int, default=12)
p.add_argument("--steps", type=int, default=25)
p.add_argument("--strength", type=float, default=0.8)
p.add_argument("--guidance", type=float, default=7.0)
p.add_argument("--raw", action="store_true")
a = p.parse_args()
torch.set_num_threads(int(__import__("os").environ.get("CXR_THREADS", "2")))

s = torch.load(common.STATE / "inpaint.pt", map_location="cpu")
unet = UNet2DConditionModel(**s["config"])
unet.load_state_dict(s["unet" if a.raw else "ema"])
M = common.MODEL_DIR
pipe = StableDiffusionInpaintPipeline(
    vae=AutoencoderKL.from_pretrained(str(M / "vae")), text_encoder=CLIPTextModel.from_pretrained(str(M / "text_encoder")),
    tokenizer=CLIPTokenizer.from_pretrained(str(M / "tokenizer")), unet=unet,
    scheduler=DDIMScheduler.from_pretrained(str(M / "scheduler")), safety_checker=None, feature_extractor=None,
    requires_safety_checker=False)
pipe.set_progress_bar_config(disable=True)
clf = demo_cnn.DemoCNN()
demo_cnn.load_state(clf, load_file(str(common.EVAL_CLASSIFIER / "model.safetensors"))).eval()
LAB = {"cardiomegaly": "Cardiomegaly", "pleural-effusion": "Effusion", "pneumothorax": "Pneumothorax"}


def score(img):
    f = Image.fromarray(img).convert("F").resize((demo_cnn.SIZE, demo_cnn.SIZE), Image.BILINEAR)
    x = torch.from_numpy(np.asarray(f, dtype=np.float32) / 255 * 2 - 1)[None, None]
    with torch.no_grad():
        pr = torch.sigmoid(clf(x))[0]
    return {k: pr[demo_cnn.LABELS.index(v)].item() for k, v in LAB.items()}


rows = [r for r in common.load_rows() if r["heldout"] and r["filename"].startswith("nih_") and r["findings"] == "No Finding"]
rows = rows[:a.n]
effects = {k: [] for k in LAB}
sheet = []
for i, r in enumerate(rows):
    img = np.asarray(Image.open(r["path"]).convert("L").resize((256, 256)))
    for fid, side in [("cardiomegaly", None), ("pleural-effusion", "right"), ("pneumothorax", "right")]:
        names, grow = findings.extent(fid, side)
        m = regions.region_mask(names, grow).numpy()
        outs = []
        for prompt in [findings.BASE, findings.compose([(fid, side, None)])[0]]:
            g = torch.Generator().manual_seed(i)
            o = pipe(prompt=prompt, image=Image.fromarray(img).convert("RGB"), mask_image=Image.fromarray((m * 255).astype(np.uint8)),
                     strength=a.strength, num_inference_steps=a.steps, guidance_scale=a.guidance, generator=g,
                     height=256, width=256).images[0]
            o = np.asarray(o.convert("L")).astype(np.float32)
            o = np.where(m > 0.5, o, img).astype(np.uint8)
            outs.append(o)
        sn, se = score(outs[0]), score(outs[1])
        effects[fid].append(se[fid] - sn[fid])
        if i < 4:
            d = np.clip(np.abs(outs[1].astype(float) - outs[0]) * 4, 0, 255).astype(np.uint8)
            sheet.append(np.concatenate([img, outs[0], outs[1], d], 1))
    print(i, {k: round(v[-1], 3) for k, v in effects.items()}, flush=True)
for k, v in effects.items():
    v = np.array(v)
    print(f"{k}: mean effect {v.mean():+.3f}, right way {np.mean(v > 0) * 100:.0f}% (n={len(v)})")
Image.fromarray(np.concatenate(sheet, 0)).save(common.STATE / "quick_eval.png")
print("step", s["step"])
