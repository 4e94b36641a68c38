"""Markdown tables from compare.py's JSON files: per shape group and kind of operation, the call-weighted time of
one model call (a guided UNet step, a VAE decode) for each engine, the ratios to cxr-edit, and what taking the
faster engine per shape would save.

    /work/venv/bin/python Tools/bench/onednn/table.py /tmp/onednn-*.json [--shapes]
"""

import argparse
import json

KINDS = ["conv 3x3", "conv 3x3 stride 2", "conv 1x1", "linear", "attention"]


def sec(t):
    return f"{t:.3f}"


def ratio(a, b):
    return f"{a / b:.2f}" if a and b else "–"


def best_onednn_fp32(med):
    """oneDNN's fp32 figure: the faster of its default (direct) and Winograd convolution, and which it was."""
    cands = {k: med[k] for k in ("onednn_fp32", "onednn_wino_fp32") if k in med}
    key = min(cands, key=cands.get)
    return cands[key], key


def group_table(rows):
    out = ["| operations | calls | ours fp32 s | oneDNN fp32 s | ratio | oneDNN Winograd ratio | PyTorch fp32 ratio "
           "| ours bf16 s | oneDNN bf16 s | ratio | PyTorch bf16 ratio | share of ours fp32 |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    total_ours = sum(r["calls"] * r["median"]["ours_fp32"] for r in rows)
    for kind in KINDS + ["all"]:
        sel = [r for r in rows if kind == "all" or r["kind"] == kind]
        if not sel:
            continue

        def tot(key):
            # Attention has no bf16 variant: the models run it in fp32 under --precision bf16 too.
            vals = [r["median"].get(key, r["median"].get(key.replace("bf16", "fp32"))) for r in sel]
            return sum(r["calls"] * v for r, v in zip(sel, vals)) if None not in vals else None

        o32, d32, w32, t32 = tot("ours_fp32"), tot("onednn_fp32"), None, tot("torch_fp32")
        # Winograd where oneDNN has it (3x3 stride 1), its default elsewhere.
        w32 = sum(r["calls"] * r["median"].get("onednn_wino_fp32", r["median"]["onednn_fp32"]) for r in sel)
        o16, d16, t16 = tot("ours_bf16"), tot("onednn_bf16"), tot("torch_bf16")
        calls = sum(r["calls"] for r in sel)
        name = f"**{kind}**" if kind == "all" else kind
        out.append(
            f"| {name} | {calls} | {sec(o32)} | {sec(d32)} | {ratio(d32, o32)} | {ratio(w32, o32)} | {ratio(t32, o32)} "
            f"| {sec(o16)} | {sec(d16)} | {ratio(d16, o16)} | {ratio(t16, o16)} "
            f"| {100 * o32 / total_ours:.0f}% |")
    return "\n".join(out)


def savings(rows):
    """Seconds per model call saved by taking, shape by shape, oneDNN where it is faster (fp32: direct or
    Winograd, whichever is faster; layouts converted at each layer's boundary, as measured)."""
    res = {}
    for p in ("fp32", "bf16"):
        ours = sum(r["calls"] * r["median"][f"ours_{p}"] for r in rows if f"ours_{p}" in r["median"])
        best, by_kind = 0.0, {}
        for r in rows:
            if f"ours_{p}" not in r["median"]:
                continue
            o = r["median"][f"ours_{p}"]
            d = best_onednn_fp32(r["median"])[0] if p == "fp32" else r["median"].get(f"onednn_{p}", o)
            gain = r["calls"] * max(0.0, o - d)
            best += r["calls"] * min(o, d)
            by_kind[r["kind"]] = by_kind.get(r["kind"], 0) + gain
        res[p] = dict(ours=ours, best=best, saved=ours - best, by_kind=by_kind)
    return res


def shape_table(rows):
    out = ["| shape | calls | GFLOP | ours fp32 ms | oneDNN fp32 / ours | Winograd / ours | PyTorch / ours "
           "| ours bf16 ms | oneDNN bf16 / ours | PyTorch / ours | oneDNN implementation (fp32; bf16) |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        m = r["median"]
        o32, o16 = m["ours_fp32"], m.get("ours_bf16")
        impl = r.get("impl", {})
        impls = "; ".join(x for x in [impl.get("onednn_fp32"), impl.get("onednn_wino_fp32"), impl.get("onednn_bf16")]
                          if x)
        out.append(
            f"| {r['label']} | {r['calls']} | {r['gflop']:.2f} | {o32 * 1e3:.2f} | {ratio(m.get('onednn_fp32'), o32)} "
            f"| {ratio(m.get('onednn_wino_fp32'), o32)} | {ratio(m.get('torch_fp32'), o32)} "
            f"| {o16 * 1e3:.2f} | {ratio(m.get('onednn_bf16'), o16)} | {ratio(m.get('torch_bf16'), o16)} | {impls} |"
            if o16 else
            f"| {r['label']} | {r['calls']} | {r['gflop']:.2f} | {o32 * 1e3:.2f} | {ratio(m.get('onednn_fp32'), o32)} "
            f"| – | {ratio(m.get('torch_fp32'), o32)} | – | – | – | {impls} |")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="+")
    ap.add_argument("--shapes", action="store_true", help="also one row per shape")
    args = ap.parse_args()
    for path in args.files:
        d = json.load(open(path))
        rows = d["rows"]
        groups = sorted({r["group"] for r in rows})
        for g in groups:
            sel = [r for r in rows if r["group"] == g]
            print(f"### {g} ({d['date']}, load {d['load_before'][0]:.1f} -> {d['load_after'][0]:.1f})\n")
            print(group_table(sel) + "\n")
            s = savings(sel)
            for p, v in s.items():
                kinds = ", ".join(f"{k} {t:.3f} s" for k, t in sorted(v["by_kind"].items()) if t > 0)
                print(f"- {p}: ours {v['ours']:.3f} s, faster engine per shape {v['best']:.3f} s, "
                      f"saved {v['saved']:.3f} s ({100 * v['saved'] / v['ours']:.0f}%): {kinds}")
            print()
            if args.shapes:
                print(shape_table(sel) + "\n")


if __name__ == "__main__":
    main()
