#!/usr/bin/env python3
"""Generates the checkpoint-reader fixtures in Tests/Fixtures/checkpoint/ (deterministic, bit-for-bit).

Run from the repository root:
    /work/venv/bin/python Tools/make_checkpoint_fixtures.py

Needs torch and safetensors. Writes:
  expected.json                 reference values (F32, and what torch's .half()/.bfloat16() round them to)
  tiny_{f32,f16,bf16}.safetensors   the same six tensors in three dtypes (safetensors.torch.save_file)
  tiny.bin                      torch.save zip of an OrderedDict: the tensors, two views sharing one storage,
                                a transposed (non-contiguous) view, fp16/bf16 copies, an nn.Parameter, an int64
  tiny.ckpt                     Lightning-style {"epoch", "global_step", "state_dict": {...}}
  nested.pt                     nested dicts flattened with dotted names
  zip64.bin                     tiny.bin's entries re-packed with ZIP64 extra fields and end records
  bad/*                         hostile or broken files every reader must reject with a one-line error
  diffusers_tiny/, diffusers_broken/   small diffusers folders
Malicious pickles are written as raw bytes and are never loaded by this script.
"""
import collections
import json
import os
import random
import shutil
import struct
import zipfile
import zlib

import torch
from safetensors.torch import save_file

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "checkpoint")


def reference_tensors():
    g = torch.Generator().manual_seed(1234)
    t = collections.OrderedDict()
    t["conv.weight"] = torch.randn(4, 3, 3, 3, generator=g)
    t["conv.bias"] = torch.randn(4, generator=g)
    # Values that exercise fp16/bf16 rounding: subnormal, signed zero, fp16 max, inexact fractions.
    t["norm.weight"] = torch.tensor([1e-6, -0.0, 65504.0, 3.14159, 1.0 / 3.0, -2.5e-5, 1000.123, -7.0])
    t["linear.weight"] = torch.randn(6, 8, generator=g)
    t["scalar"] = torch.tensor(0.7071067811865476)
    t["empty"] = torch.zeros(0, 3)
    return t


def floats(t):
    return [float(x) for x in t.reshape(-1).tolist()]


def patch_serialization_id(path):
    """torch.save writes a random `.data/serialization_id`; overwrite it with zeros and fix both CRCs."""
    data = bytearray(open(path, "rb").read())
    z = zipfile.ZipFile(path)
    info = [i for i in z.infolist() if i.filename.endswith(".data/serialization_id")][0]
    z.close()
    off = info.header_offset
    name_len, extra_len = struct.unpack("<HH", data[off + 26:off + 30])
    start = off + 30 + name_len + extra_len
    new = b"0" * info.file_size
    data[start:start + info.file_size] = new
    crc = zlib.crc32(new) & 0xFFFFFFFF
    old = struct.pack("<I", info.CRC)
    # Data descriptor right after the data (signature, crc, sizes) and the central directory copy.
    end = start + info.file_size
    if data[end:end + 4] == b"PK\x07\x08":
        data[end + 4:end + 8] = struct.pack("<I", crc)
    if struct.unpack("<H", data[off + 6:off + 8])[0] & 8 == 0:
        data[off + 14:off + 18] = struct.pack("<I", crc)
    cd = data.find(b"PK\x01\x02" + data[off + 4:off + 6], 0)
    while cd >= 0:
        n = struct.unpack("<H", data[cd + 28:cd + 30])[0]
        if data[cd + 46:cd + 46 + n] == info.filename.encode():
            assert data[cd + 16:cd + 20] == old
            data[cd + 16:cd + 20] = struct.pack("<I", crc)
            break
        cd = data.find(b"PK\x01\x02", cd + 4)
    open(path, "wb").write(bytes(data))
    zipfile.ZipFile(path).testzip()


def torch_save(obj, path):
    torch.save(obj, path)
    patch_serialization_id(path)


