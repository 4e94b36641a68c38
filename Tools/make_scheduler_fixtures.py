#!/usr/bin/env python3
"""Generate the scheduler and random-number fixtures for Tests/CXRSchedulersTests.

Run from the repository root (needs torch, diffusers, numpy, safetensors; scipy for LMSDiscreteScheduler):

    python Tools/make_scheduler_fixtures.py

Writes Tests/Fixtures/schedulers/{manifest.json, trajectories.safetensors, randn.safetensors}. The output is
deterministic (fixed seeds, sorted JSON); rerunning rewrites identical files on the same kind of CPU.
The torch.randn values come from PyTorch's AVX2 CPU kernel (x86-64 with AVX2, no AVX-512 dispatch).

Stand-in model: instead of a UNet, every run uses the float32 function of (sample, t)

    c = 0.2 + t / 2000 ; d = 0.05 - t / 20000 ; model_output = sample * c + d

(t as float32; each operation rounds in float32), which the Swift tests recompute bit for bit.

Runs, for every (name, scheduler class, config) case below:
  - set_timesteps(N) for N in (10, 25): timesteps and init_noise_sigma (manifest.json);
  - full loop from latents = randn([1,4,8,8], seed 0) * init_noise_sigma with the stand-in model and a
    generator seeded 1234 for stochastic steps: every step's output for N = 10, first and last for N = 25;
  - img2img as StableDiffusionImg2ImgPipeline (N = 10, strength 0.3 / 0.6 / 1.0): get_timesteps, set_begin_index
    where the class has it, x0 = 0.5 * randn([1,4,8,8], seed 5), noise = randn from the seed-1234 generator,
    latents = add_noise(x0, noise, timesteps[:1]), then the loop continuing that generator; the start latents and
    the final latents are stored, and for strength 0.6 also the inpainting blend add_noise(x0, noise, t[i+1])
    after each step (which uses the scheduler's step index for the Euler-type classes).
"""
import json
import os
import sys

import numpy as np
import torch
from diffusers import (DDIMScheduler, DPMSolverMultistepScheduler, EulerAncestralDiscreteScheduler,
                       EulerDiscreteScheduler, LMSDiscreteScheduler, PNDMScheduler)
from safetensors.numpy import save_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "schedulers")

CLASSES = {
    "ddim": DDIMScheduler, "pndm": PNDMScheduler, "euler": EulerDiscreteScheduler,
    "euler-a": EulerAncestralDiscreteScheduler, "dpm++2m": DPMSolverMultistepScheduler, "lms": LMSDiscreteScheduler,
}

# Stable Diffusion 1.5's scheduler_config.json (also SD 2.1-base's apart from prediction_type being explicit).
SD15 = {"_class_name": "PNDMScheduler", "_diffusers_version": "0.6.0", "beta_end": 0.012,
        "beta_schedule": "scaled_linear", "beta_start": 0.00085, "num_train_timesteps": 1000,
        "set_alpha_to_one": False, "skip_prk_steps": True, "steps_offset": 1, "trained_betas": None,
        "clip_sample": False}
SD21BASE = dict(SD15, prediction_type="epsilon", _diffusers_version="0.10.0.dev0")
# Stable Diffusion 2.1 (768, v-prediction).
SD21V = {"_class_name": "DDIMScheduler", "_diffusers_version": "0.8.0", "beta_end": 0.012,
         "beta_schedule": "scaled_linear", "beta_start": 0.00085, "clip_sample": False,
         "num_train_timesteps": 1000, "prediction_type": "v_prediction", "set_alpha_to_one": False,
         "skip_prk_steps": True, "steps_offset": 1, "trained_betas": None}

