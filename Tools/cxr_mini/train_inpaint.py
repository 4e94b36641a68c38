"""Stage 5b: train cxr-mini's 9-channel inpainting UNet (SD-inpainting layout) for regional finding edits.

Run (from the repo root, in the background; resumes with --resume):
  nohup nice -n 10 /work/venv/bin/python Tools/cxr_mini/train_inpaint.py --minutes 120 [--resume] \
      > /work/train-state/inpaint.log 2>&1 &
Runs on a CUDA GPU when one is present (then raise --batch, add --bf16; device_train.sh does both), else on CPU
(CXR_THREADS, default 2). --width 2 trains a wider UNet (channels doubled, attention still at the two lower
resolutions) from scratch instead of going on from the 4-channel one: too slow for these CPUs, quick on a GPU.

Input of the UNet: noisy latents (4) + mask at latent size (1) + latents of the masked image (4), as
StableDiffusionInpaintPipeline feeds it. Warm start: the 4-channel cxr-mini UNet (conv_in's extra 5 input
channels start at zero, as SD-inpainting was made from SD). The text encoder and VAE are frozen, so the
4-channel UNet stays valid beside this one; --train-text trains the encoder too, and the 4-channel UNet with it on
the same noisy latents and prompts (the whole image), so that all three stay matched (checkpoint and export carry
all three). Data: prepare_inpaint.py (six finding-extent masks per image).
Prompts: findings.py, the composer's language ("Frontal chest radiograph." + presence sentences, each target's
left out a quarter of the time; absence sentences for `--remove`), 10% empty for classifier-free guidance.
Findings are balanced (see pick()): positives mostly with the mask of their own finding (that is where the model
must learn to draw it), removal examples (a negative with the finding's mask and its absence sentence), the rest
uniform.
--swap: region swaps between patients (pick(), shifted()): the finding's area of a positive filled from a negative
under the absence sentence, and the other way round, so the sentence, not the rest of the film, decides the area.
--translate: effusion and pneumothorax removal examples that start where a `--remove` edit starts, from the
positive's own noisy latents (the opacity in them), and are asked under the absence sentence for the composite that
--swap makes (a negative's area inside the mask): ordinary denoising examples never show noisy latents holding a
finding with a target without it, so the model kept the opacity whatever the prompt said.
--pseudo: the same kind of start with the patient's own healthy film as the target: a negative with an effusion
drawn into its film inside its effusion mask (pseudo_findings.py) is noised, and the target is the negative as it
is, under the absence sentence: pairs of one patient with and without the finding, which the data does not hold.
Loss: epsilon MSE, weighted --inside-weight x inside the mask (outside, the masked-image latents give the answer away).
Checkpoint: /work/train-state/inpaint.pt every 3 minutes; log: Tools/cxr_mini/runs/inpaint.json.
"""
import argparse, copy, math, os, random, time
import torch
import torch.nn.functional as F
import common, findings
from diffusers import UNet2DConditionModel
from transformers import CLIPTextModel, CLIPTokenizer

p = argparse.ArgumentParser()
p.add_argument("--minutes", type=float, default=120)
p.add_argument("--batch", type=int, default=16)
p.add_argument("--lr", type=float, default=4e-4)
p.add_argument("--warmup", type=int, default=200)
p.add_argument("--ema", type=float, default=0.999)
p.add_argument("--drop", type=float, default=0.1)
p.add_argument("--inside-weight", type=float, default=3.0)
p.add_argument("--bf16", action="store_true",
               help="bf16 autocast (fp32 weights and optimizer; CPUs with AVX512-BF16/AMX, GPUs)")
p.add_argument("--max-steps", type=int, default=0, help="stop after this many steps in total (0 = time limit only)")
p.add_argument("--t-max", type=int, default=1000,
               help="draw most timesteps below this (regional edits start at strength 0.8, i.e. t < 800)")
p.add_argument("--t-full", type=float, default=0.15, help="share of timesteps still drawn over the full range")
p.add_argument("--omit", type=float, default=0.25,
               help="chance that a target finding's presence sentence is left out (the base prompt means 'not stated')")