def write_zip(path, entries, zip64=False):
    """Minimal stored-entry ZIP writer; with zip64=True every size/offset goes through ZIP64 extra fields."""
    out = bytearray()
    central = bytearray()
    for name, payload in entries:
        nb = name.encode()
        crc = zlib.crc32(payload) & 0xFFFFFFFF
        off = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45 if zip64 else 20, 0, 0, 0, 0x21,
                           crc, len(payload), len(payload), len(nb), 0) + nb + payload
        if zip64:
            extra = struct.pack("<HHQQQ", 1, 24, len(payload), len(payload), off)
            sizes = (0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF)
        else:
            extra = b""
            sizes = (len(payload), len(payload), off)
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45 if zip64 else 20, 0, 0, 0, 0x21, crc,
                               sizes[0], sizes[1], len(nb), len(extra), 0, 0, 0, 0, sizes[2]) + nb + extra
    cd_off = len(out)
    out += central
    if zip64:
        rec = len(out)
        out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, len(entries), len(entries),
                           len(central), cd_off)
        out += struct.pack("<IIQI", 0x07064B50, 0, rec, 1)
        out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    else:
        out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central), cd_off, 0)
    open(path, "wb").write(bytes(out))


# --- hand-written pickle opcodes (protocol 2), never unpickled here -------------------------------------------
def p_str(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def p_int(i):
    return b"J" + struct.pack("<i", i)


def p_tuple(items):
    return b"(" + b"".join(items) + b"t"


def p_tensor(storage_type, key, numel, offset, shape, stride):
    storage = p_tuple([p_str("storage"), b"ctorch\n" + storage_type.encode() + b"\n", p_str(key), p_str("cpu"),
                       p_int(numel)]) + b"Q"
    args = p_tuple([storage, p_int(offset), p_tuple([p_int(s) for s in shape]), p_tuple([p_int(s) for s in stride]),
                    b"\x89", b"ccollections\nOrderedDict\n)R"])
    return b"ctorch._utils\n_rebuild_tensor_v2\n" + args + b"R"


def p_state_dict(items):
    body = b"".join(p_str(k) + v for k, v in items)
    return b"\x80\x02ccollections\nOrderedDict\n)R(" + body + b"u."


def bin_archive(path, pickle_bytes, storages, compress=False):
    entries = [("archive/data.pkl", pickle_bytes), ("archive/byteorder", b"little")]
    entries += [("archive/data/" + k, v) for k, v in storages]
    entries += [("archive/version", b"3\n")]
    if compress:
        with zipfile.ZipFile(path, "w") as z:
            for name, payload in entries:
                zi = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                zi.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(zi, payload)
    else:
        write_zip(path, entries)


def safetensors_bytes(header, data=b"", raw_header=None, pad=True):
    h = raw_header if raw_header is not None else json.dumps(header, separators=(",", ":")).encode()
    if pad:
        h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + data


def write(path, b):
    with open(path, "wb") as f:
        f.write(b)


def main():
    if os.path.isdir(ROOT):
        shutil.rmtree(ROOT)
    os.makedirs(os.path.join(ROOT, "bad"))
    torch.manual_seed(0)
    ref = reference_tensors()

    expected = collections.OrderedDict()
    for k, v in ref.items():
        expected[k] = {"shape": list(v.shape), "f32": floats(v), "f16": floats(v.half().float()),
                       "bf16": floats(v.bfloat16().float())}
    with open(os.path.join(ROOT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")

    meta = {"format": "pt"}  # one key: the Rust writer orders metadata by a randomised HashMap
    save_file(dict(ref), os.path.join(ROOT, "tiny_f32.safetensors"), metadata=meta)
    save_file({k: v.half() for k, v in ref.items()}, os.path.join(ROOT, "tiny_f16.safetensors"), metadata=meta)
    save_file({k: v.bfloat16() for k, v in ref.items()}, os.path.join(ROOT, "tiny_bf16.safetensors"), metadata=meta)

    # torch.save zip checkpoint.
    sd = collections.OrderedDict()
    for k, v in ref.items():
        sd[k] = v.clone()
    base = torch.arange(20, dtype=torch.float32) * 0.5
    sd["shared.a"] = base[2:8]
    sd["shared.b"] = base[10:20].view(2, 5)
    sd["linear.weight_t"] = sd["linear.weight"].t()
    sd["half.conv.weight"] = ref["conv.weight"].half()
    sd["bf16.norm.weight"] = ref["norm.weight"].bfloat16()
    sd["param.bias"] = torch.nn.Parameter(ref["conv.bias"].clone(), requires_grad=False)
    sd["num_batches_tracked"] = torch.tensor(7)
    sd._metadata = collections.OrderedDict({"": {"version": 1}})
    assert not sd["linear.weight_t"].is_contiguous()
    torch_save(sd, os.path.join(ROOT, "tiny.bin"))

    ckpt = {"epoch": 3, "global_step": 1234, "pytorch-lightning_version": "1.4.2",
            "state_dict": collections.OrderedDict((k, v.clone()) for k, v in ref.items()), "lr": 0.5}
    torch_save(ckpt, os.path.join(ROOT, "tiny.ckpt"))

    nested = {"model": {"conv.bias": ref["conv.bias"].clone()},
              "ema": {"conv": {"bias": (ref["conv.bias"] * 2).clone()}, "decay": 0.999}, "step": 5, "tag": "x"}
    torch_save(nested, os.path.join(ROOT, "nested.pt"))

    # ZIP64 re-pack of tiny.bin (same entries, 64-bit fields); checked with Python's zipfile and torch.load.
    with zipfile.ZipFile(os.path.join(ROOT, "tiny.bin")) as z:
        entries = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    write_zip(os.path.join(ROOT, "zip64.bin"), entries, zip64=True)
    with zipfile.ZipFile(os.path.join(ROOT, "zip64.bin")) as z:
        assert z.testzip() is None
    loaded = torch.load(os.path.join(ROOT, "zip64.bin"), weights_only=True)
    assert torch.equal(loaded["linear.weight_t"], sd["linear.weight_t"])

    bad = os.path.join(ROOT, "bad")
    good = open(os.path.join(ROOT, "tiny_f32.safetensors"), "rb").read()
    n = struct.unpack("<Q", good[:8])[0]
    # --- safetensors -------------------------------------------------------------------------------------------
    write(os.path.join(bad, "header_len_past_end.safetensors"), struct.pack("<Q", 1_000_000) + good[8:])
    write(os.path.join(bad, "header_len_huge.safetensors"), struct.pack("<Q", 1 << 62) + good[8:])
    write(os.path.join(bad, "truncated.safetensors"), good[: 8 + n + 40])
    write(os.path.join(bad, "truncated_header.safetensors"), good[: 8 + n // 2])
    write(os.path.join(bad, "empty.safetensors"), b"")
    write(os.path.join(bad, "short.safetensors"), b"\x10\x00\x00")
    d16 = bytes(range(24))
    write(os.path.join(bad, "overlap.safetensors"), safetensors_bytes(
        {"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
         "b": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}}, d16))
    write(os.path.join(bad, "offsets_out_of_range.safetensors"), safetensors_bytes(
        {"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, d16[:8]))
    write(os.path.join(bad, "dtype_shape_mismatch.safetensors"), safetensors_bytes(
        {"a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 12]}}, d16[:12]))
    write(os.path.join(bad, "begin_after_end.safetensors"), safetensors_bytes(
        {"a": {"dtype": "F32", "shape": [0], "data_offsets": [8, 0]}}, d16[:8]))
    write(os.path.join(bad, "negative_shape.safetensors"), safetensors_bytes(
        {"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, d16[:4]))
    write(os.path.join(bad, "fractional_offset.safetensors"), safetensors_bytes(
        {"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4.5]}}, d16[:8]))
    write(os.path.join(bad, "unknown_dtype.safetensors"), safetensors_bytes(
        {"a": {"dtype": "F128", "shape": [1], "data_offsets": [0, 16]}}, d16[:16]))
    write(os.path.join(bad, "metadata_not_strings.safetensors"), safetensors_bytes(
        {"__metadata__": {"epoch": 3}, "a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, d16[:4]))
    write(os.path.join(bad, "duplicate_names.safetensors"), safetensors_bytes(None, d16[:8], raw_header=(
        b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
        b'"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}')))
    write(os.path.join(bad, "non_utf8_header.safetensors"), safetensors_bytes(None, d16[:4], raw_header=(
        b'{"a\xff\xfe":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}')))
    write(os.path.join(bad, "header_not_object.safetensors"), safetensors_bytes(None, b"", raw_header=b"[1,2,3]"))
    write(os.path.join(bad, "header_bad_json.safetensors"), safetensors_bytes(None, b"", raw_header=b'{"a": {'))
    write(os.path.join(bad, "header_deep.safetensors"), safetensors_bytes(None, b"", raw_header=b"[" * 200 + b"]" * 200))

    # --- torch zip / pickle --------------------------------------------------------------------------------------
    fdata = struct.pack("<4f", 1, 2, 3, 4)
    legit = ("w", p_tensor("FloatStorage", "0", 4, 0, [4], [1]))
    bin_archive(os.path.join(bad, "evil_os_system.bin"),
                b"\x80\x02cos\nsystem\nX\x0c\x00\x00\x00echo pwned!!\x85R.", [])
    bin_archive(os.path.join(bad, "evil_builtins_eval.bin"),
                b"\x80\x02cbuiltins\neval\nX\x0b\x00\x00\x00print(\"hi\")\x85R.", [])
    bin_archive(os.path.join(bad, "evil_posix_system.bin"),
                b"\x80\x04\x95\x1e\x00\x00\x00\x00\x00\x00\x00\x8c\x05posix\x8c\x06system\x93\x8c\x02id\x85R.", [])
    bin_archive(os.path.join(bad, "evil_in_state_dict.bin"),
                p_state_dict([legit, ("x", b"csubprocess\ncheck_output\n(X\x02\x00\x00\x00idtR")]), [("0", fdata)])
    bin_archive(os.path.join(bad, "unsupported_opcode.bin"), b"\x80\x02(ios\nsystem\nX\x02\x00\x00\x00id.", [])
    bin_archive(os.path.join(bad, "deep_nesting.bin"), b"\x80\x02N" + b"\x85" * 500 + b".", [])
    bin_archive(os.path.join(bad, "missing_storage.bin"), p_state_dict([legit]), [])
    bin_archive(os.path.join(bad, "storage_too_short.bin"),
                p_state_dict([("w", p_tensor("FloatStorage", "0", 100, 0, [100], [1]))]), [("0", fdata)])
    bin_archive(os.path.join(bad, "stride_out_of_range.bin"),
                p_state_dict([("w", p_tensor("FloatStorage", "0", 4, 0, [4], [10]))]), [("0", fdata)])
    bin_archive(os.path.join(bad, "deflated.bin"), p_state_dict([legit]), [("0", fdata)], compress=True)
    tiny = open(os.path.join(ROOT, "tiny.bin"), "rb").read()
    write(os.path.join(bad, "truncated.bin"), tiny[: len(tiny) // 2])
    rng = random.Random(1234)
    write(os.path.join(bad, "random.bin"), bytes(rng.randrange(256) for _ in range(4096)))
    write(os.path.join(bad, "random_pk.bin"), b"PK\x03\x04" + bytes(rng.randrange(256) for _ in range(4096)))
    # Sanity: the legit pickle shape really is what torch produces (torch loads a valid variant of it).
    bin_archive(os.path.join(ROOT, "handmade.bin"), p_state_dict([legit]), [("0", fdata)])
    assert torch.equal(torch.load(os.path.join(ROOT, "handmade.bin"), weights_only=True)["w"],
                       torch.tensor([1.0, 2, 3, 4]))

    # --- diffusers folders ---------------------------------------------------------------------------------------
    def jdump(path, obj):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            json.dump(obj, f, indent=2, sort_keys=True)
            f.write("\n")

    dt = os.path.join(ROOT, "diffusers_tiny")
    jdump(os.path.join(dt, "model_index.json"), {
        "_class_name": "StableDiffusionPipeline", "_diffusers_version": "0.30.0",
        "unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"],
        "text_encoder": ["transformers", "CLIPTextModel"], "tokenizer": ["transformers", "CLIPTokenizer"],
        "scheduler": ["diffusers", "PNDMScheduler"], "safety_checker": [None, None],
        "feature_extractor": [None, None], "requires_safety_checker": False})
    jdump(os.path.join(dt, "unet", "config.json"), {
        "_class_name": "UNet2DConditionModel", "in_channels": 4, "block_out_channels": [32, 64],
        "attention_head_dim": 8, "cross_attention_dim": 32, "sample_size": 8, "norm_eps": 1e-05,
        "center_input_sample": False, "down_block_types": ["CrossAttnDownBlock2D", "DownBlock2D"],
        "class_embed_type": None})
    save_file({"conv_in.weight": ref["conv.weight"], "conv_in.bias": ref["conv.bias"]},
              os.path.join(dt, "unet", "diffusion_pytorch_model.safetensors"))
    save_file({"conv_in.weight": ref["conv.weight"].half(), "conv_in.bias": ref["conv.bias"].half()},
              os.path.join(dt, "unet", "diffusion_pytorch_model.fp16.safetensors"))
    jdump(os.path.join(dt, "vae", "config.json"), {"_class_name": "AutoencoderKL", "latent_channels": 4,
                                                    "scaling_factor": 0.18215})
    save_file({"decoder.conv_out.bias": ref["conv.bias"].half()[:3]},
              os.path.join(dt, "vae", "diffusion_pytorch_model.fp16.safetensors"))
    jdump(os.path.join(dt, "text_encoder", "config.json"), {"architectures": ["CLIPTextModel"], "hidden_size": 8})
    save_file({"text_model.final_layer_norm.weight": ref["norm.weight"]},
              os.path.join(dt, "text_encoder", "model-00001-of-00002.safetensors"))
    save_file({"text_model.final_layer_norm.bias": ref["conv.bias"], "extra.scalar": ref["scalar"]},
              os.path.join(dt, "text_encoder", "model-00002-of-00002.safetensors"))
    jdump(os.path.join(dt, "text_encoder", "model.safetensors.index.json"), {
        "metadata": {"total_size": 64},
        "weight_map": {"text_model.final_layer_norm.weight": "model-00001-of-00002.safetensors",
                       "text_model.final_layer_norm.bias": "model-00002-of-00002.safetensors",
                       "extra.scalar": "model-00002-of-00002.safetensors"}})
    jdump(os.path.join(dt, "scheduler", "scheduler_config.json"), {
        "_class_name": "PNDMScheduler", "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear",
        "num_train_timesteps": 1000, "skip_prk_steps": True, "steps_offset": 1})
    jdump(os.path.join(dt, "tokenizer", "tokenizer_config.json"), {"model_max_length": 77})

    db = os.path.join(ROOT, "diffusers_broken")
    jdump(os.path.join(db, "model_index.json"), {
        "_class_name": "StableDiffusionPipeline", "unet": ["diffusers", "UNet2DConditionModel"],
        "vae": ["diffusers", "AutoencoderKL"], "text_encoder": ["transformers", "CLIPTextModel"]})
    jdump(os.path.join(db, "unet", "config.json"), {"in_channels": "four"})
    os.makedirs(os.path.join(db, "vae"))
    with open(os.path.join(db, "vae", "config.json"), "w") as f:
        f.write('{"latent_channels": 4,, "scaling_factor": 0.18215}\n')
    jdump(os.path.join(db, "text_encoder", "config.json"), {"hidden_size": 8})
    jdump(os.path.join(db, "text_encoder", "model.safetensors.index.json"), {
        "weight_map": {"a": "../../tiny_f32.safetensors"}})


if __name__ == "__main__":
    main()
