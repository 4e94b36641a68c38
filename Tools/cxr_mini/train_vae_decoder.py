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
The third run (--rendered; not kept, see the model card) tried to remove what the second cost: trained on
posterior means only, the sharper decoder draws an 8-px grid and bright blotches on the UNets' own latents
(guidance 16 pushes them off the encoder's distribution). With --rendered, that share of each batch decodes a UNet
rendering of a training image (SDEdit with the 4-channel UNet, or the inpainting UNet inside one of the image's
finding masks; strength 0.2-0.6, guidance 4 or 16, DDIM 50, the image's own training prompt; --renderings of them
built once and cached in decoder_renderings.pt) with the original image as the target. The log then adds
rendered_psnr: the same 64 held-out images rendered by the 4-channel UNet (strength 0.4, guidance 16, fixed seeds),
decoded and compared with the input.
The fourth run (--adversarial; not kept, see the model card) adds a PatchGAN term (patch_discriminator.py) on
decoded renderings and txt2img latents of the 4-channel UNet (built once, decoder_generated.pt), whose weight is
scaled to the reconstruction's gradient at the decoder's last layer; the critic is warmed up first on cached decodes
(--disc-warmup) and checkpointed beside the decoder (patch_discriminator.pt).
"""
import argparse, os, random, time
import numpy as np
import torch
import common, findings, metrics
from patch_discriminator import PatchDiscriminator, critic_loss, generator_loss
from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel
from transformers import CLIPTextModel, CLIPTokenizer

p = argparse.ArgumentParser()
p.add_argument("--minutes", type=float, default=25)
p.add_argument("--batch", type=int, default=8)
p.add_argument("--crop", type=int, default=16, help="latent crop (x8 pixels)")
p.add_argument("--lr", type=float, default=2e-4)
p.add_argument("--fft", type=float, default=0.1)
p.add_argument("--noise", type=float, default=0.5,
               help="share of latents drawn from the posterior instead of its mean (0: posterior means only)")
p.add_argument("--mse", type=float, default=0.0, help="weight of a pixel MSE term (PSNR is an MSE measure)")
p.add_argument("--rendered", type=float, default=0.0,
               help="share of each batch decoded from UNet renderings of the image (target: the original)")
p.add_argument("--renderings", type=int, default=1536, help="training renderings to build (once) and cache")
p.add_argument("--adversarial", type=float, default=0.0,
               help="weight of a PatchGAN loss on decoded UNet renderings and generated latents (0: off)")
p.add_argument("--adv-batch", type=int, default=2, help="renderings / generated latents decoded per step for it")
p.add_argument("--disc-lr", type=float, default=2e-4)
p.add_argument("--adv-start", type=int, default=0,
               help="steps of this run that train the discriminator alone before the decoder feels it")
p.add_argument("--disc-warmup", type=int, default=600,
               help="discriminator steps (8 real, 8 fake) on the decoder's present decodes before the loop, when it "
                    "starts afresh: trained only inside the loop (2 + 2 new images a step) it stayed at chance")
p.add_argument("--generated", type=int, default=96, help="txt2img latents (4-channel UNet) to build once and cache")
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


class Renderer:
    """SDEdit renderings with the bundled UNets (DDIM 50, classifier-free guidance), as the edit pipeline makes them."""

    def __init__(self):
        self.tok = CLIPTokenizer.from_pretrained(str(common.MODEL_DIR / "tokenizer"))
        self.text = CLIPTextModel.from_pretrained(str(common.MODEL_DIR / "text_encoder"), torch_dtype=torch.float32).eval()
        self.unet = UNet2DConditionModel.from_pretrained(str(common.MODEL_DIR / "unet"), torch_dtype=torch.float32).eval()
        self.inpaint = UNet2DConditionModel.from_pretrained(str(common.MODEL_DIR / "unet-inpaint"),
                                                            torch_dtype=torch.float32).eval()
        self.sched = DDIMScheduler(**common.SCHED_KW)
        self.sf = vae.config.scaling_factor

    @torch.no_grad()
    def embed(self, prompts):
        return self.text(common.token_ids(self.tok, prompts)).last_hidden_state

    @torch.no_grad()
    def __call__(self, z0, prompts, strength, guidance, gen, mask=None, masked=None):
        """Unscaled latents in, unscaled rendered latents out; mask/masked (scaled) select the inpainting UNet."""
        self.sched.set_timesteps(50)
        steps = self.sched.timesteps[50 - int(50 * strength):]
        h = torch.cat([self.embed([""] * len(prompts)), self.embed(prompts)])
        z = self.sched.add_noise(z0 * self.sf, torch.randn(z0.shape, generator=gen), steps[:1])
        for t in steps:
            x = torch.cat([z, z])
            if mask is not None:
                x = torch.cat([x, torch.cat([mask, mask]), torch.cat([masked, masked])], 1)
            eu, ec = (self.inpaint if mask is not None else self.unet)(x, t, encoder_hidden_states=h).sample.chunk(2)
            z = self.sched.step(eu + guidance * (ec - eu), t, z).prev_sample
        return z / self.sf


def heldout_rendered(cache=common.STATE / "decoder_heldout_renderings.pt"):
    """The 64 held-out images rendered by the 4-channel UNet (strength 0.4, guidance 16, own prompt), built once
    (the UNets and the text encoder are loaded only then)."""
    if cache.exists():
        return torch.load(cache)
    renderer = Renderer()
    boxes, _ = findings.box_sides_and_severity()
    rng, gen = random.Random(5), torch.Generator().manual_seed(5)
    with torch.no_grad():
        z0 = vae.encode(common.to_model(imgs[subset])).latent_dist.mean
    prompts = [findings.training_prompt(findings.describe(rows[k], boxes), rng, absent_p=0, omit_p=0) for k in subset]
    z = torch.cat([renderer(z0[i:i + 16], prompts[i:i + 16], 0.4, 16.0, gen) for i in range(0, 64, 16)])
    torch.save(z, cache)
    return z


def rendered_quality(z):
    """PSNR of the decoded held-out renderings against the inputs they were rendered from."""
    vae.eval()
    with torch.no_grad():
        rec = torch.cat([vae.decode(z[i:i + 16]).sample.mean(1) for i in range(0, 64, 16)])
    vae.train()
    rec = ((rec.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).numpy()
    return {"rendered_psnr_db_mean": float(np.mean([metrics.psnr(imgs[k].numpy(), rec[j])
                                                     for j, k in enumerate(subset)]))}


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
    print(heldout_quality(), rendered_quality(heldout_rendered())); raise SystemExit
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


def training_renderings(n, cache=common.STATE / "decoder_renderings.pt"):
    """n renderings of random training images in batches of 16 (half 4-channel, half inpainting), built once."""
    if cache.exists():
        return torch.load(cache)
    renderer = Renderer()
    rng, g = random.Random(3), torch.Generator().manual_seed(3)
    sf = D["scaling_factor"]
    js, zs = [], []
    for b in range(n // 16):
        j = [rng.randrange(len(train_idx)) for _ in range(16)]
        z0 = lat_all[train_idx[j]]
        prompts = [findings.training_prompt(D["desc"][k], rng) for k in j]
        strength, guidance = rng.uniform(0.2, 0.6), rng.choice([4.0, 16.0])
        if b % 2:
            k = [rng.randrange(D["masks32"].shape[1]) for _ in j]
            mask = torch.stack([D["masks32"][i, m] for i, m in zip(j, k)]).float()[:, None]
            masked = torch.stack([D["masked_latents"][i, m] for i, m in zip(j, k)]).float() * sf
            zs.append(renderer(z0, prompts, strength, guidance, g, mask, masked))
        else:
            zs.append(renderer(z0, prompts, strength, guidance, g))
        js += j
        print(f"rendered {len(js)}/{n}", flush=True)
    out = {"j": torch.tensor(js), "latents": torch.cat(zs)}
    torch.save(out, cache)
    return out


def generated_latents(n, cache=common.STATE / "decoder_generated.pt"):
    """n txt2img latents of the 4-channel UNet (DDIM 50 from noise, guidance 4 or 16, training prompts of random
    training images; seeds apart from the comparison sheets'), built once: where the grid shows most."""
    if cache.exists():
        return torch.load(cache)
    renderer = Renderer()
    rng, g = random.Random(11), torch.Generator().manual_seed(11)
    zs = []
    for b in range(n // 16):
        prompts = [findings.training_prompt(D["desc"][rng.randrange(len(train_idx))], rng) for _ in range(16)]
        zs.append(renderer(torch.zeros(16, 4, 32, 32), prompts, 1.0, rng.choice([4.0, 16.0]), g))
        print(f"generated {16 * (b + 1)}/{n}", flush=True)
    out = torch.cat(zs)
    torch.save(out, cache)
    return out


R = training_renderings(a.renderings) if a.rendered > 0 or a.adversarial > 0 else None
if a.adversarial > 0:
    fakes = torch.cat([R["latents"], generated_latents(a.generated)])
    disc = PatchDiscriminator()
    opt_d = torch.optim.AdamW(disc.parameters(), lr=a.disc_lr, weight_decay=0.0, betas=(0.5, 0.9))
    dk = common.STATE / "patch_discriminator.pt"
    if a.resume and dk.exists():
        sd = torch.load(dk); disc.load_state_dict(sd["disc"]); opt_d.load_state_dict(sd["opt"])
held_rendered = heldout_rendered()
before = (heldout_quality() | rendered_quality(held_rendered)) if not a.resume else None
settings = vars(a) | {"train_images": len(train_idx), "trainable_params": sum(q.numel() for q in params)}
log = common.RunLog("vae_decoder", settings)
if before:
    log.d["heldout_before"] = before
print("before", before, flush=True)

if a.adversarial > 0 and not (a.resume and dk.exists()):
    with torch.no_grad():
        vae.eval()
        cached = torch.cat([vae.decode(fakes[i:i + 16]).sample.mean(1, keepdim=True) for i in range(0, len(fakes), 16)])
        vae.train()
    acc = []
    for k in range(a.disc_warmup):
        f = cached[torch.randint(len(cached), (8,), generator=gen)]
        r = common.to_model(imgs[train_idx[torch.randint(len(train_idx), (8,), generator=gen)]])[:, :1]
        d_loss = critic_loss(disc(r), disc(f))
        opt_d.zero_grad(set_to_none=True); d_loss.backward(); opt_d.step()
        acc.append(d_loss.item())
        if (k + 1) % 50 == 0:
            print(f"critic warm-up {k + 1}: {sum(acc) / len(acc):.3f}", flush=True); acc = []
    del cached

# The posterior's log-variance is needed for noisy latents: one encoder pass per image, cached lazily.
logvar = {}


def noisy(i, z):
    if i not in logvar:
        with torch.no_grad():
            logvar[i] = vae.encode(common.to_model(imgs[i:i + 1])).latent_dist.logvar[0]
    return z + torch.randn(z.shape, generator=gen) * (0.5 * logvar[i]).exp()


def save():
    common.save_checkpoint({"decoder": vae.decoder.state_dict(), "post_quant_conv": vae.post_quant_conv.state_dict(),
                "opt": opt.state_dict(), "step": step, "wall": wall0 + time.time() - t0}, ck)
    if a.adversarial > 0:
        common.save_checkpoint({"disc": disc.state_dict(), "opt": opt_d.state_dict()}, dk)
    log.save()


t0 = time.time(); deadline = t0 + a.minutes * 60; last_ck = t0; acc = []; run_steps = 0
c = a.crop
while time.time() < deadline:
    sel = train_idx[torch.randint(len(train_idx), (a.batch,), generator=gen)].tolist()
    oy, ox = torch.randint(0, 32 - c + 1, (2,), generator=gen).tolist()
    zs = []
    n_rendered = int(round(a.rendered * a.batch))
    for b, i in enumerate(sel):
        z = lat_all[i]
        zs.append(noisy(i, z) if torch.rand(1, generator=gen).item() < a.noise else z)
    for b in range(n_rendered):  # the first ones become renderings; the target stays the original image
        r = torch.randint(len(R["j"]), (1,), generator=gen).item()
        sel[b] = train_idx[R["j"][r]].item()
        zs[b] = R["latents"][r]
    z = torch.stack(zs)[:, :, oy:oy + c, ox:ox + c]
    x = common.to_model(imgs[sel])[:, :1, oy * 8:(oy + c) * 8, ox * 8:(ox + c) * 8]
    rec = vae.decode(z).sample.mean(1, keepdim=True)
    l1 = (rec - x).abs().mean()
    gl = common.grad_l1(rec, x)
    fl = (torch.fft.rfft2(rec).abs() - torch.fft.rfft2(x).abs()).abs().mean() / (c * 8)
    loss = l1 + 0.5 * gl + a.fft * fl + a.mse * ((rec - x) ** 2).mean()
    adv = d_loss = torch.zeros(())
    if a.adversarial > 0:
        # Fakes: whole decoded renderings / generated latents (no pixel target). Reals: whole training images.
        pick = torch.randint(len(fakes), (a.adv_batch,), generator=gen)
        with torch.set_grad_enabled(run_steps >= a.adv_start):
            fake = vae.decode(fakes[pick]).sample.mean(1, keepdim=True)
        real = common.to_model(imgs[train_idx[torch.randint(len(train_idx), (a.adv_batch,), generator=gen)]])[:, :1]
        if run_steps >= a.adv_start:
            disc.requires_grad_(False)
            adv = generator_loss(disc(fake))
            # Adaptive weight (as VQGAN): the adversarial gradient at the decoder's last layer scaled to the
            # reconstruction's, so --adversarial is a share of it, whatever the two losses' magnitudes.
            last = vae.decoder.conv_out.weight
            g_rec = torch.autograd.grad(loss, last, retain_graph=True)[0]
            g_adv = torch.autograd.grad(adv, last, retain_graph=True)[0]
            scale = (g_rec.norm() / (g_adv.norm() + 1e-4)).clamp(0, 1e4).detach()
            loss = loss + a.adversarial * scale * adv
            disc.requires_grad_(True)
    for g in opt.param_groups:
        g["lr"] = a.lr * min(1.0, (step + 1) / 50)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    if a.adversarial > 0:  # after the decoder's backward: it needed the discriminator's weights as they were
        opt_d.zero_grad(set_to_none=True)
        d_loss = critic_loss(disc(real), disc(fake.detach()))
        d_loss.backward()
        opt_d.step()
    step += 1; run_steps += 1
    acc.append((loss.item(), l1.item(), gl.item(), fl.item(), adv.item(), d_loss.item()))
    if step % 20 == 0:
        m = torch.tensor(acc).mean(0).tolist(); acc = []
        w = wall0 + time.time() - t0
        log.log(step, w, loss=m[0], l1=m[1], grad_l1=m[2], fft=m[3], adversarial=m[4], critic=m[5])
        print(f"step {step} wall {w:.0f}s loss {m[0]:.4f} l1 {m[1]:.4f} grad {m[2]:.4f} fft {m[3]:.4f} "
              f"adv {m[4]:.3f} critic {m[5]:.3f}", flush=True)
    if time.time() - last_ck > 180:
        save(); last_ck = time.time()
after = heldout_quality() | rendered_quality(held_rendered)
log.d["heldout_after"] = after
print("after", after, flush=True)
save()
print("done", step, flush=True)