p.add_argument("--absent", type=float, default=0.4, help="chance of pertinent-negative sentences on other images")
p.add_argument("--removal", type=float, default=0.15,
               help="share of removal examples (a negative, a finding's mask, its absence sentence); at most 0.375")
p.add_argument("--removal-weights", default="1,1,1",
               help="relative shares of cardiomegaly, effusion and pneumothorax among the removal examples (equal by "
                    "default; e.g. 1,1,0.25 gives pneumothorax, whose removal the model has not learnt, fewer of the "
                    "absence sentences that may teach it 'No pneumothorax.' as normal lung)")
p.add_argument("--swap", type=float, default=0.0,
               help="share of removal and finding examples whose region comes from another patient: a positive "
                    "whose finding's area holds a negative's latents, with the absence sentence (what --remove asks "
                    "where the rest of the film still looks ill), and a negative holding a positive's area, with the "
                    "presence sentence")
p.add_argument("--translate", type=float, default=0.0,
               help="share of the effusion and pneumothorax removal examples that start from a positive: the noisy "
                    "latents are the positive's own (its finding and all, as a --remove edit's are), the target its "
                    "finding's area filled from a negative (as --swap), the prompt the absence sentence")
p.add_argument("--translate-t-min", type=int, default=300,
               help="timesteps of translation examples lie in [this, --t-max): below it the target's noise blows up")
p.add_argument("--pseudo", type=float, default=0.0,
               help="share of the effusion removal examples made from STATE/pseudo_findings.pt: the noisy latents are "
                    "a negative's film with an effusion drawn in, the target the film itself, the prompt the absence "
                    "sentence (a translation whose target is the same patient)")
p.add_argument("--resume", action="store_true", help="go on from STATE/inpaint.pt (its own config: --width is ignored)")
p.add_argument("--width", type=int, default=1,
               help="channel multiplier of a fresh start (1 = the 4-channel UNet's shape, warm-started from it; "
                    "2 = doubled, random init)")
p.add_argument("--log", default="inpaint", help="run log runs/LOG.json (a new model shape gets its own)")
p.add_argument("--log-every", type=int, default=25, help="steps between loss prints / log points")
p.add_argument("--anneal", action="store_true",
               help="cosine-decay the learning rate to 10%% over this run's time budget (a session's last run)")
p.add_argument("--train-text", action="store_true",
               help="train the text encoder with this UNet, and the 4-channel UNet (unet/) on the same batches so "
                    "that it stays valid beside the new encoder; the frozen encoder places a finding's absence "
                    "sentence near its presence sentence (text_contrast.py). Export writes all three.")
p.add_argument("--text-lr", type=float, default=1e-4, help="learning rate of the text encoder under --train-text")
p.add_argument("--init", choices=["unet", "export", "widen"], default="unet",
               help="fresh start from the 4-channel UNet (unet) or from the exported 9-channel one (export: a later "
                    "session whose checkpoint is gone goes on from the committed model; optimizer and EMA restart); "
                    "widen: the exported one made twice as wide with the same function (widen.py), a new log")
a = p.parse_args()
assert 0 <= a.removal <= 0.375, "--removal must lie in [0, 0.375]"
REMOVAL_WEIGHTS = [float(w) for w in a.removal_weights.split(",")]
assert len(REMOVAL_WEIGHTS) == 3 and min(REMOVAL_WEIGHTS) >= 0 < sum(REMOVAL_WEIGHTS), \
    "--removal-weights: three non-negative numbers (cardiomegaly, effusion, pneumothorax), not all zero"
assert not (a.swap and a.translate), "--swap and --translate are two ways to make a removal's target: give one"
assert a.width == 1 or a.init == "unet", "--width is a fresh start; --init export/widen set the shape themselves"
assert a.init != "widen" or a.log != "inpaint", "a widened model keeps its own run log (--log NAME)"
torch.set_num_threads(int(os.environ.get("CXR_THREADS", "2")))
dev = "cuda" if torch.cuda.is_available() else "cpu"
if dev == "cuda":  # fp32 parts (loss, optimizer) on tensor cores too; fixed shapes, so let cuDNN pick its kernels
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    torch.backends.cudnn.benchmark = True
torch.manual_seed(0)
rng = random.Random(0)

