"""Times stable-diffusion.cpp (ggml, weights as stored: f16) and cxr-edit on the same diffusers folder in one
run, and prints per-component times and ratios (cxr-edit / sd.cpp; below 1 means cxr-edit is faster).

stable-diffusion.cpp is not part of this repository: build it elsewhere, e.g.
    cmake -S /work/sdcpp/src -B /work/sdcpp/build -DCMAKE_BUILD_TYPE=Release -DSD_WEBP=OFF -DSD_WEBM=OFF -DGGML_NATIVE=ON
    cmake --build /work/sdcpp/build -j2 --target sd-cli
Run:
    /work/venv/bin/python Tools/bench/sdcpp.py --sd-cli /work/sdcpp/build/bin/sd-cli --model /work/bench-models/sd15 \
        --threads 2 --steps 3 --cxr-edit .build/release/cxr-edit [--json-out results.json]

sd.cpp has no benchmark mode, so one img2img run (strength 1, --steps sampling steps, cfg 7.5) is timed from its
own log lines: get_learned_condition (text), encode_first_stage (VAE encode), sampling (divided by the steps:
one guided step = two batch-1 UNet passes in sd.cpp), decode_first_stage (VAE decode); peak RSS from
/usr/bin/time. Its numbers include each stage's graph setup, and the first sampling step is not excluded.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import zlib
import struct

KEYS = ["text_encode_s", "unet_step_s", "vae_encode_s", "vae_decode_s"]


def grey_png(path, size):
    """A mid-grey size x size RGB PNG (init image for img2img), written without extra libraries."""
    raw = b"".join(b"\x00" + bytes([128, 128, 128]) * size for _ in range(size))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def run_sdcpp(args, tmp):
    init = os.path.join(tmp, "init.png")
    grey_png(init, args.size)
    cmd = ["/usr/bin/time", "-v", args.sd_cli, "-m", args.model, "-p", "Large right pleural effusion. Heart size is normal.",
           "-n", "", "--cfg-scale", "7.5", "--steps", str(args.steps), "-W", str(args.size), "-H", str(args.size),
           "-t", str(args.threads), "-i", init, "--strength", "1.0", "--sampling-method", "euler", "-s", "1",
           "-o", os.path.join(tmp, "out.png")]
    t = time.time()
    r = subprocess.run(cmd, capture_output=True, text=True)
    log = r.stdout + r.stderr
    if r.returncode != 0:
        sys.exit("sd.cpp failed:\n" + log[-3000:])

    def seconds(pattern):
        m = re.findall(pattern + r" completed, taking ([0-9.]+)\s*(s|ms)", log)
        if not m:
            return None
        v, unit = m[-1]
        return float(v) / (1000 if unit == "ms" else 1)

    out = {"wall_s": time.time() - t, "text_encode_s": seconds("get_learned_condition"),
           "vae_encode_s": seconds("encode_first_stage"), "vae_decode_s": seconds("decode_first_stage")}
    sampling = seconds("sampling")
    if sampling is not None:
        out["unet_step_s"] = sampling / args.steps
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", log)
    out["peak_rss_mb"] = int(m.group(1)) / 1024 if m else None
    out["log_tail"] = log[-1500:]
    return out


def run_cxr(args):
    cmd = [args.cxr_edit, "bench", "--model", args.model, "--size", str(args.size), "--steps", str(args.steps),
           "--threads", str(args.threads), "--json"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("cxr-edit failed:\n" + r.stderr[-3000:])
    return json.loads(r.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sd-cli", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cxr-edit", default=os.path.join(os.getcwd(), ".build/release/cxr-edit"))
    ap.add_argument("--json-out")
    args = ap.parse_args()
    if not os.access(args.sd_cli, os.X_OK):
        sys.exit(f"{args.sd_cli}: not an executable; build stable-diffusion.cpp first (see the top of this file)")
    info = {"load_before": os.getloadavg()}
    with tempfile.TemporaryDirectory() as tmp:
        info["sdcpp"] = run_sdcpp(args, tmp)
    info["cxr_edit"] = run_cxr(args)
    info["load_after"] = os.getloadavg()
    s, c = info["sdcpp"], info["cxr_edit"]
    print(f"threads {args.threads}; size {args.size}; load average before {tuple(round(x, 2) for x in info['load_before'])}, "
          f"after {tuple(round(x, 2) for x in info['load_after'])}")
    print(f"{'component':<16}{'sd.cpp s':>12}{'cxr-edit s':>12}{'ratio':>8}")
    for k in KEYS + ["peak_rss_mb"]:
        a, b = s.get(k), c.get(k)
        if a is None or b is None:
            print(f"{k:<16}{'n/a' if a is None else f'{a:.3f}':>12}{'n/a' if b is None else f'{b:.3f}':>12}")
            continue
        print(f"{k:<16}{a:>12.3f}{b:>12.3f}{b / a:>8.2f}")
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(info, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
