#!/usr/bin/env python3
"""Reference fixtures for the Swift CLIPTokenizer (Tests/Fixtures/tokenizer/).

Run from the repository root (needs ../shared beside the repo and the project venv):

    /work/venv/bin/python Tools/make_tokenizer_fixtures.py

It builds tokenizer folders from the original CLIP merge list (Resources/clip/bpe_simple_vocab_16e6.txt.gz)
in the diffusers form (vocab.json, merges.txt, tokenizer_config.json, special_tokens_map.json), loads them with
transformers' CLIPTokenizer.from_pretrained, and records what it produces for:
  * 170 sentences drawn deterministically from ../shared/data/reports/iu_reports.csv (findings/impressions),
    a few long prompts built from them (> 77 tokens), and hand-written edge cases;
  * both pad variants: `<|endoftext|>` (SD 1.x) and `!` (SD 2.x);
  * a reduced vocabulary (first 1,000 merges), whose folder is committed as `small/` so that the Swift
    `writeFolder(mergeCount: 1000)` output can be compared byte for byte;
  * diffusers-style configs whose special tokens are AddedToken dicts (normalized flags differ), for typed
    special tokens;
  * the tokenizer.json layout: each folder above is saved again with `save_pretrained`, which transformers 5
    writes as tokenizer.json + tokenizer_config.json only, and reloaded from there; every case must give the
    same ids as the vocab.json/merges.txt folder (asserted), so the recorded ids hold for both layouts. The
    reduced vocabulary's saved folder is committed as `small-json/` (the Swift writer must match it byte for
    byte, and the Swift reader must load it).
Output is deterministic (no randomness, sorted JSON keys); rerunning reproduces the files bit for bit.
"""
import csv
import gzip
import json
import os
import re
import shutil
import sys
import tempfile

from transformers import CLIPTokenizer
import transformers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GZ = os.path.join(ROOT, "Resources", "clip", "bpe_simple_vocab_16e6.txt.gz")
REPORTS = os.path.join(ROOT, "..", "shared", "data", "reports", "iu_reports.csv")
OUT = os.path.join(ROOT, "Tests", "Fixtures", "tokenizer")
FULL_MERGES = 49152 - 256 - 2  # 48,894
MAX_LEN = 77