D = torch.load(common.STATE / "inpaint_data.pt", weights_only=False)
sf = D["scaling_factor"]
lat = (D["latents"][D["train_idx"]] * sf).to(dev)
mlat = (D["masked_latents"].float() * sf).to(dev)
m32 = D["masks32"].float().to(dev)
metas, descs = D["meta"], D["desc"]
N, K = m32.shape[:2]
groups = {fid: [j for j in range(N) if any(i == fid for i, _, _ in descs[j])] for fid in findings.TARGETS}
lacking = {fid: [j for j in range(N) if all(i != fid for i, _, _ in descs[j])] for fid in findings.TARGETS}
slot_of = {slot: k for k, slot in enumerate(D["slots"])}  # (finding, side) -> mask slot, as prepare_inpaint.py drew

# --pseudo: the same negatives with an effusion drawn into their own films (pseudo_findings.py), by finding.
bank = torch.load(common.STATE / "pseudo_findings.pt") if a.pseudo else None
if bank is not None:
    bank_lat = (bank["latents"].float() * sf).to(dev)
    bank_of = {fid: [b for b, f in enumerate(bank["finding"]) if f == fid] for fid in findings.TARGETS}

tok = CLIPTokenizer.from_pretrained(str(common.MODEL_DIR / "tokenizer"))
text = CLIPTextModel.from_pretrained(str(common.MODEL_DIR / "text_encoder"), torch_dtype=torch.float32).to(dev)
text.requires_grad_(a.train_text).train(a.train_text)
base = UNet2DConditionModel.from_pretrained(str(common.MODEL_DIR / "unet"), torch_dtype=torch.float32)
cfg = dict(base.config) | {"in_channels": 9}
cfg = {k: v for k, v in cfg.items() if not k.startswith("_")}
cfg["block_out_channels"] = [c * a.width for c in cfg["block_out_channels"]]
ck = common.STATE / "inpaint.pt"
ckpt = torch.load(ck, map_location=dev) if a.resume and ck.exists() else None
if ckpt is not None and "config" in ckpt:
    cfg = ckpt["config"]  # the checkpoint's shape, whatever --width says
elif a.init == "export":  # the committed shape (the 4-channel one's, unless a wider model was committed)
    cfg = {k: v for k, v in UNet2DConditionModel.load_config(str(common.MODEL_DIR / "unet-inpaint")).items()
           if not k.startswith("_")}
if a.init == "widen" and ckpt is None:
    # The committed unet-inpaint has been the widened one since December 7, 2026: widening it again would give a
    # 66M-parameter UNet far over the model folder's 60 MB.
    committed = UNet2DConditionModel.load_config(str(common.MODEL_DIR / "unet-inpaint"))["block_out_channels"]
    if list(committed) != list(base.config.block_out_channels):
        raise SystemExit(f"--init widen: the committed unet-inpaint is already wider than unet/ ({list(committed)}); "
                         "go on from it with --init export")
    from widen import widen_unet
    unet = widen_unet(UNet2DConditionModel.from_pretrained(str(common.MODEL_DIR / "unet-inpaint"),
                                                           torch_dtype=torch.float32))
    cfg = {k: v for k, v in unet.config.items() if not k.startswith("_")}
    # Steps count from 0 in the new log; where the widened model started is recorded in its settings.
    prev = common.json.loads((common.RUNS / "inpaint.json").read_text())
    a.widened_from = {"log": "inpaint.json", "steps": prev["steps"], "wall_s": prev["wall_s"]}
else:
    unet = UNet2DConditionModel(**cfg)
