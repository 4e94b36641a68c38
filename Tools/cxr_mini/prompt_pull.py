"""How far the prompt moves the inpainting UNet's prediction where a `--remove` edit starts.

A regional `--remove` edit noises the input's own latents (strength 0.8), so its noisy latents still hold the
finding's opacity. This script takes 12 training positives of a right pleural effusion, noises their latents to
t = 700 and t = 500, and lets the UNet predict the clean latents (x0) under the absence sentence, the base prompt
and the presence sentence. Each prediction is measured as the right-effusion area's mean latents minus the lungs'
(the film's own exposure taken out), along the mean of that difference for effusion positives minus negatives (the
positives' mean, the negatives' mean and the hosts' own value are printed beside it; higher: a base brighter than
its lungs). A model that obeys the prompt moves towards the negatives' mean under the absence sentence; one that
keeps what the noisy latents hold stays at the hosts' value under all three.

Run: python prompt_pull.py MODEL   (MODEL: a model folder's unet-inpaint/, or a train_inpaint.py checkpoint; then
     --weights ema|unet picks the averaged or the raw weights)
"""
import argparse, random
from pathlib import Path
import torch
import common, findings
from diffusers import UNet2DConditionModel
from transformers import CLIPTextModel, CLIPTokenizer

p = argparse.ArgumentParser()
p.add_argument("model")
p.add_argument("--weights", choices=["ema", "unet"], default="ema")
a = p.parse_args()
torch.set_num_threads(1)
D = torch.load(common.STATE / "inpaint_data.pt", weights_only=False)
sf = D["scaling_factor"]
lat = D["latents"][D["train_idx"]] * sf
mlat = D["masked_latents"].float() * sf
m32 = D["masks32"].float()
descs = D["desc"]
if Path(a.model).is_dir():
    unet = UNet2DConditionModel.from_pretrained(a.model, torch_dtype=torch.float32)
else:
    c = torch.load(a.model, map_location="cpu", weights_only=False)
    unet = UNet2DConditionModel(**c["config"])
    unet.load_state_dict(c[a.weights])
unet.eval()
tok = CLIPTokenizer.from_pretrained(str(common.MODEL_DIR / "tokenizer"))
text = CLIPTextModel.from_pretrained(str(common.MODEL_DIR / "text_encoder"), torch_dtype=torch.float32)
alphas = common.training_alphas_cumprod()


def embed(caption):
    with torch.no_grad():
        return text(common.token_ids(tok, [caption])).last_hidden_state


fid, side = "pleural-effusion", "right"
slot = D["slots"].index((fid, side))  # the right effusion's extent
pos = [j for j in range(lat.shape[0]) if any(i == fid and s == side for i, s, _ in descs[j])]
neg = [j for j in range(lat.shape[0]) if all(i != fid for i, _, _ in descs[j])]
# Measured relative to the film's own lungs, with one weight for every film (the slot's mean mask; for the lungs
# the mean of the union of the four lung findings' masks): inside each film's own mask the positive-negative
# difference mostly measured exposure (positives' films are darker there, 133 against 143 grey levels, though the
# area is brighter against their own lungs than a negative's is) and mask size (a positive's mask is its finding's
# own extent).
region = m32[:, slot].mean(0)
lungs = m32[:, [k for k, (f, s) in enumerate(D["slots"]) if s is not None]].amax(1).mean(0)


def relative(z):
    """Each film's mean latents over the region minus those over its lungs (N x 4)."""
    return (z * region).sum((2, 3)) / region.sum() - (z * lungs).sum((2, 3)) / lungs.sum()


mean_pos, mean_neg = relative(lat[pos]).mean(0), relative(lat[neg]).mean(0)
axis = (mean_pos - mean_neg) / (mean_pos - mean_neg).norm()


def along(z):
    return (relative(z) @ axis).mean().item()


random.seed(0)
hosts = random.sample(pos, 12)
z0, mask, masked = lat[hosts], m32[hosts, slot][:, None], mlat[hosts, slot]
print(f"hosts {along(z0):.3f}  positives' mean {(mean_pos @ axis).item():.3f}  "
      f"negatives' mean {(mean_neg @ axis).item():.3f}")
# What `--remove`, the null edit and `--add` write (the composer's language, findings.py).
prompts = {"absent": findings.compose(removes=[(fid, side, None)])[0], "base": findings.BASE,
           "present": findings.compose([(fid, side, None)])[0]}
gen = torch.Generator().manual_seed(0)
for t in (700, 500):
    ab = alphas[t]
    zt = ab.sqrt() * z0 + (1 - ab).sqrt() * torch.randn(z0.shape, generator=gen)
    row = []
    for name, caption in prompts.items():
        with torch.no_grad():
            eps = unet(torch.cat([zt, mask, masked], 1), torch.full((len(hosts),), t),
                       encoder_hidden_states=embed(caption).expand(len(hosts), -1, -1)).sample
        row.append(f"{name} {along((zt - (1 - ab).sqrt() * eps) / ab.sqrt()):.3f}")
    print(f"t={t}: " + "  ".join(row))
