#!/usr/bin/env python3
"""Record end-to-end diffusers pipeline outputs on the tiny model folders.

Run from the repository root, after Tools/make_model_fixtures.py:

    /work/venv/bin/python Tools/make_pipeline_fixtures.py

Writes Tests/Fixtures/pipelines/:
  input.png, mask.png        64x64 8-bit grey inputs (synthetic, generated here)
  inputs.safetensors         what diffusers made of them: init_image [1,3,64,64] in [-1,1],
                             mask_condition [1,1,64,64] (binarised), masked_image [1,3,64,64]
  <case>.safetensors         one file per case (see cases.json for its parameters and keys)
  cases.json                 index of all cases

Deterministic: torch.set_num_threads(1), deterministic algorithms, fixed seeds, sorted keys.
"""

import json
import os
import shutil

import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
MODELS = os.path.join(ROOT, "Tests", "Fixtures", "models")
OUT = os.path.join(ROOT, "Tests", "Fixtures", "pipelines")
SIZE = 64
PROMPT = "Large right pleural effusion."
PROMPT2 = "Small left pneumothorax, no effusion."
NEGATIVE = "blurry, lateral view"


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=True, default=str)
        f.write("\n")


# ---------------------------------------------------------------- inputs

def chest_pattern():
    """A smooth synthetic frontal chest-X-ray-like picture: bright body, dark lungs, ribs, spine."""
    y, x = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)
    u = (x - 31.5) / 32.0
    v = (y - 31.5) / 32.0
    img = 0.25 + 0.45 * np.exp(-(u ** 2) * 1.5)                         # body
    for cx in (-0.42, 0.42):                                              # lungs
        d = ((u - cx) / 0.3) ** 2 + ((v + 0.05) / 0.62) ** 2
        img -= 0.35 / (1.0 + np.exp((d - 1.0) * 6.0))
    ribs = 0.06 * np.cos(v * 14.0 + 2.5 * np.abs(u)) * np.exp(-(u ** 2) * 0.8)
    img += ribs
    img += 0.25 * np.exp(-(u / 0.12) ** 2) * (v > -0.9)                   # spine / mediastinum
    img += 0.2 * np.exp(-(((u + 0.15) / 0.25) ** 2 + ((v - 0.35) / 0.2) ** 2))  # heart
    img = np.clip(img, 0.0, 1.0)
    return np.round(img * 255.0).astype(np.uint8)


def mask_pattern():
    """White rectangle (edit area) with a 4-pixel linear ramp so that binarisation at 0.5 matters."""
    y, x = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)
    # distance inside the rectangle x in [34, 58), y in [18, 50)
    dx = np.minimum(x - 34 + 1, 58 - x)
    dy = np.minimum(y - 18 + 1, 50 - y)
    d = np.minimum(dx, dy)
    m = np.clip(d / 4.0, 0.0, 1.0)
    return np.round(m * 255.0).astype(np.uint8)


def write_inputs():
    img = Image.fromarray(chest_pattern(), mode="L")
    mask = Image.fromarray(mask_pattern(), mode="L")
    img.save(os.path.join(OUT, "input.png"), optimize=False)
    mask.save(os.path.join(OUT, "mask.png"), optimize=False)
    # Read them back exactly as a user of the pipeline would; grey is replicated to RGB.
    image = Image.open(os.path.join(OUT, "input.png")).convert("RGB")
    mask_image = Image.open(os.path.join(OUT, "mask.png"))
    return image, mask_image


# ---------------------------------------------------------------- pipelines

def load(kind, model):
    from diffusers import (StableDiffusionImg2ImgPipeline, StableDiffusionInpaintPipeline,
                           StableDiffusionPipeline)

    cls = {"txt2img": StableDiffusionPipeline, "img2img": StableDiffusionImg2ImgPipeline,
           "inpaint": StableDiffusionInpaintPipeline}[kind]
    kw = dict(safety_checker=None, dtype=torch.float32)
    if model == "sd2-tiny":
        kw["variant"] = "fp16"
    pipe = cls.from_pretrained(os.path.join(MODELS, model), **kw)
    for comp in (pipe.unet, pipe.vae, pipe.text_encoder):
        assert comp.dtype == torch.float32
    pipe.set_progress_bar_config(disable=True)
    return pipe


