#!/usr/bin/env python3
"""Generates the hostile / broken input corpus in Tests/Fixtures/bad/ (small, deterministic, bit-for-bit).

Run from the repository root (needs only the Python standard library):
    /work/venv/bin/python Tools/make_bad_inputs.py        # or any python3 >= 3.8

The CLI tests (Tests/CLITests) feed every file to the real `cxr-edit` binary and check the exit code, the one-line
error and that no output appeared; `manifest.json` says what each file must produce:
  "expect": "error"  -> exit 1, exactly one stderr line "cxr-edit: error: ...", containing every "match" string
  "expect": "either" -> edge case that may decode or be refused, but never crash (exit 0, or 1 with one line)
Layout:
  images/   bit-flipped / truncated / absurd / non-image inputs for `edit` (and `provenance`)
  masks/    masks of another aspect ratio, empty masks, a non-image mask (used with ok/grey8.png)
  npy/      `--noise` arrays of the wrong shape, dtype, layout or with lying headers
  configs/  replacement config / tokenizer files; the tests copy Tests/Fixtures/models/sd1-tiny to a temp folder
            and overwrite the file named by "target" (so broken model folders need no copy of the weights here)
  weights/  `.bin` checkpoints whose pickle calls os.system or a global outside the allow-list (written as raw
            bytes, never loaded); the tests put them in place of the UNet weights
  ok/       valid inputs for the happy-path tests (8- and 16-bit grey, a mask, a palette image)
The existing corpora Tests/Fixtures/checkpoint/bad and Tests/Fixtures/imaging/bad are used as well; files here
do not duplicate them.
"""
import json
import os
import random
import shutil
import struct
import zipfile
import zlib

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
ROOT = os.path.join(REPO, "Tests", "Fixtures", "bad")
SD1 = os.path.join(REPO, "Tests", "Fixtures", "models", "sd1-tiny")
manifest = {}
# Start clean (only the folders this script owns; fuzz-regressions/ is kept).
for sub in ("images", "masks", "npy", "configs", "weights", "ok"):
    shutil.rmtree(os.path.join(ROOT, sub), ignore_errors=True)


def write(rel, data, expect="error", match=(), note="", **extra):
    path = os.path.join(ROOT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    entry = {"expect": expect, "match": list(match), "note": note}
    entry.update(extra)
    manifest[rel] = entry


# --- PNG helpers ---------------------------------------------------------------------------------------------------
SIG = b"\x89PNG\r\n\x1a\n"


def chunk(kind, data, crc=None):
    c = zlib.crc32(kind + data) & 0xFFFFFFFF if crc is None else crc
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", c)


def ihdr(w, h, depth, color, interlace=0):
    return chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color, 0, 0, interlace))