if a.init != "widen" and list(cfg["block_out_channels"]) == list(base.config.block_out_channels):
    # Warm start: the 4-channel UNet's weights, conv_in's 5 extra input channels at zero.
    sd = base.state_dict()
    w = sd["conv_in.weight"]
    sd["conv_in.weight"] = torch.cat([w, torch.zeros(w.shape[0], 5, *w.shape[2:])], 1)
    unet.load_state_dict(sd)
if a.init == "export" and ckpt is None:
    unet.load_state_dict(UNet2DConditionModel.from_pretrained(str(common.MODEL_DIR / "unet-inpaint"),
                                                              torch_dtype=torch.float32).state_dict())
# channels_last: the convolutions' preferred layout (9% faster steps on a 2-core Zen 3 for the widened UNet, eager
# fp32; torch.compile adds 5% more for two minutes of compiling per start: not used).
unet.to(dev, memory_format=torch.channels_last)
# Under --train-text the encoder and the 4-channel UNet learn beside this one (each with its own EMA and parameter
# group). lr_scales: each group's learning rate relative to --lr, kept out of the optimizer's state so that a resumed
# run's --lr/--text-lr apply (load_state_dict would bring back the saved groups' own keys).
trained, lr_scales = [unet], [1.0]
if a.train_text:
    assert ckpt is None or "text" in ckpt, "this checkpoint was not trained with --train-text"
    unet4 = base.to(dev, memory_format=torch.channels_last).train()
    trained, lr_scales = [unet, text, unet4], [1.0, a.text_lr / a.lr, 1.0]
else:
    assert ckpt is None or "text" not in ckpt, "this checkpoint trains the text encoder too: give --train-text"
opt = torch.optim.AdamW([{"params": list(m.parameters())} for m in trained], lr=a.lr, weight_decay=1e-2)
emas = [copy.deepcopy(m).requires_grad_(False) for m in trained]
ema = emas[0]
step, wall0 = 0, 0.0
if ckpt is not None:
    unet.load_state_dict(ckpt["unet"]); opt.load_state_dict(ckpt["opt"]); ema.load_state_dict(ckpt["ema"])
    if a.train_text:
        text.load_state_dict(ckpt["text"]); emas[1].load_state_dict(ckpt["ema_text"])
        unet4.load_state_dict(ckpt["unet4"]); emas[2].load_state_dict(ckpt["ema_unet4"])
    step, wall0 = ckpt["step"], ckpt["wall"]
    rng.seed(step); torch.manual_seed(step)
elif a.init == "export":
    # Count on from the committed model's run log, so steps and wall time stay totals across sessions.
    # A new log (e.g. the first --train-text run) counts on from the committed model's own log.
    own = common.RUNS / f"{a.log}.json"
    prev = common.json.loads((own if own.exists() else common.RUNS / "inpaint.json").read_text())
    step, wall0 = prev["steps"], prev["wall_s"]
    rng.seed(step); torch.manual_seed(step)
settings = vars(a) | {"device": dev, "unet_config": cfg, "train_images": N, "masks_per_image": K,
                      "positives": {k: len(v) for k, v in groups.items()},
                      "params": sum(p.numel() for p in unet.parameters()), "severity_cuts": D["severity_cuts"]}
log = common.RunLog(a.log, settings)
alphas = common.training_alphas_cumprod().to(dev)
emb_cache = {}


def embed(caps):
    if a.train_text:  # the encoder learns: no cache, gradients flow
        return text(common.token_ids(tok, caps).to(dev)).last_hidden_state
    out = []
    for c in caps:
        if c not in emb_cache:
            with torch.no_grad():
                emb_cache[c] = text(common.token_ids(tok, [c]).to(dev)).last_hidden_state[0]
        out.append(emb_cache[c])
    return torch.stack(out)


