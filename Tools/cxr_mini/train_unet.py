"""Stage 3: train the cxr-mini UNet and CLIP text encoder jointly on cached latents (epsilon prediction).

Run (from the repo root, in the background):
  nohup nice -n 10 /work/venv/bin/python Tools/cxr_mini/train_unet.py --minutes 42 [--resume] > /work/train-state/unet.log 2>&1 &
Latents: /work/train-state/latents.pt (x scaling_factor), light latent augmentation (random +-1 latent-pixel
shift with edge padding = 8 px; no flips). Prompts: prompts.candidates(), one random phrasing per step, 10% empty
(classifier-free-guidance dropout). AdamW, linear warmup then constant lr, EMA of both models.
Checkpoint: /work/train-state/unet.pt (every 3 minutes and at the end). Log: Tools/cxr_mini/runs/unet.json.
"""
import common, prompts
import argparse, copy, random, time
import torch
import torch.nn.functional as F
from diffusers import UNet2DConditionModel
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

p = argparse.ArgumentParser()
p.add_argument("--minutes", type=float, default=42)
p.add_argument("--batch", type=int, default=16)
p.add_argument("--lr", type=float, default=8e-4)
p.add_argument("--warmup", type=int, default=150)
p.add_argument("--ema", type=float, default=0.999)
p.add_argument("--drop", type=float, default=0.1)
p.add_argument("--resume", action="store_true")
a = p.parse_args()
torch.set_num_threads(int(__import__("os").environ.get("CXR_THREADS", "2")))
torch.manual_seed(0)
rng = random.Random(0)

rows = common.load_rows()
boxes = prompts.load_boxes()
L = torch.load(common.STATE / "latents.pt")
assert L["names"] == [r["filename"] for r in rows]
sf = L["scaling_factor"]
train_idx = [i for i, r in enumerate(rows) if not r["heldout"] and bool(L["done"][i])]
cands = {i: prompts.candidates(rows[i], boxes) for i in train_idx}
lat = L["latents"] * sf
tok = CLIPTokenizer.from_pretrained(str(common.STATE / "tokenizer"))
unet = UNet2DConditionModel(**common.UNET_CONFIG)
text = CLIPTextModel(CLIPTextConfig(**common.TEXT_CONFIG))
params = list(unet.parameters()) + list(text.parameters())
opt = torch.optim.AdamW(params, lr=a.lr, weight_decay=1e-2, betas=(0.9, 0.999))
ema_u, ema_t = copy.deepcopy(unet).requires_grad_(False), copy.deepcopy(text).requires_grad_(False)
ck = common.STATE / "unet.pt"
step, wall0 = 0, 0.0
if a.resume and ck.exists():
    s = torch.load(ck)
    unet.load_state_dict(s["unet"]); text.load_state_dict(s["text"]); opt.load_state_dict(s["opt"])
    ema_u.load_state_dict(s["ema_unet"]); ema_t.load_state_dict(s["ema_text"]); step = s["step"]; wall0 = s["wall"]
    rng.seed(step); torch.manual_seed(step)
settings = vars(a) | {"unet_config": common.UNET_CONFIG, "text_config": common.TEXT_CONFIG,
                      "scaling_factor": sf, "train_images": len(train_idx),
                      "params": {"unet": sum(p.numel() for p in unet.parameters()),
                                 "text_encoder": sum(p.numel() for p in text.parameters())}}
log = common.RunLog("unet", settings)
alphas = common.training_alphas_cumprod()
t0 = time.time(); deadline = t0 + a.minutes * 60; last_ck = t0; acc = []


def save():
    common.save_checkpoint({"unet": unet.state_dict(), "text": text.state_dict(), "opt": opt.state_dict(),
                "ema_unet": ema_u.state_dict(), "ema_text": ema_t.state_dict(), "step": step,
                "wall": wall0 + time.time() - t0, "scaling_factor": sf}, ck)
    log.save()


def shift(z):
    """Random integer shift of -1..1 latent pixels per axis, edge padded (= about 8 px in the image)."""
    dy, dx = rng.randint(-1, 1), rng.randint(-1, 1)
    if dy == 0 and dx == 0:
        return z
    z = F.pad(z, (1, 1, 1, 1), mode="replicate")
    return z[:, :, 1 + dy:33 + dy, 1 + dx:33 + dx]


unet.train(); text.train()
while time.time() < deadline:
    idx = [rng.choice(train_idx) for _ in range(a.batch)]
    z0 = torch.stack([shift(lat[i:i + 1])[0] for i in idx])
    caps = ["" if rng.random() < a.drop else rng.choice(cands[i]) for i in idx]
    ids = common.token_ids(tok, caps)
    t = torch.randint(0, 1000, (a.batch,))
    noise = torch.randn_like(z0)
    ab = alphas[t].view(-1, 1, 1, 1)
    zt = ab.sqrt() * z0 + (1 - ab).sqrt() * noise
    h = text(ids).last_hidden_state
    pred = unet(zt, t, encoder_hidden_states=h).sample
    loss = F.mse_loss(pred, noise)
    for g in opt.param_groups:
        g["lr"] = a.lr * min(1.0, (step + 1) / a.warmup)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    step += 1
    d = min(a.ema, (1 + step) / (10 + step))
    with torch.no_grad():
        for m, e in ((unet, ema_u), (text, ema_t)):
            for pe, pm in zip(e.parameters(), m.parameters()):
                pe.lerp_(pm, 1 - d)
    acc.append(loss.item())
    if step % 25 == 0:
        w = wall0 + time.time() - t0
        log.log(step, w, loss=sum(acc) / len(acc)); 
        print(f"step {step} wall {w:.0f}s loss {sum(acc) / len(acc):.4f}", flush=True); acc = []
    if time.time() - last_ck > 180:
        save(); last_ck = time.time()
save()
print("done", step, flush=True)