def png(w, h, depth, color, rows, extra=b"", idat=None):
    """rows: list of bytes (unfiltered scanlines); filter type 0 is prepended."""
    raw = b"".join(b"\x00" + r for r in rows)
    body = zlib.compress(raw, 9) if idat is None else idat
    return SIG + ihdr(w, h, depth, color) + extra + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def grey8_rows(w, h, seed):
    rng = random.Random(seed)
    return [bytes(min(255, max(0, (x * 255) // (w - 1) // 2 + (y * 255) // (h - 1) // 2 + rng.randrange(-6, 7)))
                  for x in range(w)) for y in range(h)]


def grey16_rows(w, h, seed):
    rng = random.Random(seed)
    rows = []
    for y in range(h):
        r = b""
        for x in range(w):
            v = (x * 65535) // (w - 1) // 2 + (y * 65535) // (h - 1) // 2 + rng.randrange(-300, 301)
            r += struct.pack(">H", min(65535, max(0, v)))
        rows.append(r)
    return rows


# --- valid inputs ----------------------------------------------------------------------------------------------------
W, H = 64, 48
GREY8 = png(W, H, 8, 0, grey8_rows(W, H, 1))
write("ok/grey8.png", GREY8, expect="ok", note="8-bit grey 64x48 (4:3) input")
write("ok/grey16.png", png(W, H, 16, 0, grey16_rows(W, H, 2)), expect="ok",
      note="16-bit grey 64x48 with noisy low bits (bit-exact paste-back check)")
write("ok/mask_right.png", png(W, H, 8, 0, [bytes(255 if x >= W // 2 else 0 for x in range(W)) for _ in range(H)]),
      expect="ok", note="edit the right half")
write("ok/palette1.png", png(W, H, 1, 3, [bytes(0xAA if (y // 4) % 2 else 0x55 for _ in range(W // 8)) for y in range(H)],
                             extra=chunk(b"PLTE", b"\x10\x10\x10\xf0\xf0\xf0")),
      expect="ok", note="1-bit palette image (edge case that must work)")

# --- bad images ------------------------------------------------------------------------------------------------------
small = png(16, 12, 8, 0, grey8_rows(16, 12, 3))
pos_idat = small.index(b"IDAT")
idat_len = struct.unpack(">I", small[pos_idat - 4:pos_idat])[0]
idat = bytearray(small[pos_idat + 4:pos_idat + 4 + idat_len])


def with_idat(data):
    return SIG + small[8:pos_idat - 4] + chunk(b"IDAT", bytes(data)) + chunk(b"IEND", b"")


flipped = bytearray(idat)
flipped[0] ^= 0x01  # zlib CMF byte: header checksum (FCHECK) fails
write("images/bitflip_zlib_header.png", with_idat(flipped), match=["bitflip_zlib_header.png", "corrupt PNG"],
      note="IDAT zlib header bit flipped, chunk CRC recomputed so libpng's inflate sees it")
# A flip inside the deflate stream that zlib rejects (searched deterministically, CRC recomputed).
for i in range(2, len(idat) - 4):
    for bit in range(8):
        d = bytearray(idat)
        d[i] ^= 1 << bit
        try:
            zlib.decompress(bytes(d))
        except zlib.error:
            break
    else:
        continue
    write("images/bitflip_deflate.png", with_idat(d), match=["bitflip_deflate.png"],
          note="bit %d of IDAT byte %d flipped (zlib rejects the stream), CRC recomputed" % (bit, i))
    break
adler = bytearray(idat)
adler[-1] ^= 0x80
write("images/bitflip_adler.png", with_idat(adler), expect="either", match=["bitflip_adler.png"],
      note="Adler-32 of the IDAT stream flipped (libpng may or may not verify it)")
crc_flip = bytearray(small)
crc_flip[pos_idat + 4 + idat_len + 2] ^= 0x10
write("images/bitflip_crc_idat.png", bytes(crc_flip), match=["bitflip_crc_idat.png", "CRC"],
      note="one bit of the IDAT CRC flipped")
ct = bytearray(SIG + ihdr(16, 12, 8, 5) + small[33:])
write("images/bitflip_colour_type.png", bytes(ct), match=["bitflip_colour_type.png", "colour type"],
      note="IHDR colour type 0 -> 5 (undefined), CRC recomputed")
write("images/truncated_in_idat16.png", png(W, H, 16, 0, grey16_rows(W, H, 4))[:300],
      match=["truncated_in_idat16.png", "truncated"], note="16-bit PNG cut inside IDAT")
# Absurd dimensions with a tiny valid IDAT: must be refused from IHDR, before any allocation.
bomb_idat = zlib.compress(b"\x00" * 1000, 9)
write("images/bomb_side.png", SIG + ihdr(20000, 1, 8, 0) + chunk(b"IDAT", bomb_idat) + chunk(b"IEND", b""),
      match=["bomb_side.png", "limit"], note="20000 px wide: over the 16384 px/side limit")
write("images/bomb_pixels16.png", SIG + ihdr(12000, 9000, 16, 2) + chunk(b"IDAT", bomb_idat) + chunk(b"IEND", b""),
      match=["bomb_pixels16.png", "limit"], note="12000x9000 16-bit RGB: 108 M pixels, over the pixel budget")
write("images/bomb_max.png", SIG + ihdr(0x7FFFFFFF, 0x7FFFFFFF, 16, 6) + chunk(b"IDAT", bomb_idat) + chunk(b"IEND", b""),
      match=["bomb_max.png", "limit"], note="2^31-1 square RGBA16 (w*h*8 overflows 32 bits)")
trailing_raw = b"".join(b"\x00" + r for r in grey8_rows(W, H, 1)) + bytes(8 << 20)
write("images/idat_trailing_data.png", png(W, H, 8, 0, [], idat=zlib.compress(trailing_raw, 9)),
      match=["idat_trailing_data.png", "inflates to more than"],
      note="a valid 64x48 image whose zlib stream goes on for 8 MiB more: libpng inflated all of it and accepted the "
           "file (a 32 MB file took 81 s); inflating stops at the image's size plus 1 MiB")
write("images/pixel_budget_16384x6103.png", SIG + ihdr(16384, 6103, 8, 0) + chunk(b"IDAT", bomb_idat) + chunk(b"IEND", b""),
      match=["pixel_budget_16384x6103.png", "24000000 pixels"],
      note="inside the per-side and decode limits but ~10.7 GB to edit: refused from IHDR by the pixel budget, before "
           "any output exists (it aborted after writing the output before issue 18)")
write("images/zero_width16.png", SIG + ihdr(0, 4, 16, 0) + chunk(b"IDAT", bomb_idat) + chunk(b"IEND", b""),
      match=["zero_width16.png", "zero size"], note="16-bit grey with width 0")
write("images/grey16_bad_depth_palette.png", SIG + ihdr(4, 4, 16, 3) + chunk(b"PLTE", b"\0\0\0") +
      chunk(b"IDAT", zlib.compress(b"\0" * 40)) + chunk(b"IEND", b""),
      match=["grey16_bad_depth_palette.png", "bit depth"], note="palette images cannot be 16-bit")
write("images/palette_no_plte.png", png(8, 8, 8, 3, [bytes(8)] * 8), match=["palette_no_plte.png", "PLTE"],
      note="palette colour type without a PLTE chunk")
write("images/palette_index_oob.png", png(8, 8, 8, 3, [bytes(range(y * 8, y * 8 + 8)) for y in range(8)],
                                          extra=chunk(b"PLTE", b"\x00\x00\x00\xff\xff\xff")),
      expect="either", match=["palette_index_oob.png"], note="indices up to 63 with a 2-entry palette")
write("images/palette_plte_too_long.png", png(4, 4, 1, 3, [b"\x00"] * 4, extra=chunk(b"PLTE", bytes(300 * 3))),
      expect="either", match=["palette_plte_too_long.png"], note="300 palette entries for a 1-bit image")
write("images/palette_trns_too_long.png", png(4, 4, 8, 3, [b"\x00\x01\x00\x01"] * 4,
                                              extra=chunk(b"PLTE", b"\x00\x00\x00\xff\xff\xff") + chunk(b"tRNS", bytes(40))),
      expect="either", match=["palette_trns_too_long.png"], note="tRNS longer than the palette")
write("images/idat_after_iend.png", SIG + ihdr(4, 4, 8, 0) + chunk(b"IEND", b"") +
      chunk(b"IDAT", zlib.compress(b"\0" * 20)), match=["idat_after_iend.png", "IDAT"],
      note="IEND before any IDAT")
write("images/text_named.png", b"This is not an image, just text with a .png name.\n",
      match=["text_named.png", "not a PNG or JPEG"])
write("images/html_named.png", b"<!DOCTYPE html><html><body>404 Not Found</body></html>\n",
      match=["html_named.png", "not a PNG or JPEG"], note="what a failed download saves")
write("images/gif_named.png", b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,"
      b"\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;", match=["gif_named.png", "not a PNG or JPEG"])
write("images/signature_only.png", SIG, match=["signature_only.png", "truncated"])


# --- JPEG: build a minimal valid baseline greyscale JPEG by hand, then break it in known places -------------------------
def jpeg_grey(w, h):
    """A valid baseline 8-bit greyscale JPEG of a flat grey image (all DC diffs 0, all AC zero)."""
    def seg(marker, body):
        return b"\xff" + bytes([marker]) + struct.pack(">H", len(body) + 2) + body
    dqt = seg(0xDB, b"\x00" + bytes([1] * 64))
    sof = seg(0xC0, b"\x08" + struct.pack(">HH", h, w) + b"\x01" + b"\x01\x11\x00")
    # DC table 0: one code of length 1 for category 0. AC table 0: one code of length 1 for EOB (0x00).
    dht_dc = seg(0xC4, b"\x00" + bytes([1] + [0] * 15) + b"\x00")
    dht_ac = seg(0xC4, b"\x10" + bytes([1] + [0] * 15) + b"\x00")
    sos = seg(0xDA, b"\x01" + b"\x01\x00" + b"\x00\x3f\x00")
    blocks = ((w + 7) // 8) * ((h + 7) // 8)
    bits = "00" * blocks  # DC code '0' (diff 0) + AC code '0' (EOB) per block
    bits += "1" * (-len(bits) % 8)
    data = bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits), 8))
    data = data.replace(b"\xff", b"\xff\x00")
    return b"\xff\xd8" + dqt + sof + dht_dc + dht_ac + sos + data + b"\xff\xd9", (dqt, sof, dht_dc, dht_ac, sos)


JPG, (DQT, SOF, DHT_DC, DHT_AC, SOS) = jpeg_grey(32, 24)
write("ok/flat.jpg", JPG, expect="ok", note="hand-made baseline grey JPEG (the base of the bit flips)")


def jflip(segment, offset, mask):
    """Flips bits at `offset` inside `segment` (counted from its 0xFF marker) in the valid JPEG."""
    at = JPG.index(segment) + offset
    b = bytearray(JPG)
    b[at] ^= mask
    return bytes(b)


write("images/bitflip_sof_components.jpg", jflip(SOF, 9, 0x03), match=["bitflip_sof_components.jpg"],
      note="SOF component count 1 -> 2")
write("images/bitflip_sof_precision.jpg", jflip(SOF, 4, 0x04), match=["bitflip_sof_precision.jpg", "precision"],
      note="SOF sample precision 8 -> 12")
write("images/bitflip_dht_counts.jpg", jflip(DHT_DC, 5, 0xF0), match=["bitflip_dht_counts.jpg"],
      note="DC Huffman table: 1 -> 241 codes of length 1")
write("images/bitflip_sos_table.jpg", jflip(SOS, 6, 0x30), match=["bitflip_sos_table.jpg"],
      note="SOS selects Huffman tables 3/0, never defined")
write("images/bitflip_dqt_id.jpg", jflip(DQT, 4, 0x02), match=["bitflip_dqt_id.jpg"],
      note="DQT defines table 2; the frame uses table 0")
write("images/bitflip_segment_length.jpg", jflip(DQT, 2, 0x40), match=["bitflip_segment_length.jpg"],
      note="DQT length + 16384: runs past the end of the file")
write("images/bitflip_sof0_to_sof9.jpg", jflip(SOF, 1, 0x09), match=["bitflip_sof0_to_sof9.jpg", "corrupt JPEG", "arithmetic"],
      note="baseline SOF0 -> arithmetic SOF9: libjpeg decodes the Huffman data into garbage without a warning")
write("images/truncated_scan.jpg", JPG[:JPG.index(SOS) + len(SOS) + 2], match=["truncated_scan.jpg", "truncated"])
write("images/jpeg_signature_garbage.png", b"\xff\xd8\xff" + bytes(random.Random(7).randrange(256) for _ in range(200)),
      match=["jpeg_signature_garbage.png", "JPEG"], note="JPEG magic then noise, with a .png name")

# --- masks (for ok/grey8.png, 64x48) ---------------------------------------------------------------------------------
write("masks/aspect_wide.png", png(96, 48, 8, 0, [bytes([255] * 96)] * 48),
      match=["aspect_wide.png", "aspect ratio"], note="2:1 mask for a 4:3 image")
write("masks/aspect_tall.png", png(48, 64, 8, 0, [bytes([255] * 48)] * 64),
      match=["aspect_tall.png", "aspect ratio"], note="3:4 mask for a 4:3 image")
write("masks/empty.png", png(W, H, 8, 0, [bytes(W)] * H), match=["empty.png", "empty"], note="all black")
write("masks/empty16.png", png(W, H, 16, 0, [bytes(2 * W)] * H), match=["empty16.png", "empty"], note="16-bit all black")
write("masks/almost_empty.png", png(W, H, 8, 0, [bytes([100] * W)] * H), match=["almost_empty.png", "empty"],
      note="all grey 100 (< 50%): binarises to nothing")
write("masks/not_an_image.png", b"mask goes here\n", match=["not_an_image.png", "not a PNG or JPEG"])
write("masks/truncated.png", png(W, H, 8, 0, [bytes([255] * W)] * H)[:60], match=["truncated.png", "truncated"])


# --- .npy noise -------------------------------------------------------------------------------------------------------
def npy(descr, shape, body, fortran=False, raw_header=None):
    header = raw_header or ("{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" %
                            (descr, "True" if fortran else "False", repr(tuple(shape))))
    pad = 64 - (10 + len(header) + 1) % 64
    header = header + " " * pad + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin-1") + body


def floats(n, seed):
    rng = random.Random(seed)
    return struct.pack("<%df" % n, *[rng.gauss(0, 1) for _ in range(n)])


write("npy/wrong_shape.npy", npy("<f4", (1, 4, 7, 7), floats(196, 1)), match=["shape"],
      note="latents of sd1-tiny are (1, 4, 8, 8)")
write("npy/wrong_rank.npy", npy("<f4", (256,), floats(256, 2)), expect="either", match=["shape"],
      note="right element count, wrong rank: the pipeline may reshape it")
write("npy/int32.npy", npy("<i4", (1, 4, 8, 8), bytes(1024)), match=["int32.npy", "float32"])
write("npy/big_endian.npy", npy(">f4", (1, 4, 8, 8), bytes(1024)), match=["big_endian.npy"])
write("npy/fortran.npy", npy("<f4", (1, 4, 8, 8), floats(256, 3), fortran=True), match=["fortran.npy", "Fortran"])
write("npy/truncated.npy", npy("<f4", (1, 4, 8, 8), floats(100, 4)), match=["truncated.npy"])
write("npy/bad_magic.npy", b"\x93NUMPX\x01\x00" + bytes(100), match=["bad_magic.npy", ".npy"])
write("npy/header_past_end.npy", b"\x93NUMPY\x01\x00\xff\x7f{'descr'", match=["header_past_end.npy"])
write("npy/overflow_shape.npy", npy("<f4", (1 << 62, 1 << 62, 4), floats(4, 5)), match=["overflow_shape.npy"],
      note="element count overflows Int64: must be an error, not a trap")
write("npy/negative_shape.npy", npy("<f4", (-4, -4, 4, 1), floats(64, 6)), match=["negative_shape.npy"],
      note="negative dimensions whose product is positive")
write("npy/nan.npy", npy("<f4", (1, 4, 8, 8), struct.pack("<f", float("nan")) * 256),
      match=["nan.npy", "NaN"], note="NaN noise: refused before the model loads (it gave a black image before issue 18)")


# --- configs for broken model folders (targets are paths inside a copy of sd1-tiny) ----------------------------------------
def load(rel):
    with open(os.path.join(SD1, rel), "rb") as f:
        return json.loads(f.read())


def dump(obj):
    return (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode()


unet = load("unet/config.json")
te = load("text_encoder/config.json")
vae = load("vae/config.json")


def variant(base, **changes):
    d = dict(base)
    for k, v in changes.items():
        if v is KeyError:
            d.pop(k, None)
        else:
            d[k] = v
    return dump(d)


def cfg(name, target, data, match, note="", expect="error"):
    write("configs/" + name, data, expect=expect, match=match, note=note, target=target)


cfg("unet_missing_block_out_channels.json", "unet/config.json", variant(unet, block_out_channels=KeyError),
    ["config.json", "block_out_channels"])
cfg("unet_in_channels_string.json", "unet/config.json", variant(unet, in_channels="4"), ["config.json", "in_channels"])
cfg("unet_class_embed.json", "unet/config.json", variant(unet, class_embed_type="timestep"),
    ["config.json", "class_embed_type"], "another architecture (class-conditioned UNet)")
cfg("unet_addition_embed.json", "unet/config.json", variant(unet, addition_embed_type="text_time"),
    ["config.json", "addition_embed_type"], "SDXL-style added conditioning")
cfg("unet_channels_mismatch.json", "unet/config.json", variant(unet, block_out_channels=[16, 48]), ["has shape"],
    "weights no longer fit the config (shape mismatch)")
cfg("unet_not_object.json", "unet/config.json", b"[1, 2, 3]\n", ["config.json"])
cfg("unet_truncated.json", "unet/config.json", dump(unet)[:200], ["config.json", "JSON"])
cfg("unet_non_utf8.json", "unet/config.json", dump(unet).replace(b'"silu"', b'"s\xffl\xfeu"'), ["config.json", "UTF-8"])
cfg("unet_deep.json", "unet/config.json", dump(unet)[:-2] + b', "x": ' + b"[" * 100 + b"]" * 100 + b"}\n",
    ["config.json", "nested"], "nesting deeper than the 64-level limit")
cfg("unet_negative_channels.json", "unet/config.json", variant(unet, block_out_channels=[-16, 32]), ["config.json"])
cfg("unet_huge_channels.json", "unet/config.json", variant(unet, block_out_channels=[16, 1 << 40]), ["config.json"],
    "absurd width: must be refused, not allocated")
cfg("unet_zero_heads.json", "unet/config.json", variant(unet, attention_head_dim=0), ["config.json"],
    "found by fuzz-json: a zero head count divided by zero in UNetConfig")
cfg("unet_negative_layers.json", "unet/config.json", variant(unet, layers_per_block=-1), ["config.json"])
cfg("unet_negative_transformer_layers.json", "unet/config.json", variant(unet, transformer_layers_per_block=-2),
    ["config.json"])
cfg("unet_zero_sample_size.json", "unet/config.json", variant(unet, sample_size=0), ["config.json"])
cfg("text_encoder_zero_positions.json", "text_encoder/config.json", variant(te, max_position_embeddings=0),
    ["config.json"])
cfg("text_encoder_hidden_fraction.json", "text_encoder/config.json", variant(te, hidden_size=32.5),
    ["config.json", "hidden_size"])
cfg("text_encoder_heads_mismatch.json", "text_encoder/config.json", variant(te, num_attention_heads=5),
    ["config.json"], "hidden_size 32 not divisible by 5 heads")
cfg("vae_missing_latent_channels.json", "vae/config.json", variant(vae, latent_channels=KeyError),
    ["latent_channels"], expect="either", note="latent_channels has a diffusers default (4)")
cfg("vae_scaling_string.json", "vae/config.json", variant(vae, scaling_factor="0.18"), ["config.json", "scaling_factor"])
# Illegal numbers that gave an all-black image with exit 0 before issue 18: refused at load, naming key and file.
cfg("vae_scaling_zero.json", "vae/config.json", variant(vae, scaling_factor=0), ["config.json", "scaling_factor"],
    "latents divided by 0")
cfg("vae_scaling_huge.json", "vae/config.json", variant(vae, scaling_factor=1e300), ["config.json", "scaling_factor"])
cfg("unet_negative_norm_eps.json", "unet/config.json", variant(unet, norm_eps=-1), ["config.json", "norm_eps"],
    "sqrt of a negative variance")
cfg("unet_zero_norm_eps.json", "unet/config.json", variant(unet, norm_eps=0), ["config.json", "norm_eps"])
cfg("text_encoder_negative_layer_norm_eps.json", "text_encoder/config.json", variant(te, layer_norm_eps=-0.5),
    ["config.json", "layer_norm_eps"])
cfg("text_encoder_infinite_layer_norm_eps.json", "text_encoder/config.json",
    dump(te).replace(b'"layer_norm_eps": 1e-05', b'"layer_norm_eps": 1e999'), ["config.json", "layer_norm_eps"],
    "a JSON number that overflows to infinity")
sched = load("scheduler/scheduler_config.json")
cfg("scheduler_negative_beta_start.json", "scheduler/scheduler_config.json", variant(sched, beta_start=-0.001),
    ["scheduler_config.json", "beta_start"], "sqrt of a negative beta")
cfg("scheduler_beta_end_one.json", "scheduler/scheduler_config.json", variant(sched, beta_end=1.0),
    ["scheduler_config.json", "beta_end"], "alpha_cumprod 0: division by zero")
cfg("scheduler_betas_reversed.json", "scheduler/scheduler_config.json", variant(sched, beta_start=0.5, beta_end=0.1),
    ["scheduler_config.json", "beta_start"])
cfg("model_index_list.json", "model_index.json", b'[["diffusers", "UNet2DConditionModel"]]\n', ["model_index.json"])
cfg("model_index_empty.json", "model_index.json", b"", ["model_index.json"])
cfg("scheduler_unknown_schedule.json", "scheduler/scheduler_config.json",
    variant(load("scheduler/scheduler_config.json"), beta_schedule="cosine_fancy"), ["scheduler_config.json"])
cfg("scheduler_negative_steps.json", "scheduler/scheduler_config.json",
    variant(load("scheduler/scheduler_config.json"), num_train_timesteps=-5), ["scheduler_config.json"])
with open(os.path.join(SD1, "tokenizer", "vocab.json"), "rb") as f:
    vocab = f.read()
cfg("tokenizer_vocab_truncated.json", "tokenizer/vocab.json", vocab[:len(vocab) // 2], ["vocab.json"])
cfg("tokenizer_vocab_list.json", "tokenizer/vocab.json", b'["a", "b"]\n', ["vocab.json"])
cfg("tokenizer_merges_bad.txt", "tokenizer/merges.txt", b"#version: 0.2\na b\nthis line has three\n",
    ["merges.txt", "line 3"])
cfg("tokenizer_merges_unknown_token.txt", "tokenizer/merges.txt", b"#version: 0.2\n\xe2\x98\x83 \xe2\x98\x83\n",
    ["merges"], expect="either", note="a merge of tokens absent from the vocabulary")
tok_cfg = load("tokenizer/tokenizer_config.json")
cfg("tokenizer_max_length_huge.json", "tokenizer/tokenizer_config.json", variant(tok_cfg, model_max_length=100000),
    ["tokenizer"], expect="either", note="more positions than the text encoder has (77): refuse or ignore, never crash")


# --- weights: hostile pickles (raw bytes; never unpickled here) ------------------------------------------------------------
def torch_zip(rel, pickle_bytes, match, note):
    import io
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for name, data in (("archive/data.pkl", pickle_bytes), ("archive/byteorder", b"little"),
                           ("archive/version", b"3\n")):
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            z.writestr(info, data)
    write(rel, buf.getvalue(), match=match, note=note, target="unet/diffusion_pytorch_model.bin",
          remove="unet/diffusion_pytorch_model.safetensors")


MARKER = "/tmp/cxr-edit-pwned-marker"
cmd = ("touch " + MARKER).encode()
torch_zip("weights/evil_os_system_touch.bin",
          b"\x80\x02cos\nsystem\nX" + struct.pack("<I", len(cmd)) + cmd + b"\x85R.",
          ["refusing pickle global", "os.system"], "would create %s if executed" % MARKER)
torch_zip("weights/evil_numpy_reconstruct.bin",
          b"\x80\x02cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85C\x01b\x87R.",
          ["refusing pickle global", "numpy.core.multiarray._reconstruct"],
          "a common but non-allow-listed global (numpy arrays in old checkpoints)")
torch_zip("weights/evil_torch_load.bin",
          b"\x80\x02ctorch\nload\nX\x08\x00\x00\x00/dev/zero\x85R.",
          ["refusing pickle global", "torch.load"], "a torch global outside the allow-list")
torch_zip("weights/evil_builtins_getattr.bin",
          b"\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x00\x8c\x08builtins\x8c\x07getattr\x93\x8c\x02os\x8c\x06system\x86R.",
          ["refusing pickle global", "builtins.getattr"], "STACK_GLOBAL form")


# --- weights: views that declare more elements than their storage holds (stride 0) -----------------------------------
def pickle_int(v):
    return b"J" + struct.pack("<i", v) if -(1 << 31) <= v < (1 << 31) else b"\x8a\x08" + struct.pack("<q", v)


def torch_view_zip(rel, name, numel, size, stride, match, note):
    """A torch.save-style zip whose state dict maps `name` to a view (size, stride) of one float storage."""
    import io
    tup = lambda xs: b"(" + b"".join(pickle_int(x) for x in xs) + b"t"
    pkl = (b"\x80\x02}(X" + struct.pack("<I", len(name)) + name.encode() +
           b"ctorch._utils\n_rebuild_tensor_v2\n(" +
           b"(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpu" + pickle_int(numel) +
           b"tQ" + pickle_int(0) + tup(size) + tup(stride) + b"\x89ccollections\nOrderedDict\n)RtRu.")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for entry, data in (("archive/data.pkl", pkl), ("archive/byteorder", b"little"), ("archive/version", b"3\n"),
                            ("archive/data/0", bytes(4 * numel))):
            info = zipfile.ZipInfo(entry, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            z.writestr(info, data)
    write(rel, buf.getvalue(), match=match, note=note, target="unet/diffusion_pytorch_model.bin",
          remove="unet/diffusion_pytorch_model.safetensors")


torch_view_zip("weights/stride0_64gib.bin", "conv_in.weight", 1, [1 << 14, 1 << 20], [0, 0],
               ["diffusion_pytorch_model.bin", "conv_in.weight", "limit"],
               "one float viewed as 2^34 elements: 64 GiB if expanded (it was, before any shape check, and aborted)")
torch_view_zip("weights/stride0_broadcast.bin", "conv_in.weight", 16, [1 << 12, 1 << 12, 16], [0, 0, 1],
               ["diffusion_pytorch_model.bin", "stride 0"], "a 16-float storage broadcast to 1 GiB (under the per-tensor cap)")

with open(os.path.join(ROOT, "manifest.json"), "w") as f:
    json.dump(manifest, f, indent=1, sort_keys=True)
    f.write("\n")
print("wrote %d files under %s" % (len(manifest), os.path.relpath(ROOT, REPO)))