def pick():
    """(image, mask slot, absent finding, swap): balanced over the target findings, mostly with the finding's mask.

    A quarter of each batch are cardiomegaly positives, a quarter effusion positives, an eighth pneumothorax
    positives; --removal (default 15%) are removal examples (an image without a target finding, with that
    finding's mask and its absence sentence: what a `--remove` edit asks the model to paint; the finding drawn by
    --removal-weights); the rest are uniform.
    Under --swap that share of the removal and positive examples is swapped: swap = (donor image, finding), whose
    latents fill the mask (shifted()). Unswapped, a removal example's context never shows the finding and a
    positive's always does, so the model learns to paint what the context predicts; a `--remove` edit asks for
    healthy tissue beside an ill-looking film, an `--add` edit for the finding beside a healthy one.
    """
    u = rng.random()
    if 0.625 <= u < 0.625 + a.removal:
        # Equal weights keep rng.choice, so that earlier runs' random streams (and resumed runs) stay as they were.
        fid = (rng.choice(findings.TARGETS) if len(set(REMOVAL_WEIGHTS)) == 1
               else rng.choices(findings.TARGETS, weights=REMOVAL_WEIGHTS)[0])
        if a.swap and groups[fid] and rng.random() < a.swap:
            # Swapped: a positive's context around a negative's region (the target), the absence sentence.
            host = rng.choice(groups[fid])
            return host, slot_for(host, fid), fid, (rng.choice(lacking[fid]), fid)
        if a.translate and fid in TRANSLATED and rng.random() < a.translate:
            # Translation: the positive's own noisy latents, a negative's area as the target, the absence sentence.
            host = rng.choice(groups[fid])
            return host, slot_for(host, fid), fid, (rng.choice(lacking[fid]), fid, "translate")
        if a.pseudo and bank_of[fid] and rng.random() < a.pseudo:
            # Pseudo-finding: a negative is its own donor (the target is itself); shifted() noises the bank's film.
            b = rng.choice(bank_of[fid])
            j = bank["pos"][b]
            return j, bank["slot"][b], fid, (j, fid, "pseudo", b)
        j = rng.choice(lacking[fid])
        return j, slot_for(j, fid), fid, None  # j lacks fid: either side
    fid = "cardiomegaly" if u < 0.25 else "pleural-effusion" if u < 0.5 else "pneumothorax" if u < 0.625 else None
    if fid is None or not groups[fid]:
        return rng.randrange(N), rng.randrange(K), None, None
    j = rng.choice(groups[fid])
    if rng.random() < 0.25:
        return j, rng.randrange(K), None, None
    if a.swap and rng.random() < a.swap:
        # Swapped: a negative's context around this positive's region at its own side (the target), its sentence.
        return rng.choice(lacking[fid]), slot_for(j, fid), None, (j, fid)
    return j, slot_for(j, fid), None, None


# Translation is for the lung findings: their removals fail because the model keeps the opacity its noisy latents
# show (region_oracle.py: real tissue there would move the scorer by half the gap); the heart's removal works.
TRANSLATED = ("pleural-effusion", "pneumothorax")


def translated(p):
    """Whether a pick's noisy latents come from other latents than its target: a translation or a pseudo-finding
    example (pick() marks its swap entry with a third element, "translate" or "pseudo")."""
    return p[3] is not None and len(p[3]) >= 3


def pseudo(p):
    """Whether a pick is a pseudo-finding example (its noisy latents are the bank's film p[3][3])."""
    return translated(p) and p[3][2] == "pseudo"


def slot_for(j, fid):
    """The mask slot of fid on image j: its own side where the boxes give one, else either side."""
    if fid == "cardiomegaly":
        return 0
    side = next((s for i, s, _ in descs[j] if i == fid), None)
    if side in (None, "bilateral"):
        side = rng.choice(["right", "left"])
    return slot_of[(fid, side)]


def described(j, absent, swap):
    """What the image of a pick shows: its own findings; a swapped removal without the removed finding; a swapped
    finding example with the donor's entry for the finding (side and severity)."""
    if swap is None or absent is not None:
        return [d for d in descs[j] if d[0] != absent]
    donor, fid = swap[:2]
    return [d for d in descs[j] if d[0] != fid] + [d for d in descs[donor] if d[0] == fid]


BINOMIAL5 = torch.tensor([1.0, 4, 6, 4, 1], device=dev)
BINOMIAL5 = (BINOMIAL5[:, None] * BINOMIAL5[None] / 256)[None, None]


