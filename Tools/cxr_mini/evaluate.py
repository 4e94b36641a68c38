"""Evaluate cxr-mini: VAE reconstruction, guidance sweep, contact sheet, diversity, distribution distance.

Run (after export.py): nice -n 10 /work/venv/bin/python Tools/cxr_mini/evaluate.py
Samples with diffusers' StableDiffusionPipeline loaded from Models/cxr-mini (DDIM, 50 steps, fp32 on CPU).
Writes Tools/cxr_mini/runs/eval.json, docs/images/model/{contact_sheet,vae_reconstruction,guidance_sweep,
diversity,loss_curves}.png, and sets Models/cxr-mini/cxr-edit.json's guidance to the sweep's best value.
Only NIH (permissive) held-out images are shown in figures; JSRT images never leave /work/train-state.
Deterministic for a given checkpoint (fixed seeds, fixed held-out subset).
--vae-only: only (a), the VAE reconstruction (figure and eval.json entry), e.g. after train_vae_decoder.py.
"""
import json, sys, time
import common, metrics
import numpy as np
import torch
from PIL import Image, ImageDraw
from diffusers import StableDiffusionPipeline

torch.set_num_threads(int(__import__("os").environ.get("CXR_THREADS", "2")))
T0 = time.time()
SHEET = [
    "No acute cardiopulmonary process.",
    "65 year old male. PA chest radiograph. No acute cardiopulmonary process.",
    "30 year old female. PA chest radiograph. Lungs are clear. No acute disease.",
    "70 year old male. AP chest radiograph. Cardiomegaly.",
    "60 year old female. AP chest radiograph. Small right pleural effusion.",
    "55 year old male. PA chest radiograph. Right pneumothorax.",
    "50 year old male. AP supine chest radiograph. Multifocal patchy opacities consistent with viral pneumonia.",
    "45 year old female. PA chest radiograph. Left lung mass.",
]
SWEEP_PROMPTS = [SHEET[1], SHEET[3], SHEET[4], SHEET[6]]
GUIDANCES = [2.0, 4.0, 7.0]
STEPS = 2 if "--smoke" in sys.argv else 50  # --smoke: 2 steps, output to /tmp (checks the script only)


def to_u8(x):
    return (np.clip(x, 0, 1) * 255).round().astype(np.uint8)


