#!/usr/bin/env python3
"""Build tiny random-weight diffusers model folders and their reference outputs.

Run from the repository root (needs ../shared/data/clip/bpe_simple_vocab_16e6.txt.gz):

    /work/venv/bin/python Tools/make_model_fixtures.py

Writes
  Tests/Fixtures/models/<name>/     real diffusers folders (sd1-tiny, sd2-tiny, sd1-inpaint-tiny)
  Tests/Fixtures/parity/<name>.safetensors + <name>.json   reference outputs the Swift models must reproduce

The output is deterministic: running the script twice yields identical bytes. Every parameter is
re-initialised with seeded random values (diffusers zero-initialises some output layers, which would make
parity tests meaningless), and the reference outputs are computed from the weights as stored on disk
(fp16/bf16 values widened to fp32, fp32 compute).
"""

import gzip
import json
import os
import shutil
import sys

import numpy as np
import torch
from safetensors.torch import load_file, save_file

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
MODELS = os.path.join(ROOT, "Tests", "Fixtures", "models")
PARITY = os.path.join(ROOT, "Tests", "Fixtures", "parity")
BPE_GZ = os.path.abspath(os.path.join(ROOT, "..", "shared", "data", "clip", "bpe_simple_vocab_16e6.txt.gz"))
NUM_MERGES = 1000
PROMPTS = ["Large right pleural effusion.", ""]

# stable-diffusion-v1-5/stable-diffusion-v1-5 scheduler/scheduler_config.json, verbatim.
SD15_SCHEDULER = {
    "_class_name": "PNDMScheduler",
    "_diffusers_version": "0.6.0",
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "beta_start": 0.00085,
    "num_train_timesteps": 1000,
    "set_alpha_to_one": False,
    "skip_prk_steps": True,
    "steps_offset": 1,
    "trained_betas": None,
    "clip_sample": False,
}
# stabilityai/stable-diffusion-2-1-base scheduler/scheduler_config.json (PNDM, epsilon prediction).
SD21_BASE_SCHEDULER = {
    "_class_name": "PNDMScheduler",
    "_diffusers_version": "0.10.0.dev0",
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "beta_start": 0.00085,
    "clip_sample": False,
    "num_train_timesteps": 1000,
    "prediction_type": "epsilon",
    "set_alpha_to_one": False,
    "skip_prk_steps": True,
    "steps_offset": 1,
    "trained_betas": None,
}
# runwayml/stable-diffusion-inpainting scheduler/scheduler_config.json (DDIM).
SD_INPAINT_SCHEDULER = {
    "_class_name": "DDIMScheduler",
    "_diffusers_version": "0.6.0.dev0",
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "beta_start": 0.00085,
    "clip_sample": False,
    "num_train_timesteps": 1000,
    "set_alpha_to_one": False,
    "skip_prk_steps": True,
    "steps_offset": 1,
    "trained_betas": None,
}


def setup_determinism():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=True)
        f.write("\n")


# ---------------------------------------------------------------- tokenizer

