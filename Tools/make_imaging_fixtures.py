#!/usr/bin/env python3
"""Generates the CXRImaging test fixtures in Tests/Fixtures/imaging/.

Run from the repository root:
    /work/venv/bin/python Tools/make_imaging_fixtures.py

Deterministic: fixed seeds, fixed zlib level, no timestamps. PNG files are written by the small
writer below (so that 16-bit RGB, Adam7 interlacing, gAMA and deliberately broken files are
possible); every image Pillow can decode is checked against Pillow's decode before the expected
samples are stored. JPEGs are encoded and decoded by Pillow (its libjpeg-turbo), and the expected
samples are Pillow's decode. Expected samples are raw little-endian files: uint8 for 8-bit,
uint16 for 16-bit, interleaved, row-major; manifest.json lists shape and tolerance.
"""
import io
import json
import os
import struct
import zlib

import numpy as np
from PIL import Image, ImageOps, PngImagePlugin

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "imaging")
BAD = os.path.join(ROOT, "bad")


def chunk(ctype: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + ctype + data + struct.pack(">I", zlib.crc32(ctype + data) & 0xFFFFFFFF)


def ihdr(w, h, depth, color, interlace=0):
    return chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color, 0, 0, interlace))


def pack_rows(arr, depth, channels):
    """arr: (h, w, c) or (h, w) integer array -> list of raw scanlines (without filter byte)."""
    a = arr.reshape(arr.shape[0], arr.shape[1], channels)
    rows = []
    for y in range(a.shape[0]):
        r = a[y].reshape(-1)
        if depth == 16:
            rows.append(r.astype(">u2").tobytes())
        elif depth == 8:
            rows.append(r.astype(np.uint8).tobytes())
        else:
            per = 8 // depth
            out = bytearray()
            for i in range(0, len(r), per):
                byte = 0
                for j in range(per):
                    v = int(r[i + j]) if i + j < len(r) else 0
                    byte |= v << (8 - depth * (j + 1))
                out.append(byte)
            rows.append(bytes(out))
    return rows


def filtered(rows, filt=0):
    # Filter 0 (None) for simplicity except that 'filt=1' uses Sub on every row to exercise unfiltering.
    out = bytearray()
    for r in rows:
        if filt == 1:
            out.append(1)
            prev = 0
            bpp = 1
            for i, b in enumerate(r):
                out.append((b - (r[i - bpp] if i >= bpp else 0)) & 0xFF)
        else:
            out.append(0)
            out += r
    return bytes(out)


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def png_bytes(arr, depth, color, channels, extra=b"", interlace=0, palette=None, trns=None, filt=0):
    h, w = arr.shape[0], arr.shape[1]
    if interlace:
        raw = bytearray()
        a = arr.reshape(h, w, channels)
        for (x0, y0, dx, dy) in ADAM7:
            sub = a[y0::dy, x0::dx]
            if sub.size == 0:
                continue
            raw += filtered(pack_rows(sub, depth, channels), filt)
        raw = bytes(raw)
    else:
        raw = filtered(pack_rows(arr, depth, channels), filt)
    out = b"\x89PNG\r\n\x1a\n" + ihdr(w, h, depth, color, interlace) + extra
    if palette is not None:
        out += chunk(b"PLTE", bytes(np.asarray(palette, dtype=np.uint8).reshape(-1)))
    if trns is not None:
        out += chunk(b"tRNS", bytes(trns))
    out += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    return out


manifest = []


def save(name, data):
    with open(os.path.join(ROOT, name), "wb") as f:
        f.write(data)


def expect(name, arr, depth, tolerance=0, pillow=None):
    """Stores expected samples for fixture `name`; `pillow` (array) must equal `arr` if given."""
    arr = np.asarray(arr)
    h, w = arr.shape[0], arr.shape[1]
    c = 1 if arr.ndim == 2 else arr.shape[2]
    if pillow is not None:
        diff = np.abs(np.asarray(pillow).astype(np.int64) - arr.astype(np.int64)).max()
        assert diff == 0, (name, diff)
    raw = name.rsplit(".", 1)[0] + ".expected.raw"
    dt = "<u2" if depth == 16 else "u1"
    with open(os.path.join(ROOT, raw), "wb") as f:
        f.write(arr.astype(dt).tobytes())
    manifest.append({"file": name, "expected": raw, "width": int(w), "height": int(h), "channels": int(c),
                     "bitDepth": depth, "tolerance": tolerance})