def byte_alphabet():
    """CLIP/GPT-2 byte -> printable unicode character table, in the order CLIP builds its vocabulary."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for c in cs]


def dump(obj):
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_folder(d, pad, merge_count=None):
    """The diffusers/transformers-4 form of a CLIP tokenizer folder (what Swift writeFolder must produce)."""
    lines = gzip.open(GZ).read().decode("utf-8").split("\n")
    count = FULL_MERGES if merge_count is None else merge_count
    merges = [tuple(l.split()) for l in lines[1:1 + count]]
    alpha = byte_alphabet()
    vocab = alpha + [a + "</w>" for a in alpha] + ["".join(m) for m in merges] + ["<|startoftext|>", "<|endoftext|>"]
    encoder = {t: i for i, t in enumerate(vocab)}
    assert len(encoder) == len(vocab)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "vocab.json"), "w", encoding="utf-8") as f:
        f.write(dump(encoder))
    with open(os.path.join(d, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "".join(" ".join(m) + "\n" for m in merges))
    config = {"add_prefix_space": False, "bos_token": "<|startoftext|>", "do_lower_case": True,
              "eos_token": "<|endoftext|>", "errors": "replace", "model_max_length": MAX_LEN, "pad_token": pad,
              "tokenizer_class": "CLIPTokenizer", "unk_token": "<|endoftext|>"}
    with open(os.path.join(d, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        f.write(dump(config))
    special = {"bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "pad_token": pad,
               "unk_token": "<|endoftext|>"}
    with open(os.path.join(d, "special_tokens_map.json"), "w", encoding="utf-8") as f:
        f.write(dump(special))
    return len(encoder)


def report_phrases():
    """Deterministic sample of report sentences: unique sentences in file order, every k-th."""
    seen, sentences = set(), []
    with open(REPORTS, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            for field in ("findings", "impression"):
                for s in re.split(r"(?<=\.)\s+", (row.get(field) or "").strip()):
                    s = s.strip()
                    if len(s) >= 3 and s not in seen:
                        seen.add(s)
                        sentences.append(s)
    step = max(1, len(sentences) // 170)
    picked = sentences[::step][:170]
    # Long prompts (well past 77 tokens): consecutive sentences joined.
    longs = [" ".join(sentences[i:i + 12]) for i in (0, 500, 1000, 1500, 2000, 2500)]
    return picked, longs


HAND = [
    "", " ", "a photo of a cat", "A PHOTO OF A CAT", "Chest X-ray, PA view.",
    "4.5 cm", "1,000", "T12", "T12-L1", "3.2x4.1 cm nodule", "0.5%", "1/2", "(left) [right] {both}",
    "right-sided pleural effusion", "left-sided", "well-expanded", "post-operative",
    "café", "cafe\u0301", "naïve", "Ångström", "A\u030angstro\u0308m", "Ⅻ", "½ ² ①", "İstanbul", "ΟΔΟΣ",
    "Straße", "ﬁne", "q\u0301", "x\u200by", "x\ufeffy", "x\u180ey", "x\x1cy\x1fz",
    "日本語のテキスト", "胸部X線写真", "한국어", "Ελληνικά", "русский текст", "עברית", "العربية", "हिन्दी",
    "😀👍🏽", "cat 🐱 on 🏥", "👨‍👩‍👧",
    "  extra   spaces  ", "tabs\tand\ttabs", "new\nlines\r\nhere", "mixed \t\n\r\x0b\x0c whitespace",
    "nbsp\u00a0here", "ideographic\u3000space", "nel\x85sep", "line\u2028para\u2029end", "narrow\u202fnbsp",
    "patient's", "don't", "DON'T", "we'll", "they're", "I've", "I'm", "he'd", "it's", "''s", "'still'",
    "rock'n'roll", "`quoted`", "\"double quoted\"", "...", "!!!", "wow!", "no pneumothorax!", "?!", "a!b",
    "<|startoftext|>", "<|endoftext|>", "a <|endoftext|> b", "<|startoftext|>hi<|endoftext|>",
    "<|ENDOFTEXT|>", "x<|endoftext|>!!", "<|endoftext", "<|endoftext|>>", "<<|endoftext|>",
    "<|startoftext|><|endoftext|>", "!<|endoftext|>", "'s<|endoftext|>",
    "C:\\path\\to\\file", "email@example.com", "https://example.com/a?b=c", "#hashtag @mention", "$100 & 50%",
    "a_b_c", "snake_case_word", "x^2 + y^2 = z^2", "~~~", "---", "***", "\\n",
    "pneumothoraxpneumothoraxpneumothorax", "supercalifragilisticexpialidocious", "aaaaaaaaaaaaaaaaaaaa",
    "0123456789", "3.14159265358979", "١٢٣", "१२३",
    "## #: #...", "\u1100\u1161\u11a8", "\u0301start", "\u01c4 \u01c5 \u01c6", "ΣΑΣ", "\u212a\u212b", "x\u00adsoft",
    "a\tb\nc\x0bd\x0ce\rf g\x85h\xa0i\u1680j\u2000k\u2001l\u2002m\u2003n\u2004o\u2005p\u2006q\u2007r"
    "\u2008s\u2009t\u200au\u2028v\u2029w\u202fx\u205fy\u3000z",
]


def main():
    print("transformers", transformers.__version__, file=sys.stderr)
    tmp = tempfile.mkdtemp()
    try:
        toks, json_toks = {}, {}
        for name, pad in (("eot", "<|endoftext|>"), ("bang", "!")):
            d = os.path.join(tmp, name)
            n = write_folder(d, pad)
            assert n == 49408, n
            toks[name] = CLIPTokenizer.from_pretrained(d)
            # transformers 5 saves tokenizer.json + tokenizer_config.json only: the layout of folders saved today.
            dj = os.path.join(tmp, name + "-json")
            toks[name].save_pretrained(dj)
            assert sorted(os.listdir(dj)) == ["tokenizer.json", "tokenizer_config.json"], os.listdir(dj)
            json_toks[name] = CLIPTokenizer.from_pretrained(dj)
        small_dir = os.path.join(OUT, "small")
        if os.path.isdir(small_dir):
            shutil.rmtree(small_dir)
        n_small = write_folder(small_dir, "<|endoftext|>", merge_count=1000)
        small = CLIPTokenizer.from_pretrained(small_dir)
        small_json_dir = os.path.join(OUT, "small-json")
        if os.path.isdir(small_json_dir):
            shutil.rmtree(small_json_dir)
        small.save_pretrained(small_json_dir)
        small_json = CLIPTokenizer.from_pretrained(small_json_dir)

        picked, longs = report_phrases()
        long_hand = ["a photo of a cat " * 20, "word " * 100, "!" * 200, "1 " * 80, "a " * 75, "a " * 76]

        def enc(tok, text):
            full = tok(text).input_ids
            ids = tok(text, padding="max_length", max_length=MAX_LEN, truncation=True).input_ids
            assert len(ids) == MAX_LEN
            r = {"ids": ids, "count": len(full), "truncated": len(full) > MAX_LEN}
            if len(full) > MAX_LEN:
                r["dropped"] = tok.batch_decode([full[MAX_LEN - 1:-1]])[0]
            return r

        cases = []
        for kind, texts in (("report", picked), ("long", longs + long_hand), ("hand", HAND)):
            for text in texts:
                e, b = enc(toks["eot"], text), enc(toks["bang"], text)
                assert enc(json_toks["eot"], text) == e and enc(json_toks["bang"], text) == b, text
                case = {"kind": kind, "text": text, "eot": e, "bang": b}
                if kind == "hand":
                    full = toks["eot"](text).input_ids
                    case["decode"] = toks["eot"].decode(full)
                cases.append(case)

        small_cases = [{"text": t, **enc(small, t)} for t in picked[:20] + HAND[:40] + longs[:1]]
        for c in small_cases:
            assert {"text": c["text"], **enc(small_json, c["text"])} == c, c["text"]

        # diffusers-style configs (AddedToken dicts with normalized flags) for typed special tokens.
        def added(content):
            return {"__type": "AddedToken", "content": content, "lstrip": False, "normalized": True,
                    "rstrip": False, "single_word": False}

        def plain(d):
            return {k: v for k, v in d.items() if k != "__type"}

        base = {"add_prefix_space": False, "bos_token": added("<|startoftext|>"), "do_lower_case": True,
                "eos_token": added("<|endoftext|>"), "errors": "replace", "model_max_length": 77,
                "name_or_path": "openai/clip-vit-large-patch14", "pad_token": "<|endoftext|>",
                "special_tokens_map_file": "./special_tokens_map.json", "tokenizer_class": "CLIPTokenizer",
                "unk_token": added("<|endoftext|>")}
        stm = {"bos_token": plain(added("<|startoftext|>")), "eos_token": plain(added("<|endoftext|>")),
               "unk_token": plain(added("<|endoftext|>"))}
        decoder = {"49406": {"content": "<|startoftext|>", "lstrip": False, "normalized": True, "rstrip": False,
                             "single_word": False, "special": True},
                   "49407": {"content": "<|endoftext|>", "lstrip": False, "normalized": True, "rstrip": False,
                             "single_word": False, "special": True}}
        configs = {
            "sd15": (base, dict(stm, pad_token="<|endoftext|>")),
            "sd2": (base, dict(stm, pad_token="!")),
            "sd2_pad_dict": (dict(base, pad_token=added("!")), None),
            "decoder_table": (dict(base, added_tokens_decoder=decoder), dict(stm, pad_token="!")),
            "no_max_length": ({k: v for k, v in base.items() if k != "model_max_length"}, None),
        }
        config_texts = ["<|ENDOFTEXT|>!!", "x <|endoftext|>!!", "<|StartOfText|> hi", "<|startoftext|>",
                        "wow!! no!", "a photo of a cat", "<|endoftext|><|ENDOFTEXT|>"]
        config_cases = []
        for name, (tc, sm) in configs.items():
            d = os.path.join(tmp, "cfg_" + name)
            write_folder(d, "<|endoftext|>")
            with open(os.path.join(d, "tokenizer_config.json"), "w", encoding="utf-8") as f:
                f.write(dump(tc))
            os.remove(os.path.join(d, "special_tokens_map.json"))
            if sm is not None:
                with open(os.path.join(d, "special_tokens_map.json"), "w", encoding="utf-8") as f:
                    f.write(dump(sm))
            tok = CLIPTokenizer.from_pretrained(d)
            max_len = tok.model_max_length if tok.model_max_length < 10**6 else None
            rows = []
            for t in config_texts:
                rows.append({"text": t, "tokens": tok(t).input_ids,
                             "ids": tok(t, padding="max_length", max_length=MAX_LEN, truncation=True).input_ids})
            config_cases.append({"name": name, "tokenizer_config": tc, "special_tokens_map": sm,
                                 "pad_id": tok.pad_token_id, "model_max_length": max_len, "cases": rows})

        out = {"transformers": transformers.__version__, "max_length": MAX_LEN, "vocab_size": 49408,
               "pad_ids": {"eot": toks["eot"].pad_token_id, "bang": toks["bang"].pad_token_id},
               "cases": cases, "small": {"merge_count": 1000, "vocab_size": n_small, "cases": small_cases},
               "configs": config_cases,
               "layouts": {"vocab_merges": "written by write_folder", "tokenizer_json": "save_pretrained of the same",
                           "ids": "identical for every case (asserted)"}}
        path = os.path.join(OUT, "cases.json")
        with open(path, "w", encoding="utf-8") as f:
            f.write("{\n")
            keys = sorted(out)
            for i, k in enumerate(keys):
                v = out[k]
                sep = "," if i < len(keys) - 1 else ""
                if k == "cases":  # one case per line keeps diffs readable
                    body = ",\n".join(json.dumps(c, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
                                      for c in v)
                    f.write('"cases":[\n' + body + "\n]" + sep + "\n")
                else:
                    f.write(json.dumps(k) + ":" + json.dumps(v, sort_keys=True, ensure_ascii=False,
                                                             separators=(",", ":")) + sep + "\n")
            f.write("}\n")
        print(f"{len(cases)} cases, {len(small_cases)} small, {sum(len(c['cases']) for c in config_cases)} config "
              f"cases -> {path} ({os.path.getsize(path)} bytes)", file=sys.stderr)
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