def bytes_to_unicode():
    """CLIP/GPT-2 byte -> printable unicode character table, in CLIP's vocabulary order."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for c in cs]


def reduced_vocab():
    """256 byte chars + 256 with </w> + the first NUM_MERGES merges joined + the two specials."""
    with gzip.open(BPE_GZ, "rt", encoding="utf-8") as f:
        lines = f.read().split("\n")
    merges = [tuple(line.split()) for line in lines[1:1 + NUM_MERGES]]
    assert all(len(m) == 2 for m in merges)
    chars = bytes_to_unicode()
    tokens = chars + [c + "</w>" for c in chars] + ["".join(m) for m in merges]
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    vocab = {t: i for i, t in enumerate(tokens)}
    assert len(vocab) == len(tokens) == 512 + NUM_MERGES + 2
    return vocab, merges


def save_tokenizer(folder, pad_token):
    """Write vocab.json/merges.txt like a real SD checkpoint, then let transformers add its own files."""
    from transformers import CLIPTokenizer

    vocab, merges = reduced_vocab()
    os.makedirs(folder, exist_ok=True)
    vocab_path = os.path.join(folder, "vocab.json")
    merges_path = os.path.join(folder, "merges.txt")
    with open(vocab_path, "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(merges_path, "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        for a, b in merges:
            f.write(f"{a} {b}\n")
    tok = CLIPTokenizer(vocab=vocab, merges=merges, pad_token=pad_token, model_max_length=77)
    tok.save_pretrained(folder)
    # save_pretrained may rewrite vocab.json/merges.txt; restore the canonical forms.
    with open(vocab_path, "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(merges_path, "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        for a, b in merges:
            f.write(f"{a} {b}\n")
    return vocab


# ---------------------------------------------------------------- weights

def reinit_(model, seed):
    """Give every parameter a seeded random value of sensible scale (no zero-initialised paths)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            if p.ndim >= 2:
                fan_in = int(np.prod(p.shape[1:]))
                p.copy_(torch.randn(p.shape, generator=g) / np.sqrt(fan_in))
            elif name.endswith("bias"):
                p.copy_(0.05 * torch.randn(p.shape, generator=g))
            else:  # norm scales
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))


def text_encoder(layers, act, vocab, seed):
    from transformers import CLIPTextConfig, CLIPTextModel

    cfg = CLIPTextConfig(
        vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=layers,
        num_attention_heads=4, max_position_embeddings=77, hidden_act=act, projection_dim=32,
        bos_token_id=vocab["<|startoftext|>"], eos_token_id=vocab["<|endoftext|>"],
        pad_token_id=vocab["<|endoftext|>"],
    )
    m = CLIPTextModel(cfg).eval()
    reinit_(m, seed)
    return m


def unet(in_channels, seed, sd2):
    from diffusers import UNet2DConditionModel

    if sd2:
        kw = dict(
            block_out_channels=(16, 32, 32),
            down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
            up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
            attention_head_dim=[2, 4, 4], use_linear_projection=True, upcast_attention=True,
        )
    else:
        kw = dict(
            block_out_channels=(16, 32),
            down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
            up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
            attention_head_dim=2, use_linear_projection=False,
        )
    m = UNet2DConditionModel(
        sample_size=8, in_channels=in_channels, out_channels=4, layers_per_block=2,
        cross_attention_dim=32, norm_num_groups=8, **kw,
    ).eval()
    reinit_(m, seed)
    return m


def vae(seed):
    from diffusers import AutoencoderKL

    m = AutoencoderKL(
        in_channels=3, out_channels=3, block_out_channels=(16, 16, 32, 32),
        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
        layers_per_block=1, latent_channels=4, norm_num_groups=8, sample_size=64, scaling_factor=0.18215,
    ).eval()
    reinit_(m, seed)
    return m


# ---------------------------------------------------------------- folders

def add_text_model_prefix(folder):
    """Rewrite the text encoder weights with transformers 4.x key names (`text_model.` prefix)."""
    path = os.path.join(folder, "model.safetensors")
    sd = load_file(path)
    if not all(k.startswith("text_model.") for k in sd):
        sd = {("text_model." + k if not k.startswith("text_model.") else k): v for k, v in sd.items()}
    save_file({k: sd[k].contiguous() for k in sorted(sd)}, path, metadata={"format": "pt"})