CASES = [
    # (name, kind, config, eta)
    ("sd15-pndm", "pndm", SD15, 0.0),
    ("sd15-ddim", "ddim", SD15, 0.0),
    ("sd15-ddim-eta", "ddim", SD15, 0.5),
    ("sd15-euler", "euler", SD15, 0.0),
    ("sd15-euler-a", "euler-a", SD15, 0.0),
    ("sd15-dpm", "dpm++2m", SD15, 0.0),
    ("sd15-lms", "lms", SD15, 0.0),
    ("sd15-pndm-prk", "pndm", dict(SD15, skip_prk_steps=False), 0.0),
    ("sd21base-pndm", "pndm", SD21BASE, 0.0),
    ("sd21base-dpm", "dpm++2m", SD21BASE, 0.0),
    ("v-ddim", "ddim", SD21V, 0.0),
    ("v-pndm", "pndm", SD21V, 0.0),
    ("v-euler", "euler", SD21V, 0.0),
    ("v-euler-a", "euler-a", SD21V, 0.0),
    ("v-dpm", "dpm++2m", SD21V, 0.0),
    ("v-lms", "lms", SD21V, 0.0),
    ("trailing-ddim", "ddim", dict(SD15, timestep_spacing="trailing"), 0.0),
    ("trailing-euler", "euler", dict(SD15, timestep_spacing="trailing"), 0.0),
    ("trailing-dpm", "dpm++2m", dict(SD15, timestep_spacing="trailing"), 0.0),
    ("trailing-pndm", "pndm", dict(SD15, timestep_spacing="trailing"), 0.0),
    ("linspace-ddim", "ddim", dict(SD15, timestep_spacing="linspace"), 0.0),
    ("linspace-pndm", "pndm", dict(SD15, timestep_spacing="linspace"), 0.0),
    ("leading-euler-a", "euler-a", dict(SD15, timestep_spacing="leading"), 0.0),
    ("leading-dpm", "dpm++2m", dict(SD15, timestep_spacing="leading"), 0.0),
    ("ddim-defaults-clip-eta", "ddim", {"_class_name": "DDIMScheduler"}, 0.5),
    ("cos-ddim", "ddim", {"beta_schedule": "squaredcos_cap_v2", "clip_sample": False}, 0.0),
    ("sample-ddim", "ddim", dict(SD15, prediction_type="sample"), 0.0),
    ("sample-dpm", "dpm++2m", dict(SD15, prediction_type="sample"), 0.0),
    ("karras-dpm", "dpm++2m", dict(SD15, use_karras_sigmas=True), 0.0),
    ("karras-euler", "euler", dict(SD15, use_karras_sigmas=True), 0.0),
    ("karras-lms", "lms", dict(SD15, use_karras_sigmas=True), 0.0),
    ("dpm-order3", "dpm++2m", dict(SD15, solver_order=3), 0.0),
    ("dpm-heun", "dpm++2m", dict(SD15, solver_type="heun"), 0.0),
    ("dpm-sigma-min", "dpm++2m", dict(SD15, final_sigmas_type="sigma_min", lower_order_final=False), 0.0),
    ("euler-sigma-min", "euler", dict(SD15, final_sigmas_type="sigma_min"), 0.0),
]


def model(sample, t):
    tt = torch.tensor(float(t), dtype=torch.float32)
    c = 0.2 + tt / 2000
    d = 0.05 - tt / 20000
    return sample * c + d


def make(kind, config):
    return CLASSES[kind].from_config(config)


def step(s, mo, t, x, eta, g):
    if isinstance(s, DDIMScheduler):
        return s.step(mo, t, x, eta=eta, generator=g).prev_sample
    if isinstance(s, (EulerDiscreteScheduler, EulerAncestralDiscreteScheduler)):
        return s.step(mo, t, x, generator=g).prev_sample
    return s.step(mo, t, x).prev_sample


def loop(s, latents, timesteps, eta, g, after_step=None):
    outs = []
    for i, t in enumerate(timesteps):
        inp = s.scale_model_input(latents, t)
        latents = step(s, model(inp, t), t, latents, eta, g)
        outs.append(latents)
        if after_step is not None:
            after_step(i)
    return outs


