"""Times diffusers (PyTorch CPU, fp32, inference_mode) and cxr-edit on the same model folder in one run and
prints per-component times and ratios (cxr-edit / PyTorch; below 1 means cxr-edit is faster).

Run (after `swift build -c release` and `cxr-edit init-model --arch sd15 /work/bench-models/sd15`):
    /work/venv/bin/python Tools/bench/side_by_side.py --model /work/bench-models/sd15 --threads 2 --steps 3 \
        --cxr-edit .build/release/cxr-edit [--json-out results.json]

Components (each the median of --steps runs after one warm-up, same definitions as `cxr-edit bench`):
  text_encode_s  CLIP text encoder on a 77-token prompt pair (negative, prompt)
  unet_step_s    one UNet evaluation with classifier-free guidance (batch 2, size/8 latents, 77-token context)
  vae_encode_s   VAE encoder on one size x size image;   vae_decode_s  VAE decoder back to size x size
Each side runs in its own process (peak RSS per process). The load average is recorded before and after,
since other work on the machine slows both sides alike but makes absolute times meaningless.

--precisions fp32,bf16 times each engine in both: PyTorch under torch.autocast("cpu", bfloat16), cxr-edit with
`bench --precision bf16` (bf16 GEMM operands, fp32 sums). bf16 is skipped where the CPU has neither AVX512-BF16
nor AMX.

--edit-image IMG times the job users run most: one edit of a 256x256 radiograph with the bundled model (global
SDEdit, 50 steps, strength 0.5, guidance 7). diffusers' StableDiffusionImg2ImgPipeline, loaded once and warm in one
Python process (median of --edit-runs after a warm-up), against `cxr-edit edit` as a whole process (start, load,
decode, edit, write; median of --edit-runs).

--markdown-out FILE writes the tables (machine, kernels, ratios) for docs/performance.md.
"""
import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
KEYS = ["unet_step_s", "vae_encode_s", "vae_decode_s", "text_encode_s"]  # the order of the tables
EDIT_PROMPT = "Frontal chest radiograph. Pleural effusion."