def save_folder(name, spec):
    from diffusers import StableDiffusionPipeline

    folder = os.path.join(MODELS, name)
    if os.path.exists(folder):
        shutil.rmtree(folder)
    os.makedirs(folder)
    vocab = save_tokenizer(os.path.join(folder, "tokenizer"), spec["pad"])
    from transformers import CLIPTokenizer

    tok = CLIPTokenizer.from_pretrained(os.path.join(folder, "tokenizer"))
    te = text_encoder(spec["layers"], spec["act"], vocab, spec["seed"] + 1)
    un = unet(spec["in_channels"], spec["seed"] + 2, spec["sd2"])
    va = vae(spec["seed"] + 3)
    sched_cls = __import__("diffusers", fromlist=[spec["scheduler"]["_class_name"]])
    scheduler = getattr(sched_cls, spec["scheduler"]["_class_name"]).from_config(spec["scheduler"])
    pipe = StableDiffusionPipeline(
        vae=va, text_encoder=te, tokenizer=tok, unet=un, scheduler=scheduler,
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )
    # Pipeline-level save writes model_index.json; components are then re-saved in their final form.
    pipe.save_pretrained(folder, safe_serialization=True)
    for sub in ("text_encoder", "unet", "vae"):
        shutil.rmtree(os.path.join(folder, sub))
    mode = spec["storage"]
    if mode == "fp32":
        te.save_pretrained(os.path.join(folder, "text_encoder"))
        add_text_model_prefix(os.path.join(folder, "text_encoder"))
        un.save_pretrained(os.path.join(folder, "unet"), safe_serialization=not spec.get("unet_bin", False))
        va.save_pretrained(os.path.join(folder, "vae"))
    else:  # sd2: fp16 variant files, bf16 VAE under the plain name
        te.half().save_pretrained(os.path.join(folder, "text_encoder"), variant="fp16")
        un.half().save_pretrained(os.path.join(folder, "unet"), variant="fp16")
        va.to(torch.bfloat16).save_pretrained(os.path.join(folder, "vae"))
    # Scheduler config verbatim as the real checkpoint ships it.
    write_json(os.path.join(folder, "scheduler", "scheduler_config.json"), spec["scheduler"])
    tidy_model_index(folder)
    return folder


def tidy_model_index(folder):
    path = os.path.join(folder, "model_index.json")
    with open(path) as f:
        idx = json.load(f)
    write_json(path, idx)