def main():
    tensors = {}
    manifest = {"model": "model_output = sample * (0.2 + t/2000) + (0.05 - t/20000), float32", "cases": []}
    for name, kind, config, eta in CASES:
        entry = {"name": name, "kind": kind, "config": config, "eta": eta, "runs": []}
        for n in (10, 25):
            s = make(kind, config)
            s.set_timesteps(n)
            ts = [float(t) for t in s.timesteps]
            sigma = float(s.init_noise_sigma)
            latents = torch.randn([1, 4, 8, 8], generator=torch.Generator("cpu").manual_seed(0)) * s.init_noise_sigma
            g = torch.Generator("cpu").manual_seed(1234)
            outs = loop(s, latents, s.timesteps, eta, g)
            key = f"{name}/full{n}"
            if n == 10:
                tensors[key] = torch.stack(outs).numpy()
            else:
                tensors[key] = torch.stack([outs[0], outs[-1]]).numpy()
            entry["runs"].append({"steps": n, "timesteps": ts, "init_noise_sigma": sigma, "key": key})
        for strength in (0.3, 0.6, 1.0):
            n = 10
            s = make(kind, config)
            s.set_timesteps(n)
            init_timestep = min(int(n * strength), n)
            t_start = max(n - init_timestep, 0)
            timesteps = s.timesteps[t_start * s.order:]
            if hasattr(s, "set_begin_index"):
                s.set_begin_index(t_start * s.order)
            x0 = 0.5 * torch.randn([1, 4, 8, 8], generator=torch.Generator("cpu").manual_seed(5))
            g = torch.Generator("cpu").manual_seed(1234)
            noise = torch.randn([1, 4, 8, 8], generator=g)
            latents = s.add_noise(x0, noise, timesteps[:1])
            blends = []

            def blend(i):
                if strength == 0.6 and i + 1 < len(timesteps):
                    blends.append(s.add_noise(x0, noise, torch.tensor([timesteps[i + 1]])))

            outs = loop(s, latents, timesteps, eta, g, blend)
            key = f"{name}/img2img{strength}"
            stored = [latents] + ([outs[-1]] if outs else [])
            tensors[key] = torch.stack(stored).numpy()
            run = {"strength": strength, "steps": n, "timesteps": [float(t) for t in timesteps],
                   "start_index": t_start * s.order, "key": key}
            if blends:
                tensors[key + "/blend"] = torch.stack(blends).numpy()
                run["blend_key"] = key + "/blend"
            entry["runs"].append(run)
        manifest["cases"].append(entry)
    save_file({k: np.ascontiguousarray(v, dtype=np.float32) for k, v in sorted(tensors.items())},
              os.path.join(OUT, "trajectories.safetensors"))

    # Random numbers.
    rnd = {}
    rmeta = {"single": [], "sequence": {}}
    sizes = [[1], [2], [15], [16], [17], [31], [100], [4, 64, 64]]
    for seed in (0, 42, 2**32 + 5, 1234567890123):
        for shape in sizes:
            g = torch.Generator("cpu").manual_seed(seed)
            v = torch.randn(shape, generator=g).numpy().ravel()
            item = {"seed": seed, "shape": shape}
            if v.size > 1000:
                item["fnv1a64"] = fnv1a64(v.tobytes())
                item["first"] = [float(x) for x in v[:8]]
            else:
                key = f"randn/{seed}/{'x'.join(map(str, shape))}"
                rnd[key] = v
                item["key"] = key
            rmeta["single"].append(item)
    seq_shapes = [[8], [4, 8, 8], [17], [1], [3], [16], [2], [1], [5]]
    g = torch.Generator("cpu").manual_seed(99)
    vals = [torch.randn(sh, generator=g).numpy().ravel() for sh in seq_shapes]
    rnd["randn/sequence99"] = np.concatenate(vals)
    rmeta["sequence"] = {"seed": 99, "shapes": seq_shapes, "key": "randn/sequence99"}
    save_file({k: np.ascontiguousarray(v, dtype=np.float32) for k, v in sorted(rnd.items())},
              os.path.join(OUT, "randn.safetensors"))
    manifest["randn"] = rmeta
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


if __name__ == "__main__":
    sys.exit(main())