def torch_worker(args):
    sys.path.insert(0, HERE)
    import hide_torchvision  # noqa: F401  (must precede transformers/diffusers)
    import torch
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTokenizer

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if args.edit_image:
        return torch_edit_worker(args, torch)
    t0 = time.time()
    tok = CLIPTokenizer.from_pretrained(args.model, subfolder="tokenizer")
    te = CLIPTextModel.from_pretrained(args.model, subfolder="text_encoder", torch_dtype=torch.float32).eval()
    unet = UNet2DConditionModel.from_pretrained(args.model, subfolder="unet", torch_dtype=torch.float32).eval()
    vae = AutoencoderKL.from_pretrained(args.model, subfolder="vae", torch_dtype=torch.float32).eval()
    out = {"load_s": time.time() - t0, "threads": torch.get_num_threads(), "torch": torch.__version__,
           "cpu_capability": torch.backends.cpu.get_cpu_capability(), "precision": args.precision}
    parts = set(args.only.split(","))
    # bf16: autocast runs matmuls and convolutions in bfloat16 (oneDNN) with fp32 weights kept, as the
    # mixed-precision inference PyTorch users would choose on such a CPU.
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.precision == "bf16")

    def timed(fn, key):
        fn()
        ts, cs = [], []
        for _ in range(args.steps):
            s, c = time.perf_counter(), time.process_time()
            fn()
            ts.append(time.perf_counter() - s)
            cs.append(time.process_time() - c)
        out[key + "_cpu"] = statistics.median(cs)
        return statistics.median(ts)

    with torch.inference_mode(), autocast:
        ids = tok(["", "Large right pleural effusion. Heart size is normal."], padding="max_length",
                  max_length=tok.model_max_length, truncation=True, return_tensors="pt").input_ids
        ctx = te(ids)[0]
        if "text" in parts:
            out["text_encode_s"] = timed(lambda: te(ids)[0], "text_encode_s")
        lh = args.size // 8
        if "unet" in parts:
            x = torch.randn(2, unet.config.in_channels, lh, lh)
            t = torch.tensor(500)
            out["unet_step_s"] = timed(lambda: unet(x, t, encoder_hidden_states=ctx).sample, "unet_step_s")
        if "vae-encode" in parts:
            img = torch.rand(1, 3, args.size, args.size) - 0.5
            out["vae_encode_s"] = timed(lambda: vae.encode(img).latent_dist.mean, "vae_encode_s")
        if "vae-decode" in parts:
            z = torch.randn(1, vae.config.latent_channels, lh, lh)
            out["vae_decode_s"] = timed(lambda: vae.decode(z).sample, "vae_decode_s")
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def torch_edit_worker(args, torch):
    """diffusers' img2img pipeline warm in this process: the edit of the bundled model, timed after a warm-up."""
    import numpy as np
    from diffusers import DDIMScheduler, StableDiffusionImg2ImgPipeline
    from PIL import Image

    pipe = StableDiffusionImg2ImgPipeline.from_pretrained(args.edit_model, torch_dtype=torch.float32,
                                                          safety_checker=None, requires_safety_checker=False)
    pipe.scheduler = DDIMScheduler.from_config(pipe.scheduler.config)
    pipe.set_progress_bar_config(disable=True)
    img = Image.open(args.edit_image).convert("RGB").resize((256, 256), Image.BICUBIC)

    def edit():
        g = torch.Generator().manual_seed(0)
        out = pipe(prompt=EDIT_PROMPT, image=img, strength=0.5, guidance_scale=7.0, num_inference_steps=50,
                   generator=g, output_type="np").images[0]
        return np.asarray(out)

    with torch.inference_mode():
        edit()
        ts = []
        for _ in range(args.edit_runs):
            s = time.perf_counter()
            edit()
            ts.append(time.perf_counter() - s)
    print(json.dumps({"edit_s": statistics.median(ts), "edit_runs_s": ts, "torch": torch.__version__,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))



def run_cxr_edit_process(args, out_dir):
    """`cxr-edit edit` as a whole process, as a user runs it: median wall time of --edit-runs."""
    cmd = [args.cxr_edit, "edit", args.edit_image, "--model", args.edit_model, "--prompt", EDIT_PROMPT, "--global",
           "--strength", "0.5", "--guidance", "7", "--steps", "50", "--seed", "0", "--threads", str(args.threads),
           "--detail", "off", "--overwrite"]
    ts = []
    for k in range(args.edit_runs + 1):  # the first run warms the page cache, as diffusers' warm-up does
        s = time.perf_counter()
        r = subprocess.run(cmd + ["-o", os.path.join(out_dir, f"edit{k}.png")], capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit("cxr-edit edit failed:\n" + r.stderr[-3000:])
        if k:
            ts.append(time.perf_counter() - s)
    return {"edit_s": statistics.median(ts), "edit_runs_s": ts}


def run_torch(args, precision="fp32", edit=False):
    cmd = [sys.executable, os.path.abspath(__file__), "--torch-worker", "--model", args.model, "--size", str(args.size),
           "--steps", str(args.steps), "--threads", str(args.threads), "--only", args.only, "--precision", precision]
    if edit:
        cmd += ["--edit-image", args.edit_image, "--edit-model", args.edit_model, "--edit-runs", str(args.edit_runs)]
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        sys.exit("PyTorch side failed:\n" + r.stderr[-3000:])
    return json.loads(r.stdout.strip().splitlines()[-1])


def run_cxr(args, precision="fp32"):
    cmd = [args.cxr_edit, "bench", "--model", args.model, "--size", str(args.size), "--steps", str(args.steps),
           "--threads", str(args.threads), "--only", args.only + ",sgemm", "--json", "--precision", precision]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("cxr-edit side failed:\n" + r.stderr[-3000:])
    return json.loads(r.stdout.strip().splitlines()[-1])


def machine():
    cpu, flags = "?", set()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name") and cpu == "?":
                cpu = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    wanted = ["avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_bf16", "amx_bf16", "amx_tile"]
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "kernel": platform.release(),
            "features": [f for f in wanted if f in flags], "bf16": "avx512_bf16" in flags or "amx_bf16" in flags,
            # The limit both engines' oneDNN honours (cxr-edit's sgemm, PyTorch's convolutions and matmuls).
            "onednn_max_cpu_isa": os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA")}


def table(rows, head):
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", default="text,unet,vae-encode,vae-decode")
    ap.add_argument("--precisions", default="fp32,bf16", help="fp32, bf16 or both (bf16 only where the CPU has it)")
    ap.add_argument("--precision", default="fp32", help=argparse.SUPPRESS)
    ap.add_argument("--cxr-edit", default=os.path.join(os.getcwd(), ".build/release/cxr-edit"))
    ap.add_argument("--order", choices=["torch-first", "cxr-first"], default="cxr-first")
    ap.add_argument("--edit-image", help="also time the bundled model's 256 px edit (diffusers warm vs cxr-edit process)")
    ap.add_argument("--edit-model", default=os.path.join(os.getcwd(), "Models/cxr-mini"))
    ap.add_argument("--edit-runs", type=int, default=3)
    ap.add_argument("--json-out")
    ap.add_argument("--markdown-out")
    ap.add_argument("--torch-worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.torch_worker:
        return torch_worker(args)

    info = {"machine": machine(), "load_before": os.getloadavg(), "args": vars(args), "runs": {}}
    precisions = [p for p in args.precisions.split(",") if p == "fp32" or info["machine"]["bf16"]]
    for precision in precisions:
        sides = {}
        order = ["cxr", "torch"] if args.order == "cxr-first" else ["torch", "cxr"]
        for side in order:
            t = time.time()
            sides[side] = run_cxr(args, precision) if side == "cxr" else run_torch(args, precision)
            sides[side]["wall_s"] = time.time() - t
            sides[side]["load_after"] = os.getloadavg()
        info["runs"][precision] = sides
    if args.edit_image:
        with tempfile.TemporaryDirectory() as out_dir:
            edit = {}
            for side in (["cxr", "torch"] if args.order == "cxr-first" else ["torch", "cxr"]):
                edit[side] = run_cxr_edit_process(args, out_dir) if side == "cxr" else run_torch(args, edit=True)
        info["edit"] = edit
    info["load_after"] = os.getloadavg()
    report = render(info, args)
    print(report)
    if args.markdown_out:
        with open(args.markdown_out, "w") as f:
            f.write(report + "\n")
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(info, f, indent=1, sort_keys=True)


def render(info, args):
    m = info["machine"]
    out = [f"Machine: {m['cpu']}, {m['cores']} cores, features {' '.join(m['features']) or '-'}; "
           f"threads {args.threads}; size {args.size}; median of {args.steps} runs after one warm-up.",
           f"Load average (1/5/15 min) before {tuple(round(x, 2) for x in info['load_before'])}, "
           f"after {tuple(round(x, 2) for x in info['load_after'])}."]
    for precision, sides in info["runs"].items():
        t, c = sides["torch"], sides["cxr"]
        gemm = c.get("machine", {}).get("gemm")
        # Results taken before oneDNN's sgemm was adopted name the OpenBLAS core instead.
        blas = c.get("machine", {}).get("blas", {})
        kernel = (f"{gemm.get('library', '?')} sgemm isa {gemm.get('isa', '?')} from {gemm.get('source', '?')}"
                  if gemm else f"OpenBLAS core {blas.get('core', '?')} from {blas.get('source', '?')}")
        out.append("")
        out.append(f"**{precision}** (PyTorch {t.get('torch')}, CPU capability {t.get('cpu_capability')}"
                   f"{', bf16 autocast' if precision == 'bf16' else ''}; cxr-edit `--precision {precision}`, "
                   f"{kernel}"
                   f"{', own AVX512-BF16 GEMM' if precision == 'bf16' else ''})")
        out.append("")
        rows = []
        names = {"unet_step_s": "UNet step (guided, batch 2)", "vae_encode_s": f"VAE encode {args.size}",
                 "vae_decode_s": f"VAE decode {args.size}", "text_encode_s": "text encode 2x77"}
        for k in KEYS:
            if k in t and k in c:
                rows.append([names[k], f"{t[k]:.3f}", f"{c[k]:.3f}", f"{c[k] / t[k]:.2f}"])
        rows.append(["peak RSS MB (bench process)", f"{t['peak_rss_mb']:,.0f}", f"{c['peak_rss_mb']:,.0f}",
                     f"{c['peak_rss_mb'] / t['peak_rss_mb']:.2f}"])
        out.append(table(rows, ["component", "PyTorch s", "cxr-edit s", "cxr-edit / PyTorch"]))
        if "unet_gflops" in c and "unet_step_s" in t:
            tg = c["unet_gflop"] / t["unet_step_s"]
            out.append("")
            out.append(f"UNet {c['unet_gflop']:.0f} GFLOP per guided step: PyTorch {tg:.1f} GFLOP/s, cxr-edit "
                       f"{c['unet_gflops']:.1f} GFLOP/s; sgemm 4096^3 {c.get('sgemm_gflops', float('nan')):.1f} "
                       f"GFLOP/s in the same binary (UNet at {100 * c.get('unet_peak_fraction', float('nan')):.0f}% "
                       f"of it).")
    if "edit" in info:
        e = info["edit"]
        out.append("")
        out.append("**The bundled model's edit** (256x256, global SDEdit, 50 steps, strength 0.5, guidance 7, "
                   f"median of {args.edit_runs}):")
        out.append("")
        out.append(table([["diffusers img2img, warm in one process", f"{e['torch']['edit_s']:.2f}", "1.00"],
                          ["`cxr-edit edit`, whole process", f"{e['cxr']['edit_s']:.2f}",
                           f"{e['cxr']['edit_s'] / e['torch']['edit_s']:.2f}"]],
                         ["engine", "s", "ratio to diffusers"]))
    return "\n".join(out)


if __name__ == "__main__":
    main()
