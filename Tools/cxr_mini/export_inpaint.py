"""Stage 5c: export the inpainting UNet into the bundled model folder as `unet-inpaint/` (fp16 safetensors).

Run: nice -n 10 /work/venv/bin/python Tools/cxr_mini/export_inpaint.py [--raw] [--out Models/cxr-mini]
Reads /work/train-state/inpaint.pt (EMA weights unless --raw); writes OUT/unet-inpaint/{config.json,
diffusion_pytorch_model.safetensors} with diffusers' save_pretrained and names it in OUT/cxr-edit.json as
"inpaint_unet" (cxr-edit runs regional edits with it; diffusers ignores the folder, which model_index.json does
not list, so the folder stays a plain StableDiffusionPipeline for everything else).
A checkpoint trained with --train-text also carries the text encoder and the 4-channel UNet trained beside it: they
replace OUT/text_encoder and OUT/unet (fp16, the same configs), since the shipped ones no longer match.
"""
import argparse, json, shutil
from pathlib import Path
import torch
import common
from diffusers import UNet2DConditionModel
from transformers import CLIPTextModel

p = argparse.ArgumentParser()
p.add_argument("--raw", action="store_true")
p.add_argument("--out", default=str(common.MODEL_DIR))
a = p.parse_args()
out = Path(a.out)
s = torch.load(common.STATE / "inpaint.pt", map_location="cpu")
unet = UNet2DConditionModel(**s["config"])
unet.load_state_dict(s["unet" if a.raw else "ema"])
unet = unet.to(torch.float16)
dst = out / "unet-inpaint"
if dst.exists():
    shutil.rmtree(dst)
unet.save_pretrained(str(dst), safe_serialization=True)
if "ema_text" in s:
    key = "" if a.raw else "ema_"
    text = CLIPTextModel.from_pretrained(str(out / "text_encoder"), torch_dtype=torch.float32)
    text.load_state_dict(s[key + "text"])
    text.to(torch.float16).save_pretrained(str(out / "text_encoder"), safe_serialization=True)
    unet4 = UNet2DConditionModel(**{k: v for k, v in UNet2DConditionModel.load_config(str(out / "unet")).items()
                                    if not k.startswith("_")})
    unet4.load_state_dict(s[key + "unet4"])
    unet4.to(torch.float16).save_pretrained(str(out / "unet"), safe_serialization=True)
    print("exported text_encoder and unet (trained with the inpainting UNet)")
cfg_path = out / "cxr-edit.json"
cfg = json.loads(cfg_path.read_text()) if cfg_path.exists() else {}
cfg["inpaint_unet"] = "unet-inpaint"
cfg_path.write_text(json.dumps(cfg) + "\n")
size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
print("exported", dst, "step", s["step"], "ema" if not a.raw else "raw", f"model folder {size / 1e6:.1f} MB", cfg)
