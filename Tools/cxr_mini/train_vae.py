"""Stage 1: train the cxr-mini AutoencoderKL on CPU.

Run (from the repo root, in the background):
  nohup nice -n 10 /work/venv/bin/python Tools/cxr_mini/train_vae.py --minutes 22 [--resume] > /work/train-state/vae.log 2>&1 &
Loss: L1 + 0.5 * L1 of image gradients (edge/perceptual proxy) + 1e-6 * KL. Random 128x128 crops of
lightly augmented 256x256 training images (the VAE is convolutional; the mid attention sees 16x16 latents).
Checkpoint: /work/train-state/vae.pt (every 2 minutes and at the end). Log: Tools/cxr_mini/runs/vae.json.
"""
import common
import argparse, time
import torch
from diffusers import AutoencoderKL

p = argparse.ArgumentParser()
p.add_argument("--minutes", type=float, default=22)
p.add_argument("--batch", type=int, default=8)
p.add_argument("--crop", type=int, default=128)
p.add_argument("--lr", type=float, default=5e-4)
p.add_argument("--kl", type=float, default=1e-6)
p.add_argument("--resume", action="store_true")
a = p.parse_args()
torch.set_num_threads(int(__import__("os").environ.get("CXR_THREADS", "2")))
torch.manual_seed(0)

rows = common.load_rows()
imgs = common.load_images(rows)
train_idx = torch.tensor([i for i, r in enumerate(rows) if not r["heldout"]])
vae = AutoencoderKL(**common.VAE_CONFIG)
opt = torch.optim.AdamW(vae.parameters(), lr=a.lr, weight_decay=0.0, betas=(0.9, 0.99))
ck = common.STATE / "vae.pt"
step, wall0 = 0, 0.0
gen = torch.Generator().manual_seed(1)
if a.resume and ck.exists():
    s = torch.load(ck)
    vae.load_state_dict(s["model"]); opt.load_state_dict(s["opt"]); step = s["step"]; wall0 = s["wall"]
    gen.manual_seed(1000 + step)
settings = vars(a) | {"config": common.VAE_CONFIG, "params": sum(p.numel() for p in vae.parameters()),
                      "train_images": len(train_idx)}
log = common.RunLog("vae", settings)
t0 = time.time()
deadline = t0 + a.minutes * 60
last_ck = t0
acc = []


def save():
    common.save_checkpoint({"model": vae.state_dict(), "opt": opt.state_dict(), "step": step, "wall": wall0 + time.time() - t0}, ck)
    log.save()


vae.train()
while time.time() < deadline:
    sel = train_idx[torch.randint(len(train_idx), (a.batch,), generator=gen)]
    x = common.augment(common.to_model(imgs[sel])[:, :1], gen)
    oy, ox = torch.randint(0, 256 - a.crop + 1, (2,), generator=gen).tolist()
    x = x[:, :, oy:oy + a.crop, ox:ox + a.crop].expand(-1, 3, -1, -1)
    post = vae.encode(x).latent_dist
    z = post.sample(generator=gen)
    rec = vae.decode(z).sample
    l1 = (rec - x).abs().mean()
    gl = common.grad_l1(rec, x)
    kl = post.kl().mean()
    loss = l1 + 0.5 * gl + a.kl * kl
    for g in opt.param_groups:
        g["lr"] = a.lr * min(1.0, (step + 1) / 100)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
    opt.step()
    step += 1
    acc.append((loss.item(), l1.item(), gl.item(), kl.item()))
    if step % 20 == 0:
        m = torch.tensor(acc).mean(0).tolist(); acc = []
        w = wall0 + time.time() - t0
        log.log(step, w, loss=m[0], l1=m[1], grad_l1=m[2], kl=m[3])
        print(f"step {step} wall {w:.0f}s loss {m[0]:.4f} l1 {m[1]:.4f} grad {m[2]:.4f} kl {m[3]:.1f}", flush=True)
    if time.time() - last_ck > 120:
        save(); last_ck = time.time()
save()
print("done", step, flush=True)
