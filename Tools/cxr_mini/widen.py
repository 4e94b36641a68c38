"""A wider UNet that computes exactly what a trained narrower one does (Net2WiderNet, Chen et al. 2016).

Why: the shipped 4.2M-parameter inpainting UNet stopped improving with more CPU steps, and a UNet twice as wide
trained from random weights needs far more samples than these CPUs give before it catches up (46k samples: a
third of the shipped model's effects). Widening the trained model keeps what it learnt and adds the capacity:
training goes on from the shipped model's quality instead of from noise.

How: every widened channel j copies narrow channel j // 2 (interleaved, so the copies of a channel always share a
GroupNorm group, an attention head, a GEGLU half and a side of a skip concatenation). Output dimensions copy rows;
input dimensions split each narrow weight between its two copies as (1/2 + d, 1/2 - d) with a random d, so the sum
is unchanged and the two copies get different gradients (equal halves would stay copies forever). GroupNorm and
LayerNorm see each value twice, so their statistics are unchanged. Attention keeps its number of heads, so each
head's dimension doubles: the query is scaled by 1/sqrt(2) to keep q.k / sqrt(head dim). The sinusoidal timestep
embedding of the wider model has twice the frequencies; the narrow model's frequencies are its even ones, so
time_embedding.linear_1 reads those and gives the others zero weight.

Check: python Tools/cxr_mini/widen.py (widens the committed inpainting UNet and compares outputs).
"""
import math
import torch
from diffusers import UNet2DConditionModel


def _interleaved(n_wide):
    return torch.arange(n_wide) // 2


def _sinusoid_index(n_narrow):
    """Wide input index of each narrow sinusoid feature ([cos | sin] halves; narrow frequency i = wide 2i)."""
    half = n_narrow // 2
    return torch.cat([2 * torch.arange(half), 2 * half + 2 * torch.arange(half)])


def widen_unet(narrow, factor=2, spread=0.1, seed=0):
    """The narrow UNet widened `factor` (2) times in every block, computing the same function.

    `spread` bounds the random split d of input weights (d uniform in +-spread/2).
    """
    assert factor == 2, "interleaved copies are written for doubling"
    cfg = {k: v for k, v in narrow.config.items() if not k.startswith("_")}
    heads = cfg.get("num_attention_heads") or cfg["attention_head_dim"]
    assert isinstance(heads, int), "a fixed number of heads per block is assumed"
    assert cfg["freq_shift"] == 0, "the narrow sinusoid's frequencies are the wide one's even ones only at shift 0"
    cfg["block_out_channels"] = [c * factor for c in cfg["block_out_channels"]]
    wide = UNet2DConditionModel(**cfg)
    gen = torch.Generator().manual_seed(seed)
    src = narrow.state_dict()
    out = {}
    for name, w_wide in wide.state_dict().items():
        w = src[name].float()
        if name == "time_embedding.linear_1.weight":
            rows = _interleaved(w_wide.shape[0])
            v = torch.zeros(w_wide.shape)
            v[:, _sinusoid_index(w.shape[1])] = w[rows]
            out[name] = v
            continue
        v = w
        if v.dim() >= 1 and w_wide.shape[0] == 2 * v.shape[0]:
            v = v[_interleaved(w_wide.shape[0])]  # output rows: copies
        if v.dim() >= 2 and w_wide.shape[1] == 2 * v.shape[1]:
            v = v[:, _interleaved(w_wide.shape[1])]  # input columns: split between the two copies
            d = (torch.rand(v[:, 0::2].shape, generator=gen) - 0.5) * spread
            v[:, 0::2] *= 0.5 + d
            v[:, 1::2] *= 0.5 - d
        assert v.shape == w_wide.shape, f"{name}: {tuple(w.shape)} -> {tuple(v.shape)}, want {tuple(w_wide.shape)}"
        if name.endswith("to_q.weight") or name.endswith("to_q.bias"):
            v = v / math.sqrt(2)  # head dimension doubled at a fixed number of heads
        out[name] = v
    wide.load_state_dict(out)
    return wide


if __name__ == "__main__":
    import common

    narrow = UNet2DConditionModel.from_pretrained(str(common.MODEL_DIR / "unet-inpaint"), torch_dtype=torch.float32)
    wide = widen_unet(narrow)
    count = lambda m: sum(p.numel() for p in m.parameters())
    print(f"parameters: {count(narrow):,} -> {count(wide):,}")
    torch.manual_seed(1)
    x = torch.randn(2, narrow.config.in_channels, 32, 32)
    h = torch.randn(2, 77, narrow.config.cross_attention_dim)
    worst = 0.0
    with torch.no_grad():
        for t in (1, 250, 999):
            a, b = narrow(x, t, encoder_hidden_states=h).sample, wide(x, t, encoder_hidden_states=h).sample
            rel = ((a - b).abs().max() / a.abs().max()).item()
            worst = max(worst, rel)
            print(f"t={t}: max |narrow - wide| / max |narrow| = {rel:.2e}")
    assert worst < 1e-4, "the widened UNet must compute the narrow one's function"