def soft_inside(m):
    """A latent-size mask (B x 1 x 32 x 32) shrunk by one latent pixel and blurred over two: 1 well inside, falling
    to 0 across the border, under 0.07 outside it (the outside belongs to the host, whose latents it shows)."""
    shrunk = -F.max_pool2d(-m, 3, stride=1, padding=1)
    return F.conv2d(F.pad(shrunk, (2, 2, 2, 2), mode="replicate"), BINOMIAL5)


def shifted(picks):
    """Latents (the target), masked-image latents, masks and, where a pick is a translation, the hosts' own latents,
    each example shifted by -1..1 latent pixels (about 8 px; the same shift for all its tensors), edge padded. A
    swapped pick's latents are its own outside the mask and its donor's inside, blended over soft_inside() (decoded,
    such a blend is a plausible film with the donor's tissue in the area; a hard switch between two films' latents
    decodes to a checkerboard seam). The masked-image latents stay the host's: the blend leaves the outside as it was.

    One gather for the whole batch (a GPU would otherwise spend its time on 3 x batch tiny copies); the same
    random draws in the same order and the same values as shifting example by example.
    """
    off = torch.tensor([(rng.randint(-1, 1), rng.randint(-1, 1)) for _ in picks], device=dev) + 1  # B x (dy, dx)
    j = torch.tensor([p[0] for p in picks], device=dev)
    k = torch.tensor([p[1] for p in picks], device=dev)
    z = host = lat[j]
    if any(p[3] is not None for p in picks):
        donor = torch.tensor([p[0] if p[3] is None else p[3][0] for p in picks], device=dev)
        inside = soft_inside(m32[j, k][:, None].float())
        z = z * (1 - inside) + lat[donor] * inside
    ps = [i for i, p in enumerate(picks) if pseudo(p)]
    if ps:  # the same patient's film with the finding drawn in
        host = host.clone()
        host[ps] = bank_lat[torch.tensor([picks[i][3][3] for i in ps], device=dev)]
    parts = [z, mlat[j, k], m32[j, k][:, None]] + ([host] if any(translated(p) for p in picks) else [])
    x = F.pad(torch.cat(parts, 1), (1, 1, 1, 1), mode="replicate")
    n, c = x.shape[:2]
    ar = torch.arange(32, device=dev)
    rows = (off[:, 0, None] + ar)[:, None, :, None].expand(n, c, 32, 34)
    x = x.gather(2, rows)
    cols = (off[:, 1, None] + ar)[:, None, None, :].expand(n, c, 32, 32)
    x = x.gather(3, cols)
    # The fourth tensor: the hosts' own latents, where translation examples draw their noisy latents from.
    return x[:, :4].contiguous(), x[:, 4:8].contiguous(), x[:, 8:9].contiguous(), x[:, 9:].contiguous()


def save():
    extra = {}
    if a.train_text:
        extra = {"text": text.state_dict(), "ema_text": emas[1].state_dict(), "unet4": unet4.state_dict(),
                 "ema_unet4": emas[2].state_dict()}
    common.save_checkpoint({"unet": unet.state_dict(), "opt": opt.state_dict(), "ema": ema.state_dict(), "step": step,
                "wall": wall0 + time.time() - t0, "config": cfg, "scaling_factor": sf} | extra, ck)
    log.save()