def grid(imgs, cols, size=128):
    rows = (len(imgs) + cols - 1) // cols
    g = Image.new("L", (cols * size, rows * size), 0)
    for i, im in enumerate(imgs):
        g.paste(Image.fromarray(im).resize((size, size), Image.LANCZOS), ((i % cols) * size, (i // cols) * size))
    return g


def generate(pipe, prompts, seeds, g):
    out = []
    for i in range(0, len(prompts), 4):
        gens = [torch.Generator().manual_seed(s) for s in seeds[i:i + 4]]
        r = pipe(prompts[i:i + 4], num_inference_steps=STEPS, guidance_scale=g, generator=gens, output_type="np")
        out += [to_u8(x.mean(-1)) for x in r.images]
    return out


def loss_plot(path):
    """Loss curves of runs/vae.json and runs/unet.json drawn with PIL (no matplotlib here)."""
    panels = []
    for name, key in [("vae", "loss"), ("unet", "loss")]:
        f = common.RUNS / f"{name}.json"
        if not f.exists():
            continue
        c = json.loads(f.read_text())["curve"]
        panels.append((f"{name} {key} (x: step, y: log scale)", [p["step"] for p in c], [p[key] for p in c]))
    W, H = 420, 260
    img = Image.new("RGB", (W * len(panels), H), "white")
    d = ImageDraw.Draw(img)
    for k, (title, xs, ys) in enumerate(panels):
        ox = k * W
        ly = np.log10(np.maximum(ys, 1e-6))
        lo, hi = ly.min(), ly.max() + 1e-9
        x0, x1, y0, y1 = ox + 50, ox + W - 15, 25, H - 30
        d.rectangle([x0, y0, x1, y1], outline="black")
        pts = [(x0 + (x1 - x0) * (x - xs[0]) / max(xs[-1] - xs[0], 1), y1 - (y1 - y0) * (v - lo) / (hi - lo)) for x, v in zip(xs, ly)]
        d.line(pts, fill=(200, 40, 40), width=2)
        d.text((x0, 5), title, fill="black")
        d.text((ox + 2, y0), f"{10 ** hi:.3g}", fill="black")
        d.text((ox + 2, y1 - 10), f"{10 ** lo:.3g}", fill="black")
        d.text((x0, y1 + 5), f"{xs[0]}", fill="black")
        d.text((x1 - 40, y1 + 5), f"{xs[-1]}", fill="black")
    img.save(path, optimize=True)


def main():
    if STEPS == 2:
        common.DOC_IMG = common.Path("/tmp/cxr_smoke"); common.RUNS = common.Path("/tmp/cxr_smoke")
        common.MODEL_DIR = common.Path("/tmp/cxr_smoke_model")
        import shutil; shutil.rmtree(common.MODEL_DIR, ignore_errors=True)
        shutil.copytree(common.REPO / "Models" / "cxr-mini", common.MODEL_DIR)
    common.DOC_IMG.mkdir(parents=True, exist_ok=True)
    rows = common.load_rows()
    imgs = common.load_images(rows).numpy()
    held = [i for i, r in enumerate(rows) if r["heldout"]]
    train = [i for i, r in enumerate(rows) if not r["heldout"]]
    rs = np.random.RandomState(0)
    res = {"heldout_images": len(held), "train_images": len(train), "steps": STEPS, "scheduler": "DDIM"}

    pipe = StableDiffusionPipeline.from_pretrained(str(common.MODEL_DIR), torch_dtype=torch.float32, safety_checker=None)
    pipe.set_progress_bar_config(disable=True)

    # (a) VAE reconstruction on 64 held-out images (fixed subset)
    sub = sorted(rs.choice(held, 64, replace=False).tolist())
    vae = pipe.vae
    ps, ss, shown = [], [], []
    with torch.no_grad():
        for i in range(0, 64, 16):
            idx = sub[i:i + 16]
            x = common.to_model(torch.from_numpy(imgs[idx]))
            rec = vae.decode(vae.encode(x).latent_dist.mean).sample
            rec = to_u8((rec.mean(1).numpy() + 1) / 2)
            for j, k in enumerate(idx):
                ps.append(metrics.psnr(imgs[k], rec[j])); ss.append(metrics.ssim(imgs[k], rec[j]))
                if rows[k]["filename"].startswith("nih_") and len(shown) < 6:
                    shown += [imgs[k], rec[j]]
    res["vae_reconstruction"] = {"n": 64, "psnr_db_mean": float(np.mean(ps)), "psnr_db_std": float(np.std(ps)),
                                 "ssim_mean": float(np.mean(ss)), "ssim_std": float(np.std(ss))}
    grid(shown, 6, 192).save(common.DOC_IMG / "vae_reconstruction.png", optimize=True)
    print("vae", res["vae_reconstruction"], f"{time.time() - T0:.0f}s", flush=True)
    if "--vae-only" in sys.argv:  # after a decoder fine-tune: the UNet's figures stay those of eval.json
        old = json.loads((common.RUNS / "eval.json").read_text())
        old["vae_reconstruction"] = res["vae_reconstruction"]
        (common.RUNS / "eval.json").write_text(json.dumps(old, indent=1))
        return

    real_feat = np.stack([metrics.features(imgs[i]) for i in held])
    real_imgs = [imgs[i] for i in held]

    def dist(gen):
        f = np.stack([metrics.features(g) for g in gen])
        mu, sd = real_feat.mean(0), real_feat.std(0) + 1e-8
        return {"histogram_emd_grey_levels": metrics.histogram_emd(gen, real_imgs),
                "feature_mean_distance": float(np.linalg.norm((f.mean(0) - mu) / sd)),
                "gen_feature_means": dict(zip(metrics.FEATURES, np.round(f.mean(0), 2).tolist()))}, f

    # guidance sweep: 4 prompts x 1 seed per guidance scale (small: CPU time)
    sweep, sweep_imgs = {}, []
    for g in GUIDANCES:
        gen = generate(pipe, SWEEP_PROMPTS, [100] * 4, g)
        sweep[str(g)] = dist(gen)[0]
        sweep_imgs += gen[:4]
        print("guidance", g, sweep[str(g)], f"{time.time() - T0:.0f}s", flush=True)
    # pick the guidance with the smallest sum of normalised (EMD, feature distance) ranks; ties -> larger guidance
    score = {g: s["histogram_emd_grey_levels"] / max(v["histogram_emd_grey_levels"] for v in sweep.values())
             + s["feature_mean_distance"] / max(v["feature_mean_distance"] for v in sweep.values()) for g, s in sweep.items()}
    best = float(min(score, key=lambda g: (score[g], -float(g))))
    res["guidance_sweep"] = {"prompts": SWEEP_PROMPTS, "seeds": [100], "results": sweep, "score": score, "chosen": best}
    grid(sweep_imgs, 4, 160).save(common.DOC_IMG / "guidance_sweep.png", optimize=True)

    # (b) contact sheet: 8 prompts x 2 seeds at the chosen guidance
    sheet = generate(pipe, SHEET * 2, [0] * 8 + [1] * 8, best)
    order = [sheet[i] for p in range(8) for i in (p, p + 8)]  # prompt p: seed 0, seed 1 side by side
    grid(order, 4, 192).save(common.DOC_IMG / "contact_sheet.png", optimize=True)
    res["contact_sheet"] = {"prompts": SHEET, "seeds": [0, 1], "guidance": best,
                            "layout": "4 columns: (prompt 1 seed 0, prompt 1 seed 1, prompt 2 seed 0, prompt 2 seed 1), ..."}
    print("sheet done", f"{time.time() - T0:.0f}s", flush=True)

    # (c) diversity: MS-SSIM between 4 samples of the same prompt (6 pairs per prompt); lower = more diverse
    div, div_imgs = {}, []
    for p in [SHEET[1], SHEET[4]]:
        gen = generate(pipe, [p] * 4, [10, 11, 12, 13], best)
        div_imgs += gen
        pairs = [metrics.ms_ssim(gen[a], gen[b]) for a in range(4) for b in range(a + 1, 4)]
        div[p] = {"ms_ssim_mean": float(np.mean(pairs)), "ms_ssim_std": float(np.std(pairs))}
    nf = [i for i in held if rows[i]["findings"] in ("No Finding", "No Finding (non-nodule)")]
    realpairs = []
    for t in range(6):
        a, b = rs.choice(nf, 2, replace=False)
        realpairs.append(metrics.ms_ssim(imgs[a], imgs[b]))
    res["diversity"] = {"generated": div, "real_heldout_no_finding_random_pairs": {
        "n_pairs": 6, "ms_ssim_mean": float(np.mean(realpairs)), "ms_ssim_std": float(np.std(realpairs))}}
    grid(div_imgs, 4, 160).save(common.DOC_IMG / "diversity.png", optimize=True)
    print("diversity", res["diversity"], flush=True)

    # (d) distribution distance: all 24 samples at the chosen guidance vs the held-out real images;
    # reference: 24 random real training images vs the same held-out set
    gen_all = sheet + div_imgs
    d_gen, f_gen = dist(gen_all)
    ref = [imgs[i] for i in rs.choice(train, 24, replace=False)]
    d_ref, f_ref = dist(ref)
    d_gen["frechet_radiomic_8feat"] = metrics.frechet(f_gen, real_feat, real_feat)
    d_ref["frechet_radiomic_8feat"] = metrics.frechet(f_ref, real_feat, real_feat)
    res["distribution"] = {"features": metrics.FEATURES, "real_heldout_feature_means":
                           dict(zip(metrics.FEATURES, np.round(real_feat.mean(0), 2).tolist())),
                           "generated_24_vs_heldout": d_gen, "real_train_24_vs_heldout": d_ref}
    print("distribution", res["distribution"], flush=True)
    loss_plot(common.DOC_IMG / "loss_curves.png")
    import flops
    res["flops"] = flops.summary(pipe.vae, pipe.unet, pipe.text_encoder)
    res["wall_s"] = round(time.time() - T0, 1)
    (common.RUNS / "eval.json").write_text(json.dumps(res, indent=1))
    cfg = common.MODEL_DIR / "cxr-edit.json"
    cfg.write_text(json.dumps({"steps": 50, "guidance": best}) + "\n")
    print("done", f"{time.time() - T0:.0f}s")


if __name__ == "__main__":
    main()
