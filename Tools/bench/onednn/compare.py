"""cxr-edit's conv2d / linear / attention kernels against oneDNN (and optionally PyTorch) on a model's real shapes.

Each engine is a long-lived process answering one command per line (cxr-kernel-bench, onednn_bench, and this
script's own --serve-torch), so nothing of process start-up or first-call weight packing is timed. For every
shape the engines are run in turn, the order rotated each round (A B C, B C A, ...), because the machine is shared
and its load drifts; each figure is the median of all timed runs. The accuracy check writes the same operands for
every engine and compares their outputs with a float64 PyTorch reference.

    swift build -c release --product cxr-kernel-bench
    cc -O2 -o /tmp/onednn_bench Tools/bench/onednn/onednn_bench.c -ldnnl -lm
    /work/venv/bin/python Tools/bench/onednn/compare.py --ours .build/release/cxr-kernel-bench \
        --onednn /tmp/onednn_bench --json-out /tmp/onednn.json [--torch] [--groups sd15-unet-512,...]
"""

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


class Engine:
    """A benchmark process speaking the line protocol."""

    def __init__(self, name, argv, env, runs=lambda shape, precision: True):
        self.name = name
        self.runs = runs  # which (shape, precision) pairs this engine is timed on
        self.weight_seconds = None  # onednn_bench's one-time weight reorder of the last command
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
                                     bufsize=1)
        self.banner = self.proc.stdout.readline().strip()
        if not self.banner.startswith("ready"):
            raise SystemExit(f"{name}: no ready line ({self.banner!r})")

    def ask(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline().strip()
        if not answer.startswith("ok"):
            raise RuntimeError(f"{self.name}: {line}: {answer}")
        total, prim, impl = [], [], None
        for word in answer.split()[1:]:
            if word.startswith("impl="):
                impl = word[5:]
            elif word.startswith("weights="):  # onednn_bench: its one-time weight reorder, not in the totals
                self.weight_seconds = float(word[8:])
            elif "," in word:  # onednn_bench: whole layer, primitive alone
                t, p = word.split(",")
                total.append(float(t))
                prim.append(float(p))
            else:
                total.append(float(word))
        return total, prim, impl

    def close(self):
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
            self.proc.wait(timeout=30)
        except Exception:
            self.proc.kill()


def flops(s):
    if s["op"] == "conv":
        ho = (s["h"] + 2 * s["pad"] - s["k"]) // s["stride"] + 1
        wo = (s["w"] + 2 * s["pad"] - s["k"]) // s["stride"] + 1
        return 2 * s["n"] * s["o"] * s["c"] * s["k"] ** 2 * ho * wo
    if s["op"] == "linear":
        return 2 * s["m"] * s["k"] * s["n"]
    return 4 * s["b"] * s["heads"] * s["lq"] * s["lk"] * s["d"]


def command(s, precision, reps, files=None):
    if s["op"] == "conv":
        words = ["conv", s["n"], s["c"], s["h"], s["w"], s["o"], s["k"], s["stride"], s["pad"], precision, reps]
    elif s["op"] == "linear":
        words = ["linear", s["m"], s["k"], s["n"], precision, reps]
    else:
        words = ["attention", s["b"], s["heads"], s["lq"], s["lk"], s["d"], reps]
    return " ".join(str(w) for w in words + list(files or []))


def label(s):
    if s["op"] == "conv":
        kind = f"conv{s['k']}x{s['k']}" + (f"/s{s['stride']}" if s["stride"] != 1 else "")
        return f"{kind} {s['c']}->{s['o']} @{s['h']}x{s['w']} n{s['n']}"
    if s["op"] == "linear":
        return f"linear {s['m']}x{s['k']}->{s['n']}"
    return f"attention b{s['b']} h{s['heads']} {s['lq']}x{s['lk']} d{s['d']}"


def kind(s):
    if s["op"] == "conv":
        return f"conv {s['k']}x{s['k']}" + (" stride 2" if s["stride"] != 1 else "")
    return s["op"]


def time_shapes(shapes, engines, precisions, rounds, budget, log):
    """Times every shape on every (engine, precision), rotating the order each round; returns result rows."""
    rows = []
    for i, s in enumerate(shapes):
        est = flops(s) / 100e9  # seconds at ~100 GFLOP/s, only to choose the repetitions
        reps = max(1, min(20, math.ceil(budget / max(est, 1e-6))))
        variants = [(e, p) for p in precisions for e in engines
                    if not (s["op"] == "attention" and p != "fp32") and e.runs(s, p)]
        times = {(e.name, p): [] for e, p in variants}
        prims = {(e.name, p): [] for e, p in variants}
        impls, weight_seconds = {}, {}
        for r in range(rounds):
            order = variants[r % len(variants):] + variants[:r % len(variants)]
            for e, p in order:
                t, pr, impl = e.ask(command(s, p, reps))
                times[(e.name, p)] += t
                prims[(e.name, p)] += pr
                if impl:
                    impls[(e.name, p)] = impl
                if e.weight_seconds is not None:
                    weight_seconds.setdefault(f"{e.name}_{p}", []).append(e.weight_seconds)
                    e.weight_seconds = None
        row = dict(s, label=label(s), kind=kind(s), gflop=flops(s) / 1e9, reps=reps, rounds=rounds, median={},
                   primitive_median={}, impl={},
                   weight_reorder_median={v: statistics.median(w) for v, w in weight_seconds.items()})
        for (name, p), t in times.items():
            row["median"][f"{name}_{p}"] = statistics.median(t)
            if prims[(name, p)]:
                row["primitive_median"][f"{name}_{p}"] = statistics.median(prims[(name, p)])
            if (name, p) in impls:
                row["impl"][f"{name}_{p}"] = impls[(name, p)]
        rows.append(row)
        med = row["median"]
        parts = []
        for p in precisions:
            if f"ours_{p}" not in med:
                continue
            parts.append(f"{p} ours {med[f'ours_{p}'] * 1e3:.2f} ms")
            for v in sorted(med):
                if v.endswith("_" + p) and not v.startswith("ours"):
                    parts.append(f"{v.rsplit('_', 1)[0]} {med[v] / med[f'ours_{p}']:.2f}")
        log(f"[{i + 1}/{len(shapes)}] {s['group']} {row['label']} x{s['calls']}: " + " ".join(parts))
    return rows


def summarize(rows, precisions):
    """Per group and kind of operation: call-weighted seconds of each variant (time per model call)."""
    out = {}
    for r in rows:
        for key in (f"{r['group']}|all", f"{r['group']}|{r['kind']}"):
            g = out.setdefault(key, {})
            for v, t in r["median"].items():
                g[v] = g.get(v, 0) + r["calls"] * t
            for v, t in r["primitive_median"].items():
                g[v + "_primitive"] = g.get(v + "_primitive", 0) + r["calls"] * t
    return out


def accuracy(engines, cases, log):
    """Max abs error and max abs error over max |reference| of each engine's output against float64."""
    import torch
    import torch.nn.functional as F

    results = []
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        for s in cases:
            prefix = os.path.join(tmp, "case")
            if s["op"] == "conv":
                x = rng.uniform(-1, 1, (s["n"], s["c"], s["h"], s["w"])).astype(np.float32)
                w = (rng.uniform(-1, 1, (s["o"], s["c"], s["k"], s["k"])) / math.sqrt(s["c"] * s["k"] ** 2)
                     ).astype(np.float32)
                b = rng.uniform(-0.1, 0.1, s["o"]).astype(np.float32)
                ref = F.conv2d(torch.from_numpy(x).double(), torch.from_numpy(w).double(),
                               torch.from_numpy(b).double(), stride=s["stride"], padding=s["pad"]).numpy()
                arrays = dict(x=x, w=w, b=b)
            elif s["op"] == "linear":
                x = rng.uniform(-1, 1, (s["m"], s["k"])).astype(np.float32)
                w = (rng.uniform(-1, 1, (s["n"], s["k"])) / math.sqrt(s["k"])).astype(np.float32)
                b = rng.uniform(-0.1, 0.1, s["n"]).astype(np.float32)
                ref = x.astype(np.float64) @ w.astype(np.float64).T + b
                arrays = dict(x=x, w=w, b=b)
            else:
                bq, h, lq, lk, d = s["b"], s["heads"], s["lq"], s["lk"], s["d"]
                q = rng.uniform(-1, 1, (bq, lq, h * d)).astype(np.float32)
                k = rng.uniform(-1, 1, (bq, lk, h * d)).astype(np.float32)
                v = rng.uniform(-1, 1, (bq, lk, h * d)).astype(np.float32)

                def heads(t, n):
                    return torch.from_numpy(t).double().view(bq, n, h, d).transpose(1, 2)

                ref = F.scaled_dot_product_attention(heads(q, lq), heads(k, lk), heads(v, lk))
                ref = ref.transpose(1, 2).reshape(bq, lq, h * d).numpy()
                arrays = dict(q=q, k=k, v=v)
            for name, a in arrays.items():
                a.tofile(f"{prefix}.{name}.bin")
            scale = float(np.abs(ref).max())
            for e in engines:
                for p in (["fp32"] if s["op"] == "attention" else ["fp32", "bf16"]):
                    if e.name == "torch" or not e.runs(s, p):  # the torch server reads no files
                        continue
                    out = os.path.join(tmp, f"{e.name}_{p}.bin")
                    e.ask(command(s, p, 1, files=[prefix, out]))
                    y = np.fromfile(out, dtype=np.float32).reshape(ref.shape).astype(np.float64)
                    err = np.abs(y - ref)
                    row = dict(label=label(s), engine=e.name, precision=p, max_abs=float(err.max()),
                               max_abs_over_max_ref=float(err.max() / scale),
                               rms_rel=float(np.sqrt((err ** 2).mean() / (ref ** 2).mean())))
                    results.append(row)
                    log(f"accuracy {row['label']:40s} {e.name:6s} {p}: max abs {row['max_abs']:.3e}  "
                        f"max abs / max|ref| {row['max_abs_over_max_ref']:.3e}  rms rel {row['rms_rel']:.3e}")
    return results


def serve_torch():
    """The same line protocol on PyTorch (F.conv2d, F.linear, scaled_dot_product_attention): fp32, or bf16 with
    the input cast per call and the output cast back to float32 (what autocast does at a layer's boundary),
    the weights cast once."""
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(int(os.environ.get("CXR_EDIT_THREADS", "2")))
    print(f"ready torch {torch.__version__} threads {torch.get_num_threads()} "
          f"mkldnn {torch.backends.mkldnn.is_available()} capability {torch.backends.cpu.get_cpu_capability()}",
          flush=True)
    g = torch.Generator().manual_seed(0)
    for line in sys.stdin:
        w = line.split()
        if not w:
            continue
        if w[0] == "quit":
            break
        try:
            if w[0] == "conv":
                n, c, h, wd, o, k, stride, pad = map(int, w[1:9])
                prec, reps = w[9], int(w[10])
                x = torch.rand(n, c, h, wd, generator=g) * 2 - 1
                wt = (torch.rand(o, c, k, k, generator=g) * 2 - 1) / math.sqrt(c * k * k)
                b = torch.rand(o, generator=g) * 0.2 - 0.1
                if prec == "bf16":
                    wt, b = wt.bfloat16(), b.bfloat16()
                    fn = lambda: F.conv2d(x.bfloat16(), wt, b, stride=stride, padding=pad).float()  # noqa: E731
                else:
                    fn = lambda: F.conv2d(x, wt, b, stride=stride, padding=pad)  # noqa: E731
            elif w[0] == "linear":
                m, k, n = map(int, w[1:4])
                prec, reps = w[4], int(w[5])
                x = torch.rand(m, k, generator=g) * 2 - 1
                wt = (torch.rand(n, k, generator=g) * 2 - 1) / math.sqrt(k)
                b = torch.rand(n, generator=g) * 0.2 - 0.1
                if prec == "bf16":
                    wt, b = wt.bfloat16(), b.bfloat16()
                    fn = lambda: F.linear(x.bfloat16(), wt, b).float()  # noqa: E731
                else:
                    fn = lambda: F.linear(x, wt, b)  # noqa: E731
            else:
                bq, heads, lq, lk, d, reps = map(int, w[1:7])
                q = torch.rand(bq, heads, lq, d, generator=g)
                kk = torch.rand(bq, heads, lk, d, generator=g)
                v = torch.rand(bq, heads, lk, d, generator=g)
                fn = lambda: F.scaled_dot_product_attention(q, kk, v)  # noqa: E731
            with torch.inference_mode():
                fn()
                times = []
                for _ in range(reps):
                    t0 = time.perf_counter()
                    fn()
                    times.append(time.perf_counter() - t0)
            print("ok " + " ".join(f"{t:.6f}" for t in times), flush=True)
        except Exception as exc:  # one line back, as the other engines do
            print(f"error {type(exc).__name__}: {exc}".replace("\n", " "), flush=True)


ACCURACY_CASES = [
    dict(op="conv", n=2, c=320, h=64, w=64, o=320, k=3, stride=1, pad=1),
    dict(op="conv", n=2, c=1280, h=8, w=8, o=1280, k=3, stride=1, pad=1),
    dict(op="conv", n=2, c=640, h=32, w=32, o=640, k=3, stride=2, pad=1),
    dict(op="conv", n=2, c=960, h=64, w=64, o=320, k=1, stride=1, pad=0),
    dict(op="conv", n=1, c=4, h=64, w=64, o=512, k=3, stride=1, pad=1),
    dict(op="linear", m=8192, k=320, n=2560),
    dict(op="linear", m=154, k=768, n=320),
    dict(op="attention", b=2, heads=8, lq=1024, lk=1024, d=80),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--serve-torch", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--ours", default=".build/release/cxr-kernel-bench")
    ap.add_argument("--onednn", default="/tmp/onednn_bench")
    ap.add_argument("--torch", action="store_true", help="also time PyTorch (its bundled oneDNN) on each shape")
    ap.add_argument("--shapes", default=os.path.join(HERE, "shapes.json"))
    ap.add_argument("--groups", default="", help="comma-separated shape groups (default: all)")
    ap.add_argument("--ops", default="conv,linear,attention")
    ap.add_argument("--precisions", default="fp32,bf16")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--budget", type=float, default=0.3, help="timed seconds aimed at per command (sets reps)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--accuracy", action="store_true", help="run the float64 accuracy check first")
    ap.add_argument("--no-winograd", action="store_true", help="leave out oneDNN's fp32 Winograd convolution")
    ap.add_argument("--no-onednn", action="store_true", help="leave out oneDNN (to compare our own kernels)")
    ap.add_argument("--attn-kernels", default="",
                    help="comma-separated CXR_EDIT_ATTN_KERNEL values (fused, fused-avx2, blas): the first one runs "
                    "in 'ours', each other one in an extra cxr-kernel-bench named attn-<kernel>, timed on attention "
                    "only, so the kernels alternate shape by shape in one run")
    ap.add_argument("--json-out")
    args = ap.parse_args()
    if args.serve_torch:
        return serve_torch()

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    env = dict(os.environ, CXR_EDIT_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads))
    attn_kernels = list(filter(None, args.attn_kernels.split(",")))
    ours_env = dict(env, CXR_EDIT_ATTN_KERNEL=attn_kernels[0]) if attn_kernels else env
    engines = [Engine("ours", [args.ours], ours_env)]
    for kernel in attn_kernels[1:]:
        engines.append(Engine(f"attn-{kernel}", [args.ours], dict(env, CXR_EDIT_ATTN_KERNEL=kernel),
                              runs=lambda s, p: s["op"] == "attention"))
    if not args.no_onednn:
        engines.append(Engine("onednn", [args.onednn], env))
    if not args.no_onednn and not args.no_winograd:
        # oneDNN's Winograd F(4x4,3x3) exists for fp32 3x3 stride-1 only; auto (= direct) is the other engine.
        engines.append(Engine("onednn_wino", [args.onednn], dict(env, ONEDNN_BENCH_CONV_ALG="winograd"),
                              runs=lambda s, p: p == "fp32" and s["op"] == "conv" and s["k"] == 3
                              and s["stride"] == 1))
    if args.torch:
        engines.append(Engine("torch", [sys.executable, os.path.abspath(__file__), "--serve-torch"], env))
    for e in engines:
        log(f"{e.name}: {e.banner}")
    load_before = os.getloadavg()
    result = dict(date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), threads=args.threads,
                  attn_kernels=attn_kernels or None,
                  onednn_max_cpu_isa=os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA"),
                  banners={e.name: e.banner for e in engines},
                  load_before=load_before)
    try:
        ops = set(args.ops.split(","))
        if args.accuracy:
            result["accuracy"] = accuracy(engines, [c for c in ACCURACY_CASES if c["op"] in ops], log)
        shapes = json.load(open(args.shapes))["shapes"]
        groups = set(filter(None, args.groups.split(",")))
        shapes = [s for s in shapes if (not groups or s["group"] in groups) and s["op"] in ops]
        rows = time_shapes(shapes, engines, args.precisions.split(","), args.rounds, args.budget, log)
        result["rows"] = rows
        result["summary"] = summarize(rows, args.precisions.split(","))
    finally:
        for e in engines:
            e.close()
        result["load_after"] = os.getloadavg()
        if args.json_out:
            with open(args.json_out, "w") as f:
                json.dump(result, f, indent=1)
    log(f"load average before {load_before}, after {result['load_after']}")
    for key, g in sorted(result.get("summary", {}).items()):
        parts = [f"{v} {t:.3f}s" for v, t in sorted(g.items())]
        log(f"{key:40s} " + " ".join(parts))


if __name__ == "__main__":
    main()