def load_folder(folder, sd2):
    """Load the components back as fp32 from what is stored (fp16/bf16 values widened)."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTokenizer

    variant = "fp16" if sd2 else None
    tok = CLIPTokenizer.from_pretrained(os.path.join(folder, "tokenizer"))
    te = CLIPTextModel.from_pretrained(os.path.join(folder, "text_encoder"), variant=variant,
                                       dtype=torch.float32).eval()
    un = UNet2DConditionModel.from_pretrained(os.path.join(folder, "unet"), variant=variant,
                                              dtype=torch.float32).eval()
    va = AutoencoderKL.from_pretrained(os.path.join(folder, "vae"), dtype=torch.float32).eval()
    return tok, te, un, va


def check_against_memory(folder, name, sd2):
    """The reloaded weights must equal the stored tensors exactly (catches silent key mismatches)."""
    tok, te, un, va = load_folder(folder, sd2)
    suffix = ".fp16.safetensors" if sd2 else ".safetensors"
    te_file = load_file(os.path.join(folder, "text_encoder", "model" + suffix))
    te_sd = te.state_dict()
    for k, v in te_file.items():
        k2 = k[len("text_model."):] if k.startswith("text_model.") else k
        assert torch.equal(te_sd[k2], v.float()), (name, k)
    assert len([k for k in te_sd if k != "embeddings.position_ids"]) <= len(te_file), name
    return tok, te, un, va


# ---------------------------------------------------------------- reference outputs

def vae_test_image():
    g = torch.Generator().manual_seed(1234)
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, 64), torch.linspace(-1, 1, 64), indexing="ij")
    r = torch.sin(3.0 * xs) * torch.cos(2.0 * ys)
    gr = 0.8 * torch.exp(-((xs - 0.3) ** 2 + (ys + 0.2) ** 2) * 3.0) - 0.4
    b = 0.6 * xs * ys
    img = torch.stack([r, gr, b])[None] + 0.05 * torch.randn((1, 3, 64, 64), generator=g)
    return img.clamp(-1, 1)


def reference_outputs(name, tok, te, un, va):
    g = torch.Generator().manual_seed(42)
    out = {}
    with torch.no_grad():
        ids = tok(PROMPTS, padding="max_length", max_length=77, truncation=True, return_tensors="pt").input_ids
        out["prompt_ids"] = ids.to(torch.int64)
        out["text_hidden"] = te(ids).last_hidden_state
        cin = un.config.in_channels
        sample = torch.randn((2, cin, 8, 8), generator=g)
        context = torch.randn((2, 77, 32), generator=g)
        out["unet_sample"] = sample
        out["unet_context"] = context
        out["unet_out_t999"] = un(sample, 999, encoder_hidden_states=context).sample
        out["unet_out_t10"] = un(sample, 10, encoder_hidden_states=context).sample
        out["unet_out_mixed"] = un(sample, torch.tensor([999, 10]), encoder_hidden_states=context).sample
        img = vae_test_image()
        dist = va.encode(img).latent_dist
        out["vae_image"] = img
        out["vae_mean"] = dist.mean
        out["vae_logvar"] = dist.logvar
        z = torch.randn((1, 4, 8, 8), generator=g)
        out["vae_latent_in"] = z
        out["vae_decoded"] = va.decode(z).sample
    out = {k: (v.contiguous() if v.dtype == torch.int64 else v.float().contiguous()) for k, v in out.items()}
    path = os.path.join(PARITY, name + ".safetensors")
    save_file({k: out[k] for k in sorted(out)}, path, metadata={"format": "pt"})
    meta = {
        "model": name,
        "prompts": PROMPTS,
        "timesteps": {"unet_out_t999": 999, "unet_out_t10": 10, "unet_out_mixed": [999, 10]},
        "shapes": {k: list(v.shape) for k, v in out.items()},
        "dtypes": {k: str(v.dtype).replace("torch.", "") for k, v in out.items()},
        "tokens": [tok.convert_ids_to_tokens(row[: row.tolist().index(tok.eos_token_id) + 1].tolist())
                   for row in ids],
        "note": "inputs drawn from torch.Generator().manual_seed(42) in order: unet_sample, unet_context, "
                "vae_latent_in; vae_image from seed 1234. Weights as stored, fp32 compute.",
    }
    write_json(os.path.join(PARITY, name + ".json"), meta)
    return out


def check_pipeline_loads(folder, sd2):
    from diffusers import StableDiffusionPipeline

    kw = dict(safety_checker=None)
    if sd2:
        kw["variant"] = "fp16"
    pipe = StableDiffusionPipeline.from_pretrained(folder, dtype=torch.float32, **kw)
    assert pipe.unet.dtype == torch.float32


SPECS = {
    "sd1-tiny": dict(pad="<|endoftext|>", layers=2, act="quick_gelu", in_channels=4, sd2=False,
                     scheduler=SD15_SCHEDULER, storage="fp32", seed=100),
    "sd2-tiny": dict(pad="!", layers=3, act="gelu", in_channels=4, sd2=True,
                     scheduler=SD21_BASE_SCHEDULER, storage="half", seed=200),
    "sd1-inpaint-tiny": dict(pad="<|endoftext|>", layers=2, act="quick_gelu", in_channels=9, sd2=False,
                             scheduler=SD_INPAINT_SCHEDULER, storage="fp32", seed=300, unet_bin=True),
}


def main():
    setup_determinism()
    if not os.path.exists(BPE_GZ):
        sys.exit(f"missing {BPE_GZ}")
    os.makedirs(MODELS, exist_ok=True)
    os.makedirs(PARITY, exist_ok=True)
    written = []
    for name, spec in SPECS.items():
        folder = save_folder(name, spec)
        tok, te, un, va = check_against_memory(folder, name, spec["sd2"])
        check_pipeline_loads(folder, spec["sd2"])
        reference_outputs(name, tok, te, un, va)
        for base, _, files in sorted(os.walk(folder)):
            for fn in sorted(files):
                written.append(os.path.join(base, fn))
        written += [os.path.join(PARITY, name + ext) for ext in (".safetensors", ".json")]
    total = 0
    for p in written:
        size = os.path.getsize(p)
        total += size
        print(f"{size:>10}  {os.path.relpath(p, ROOT)}")
    print(f"{total:>10}  total bytes")


if __name__ == "__main__":
    main()
