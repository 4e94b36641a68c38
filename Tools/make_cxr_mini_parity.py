"""Reference images of the bundled default model (Models/cxr-mini) from diffusers, for the Swift same-seed test.

Run from the repo root:  /work/venv/bin/python Tools/make_cxr_mini_parity.py
Writes Tests/Fixtures/cxr-mini/{cases.json, txt2img.safetensors, img2img.safetensors, inpaint.safetensors,
inpaint_mask.png}; the inpaint case runs StableDiffusionInpaintPipeline with the folder's 9-channel `unet-inpaint`
(named in cxr-edit.json), the UNet cxr-edit uses for regional edits; deterministic
(CPU, 1 thread, torch.Generator().manual_seed).
"""
import json
import sys

sys.modules.setdefault("torchvision", None)  # a mismatched torchvision in the venv must not break imports

import numpy as np
import torch
from PIL import Image
from safetensors.numpy import save_file
from diffusers import (StableDiffusionInpaintPipeline, StableDiffusionPipeline, StableDiffusionImg2ImgPipeline,
                       UNet2DConditionModel)

torch.set_num_threads(1)
MODEL = "Models/cxr-mini"
OUT = "Tests/Fixtures/cxr-mini"
cases = []

pipe = StableDiffusionPipeline.from_pretrained(MODEL, safety_checker=None, requires_safety_checker=False,
                                               torch_dtype=torch.float32)
pipe.set_progress_bar_config(disable=True)
prompt = "65 year old male. PA chest radiograph. Small right pleural effusion."
image = pipe(prompt, num_inference_steps=8, guidance_scale=7.0, generator=torch.Generator().manual_seed(11),
             output_type="np").images[0]
save_file({"image_u8": np.ascontiguousarray((image * 255).round().astype(np.uint8))}, f"{OUT}/txt2img.safetensors")
cases.append({"name": "txt2img", "prompt": prompt, "seed": 11, "steps": 8, "guidance": 7.0,
              "file": "txt2img.safetensors", "width": 256, "height": 256})

img2img = StableDiffusionImg2ImgPipeline(**pipe.components)
img2img.set_progress_bar_config(disable=True)
src = Image.open("Samples/nih_00027426_000.png").convert("L").resize((256, 256), Image.LANCZOS).convert("RGB")
src.save(f"{OUT}/input.png")
prompt2 = "Cardiomegaly."
image2 = img2img(prompt2, image=src, strength=0.5, num_inference_steps=8, guidance_scale=7.0,
                 generator=torch.Generator().manual_seed(5), output_type="np").images[0]
save_file({"image_u8": np.ascontiguousarray((image2 * 255).round().astype(np.uint8))}, f"{OUT}/img2img.safetensors")
cases.append({"name": "img2img", "prompt": prompt2, "seed": 5, "steps": 8, "guidance": 7.0, "strength": 0.5,
              "file": "img2img.safetensors", "input": "input.png", "width": 256, "height": 256})

inpaint_unet = json.load(open(f"{MODEL}/cxr-edit.json"))["inpaint_unet"]
components = dict(pipe.components)
components["unet"] = UNet2DConditionModel.from_pretrained(f"{MODEL}/{inpaint_unet}", torch_dtype=torch.float32)
inpaint = StableDiffusionInpaintPipeline(**components)
inpaint.set_progress_bar_config(disable=True)
yy, xx = np.mgrid[0:256, 0:256]
mask = (((yy - 150) / 50.0) ** 2 + ((xx - 140) / 60.0) ** 2 <= 1).astype(np.uint8) * 255  # a heart-sized ellipse
Image.fromarray(mask).save(f"{OUT}/inpaint_mask.png")
prompt3 = "Frontal chest radiograph. Severe cardiomegaly."
image3 = inpaint(prompt3, image=src, mask_image=Image.fromarray(mask), strength=0.8, num_inference_steps=10,
                 guidance_scale=7.0, generator=torch.Generator().manual_seed(3), output_type="np",
                 height=256, width=256).images[0]
save_file({"image_u8": np.ascontiguousarray((image3 * 255).round().astype(np.uint8))}, f"{OUT}/inpaint.safetensors")
cases.append({"name": "inpaint", "prompt": prompt3, "seed": 3, "steps": 10, "guidance": 7.0, "strength": 0.8,
              "file": "inpaint.safetensors", "input": "input.png", "mask": "inpaint_mask.png", "unet": inpaint_unet,
              "width": 256, "height": 256})

with open(f"{OUT}/cases.json", "w") as f:
    json.dump({"model": MODEL, "cases": cases}, f, indent=1, sort_keys=True)
print("wrote", [c["file"] for c in cases])
