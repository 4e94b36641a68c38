"""Stage 1b: fine-tune only the VAE's decoder (the encoder, and so every latent the UNets were trained on, stays).

Run (from the repo root, in the background; resumes with --resume):
  nohup nice -n 2 /work/venv/bin/python Tools/cxr_mini/train_vae_decoder.py --minutes 25 \
      > /work/train-state/vae_decoder.log 2>&1 &
Why: the VAE was trained for 574 steps (21 min) and limits every edit's sharpness (27.4 dB PSNR on held-out
images). Retraining the whole VAE would move the latent space and invalidate both UNets; the decoder alone can
improve without that. Inputs: the exported VAE (Models/cxr-mini/vae), the training images and their posterior-mean
latents (inpaint_data.pt, from prepare_inpaint.py). Each step decodes random 16x16 latent crops (128 px) of a
batch, from the posterior mean plus the posterior's own noise half the time (the pipeline decodes what the UNet
makes, which is never exactly a posterior mean; --noise sets the share). Loss: L1 + 0.5 x L1 of image gradients
(as stage 1) + --fft x L1 of the magnitude spectra (fine texture the pixel losses average away) + --mse x MSE.
The first run (defaults: --noise 0.5 --fft 0.1, 128 px crops) lost 0.75 dB; the second decodes whole 256 px
images from posterior means only: --crop 32 --batch 4 --noise 0 --fft 0 --mse 1. Checkpoint /work/train-state/vae_decoder.pt
every 3 minutes; log Tools/cxr_mini/runs/vae_decoder.json, with the held-out PSNR/SSIM of evaluate.py's 64-image
subset before and after. Export: --export writes the decoder into Models/cxr-mini/vae (fp16).
"""
import argparse, os, time
import numpy as np
import torch
import common, metrics
from diffusers import AutoencoderKL

p = argparse.ArgumentParser()
p.add_argument("--minutes", type=float, default=25)
p.add_argument("--batch", type=int, default=8)
p.add_argument("--crop", type=int, default=16, help="latent crop (x8 pixels)")
p.add_argument("--lr", type=float, default=2e-4)
p.add_argument("--fft", type=float, default=0.1)
p.add_argument("--noise", type=float, default=0.5,
               help="share of latents drawn from the posterior instead of its mean (0: posterior means only)")
p.add_argument("--mse", type=float, default=0.0, help="weight of a pixel MSE term (PSNR is an MSE measure)")
p.add_argument("--resume", action="store_true")
p.add_argument("--export", action="store_true", help="write the fine-tuned decoder into Models/cxr-mini/vae and stop")
p.add_argument("--eval-only", action="store_true")
p.add_argument("--exported", action="store_true", help="with --eval-only: measure the folder's (fp16) VAE as it is")
a = p.parse_args()
torch.set_num_threads(int(os.environ.get("CXR_THREADS", "2")))
torch.manual_seed(0)

rows = common.load_rows()
imgs = common.load_images(rows)
vae = AutoencoderKL.from_pretrained(str(common.MODEL_DIR / "vae"), torch_dtype=torch.float32)
ck = common.STATE / "vae_decoder.pt"
held = [i for i, r in enumerate(rows) if r["heldout"]]
subset = sorted(np.random.RandomState(0).choice(held, 64, replace=False).tolist())  # evaluate.py's 64 images


