"""Does a finding's absence sentence point away from its presence sentence, in the text encoder and in the UNet?

An edit's guidance moves along eps(prompt) - eps(negative prompt); a removal asks for "base + absence sentence"
against "base + presence sentence". CLIP-style encoders are known to place "no X" close to "X". This measures, for
each target finding, with the base prompt as the origin:
  text: the cosine between (presence - base) and (absence - base) of the frozen text encoder's last hidden states
        (77 tokens x width, flattened), and each difference's size relative to the base's;
  unet: the same cosine between the inpainting UNet's noise predictions inside the finding's mask (training images'
        latents, masked-image latents and masks from prepare_inpaint.py, noised at t), for images without the finding
        (where an absence sentence should change nothing) and with it (where it should undo the presence sentence).
A cosine near +1 with a sizeable absence difference means the absence sentence draws the finding. Any added
sentence moves both encoder and UNet in a shared direction, so the same figures for a control sentence (the
absence sentence of a finding that is not edited here, --control) tell how much of a cosine is that common part.

    PYTHONPATH=Tools/cxr_mini /work/venv/bin/python Tools/cxr_mini/text_contrast.py [--model DIR] [--unet DIR] \
        [--n 24] [--json OUT.json]
"""
import argparse
import json

import torch
from diffusers import UNet2DConditionModel
from transformers import CLIPTextModel, CLIPTokenizer

import common
import findings

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("--model", default=str(common.MODEL_DIR), help="model folder (its tokenizer and text encoder)")
ap.add_argument("--unet", help="inpainting UNet folder (default: MODEL/unet-inpaint)")
ap.add_argument("--n", type=int, default=24, help="images per finding and group")
ap.add_argument("--timesteps", type=int, nargs="+", default=[300, 600])
ap.add_argument("--control", default=findings.absence("hernia"),
                help="a sentence unrelated to the target findings (the common direction of any added sentence)")
ap.add_argument("--json", help="write the figures here")
a = ap.parse_args()
model = common.Path(a.model)
a.unet = a.unet or str(model / "unet-inpaint")
torch.set_num_threads(2)
torch.manual_seed(0)

tok = CLIPTokenizer.from_pretrained(str(model / "tokenizer"))
text = CLIPTextModel.from_pretrained(str(model / "text_encoder"), torch_dtype=torch.float32).eval()
unet = UNet2DConditionModel.from_pretrained(a.unet, torch_dtype=torch.float32).eval()
alphas = common.training_alphas_cumprod()
D = torch.load(common.STATE / "inpaint_data.pt", weights_only=False)
sf, descs = D["scaling_factor"], D["desc"]
latents = D["latents"][D["train_idx"]]


def embed(caption):
    with torch.no_grad():
        return text(common.token_ids(tok, [caption])).last_hidden_state[0]


def cosine(x, y):
    return float((x.flatten() @ y.flatten()) / (x.norm() * y.norm()))


base = findings.BASE
out = {"base": base, "model": a.model, "unet": a.unet, "control": a.control, "findings": {}}
for fid in findings.TARGETS:
    side = "right" if findings.BY_ID[fid]["sided"] else None
    present = f"{base} {findings.presence(fid, side=side)}"
    absent = f"{base} {findings.absence(fid)}"
    control = f"{base} {a.control}"
    e = {c: embed(c) for c in (base, present, absent, control)}
    dp, dn, dc = e[present] - e[base], e[absent] - e[base], e[control] - e[base]
    row = {"presence": present, "absence": absent,
           "text": {"cosine": cosine(dp, dn), "presence_size": float(dp.norm() / e[base].norm()),
                    "absence_size": float(dn.norm() / e[base].norm()), "control_cosine": cosine(dp, dc)}}
    groups = {"without": [j for j in range(len(descs)) if all(i != fid for i, _, _ in descs[j])],
              "with": [j for j in range(len(descs)) if any(i == fid and s in (side, None) for i, s, _ in descs[j])]}
    for group, idx in groups.items():
        idx = idx[:a.n]
        k = D["slots"].index((fid, side))  # the finding's mask (the right side's where it is sided)
        z0, zm = latents[idx] * sf, D["masked_latents"][idx, k].float() * sf
        mask = D["masks32"][idx, k].float()[:, None]
        h = {c: v.expand(len(idx), -1, -1) for c, v in e.items()}
        for t in a.timesteps:
            ab = alphas[t]
            zt = ab.sqrt() * z0 + (1 - ab).sqrt() * torch.randn_like(z0)
            x, tt = torch.cat([zt, mask, zm], 1), torch.full((len(idx),), t)
            with torch.no_grad():
                eps = {c: unet(x, tt, encoder_hidden_states=v).sample * mask for c, v in h.items()}
            up, un, uc = ((eps[c] - eps[base]).flatten(1) for c in (present, absent, control))
            row[f"unet_{group}_t{t}"] = {
                "cosine_mean": float((up * un).sum(1).div(up.norm(dim=1) * un.norm(dim=1)).mean()),
                "absence_over_presence": float(un.norm() / up.norm()),
                "control_cosine_mean": float((up * uc).sum(1).div(up.norm(dim=1) * uc.norm(dim=1)).mean()),
                "n": len(idx)}
    out["findings"][fid] = row
    print(fid, json.dumps({k: v for k, v in row.items() if k not in ("presence", "absence")}))
if a.json:
    with open(a.json, "w") as f:
        json.dump(out, f, indent=1)