step0 = step  # warm-up counts from this run's start (a fresh optimizer after --init export)
t0 = time.time(); deadline = t0 + a.minutes * 60; last_ck = t0; acc = []; acc4 = []
ema_params = [q for e in emas for q in e.parameters()]
model_params = [q for m in trained for q in m.parameters()]
unet.train()
while time.time() < deadline and not (a.max_steps and step >= a.max_steps):
    picks = [pick() for _ in range(a.batch)]
    z0, zm, mk, zh = shifted(picks)
    # A translation example always keeps its sentence (the draw is made all the same): an empty prompt that removed
    # the finding would teach the unconditional branch, and with it every guided edit, to remove it.
    caps = ["" if rng.random() < a.drop and not translated(p) else findings.training_prompt(
        described(p[0], p[2], p[3]), rng, absent_p=a.absent, omit_p=a.omit, absent=p[2]) for p in picks]
    h = embed(caps)
    t = torch.randint(0, a.t_max, (a.batch,), device=dev)
    full = torch.rand(a.batch, device=dev) < a.t_full
    t = torch.where(full, torch.randint(0, 1000, (a.batch,), device=dev), t)
    tr = [i for i, p in enumerate(picks) if translated(p)]
    if tr:
        t[tr] = torch.randint(a.translate_t_min, a.t_max, (len(tr),), device=dev)
    noise = torch.randn_like(z0)
    ab = alphas[t].view(-1, 1, 1, 1)
    zt = ab.sqrt() * z0 + (1 - ab).sqrt() * noise
    target = noise
    if tr:
        # Noisy latents from the host (the finding still in them), the target the noise that leads from them to the
        # composite: predicting it is predicting the composite, x0 = (zt - sqrt(1 - ab) eps) / sqrt(ab).
        zt[tr] = ab[tr].sqrt() * zh[tr] + (1 - ab[tr]).sqrt() * noise[tr]
        target = noise.clone()
        target[tr] = (zt[tr] - ab[tr].sqrt() * z0[tr]) / (1 - ab[tr]).sqrt()
    with torch.autocast(dev, dtype=torch.bfloat16, enabled=a.bf16):
        x = torch.cat([zt, mk, zm], 1).contiguous(memory_format=torch.channels_last)
        pred = unet(x, t, encoder_hidden_states=h).sample.float()
    wgt = 1 + (a.inside_weight - 1) * mk
    loss = ((pred - target) ** 2 * wgt).mean() / wgt.mean()
    if a.train_text:  # the 4-channel UNet on the same noisy latents and prompts, the whole image
        with torch.autocast(dev, dtype=torch.bfloat16, enabled=a.bf16):
            pred4 = unet4(zt.contiguous(memory_format=torch.channels_last), t, encoder_hidden_states=h).sample.float()
        loss4 = F.mse_loss(pred4, noise)
        acc4.append(loss4.detach())
        loss = loss + loss4
    frac = min(1.0, (time.time() - t0) / (deadline - t0))
    decay = 0.55 + 0.45 * math.cos(math.pi * frac) if a.anneal else 1.0
    for g, scale in zip(opt.param_groups, lr_scales):
        g["lr"] = a.lr * scale * min(1.0, (step - step0 + 1) / a.warmup) * decay
    opt.zero_grad(set_to_none=True)
    loss.backward()
    for m in trained:
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
    opt.step()
    step += 1
    d = min(a.ema, (1 + step) / (10 + step))
    with torch.no_grad():
        if dev == "cuda":  # one fused launch instead of one per tensor
            torch._foreach_lerp_(ema_params, model_params, 1 - d)
        else:
            for pe, pm in zip(ema_params, model_params):
                pe.lerp_(pm, 1 - d)
    acc.append(loss.detach())  # read back at the log points only (a GPU then runs ahead of Python)
    if step % a.log_every == 0:
        wall = wall0 + time.time() - t0
        mean = sum(x.item() for x in acc) / len(acc)
        # Under --train-text `loss` is the sum of both UNets' losses; `loss_unet` the 4-channel one's share.
        log.log(step, wall, loss=mean, **({"loss_unet": sum(x.item() for x in acc4) / len(acc4)} if acc4 else {}))
        acc4 = []
        rate = (step - step0) * a.batch / (time.time() - t0)
        print(f"step {step} wall {wall:.0f}s loss {mean:.4f} ({rate:.0f} samples/s)", flush=True); acc = []
    if time.time() - last_ck > 180:
        save(); last_ck = time.time()
if acc:  # the steps since the last log point, so that the log's step and wall totals are this run's end
    log.log(step, wall0 + time.time() - t0, loss=sum(x.item() for x in acc) / len(acc))
save()
print("done", step, flush=True)
