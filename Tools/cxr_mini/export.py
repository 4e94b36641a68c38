"""Stage 4: export cxr-mini as a diffusers StableDiffusionPipeline folder in fp16 safetensors.

Run: nice -n 10 /work/venv/bin/python Tools/cxr_mini/export.py [--raw] [--guidance G]
Reads /work/train-state/{vae.pt, unet.pt, latents.pt, tokenizer/}; writes Models/cxr-mini/ with
vae/ unet/ text_encoder/ tokenizer/ scheduler/ model_index.json (safety_checker / feature_extractor null),
weights as fp16 `diffusion_pytorch_model.safetensors` / `model.safetensors` (no variant names), and
cxr-edit.json {"steps": 50, "guidance": G}. Uses the EMA weights unless --raw.
"""
import argparse, json, shutil
import torch
import common
from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

p = argparse.ArgumentParser()
p.add_argument("--raw", action="store_true", help="export the raw (non-EMA) weights")
p.add_argument("--guidance", type=float, default=None)
p.add_argument("--out", default=str(common.MODEL_DIR))
a = p.parse_args()

out = common.MODEL_DIR.__class__(a.out)
L = torch.load(common.STATE / "latents.pt")
vae = AutoencoderKL(**(common.VAE_CONFIG | {"scaling_factor": float(L["scaling_factor"])}))
vae.load_state_dict(torch.load(common.STATE / "vae.pt")["model"])
s = torch.load(common.STATE / "unet.pt")
unet = UNet2DConditionModel(**common.UNET_CONFIG)
text = CLIPTextModel(CLIPTextConfig(**common.TEXT_CONFIG))
unet.load_state_dict(s["unet" if a.raw else "ema_unet"])
text.load_state_dict(s["text" if a.raw else "ema_text"])
tok = CLIPTokenizer.from_pretrained(str(common.STATE / "tokenizer"))
sched = DDIMScheduler(**common.SCHED_KW)
pipe = StableDiffusionPipeline(vae=vae, text_encoder=text, tokenizer=tok, unet=unet, scheduler=sched,
                               safety_checker=None, feature_extractor=None, requires_safety_checker=False)
pipe.to(torch.float16)
keep = {}
for f in ["MODEL_CARD.md", "cxr-edit.json"]:
    if (out / f).exists():
        keep[f] = (out / f).read_text()
if out.exists():
    shutil.rmtree(out)
pipe.save_pretrained(str(out), safe_serialization=True)
# transformers 5 writes only tokenizer.json; the Swift engine (and SD 1.x checkpoints) use vocab.json + merges.txt,
# from which transformers also loads, so ship those and drop tokenizer.json (3.6 MB).
for f in ["vocab.json", "merges.txt"]:
    shutil.copy(common.STATE / "tokenizer" / f, out / "tokenizer" / f)
(out / "tokenizer" / "tokenizer.json").unlink(missing_ok=True)
tc = json.loads((out / "tokenizer" / "tokenizer_config.json").read_text())
for k in ["is_local", "local_files_only", "backend"]:
    tc.pop(k, None)
(out / "tokenizer" / "tokenizer_config.json").write_text(json.dumps(tc, indent=2) + "\n")
(out / "tokenizer" / "special_tokens_map.json").write_text(json.dumps(
    {"bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>",
     "unk_token": "<|endoftext|>"}, indent=2) + "\n")
for f, t in keep.items():
    (out / f).write_text(t)
mi = json.loads((out / "model_index.json").read_text())
mi["safety_checker"] = [None, None]
mi["feature_extractor"] = [None, None]
mi.pop("image_encoder", None)
(out / "model_index.json").write_text(json.dumps(mi, indent=2) + "\n")
cfg = {"steps": 50, "guidance": a.guidance if a.guidance is not None else json.loads(keep.get("cxr-edit.json", '{"guidance": 4.0}'))["guidance"]}
(out / "cxr-edit.json").write_text(json.dumps(cfg) + "\n")
size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
print("exported", out, f"{size / 1e6:.1f} MB", "step", s["step"], "ema" if not a.raw else "raw", cfg)
