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
"""
import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
KEYS = ["text_encode_s", "unet_step_s", "vae_encode_s", "vae_decode_s"]


def torch_worker(args):
    sys.path.insert(0, HERE)
    import hide_torchvision  # noqa: F401  (must precede transformers/diffusers)
    import torch
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTokenizer

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    t0 = time.time()
    tok = CLIPTokenizer.from_pretrained(args.model, subfolder="tokenizer")
    te = CLIPTextModel.from_pretrained(args.model, subfolder="text_encoder", torch_dtype=torch.float32).eval()
    unet = UNet2DConditionModel.from_pretrained(args.model, subfolder="unet", torch_dtype=torch.float32).eval()
    vae = AutoencoderKL.from_pretrained(args.model, subfolder="vae", torch_dtype=torch.float32).eval()
    out = {"load_s": time.time() - t0, "threads": torch.get_num_threads(), "torch": torch.__version__}
    parts = set(args.only.split(","))

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

    with torch.inference_mode():
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


def run_torch(args):
    cmd = [sys.executable, os.path.abspath(__file__), "--torch-worker", "--model", args.model, "--size", str(args.size),
           "--steps", str(args.steps), "--threads", str(args.threads), "--only", args.only]
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        sys.exit("PyTorch side failed:\n" + r.stderr[-3000:])
    return json.loads(r.stdout.strip().splitlines()[-1])


def run_cxr(args):
    cmd = [args.cxr_edit, "bench", "--model", args.model, "--size", str(args.size), "--steps", str(args.steps),
           "--threads", str(args.threads), "--only", args.only + ",sgemm", "--json"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("cxr-edit side failed:\n" + r.stderr[-3000:])
    return json.loads(r.stdout.strip().splitlines()[-1])


def machine():
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "kernel": platform.release()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", default="text,unet,vae-encode,vae-decode")
    ap.add_argument("--cxr-edit", default=os.path.join(os.getcwd(), ".build/release/cxr-edit"))
    ap.add_argument("--order", choices=["torch-first", "cxr-first"], default="cxr-first")
    ap.add_argument("--json-out")
    ap.add_argument("--torch-worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.torch_worker:
        return torch_worker(args)

    info = {"machine": machine(), "load_before": os.getloadavg(), "args": vars(args)}
    sides = {}
    order = ["cxr", "torch"] if args.order == "cxr-first" else ["torch", "cxr"]
    for side in order:
        t = time.time()
        sides[side] = run_cxr(args) if side == "cxr" else run_torch(args)
        sides[side]["wall_s"] = time.time() - t
        sides[side]["load_after"] = os.getloadavg()
    info["load_after"] = os.getloadavg()
    info["torch"], info["cxr_edit"] = sides["torch"], sides["cxr"]

    print(f"machine: {info['machine']['cpu']}, {info['machine']['cores']} cores; threads {args.threads}; "
          f"size {args.size}; median of {args.steps} runs")
    print(f"load average (1/5/15 min) before {tuple(round(x, 2) for x in info['load_before'])}, "
          f"after {tuple(round(x, 2) for x in info['load_after'])}")
    print(f"{'component':<16}{'PyTorch s':>12}{'cxr-edit s':>12}{'ratio':>8}")
    for k in KEYS:
        a, b = sides["torch"].get(k), sides["cxr"].get(k)
        if a is None or b is None:
            continue
        print(f"{k:<16}{a:>12.3f}{b:>12.3f}{b / a:>8.2f}")
    for k in KEYS:
        a, b = sides["torch"].get(k + "_cpu"), sides["cxr"].get(k + "_cpu")
        if a is not None and b is not None:
            print(f"{k + ' cpu':<16}{a:>12.3f}{b:>12.3f}{b / a:>8.2f}")
    print(f"{'peak_rss_mb':<16}{sides['torch']['peak_rss_mb']:>12.0f}{sides['cxr']['peak_rss_mb']:>12.0f}"
          f"{sides['cxr']['peak_rss_mb'] / sides['torch']['peak_rss_mb']:>8.2f}")
    c = sides["cxr"]
    if "unet_gflops" in c:
        tg = c["unet_gflop"] / sides["torch"]["unet_step_s"] if "unet_step_s" in sides["torch"] else float("nan")
        print(f"UNet {c['unet_gflop']:.0f} GFLOP per step: PyTorch {tg:.1f} GFLOP/s, cxr-edit {c['unet_gflops']:.1f} GFLOP/s; "
              f"sgemm 4096^3 peak {c.get('sgemm_gflops', float('nan')):.1f} GFLOP/s "
              f"(cxr-edit at {100 * c.get('unet_peak_fraction', float('nan')):.0f}% of it)")
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(info, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