def scheduler_for(pipe, name):
    import diffusers

    if name == "default":
        return pipe.scheduler
    cls, extra = {
        "PNDM": ("PNDMScheduler", {}),
        "DDIM": ("DDIMScheduler", {}),
        "Euler": ("EulerDiscreteScheduler", {}),
        "EulerAncestral": ("EulerAncestralDiscreteScheduler", {}),
        "DPM++2M": ("DPMSolverMultistepScheduler", {"algorithm_type": "dpmsolver++", "solver_order": 2}),
        "LMS": ("LMSDiscreteScheduler", {}),
    }[name]
    return getattr(diffusers, cls).from_config(pipe.scheduler.config, **extra)


def run_case(case, image, mask_image):
    pipe = load(case["pipeline"], case["model"])
    pipe.scheduler = scheduler_for(pipe, case["scheduler"])
    kwargs = dict(prompt=case["prompt"], negative_prompt=case["negative_prompt"],
                  num_inference_steps=case["steps"], guidance_scale=case["guidance"],
                  eta=case["eta"], height=SIZE, width=SIZE)
    extra_inputs = {}
    if case["pipeline"] != "txt2img":
        kwargs["image"] = image
        kwargs["strength"] = case["strength"]
    if case["pipeline"] == "inpaint":
        kwargs["mask_image"] = mask_image
    if case.get("latents_seed") is not None:
        lat = torch.randn((1, 4, SIZE // 8, SIZE // 8), generator=torch.Generator("cpu").manual_seed(case["latents_seed"]))
        kwargs["latents"] = lat
        extra_inputs["latents_in"] = lat

    def run(output_type, record):
        steps, ts, extra = [], [], {}
        names = ["latents", "prompt_embeds"] + (["mask", "masked_image_latents"] if case["pipeline"] == "inpaint" else [])

        def cb(p, i, t, kw):
            steps.append(kw["latents"].detach().clone())
            ts.append(float(t))  # Euler/LMS timesteps are fractional float32 values
            if case["pipeline"] == "inpaint" and i == 0:
                extra["mask_latent"] = kw["mask"][:1].clone()
                extra["masked_image_latents"] = kw["masked_image_latents"][:1].clone()
            if i == 0:
                extra["prompt_embeds"] = kw["prompt_embeds"].clone()
            return {}

        gen = torch.Generator("cpu").manual_seed(case["seed"])
        res = pipe(**kwargs, generator=gen, output_type=output_type,
                   callback_on_step_end=cb if record else None,
                   callback_on_step_end_tensor_inputs=names)
        return res.images, steps, ts, extra

    with torch.no_grad():
        img_np, steps, ts, extra = run("np", True)
        img_pil, _, _, _ = run("pil", False)
        lat_out, _, _, _ = run("latent", False)
    assert torch.equal(lat_out, steps[-1]), case["name"]
    out = {
        "image": torch.from_numpy(np.ascontiguousarray(img_np)).float(),
        "image_u8": torch.from_numpy(np.array(img_pil[0], dtype=np.uint8)),
        "latents_final": steps[-1],
        "latents_steps": torch.stack(steps),
        "timesteps": torch.tensor(ts, dtype=torch.float64),
    }
    out.update(extra_inputs)
    if case["pipeline"] == "inpaint":
        out["mask_latent"] = extra["mask_latent"]
        out["masked_image_latents"] = extra["masked_image_latents"]
    if case["negative_prompt"]:
        out["prompt_embeds"] = extra["prompt_embeds"]  # [negative, positive]
    out = {k: v.contiguous() for k, v in out.items()}
    path = os.path.join(OUT, case["name"] + ".safetensors")
    save_file({k: out[k] for k in sorted(out)}, path, metadata={"format": "pt"})
    # `_use_default_values` is built from a set (order varies run to run): keep only real settings.
    sched = {k: v for k, v in dict(pipe.scheduler.config).items() if not k.startswith("_")}
    sched["_class_name"] = type(pipe.scheduler).__name__
    return out, sched


def cases():
    out = []

    def add(name, model, pipeline, scheduler, steps=10, guidance=7.5, strength=None, eta=0.0,
            prompt=PROMPT, negative_prompt=None, seed=0, latents_seed=None):
        out.append(dict(name=name, model=model, pipeline=pipeline, scheduler=scheduler, steps=steps,
                        guidance=guidance, strength=strength, eta=eta, prompt=prompt,
                        negative_prompt=negative_prompt, seed=seed, latents_seed=latents_seed,
                        width=SIZE, height=SIZE))

    # txt2img, sd1-tiny, every scheduler
    add("txt2img_sd1_pndm", "sd1-tiny", "txt2img", "default", steps=10, seed=1)
    add("txt2img_sd1_ddim", "sd1-tiny", "txt2img", "DDIM", steps=10, seed=2)
    add("txt2img_sd1_ddim_eta05", "sd1-tiny", "txt2img", "DDIM", steps=10, eta=0.5, seed=3)
    add("txt2img_sd1_euler", "sd1-tiny", "txt2img", "Euler", steps=8, guidance=4.0, seed=4)
    add("txt2img_sd1_euler_a", "sd1-tiny", "txt2img", "EulerAncestral", steps=8, seed=5)
    add("txt2img_sd1_dpmpp2m", "sd1-tiny", "txt2img", "DPM++2M", steps=12, seed=6)
    add("txt2img_sd1_lms", "sd1-tiny", "txt2img", "LMS", steps=9, guidance=4.0, seed=7, prompt=PROMPT2)
    # txt2img, sd2-tiny
    add("txt2img_sd2_pndm", "sd2-tiny", "txt2img", "default", steps=10, seed=11)
    add("txt2img_sd2_ddim", "sd2-tiny", "txt2img", "DDIM", steps=11, guidance=4.0, seed=12)
    add("txt2img_sd2_pndm_negative", "sd2-tiny", "txt2img", "default", steps=8, seed=13,
        negative_prompt=NEGATIVE)
    # explicit latents (the CLI's --noise path)
    add("txt2img_sd1_pndm_latents", "sd1-tiny", "txt2img", "default", steps=8, seed=21, latents_seed=77)
    # img2img
    for sched, tag in (("default", "pndm"), ("DDIM", "ddim"), ("Euler", "euler")):
        for strength in (0.3, 0.6, 1.0):
            add(f"img2img_sd1_{tag}_s{int(strength * 10):02d}", "sd1-tiny", "img2img", sched, steps=10,
                strength=strength, seed=31)
    add("img2img_sd2_dpmpp2m_s06", "sd2-tiny", "img2img", "DPM++2M", steps=10, strength=0.6, seed=41,
        guidance=4.0)
    # inpaint: 4-channel UNet (latent blending) and 9-channel inpainting UNet
    for sched, tag in (("default", "pndm"), ("DDIM", "ddim")):
        for strength in (1.0, 0.75):
            add(f"inpaint_sd1_{tag}_s{int(strength * 100):03d}", "sd1-tiny", "inpaint", sched, steps=8,
                strength=strength, seed=51)
    add("inpaint9_sd1_ddim_s100", "sd1-inpaint-tiny", "inpaint", "default", steps=8, strength=1.0, seed=61)
    return out


def record_preprocessing(image, mask_image):
    """What the inpaint pipeline's processors make of input.png/mask.png (same for every case)."""
    pipe = load("inpaint", "sd1-tiny")
    init = pipe.image_processor.preprocess(image, height=SIZE, width=SIZE).to(torch.float32)
    mask = pipe.mask_processor.preprocess(mask_image, height=SIZE, width=SIZE)
    masked = init * (mask < 0.5)
    out = {"init_image": init.contiguous(), "mask_condition": mask.contiguous(), "masked_image": masked.contiguous()}
    save_file({k: out[k] for k in sorted(out)}, os.path.join(OUT, "inputs.safetensors"), metadata={"format": "pt"})
    return out


def main():
    import diffusers
    import transformers

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    if os.path.exists(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    image, mask_image = write_inputs()
    pre = record_preprocessing(image, mask_image)
    index = {
        "versions": {"torch": torch.__version__, "diffusers": diffusers.__version__,
                     "transformers": transformers.__version__},
        "inputs": {"image": "input.png (grey, converted to RGB before the pipeline)", "mask": "mask.png",
                   "preprocessed": "inputs.safetensors", "keys": {k: list(v.shape) for k, v in pre.items()}},
        "cases": [],
    }
    for case in cases():
        out, sched = run_case(case, image, mask_image)
        entry = dict(case)
        entry["file"] = case["name"] + ".safetensors"
        entry["scheduler_class"] = sched["_class_name"]
        entry["scheduler_config"] = sched
        entry["keys"] = {k: {"shape": list(v.shape), "dtype": str(v.dtype).replace("torch.", "")}
                         for k, v in sorted(out.items())}
        index["cases"].append(entry)
    write_json(os.path.join(OUT, "cases.json"), index)
    total = 0
    for fn in sorted(os.listdir(OUT)):
        size = os.path.getsize(os.path.join(OUT, fn))
        total += size
        print(f"{size:>10}  {os.path.relpath(os.path.join(OUT, fn), ROOT)}")
    print(f"{total:>10}  total bytes")


if __name__ == "__main__":
    main()
