"""Build the real CLIP BPE tokenizer (49,408 ids) as a diffusers `tokenizer/` folder.

Run: /work/venv/bin/python Tools/cxr_mini/tokenizer.py OUT_DIR
Source: ../shared/data/clip/bpe_simple_vocab_16e6.txt.gz (MIT). vocab = 256 byte characters, the same with
</w>, the first 48,894 merges joined, <|startoftext|>, <|endoftext|>. Padded with <|endoftext|> (SD 1.x), length 77.
"""
import gzip, json, sys
from pathlib import Path
import common


def byte_chars():
    """GPT-2/CLIP byte -> printable character table in vocabulary order."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    extra = 0
    table = {}
    for b in printable:
        table[b] = chr(b)
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    order = printable + [b for b in range(256) if b not in printable]
    return [table[b] for b in order]


def build(out):
    from transformers import CLIPTokenizer
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    lines = gzip.open(common.SHARED / "clip" / "bpe_simple_vocab_16e6.txt.gz", "rt", encoding="utf-8").read().split("\n")
    merges = lines[1:49152 - 256 - 2 + 1]
    alpha = byte_chars()
    vocab = alpha + [a + "</w>" for a in alpha] + ["".join(m.split()) for m in merges] + ["<|startoftext|>", "<|endoftext|>"]
    assert len(vocab) == 49408
    (out / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}, ensure_ascii=False))
    (out / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")
    tok = CLIPTokenizer(str(out / "vocab.json"), str(out / "merges.txt"), pad_token="<|endoftext|>", model_max_length=77)
    tok.save_pretrained(str(out))
    return tok


if __name__ == "__main__":
    t = build(sys.argv[1] if len(sys.argv) > 1 else common.STATE / "tokenizer")
    print(t("65 year old male. AP chest radiograph. Small right pleural effusion.").input_ids)