def heldout_quality():
    """PSNR/SSIM of encode (posterior mean) -> decode on evaluate.py's 64 held-out images, 8-bit grey."""
    vae.eval()
    ps, ss = [], []
    with torch.no_grad():
        for i in range(0, 64, 16):
            idx = subset[i:i + 16]
            x = common.to_model(imgs[idx])
            rec = vae.decode(vae.encode(x).latent_dist.mean).sample.mean(1)
            rec = ((rec.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).numpy()
            for j, k in enumerate(idx):
                ps.append(metrics.psnr(imgs[k].numpy(), rec[j])); ss.append(metrics.ssim(imgs[k].numpy(), rec[j]))
    vae.train()
    return {"psnr_db_mean": float(np.mean(ps)), "ssim_mean": float(np.mean(ss)), "n": 64}


if (a.resume or a.export or a.eval_only) and not a.exported:
    if ck.exists():
        vae.decoder.load_state_dict(torch.load(ck)["decoder"])
        vae.post_quant_conv.load_state_dict(torch.load(ck)["post_quant_conv"])
if a.eval_only:
    print(heldout_quality()); raise SystemExit
if a.export:
    out = common.MODEL_DIR / "vae"
    vae.to(torch.float16).save_pretrained(str(out), safe_serialization=True)
    print("exported", out, heldout_quality() if False else ""); raise SystemExit

D = torch.load(common.STATE / "inpaint_data.pt", weights_only=False)
train_idx = torch.tensor(D["train_idx"])
lat_all = D["latents"]  # unscaled posterior means, N x 4 x 32 x 32, rows order
vae.requires_grad_(False)
params = list(vae.decoder.parameters()) + list(vae.post_quant_conv.parameters())
for q in params:
    q.requires_grad_(True)
opt = torch.optim.AdamW(params, lr=a.lr, weight_decay=0.0, betas=(0.9, 0.99))
step, wall0 = 0, 0.0
gen = torch.Generator().manual_seed(2)
if a.resume and ck.exists():
    s = torch.load(ck)
    opt.load_state_dict(s["opt"]); step, wall0 = s["step"], s["wall"]
    gen.manual_seed(2000 + step)
before = heldout_quality() if not a.resume else None
settings = vars(a) | {"train_images": len(train_idx), "trainable_params": sum(q.numel() for q in params)}
log = common.RunLog("vae_decoder", settings)
if before:
    log.d["heldout_before"] = before
print("before", before, flush=True)

# The posterior's log-variance is needed for noisy latents: one encoder pass per image, cached lazily.
logvar = {}


def noisy(i, z):
    if i not in logvar:
        with torch.no_grad():
            logvar[i] = vae.encode(common.to_model(imgs[i:i + 1])).latent_dist.logvar[0]
    return z + torch.randn(z.shape, generator=gen) * (0.5 * logvar[i]).exp()


def save():
    torch.save({"decoder": vae.decoder.state_dict(), "post_quant_conv": vae.post_quant_conv.state_dict(),
                "opt": opt.state_dict(), "step": step, "wall": wall0 + time.time() - t0}, ck)
    log.save()


t0 = time.time(); deadline = t0 + a.minutes * 60; last_ck = t0; acc = []
c = a.crop
while time.time() < deadline:
    sel = train_idx[torch.randint(len(train_idx), (a.batch,), generator=gen)].tolist()
    oy, ox = torch.randint(0, 32 - c + 1, (2,), generator=gen).tolist()
    zs = []
    for i in sel:
        z = lat_all[i]
        zs.append(noisy(i, z) if torch.rand(1, generator=gen).item() < a.noise else z)
    z = torch.stack(zs)[:, :, oy:oy + c, ox:ox + c]
    x = common.to_model(imgs[sel])[:, :1, oy * 8:(oy + c) * 8, ox * 8:(ox + c) * 8]
    rec = vae.decode(z).sample.mean(1, keepdim=True)
    l1 = (rec - x).abs().mean()
    gl = common.grad_l1(rec, x)
    fl = (torch.fft.rfft2(rec).abs() - torch.fft.rfft2(x).abs()).abs().mean() / (c * 8)
    loss = l1 + 0.5 * gl + a.fft * fl + a.mse * ((rec - x) ** 2).mean()
    for g in opt.param_groups:
        g["lr"] = a.lr * min(1.0, (step + 1) / 50)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    step += 1
    acc.append((loss.item(), l1.item(), gl.item(), fl.item()))
    if step % 20 == 0:
        m = torch.tensor(acc).mean(0).tolist(); acc = []
        w = wall0 + time.time() - t0
        log.log(step, w, loss=m[0], l1=m[1], grad_l1=m[2], fft=m[3])
        print(f"step {step} wall {w:.0f}s loss {m[0]:.4f} l1 {m[1]:.4f} grad {m[2]:.4f} fft {m[3]:.4f}", flush=True)
    if time.time() - last_ck > 180:
        save(); last_ck = time.time()
after = heldout_quality()
log.d["heldout_after"] = after
print("after", after, flush=True)
save()
print("done", step, flush=True)