def pil(name, mode=None):
    im = Image.open(os.path.join(ROOT, name))
    im.load()
    return np.array(im.convert(mode) if mode else im)


def main():
    os.makedirs(BAD, exist_ok=True)
    rng = np.random.default_rng(20240601)
    yy, xx = np.mgrid[0:24, 0:32]

    # 8-bit grey with a gAMA 1.0 chunk: samples must come back raw (no gamma handling, like Pillow).
    g8 = ((xx * 8 + yy * 3 + rng.integers(0, 20, xx.shape)) % 256).astype(np.uint8)
    save("grey8.png", png_bytes(g8, 8, 0, 1, extra=chunk(b"gAMA", struct.pack(">I", 100000)), filt=1))
    expect("grey8.png", g8, 8, pillow=pil("grey8.png"))

    g16 = (xx * 2000 + yy * 37 + rng.integers(0, 300, xx.shape)).astype(np.uint16)
    save("grey16.png", png_bytes(g16, 16, 0, 1, extra=chunk(b"gAMA", struct.pack(">I", 45455))))
    expect("grey16.png", g16, 16, pillow=pil("grey16.png"))

    rgb = rng.integers(0, 256, (24, 32, 3)).astype(np.uint8)
    rgb[0, :4] = [[0, 0, 0], [255, 255, 255], [255, 0, 0], [1, 2, 3]]
    save("rgb8.png", png_bytes(rgb, 8, 2, 3))
    expect("rgb8.png", rgb, 8, pillow=pil("rgb8.png"))
    # Pillow's convert("L") of the RGB image, and a check of the fixed-point formula we implement.
    lum = pil("rgb8.png", "L")
    r, g, b = (rgb[..., i].astype(np.int64) for i in range(3))
    formula = ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16).astype(np.uint8)
    assert (formula == lum).all(), "Pillow's convert('L') differs from the fixed-point formula"
    with open(os.path.join(ROOT, "rgb8.L.expected.raw"), "wb") as f:
        f.write(lum.astype(np.uint8).tobytes())

    rgb_i = rng.integers(0, 256, (13, 11, 3)).astype(np.uint8)
    save("rgb8_interlaced.png", png_bytes(rgb_i, 8, 2, 3, interlace=1))
    expect("rgb8_interlaced.png", rgb_i, 8, pillow=pil("rgb8_interlaced.png"))

    rgb16 = rng.integers(0, 65536, (9, 10, 3)).astype(np.uint16)
    save("rgb16.png", png_bytes(rgb16, 16, 2, 3))
    expect("rgb16.png", rgb16, 16)  # Pillow has no 16-bit RGB mode; expected = the array we encoded

    rgba = rng.integers(0, 256, (16, 20, 4)).astype(np.uint8)
    rgba[..., 3] = rng.integers(0, 256, (16, 20))
    save("rgba8.png", png_bytes(rgba, 8, 6, 4))
    expect("rgba8.png", rgba[..., :3], 8, pillow=pil("rgba8.png", "RGB"))

    ga16 = rng.integers(0, 65536, (7, 6, 2)).astype(np.uint16)
    save("greyalpha16.png", png_bytes(ga16, 16, 4, 2))
    expect("greyalpha16.png", ga16[..., 0], 16)

    ga8 = rng.integers(0, 256, (7, 6, 2)).astype(np.uint8)
    save("greyalpha8.png", png_bytes(ga8, 8, 4, 2))
    expect("greyalpha8.png", ga8[..., 0], 8, pillow=pil("greyalpha8.png", "LA")[..., 0])

    pal = rng.integers(0, 256, (16, 3)).astype(np.uint8)
    idx = rng.integers(0, 16, (16, 16)).astype(np.uint8)
    save("palette8_trns.png", png_bytes(idx, 8, 3, 1, palette=pal, trns=[0, 128, 255, 7]))
    expect("palette8_trns.png", pal[idx], 8, pillow=pil("palette8_trns.png", "RGB"))

    idx4 = rng.integers(0, 16, (5, 9)).astype(np.uint8)
    save("palette4.png", png_bytes(idx4, 4, 3, 1, palette=pal))
    expect("palette4.png", pal[idx4], 8, pillow=pil("palette4.png", "RGB"))

    g1 = rng.integers(0, 2, (7, 19)).astype(np.uint8)
    save("grey1.png", png_bytes(g1, 1, 0, 1))
    expect("grey1.png", g1 * 255, 8, pillow=pil("grey1.png", "L"))

    g2 = rng.integers(0, 4, (5, 7)).astype(np.uint8)
    save("grey2.png", png_bytes(g2, 2, 0, 1))
    expect("grey2.png", g2 * 0x55, 8, pillow=pil("grey2.png", "L"))

    g4 = rng.integers(0, 16, (5, 7)).astype(np.uint8)
    save("grey4.png", png_bytes(g4, 4, 0, 1))
    expect("grey4.png", g4 * 0x11, 8, pillow=pil("grey4.png", "L"))

    # JPEGs: Pillow encodes (libjpeg-turbo), expected = Pillow's decode.
    smooth = (128 + 100 * np.sin(xx / 5.0) * np.cos(yy / 7.0)).astype(np.uint8)
    Image.fromarray(smooth, "L").save(os.path.join(ROOT, "grey.jpg"), quality=90)
    expect("grey.jpg", pil("grey.jpg"), 8, tolerance=1)
    y2, x2 = np.mgrid[0:32, 0:40]
    crgb = np.stack([(x2 * 6) % 256, (y2 * 8) % 256, ((x2 + y2) * 3) % 256], -1).astype(np.uint8)
    Image.fromarray(crgb, "RGB").save(os.path.join(ROOT, "rgb_baseline.jpg"), quality=90)
    expect("rgb_baseline.jpg", pil("rgb_baseline.jpg"), 8, tolerance=2)
    Image.fromarray(crgb, "RGB").save(os.path.join(ROOT, "rgb_progressive.jpg"), quality=85, progressive=True)
    expect("rgb_progressive.jpg", pil("rgb_progressive.jpg"), 8, tolerance=2)
    Image.fromarray(crgb, "RGB").save(os.path.join(ROOT, "rgb444.jpg"), quality=95, subsampling=0)
    expect("rgb444.jpg", pil("rgb444.jpg"), 8, tolerance=2)

    # EXIF orientation 6 (rotate 90 clockwise): expected = Pillow's ImageOps.exif_transpose.
    exif = Image.Exif()
    exif[0x0112] = 6
    asym = crgb[:24, :40].copy()
    asym[:4, :10] = [255, 0, 0]
    Image.fromarray(asym, "RGB").save(os.path.join(ROOT, "exif_rot6.jpg"), quality=95, subsampling=0, exif=exif)
    rot = np.array(ImageOps.exif_transpose(Image.open(os.path.join(ROOT, "exif_rot6.jpg"))))
    assert rot.shape == (40, 24, 3)
    expect("exif_rot6.jpg", rot, 8, tolerance=2)

    # Text chunks written by Pillow (tEXt, iTXt, zTXt), to check we read another writer's chunks.
    info = PngImagePlugin.PngInfo()
    info.add_text("Software", "Pillow")
    info.add_itxt("Source", "synthetic \u2014 test")
    info.add_text("Comment", "compressed " * 20, zip=True)
    Image.fromarray(g8[:4, :4], "L").save(os.path.join(ROOT, "text_pillow.png"), pnginfo=info)

    with open(os.path.join(ROOT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")

    make_bad(g8, crgb, rng)


def make_bad(g8, crgb, rng):
    def bad(name, data):
        with open(os.path.join(BAD, name), "wb") as f:
            f.write(data)

    good = open(os.path.join(ROOT, "grey8.png"), "rb").read()
    bad("truncated.png", good[: len(good) // 2])
    i = good.index(b"IDAT")
    flipped = bytearray(good)
    flipped[i + 10] ^= 0x10
    bad("bad_crc.png", bytes(flipped))
    # Decompression bomb: 100000 x 100000 grey with a tiny (valid) IDAT.
    bad("bomb.png", b"\x89PNG\r\n\x1a\n" + ihdr(100000, 100000, 8, 0)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 100)) + chunk(b"IEND", b""))
    bad("zero_size.png", b"\x89PNG\r\n\x1a\n" + ihdr(0, 10, 8, 0) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))
    bad("random.bin", rng.integers(0, 256, 200).astype(np.uint8).tobytes())
    bad("empty.png", b"")
    bad("palette16.png", b"\x89PNG\r\n\x1a\n" + ihdr(4, 4, 16, 3) + chunk(b"PLTE", b"\0\0\0")
        + chunk(b"IDAT", zlib.compress(b"\x00" * 40)) + chunk(b"IEND", b""))
    # A tEXt chunk whose length claims ~2 GB (the file is tiny).
    huge = b"\x89PNG\r\n\x1a\n" + ihdr(4, 4, 8, 0) + struct.pack(">I", 0x7FFFFFF0) + b"tEXt" + b"key\0value"
    bad("huge_text.png", huge)
    # Valid chunk CRCs but corrupt zlib data inside IDAT: only libpng can notice (fatal-error path).
    raw = bytearray(zlib.compress(b"\x00" + bytes(4), 9))
    raw[0] = 0x00  # invalid zlib header
    bad("bad_zlib.png", b"\x89PNG\r\n\x1a\n" + ihdr(4, 4, 8, 0) + chunk(b"IDAT", bytes(raw)) + chunk(b"IEND", b""))
    # Complete zlib stream holding too few rows.
    bad("short_idat.png", b"\x89PNG\r\n\x1a\n" + ihdr(4, 4, 8, 0)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 5, 9)) + chunk(b"IEND", b""))
    bad("no_ihdr.png", b"\x89PNG\r\n\x1a\n" + chunk(b"IDAT", zlib.compress(b"\x00" * 5)) + chunk(b"IEND", b""))

    jpg = open(os.path.join(ROOT, "rgb_baseline.jpg"), "rb").read()
    bad("truncated.jpg", jpg[: len(jpg) * 2 // 3])
    sos = jpg.index(b"\xff\xda")
    # EOI in the middle of the entropy-coded data: the marker structure is valid but the scan is
    # cut short; libjpeg only warns ("premature end of data segment") and fills grey; we refuse.
    bad("early_eoi.jpg", jpg[: sos + 60] + b"\xff\xd9")
    # DHT with symbol counts summing to more than 256: libjpeg's fatal "Bogus Huffman table".
    dht = b"\xff\xc4" + struct.pack(">H", 2 + 1 + 16) + b"\x00" + bytes([255] * 16)
    i = jpg.index(b"\xff\xc4")
    bad("bad_huffman.jpg", jpg[:i] + dht + jpg[i:])
    # Frame header referring to an undefined quantisation table (libjpeg fatal at start_decompress).
    sof = jpg.index(b"\xff\xc0")
    nq = bytearray(jpg)
    nq[sof + 2 + 2 + 6 + 2] = 3  # component 1 -> quant table 3 (never defined)
    bad("undefined_qtable.jpg", bytes(nq))
    big = bytearray(jpg)
    big[sof + 5: sof + 9] = struct.pack(">HH", 20000, 20000)
    bad("huge_dims.jpg", bytes(big))
    p12 = bytearray(jpg)
    p12[sof + 4] = 12
    bad("precision12.jpg", bytes(p12))
    lossless = bytearray(jpg)
    lossless[sof + 1] = 0xC3
    bad("lossless.jpg", bytes(lossless))
    bad("no_scan.jpg", jpg[:sos] + b"\xff\xd9")
    bad("soi_only.jpg", b"\xff\xd8\xff")
    cmyk = Image.fromarray(np.concatenate([crgb, crgb[..., :1]], -1), "CMYK")
    buf = io.BytesIO()
    cmyk.save(buf, "JPEG", quality=50)
    bad("cmyk.jpg", buf.getvalue())


if __name__ == "__main__":
    main()
