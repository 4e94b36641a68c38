#!/usr/bin/env python3
"""DICOM fixtures for the DICOM reader/writer tests (Tests/Fixtures/dicom), deterministic.

Run from the repository root (needs Pillow for the sample image, DCMTK's tools and the JPEG 2000 encoders:
apt-get install dcmtk libopenjp2-tools openjph-tools):

    /work/venv/bin/python Tools/make_dicom_fixtures.py

Good files are written by a small explicit-VR-little-endian writer below (so every attribute is chosen here),
then transcoded by DCMTK's own tools into the other transfer syntaxes; `dcm2pnm` renders the references the
reader must match. DCMTK's free tools have no JPEG 2000 encoder: the JPEG 2000 and HTJ2K files are encoded by
OpenJPEG's `opj_compress` and OpenJPH's `ojph_compress` and encapsulated here.
`bad/` holds hostile files with `bad/manifest.json` (substrings the one-line error must contain).
"""
import json
import os
import struct
import subprocess
import tempfile
import zlib

from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "dicom")
BAD = os.path.join(OUT, "bad")
W, H = 48, 40

CR = "1.2.840.10008.5.1.4.1.1.1"
DX = "1.2.840.10008.5.1.4.1.1.1.1"
SC = "1.2.840.10008.5.1.4.1.1.7"
EXPLICIT = "1.2.840.10008.1.2.1"
LONG_VRS = {"OB", "OW", "OF", "OD", "OL", "SQ", "UT", "UN", "UC", "UR"}


def pad(b, vr):
    if len(b) % 2:
        b += b"\0" if vr in ("UI", "OB") else b" "
    return b


def element(group, elem, vr, value, undefined=False):
    """One explicit-VR little-endian element; `value` is bytes, str, or a list of item byte strings for SQ."""
    if vr == "SQ":
        body = b"".join(struct.pack("<HHI", 0xFFFE, 0xE000, 0xFFFFFFFF) + item +
                        struct.pack("<HHI", 0xFFFE, 0xE00D, 0) for item in value)
        return (struct.pack("<HH", group, elem) + b"SQ\0\0" + struct.pack("<I", 0xFFFFFFFF) + body +
                struct.pack("<HHI", 0xFFFE, 0xE0DD, 0))
    if isinstance(value, str):
        value = value.encode("ascii")
    value = pad(value, vr)
    head = struct.pack("<HH", group, elem) + vr.encode()
    if vr in LONG_VRS:
        return head + b"\0\0" + struct.pack("<I", 0xFFFFFFFF if undefined else len(value)) + value
    return head + struct.pack("<H", len(value)) + value


def us(v):
    return struct.pack("<H", v)


def part10(dataset_elements, sop_class, sop_instance, syntax=EXPLICIT, raw_dataset=None):
    meta = (element(2, 1, "OB", b"\0\1") + element(2, 2, "UI", sop_class) + element(2, 3, "UI", sop_instance) +
            element(2, 0x10, "UI", syntax) + element(2, 0x12, "UI", "1.2.826.0.1.3680043.9.7433.1.1"))
    meta = element(2, 0, "UL", struct.pack("<I", len(meta))) + meta
    body = raw_dataset if raw_dataset is not None else b"".join(
        e for _, e in sorted(dataset_elements, key=lambda t: t[0]))
    return b"\0" * 128 + b"DICM" + meta + body


def image_dataset(pixels, sop_class, instance, photometric="MONOCHROME2", bits_allocated=16, bits_stored=12,
                  modality="CR", extra=()):
    """(tag, bytes) pairs of a radiograph: patient, study, series, image pixel module."""
    pixel_bytes = (struct.pack("<%dH" % len(pixels), *pixels) if bits_allocated == 16 else bytes(pixels))
    items = [
        ((0x0008, 0x0016), element(0x0008, 0x0016, "UI", sop_class)),
        ((0x0008, 0x0018), element(0x0008, 0x0018, "UI", instance)),
        ((0x0008, 0x0020), element(0x0008, 0x0020, "DA", "20240102")),
        ((0x0008, 0x0060), element(0x0008, 0x0060, "CS", modality)),
        ((0x0010, 0x0010), element(0x0010, 0x0010, "PN", "Test^Patient")),
        ((0x0010, 0x0020), element(0x0010, 0x0020, "LO", "CXR-0001")),
        ((0x0010, 0x0040), element(0x0010, 0x0040, "CS", "F")),
        ((0x0020, 0x000D), element(0x0020, 0x000D, "UI", "1.2.826.0.1.3680043.9.7433.2.1")),
        ((0x0020, 0x000E), element(0x0020, 0x000E, "UI", "1.2.826.0.1.3680043.9.7433.3.1")),
        ((0x0020, 0x0013), element(0x0020, 0x0013, "IS", "1")),
        ((0x0028, 0x0002), element(0x0028, 0x0002, "US", us(1))),
        ((0x0028, 0x0004), element(0x0028, 0x0004, "CS", photometric)),
        ((0x0028, 0x0010), element(0x0028, 0x0010, "US", us(H))),
        ((0x0028, 0x0011), element(0x0028, 0x0011, "US", us(W))),
        ((0x0028, 0x0030), element(0x0028, 0x0030, "DS", "0.5\\0.5")),
        ((0x0028, 0x0100), element(0x0028, 0x0100, "US", us(bits_allocated))),
        ((0x0028, 0x0101), element(0x0028, 0x0101, "US", us(bits_stored))),
        ((0x0028, 0x0102), element(0x0028, 0x0102, "US", us(bits_stored - 1))),
        ((0x0028, 0x0103), element(0x0028, 0x0103, "US", us(0))),
        ((0x7FE0, 0x0010), element(0x7FE0, 0x0010, "OW" if bits_allocated == 16 else "OB", pixel_bytes)),
    ]
    return items + list(extra)


def sample(maxv, lo_frac=0.05, hi_frac=0.95):
    """The first sample radiograph at W x H, scaled into [lo, hi] of 0...maxv."""
    img = Image.open(os.path.join(ROOT, "Samples", "nih_00027426_000.png")).convert("L").resize((W, H), Image.LANCZOS)
    lo, hi = maxv * lo_frac, maxv * hi_frac
    return [int(round(lo + (hi - lo) * v / 255.0)) for v in img.tobytes()]


def run(*args):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    if args[-1].endswith(".png"):
        strip_time(args[-1])


def strip_time(path):
    """Drops the tIME chunk DCMTK's renderers write, so the references regenerate byte for byte."""
    data = open(path, "rb").read()
    out, i = data[:8], 8
    while i < len(data):
        n = struct.unpack(">I", data[i:i + 4])[0]
        if data[i + 4:i + 8] != b"tIME":
            out += data[i:i + 12 + n]
        i += 12 + n
    write(path, out)


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def uid(n):
    return "1.2.826.0.1.3680043.9.7433.4.%d" % n


J2K_LOSSLESS = "1.2.840.10008.1.2.4.90"
J2K = "1.2.840.10008.1.2.4.91"
HTJ2K_LOSSLESS = "1.2.840.10008.1.2.4.201"
HTJ2K = "1.2.840.10008.1.2.4.203"


def encapsulated(codestream, fragments=1):
    """Encapsulated Pixel Data: an empty basic offset table, then the codestream in `fragments` even-length pieces."""
    if len(codestream) % 2:
        codestream += b"\0"
    step = max(2, -(-len(codestream) // fragments))
    step += step % 2
    items = struct.pack("<HHI", 0xFFFE, 0xE000, 0)
    for i in range(0, len(codestream), step):
        piece = codestream[i:i + step]
        items += struct.pack("<HHI", 0xFFFE, 0xE000, len(piece)) + piece
    return (struct.pack("<HH", 0x7FE0, 0x0010) + b"OB\0\0" + struct.pack("<I", 0xFFFFFFFF) + items +
            struct.pack("<HHI", 0xFFFE, 0xE0DD, 0))


def jpeg2000(pixels, bits, tool_args, suffix=".j2k", signed=False):
    """The codestream of a W x H greyscale image from OpenJPEG (`opj_compress ...`) or OpenJPH (`ojph_compress`)."""
    with tempfile.TemporaryDirectory() as tmp:
        if signed:
            # Raw big-endian two's complement, the input opj_compress takes for signed samples.
            src = os.path.join(tmp, "in.raw")
            write(src, struct.pack(">%dh" % len(pixels), *pixels))
            tool_args = tool_args + ["-F", "%d,%d,1,%d,s" % (W, H, bits)]
        else:
            src = os.path.join(tmp, "in.pgm")
            fmt = ">%dH" % len(pixels) if bits > 8 else "%dB" % len(pixels)
            write(src, b"P5\n%d %d\n%d\n" % (W, H, (1 << bits) - 1) + struct.pack(fmt, *pixels))
        dst = os.path.join(tmp, "out" + suffix)
        subprocess.run([tool_args[0], "-i", src, "-o", dst] + tool_args[1:], check=True, stdout=subprocess.DEVNULL)
        return open(dst, "rb").read()


def with_pixel_data(dataset, pixel_element, extra=()):
    """`dataset` with its Pixel Data replaced (e.g. by encapsulated data) and `extra` (tag, bytes) pairs added."""
    return [(t, pixel_element if t == (0x7FE0, 0x0010) else e) for t, e in dataset] + list(extra)


def lossy_marks(ratio):
    """Lossy Image Compression attributes a JPEG 2000 irreversible encoder's file carries."""
    return [((0x0028, 0x2110), element(0x0028, 0x2110, "CS", "01")),
            ((0x0028, 0x2112), element(0x0028, 0x2112, "DS", ratio)),
            ((0x0028, 0x2114), element(0x0028, 0x2114, "CS", "ISO_15444_1"))]


def good():
    os.makedirs(OUT, exist_ok=True)
    s12 = sample(4095)
    # 12-bit CR with a rescale (slope 2, intercept -1000) and two windows in rescaled units (the first is used).
    cr = image_dataset(s12, CR, uid(1), extra=[
        ((0x0028, 0x1050), element(0x0028, 0x1050, "DS", "3000\\2000")),
        ((0x0028, 0x1051), element(0x0028, 0x1051, "DS", "5000\\3000")),
        ((0x0028, 0x1052), element(0x0028, 0x1052, "DS", "-1000")),
        ((0x0028, 0x1053), element(0x0028, 0x1053, "DS", "2")),
        ((0x0028, 0x1054), element(0x0028, 0x1054, "LO", "US")),
    ])
    base = os.path.join(OUT, "cr12_explicit.dcm")
    write(base, part10(cr, CR, uid(1)))
    run("dcmconv", "+ti", base, os.path.join(OUT, "cr12_implicit.dcm"))
    run("dcmconv", "+td", base, os.path.join(OUT, "cr12_deflate.dcm"))
    run("dcmconv", "+tb", base, os.path.join(OUT, "cr12_bigendian.dcm"))
    run("dcmcjpeg", "+e1", base, os.path.join(OUT, "cr12_jpeg_lossless.dcm"))
    run("dcmcjpls", "+el", base, os.path.join(OUT, "cr12_jpegls.dcm"))
    run("dcmcjpls", "+en", "+un", base, os.path.join(OUT, "cr12_jpegls_near.dcm"))
    run("dcmcrle", base, os.path.join(OUT, "cr12_rle.dcm"))
    run("dcm2pnm", "+on2", "+Wi", "1", base, os.path.join(OUT, "cr12_dcm2pnm.png"))
    # The second window and a min-max window, for choosing one (`--window 2`, `--window minmax`).
    run("dcm2pnm", "+on2", "+Wi", "2", base, os.path.join(OUT, "cr12_window2_dcm2pnm.png"))
    run("dcm2pnm", "+on2", "+Wm", base, os.path.join(OUT, "cr12_minmax_dcm2pnm.png"))
    run("dcml2pnm", "+on2", "+Wi", "1", os.path.join(OUT, "cr12_jpegls_near.dcm"),
        os.path.join(OUT, "cr12_jpegls_near_dcm2pnm.png"))

    # The same picture as MONOCHROME2 and as MONOCHROME1 (stored values inverted, window mirrored: c' = 4096 - c).
    def dx(photometric, pixels, center, n):
        return image_dataset(pixels, DX, uid(n), photometric=photometric, modality="DX", extra=[
            ((0x0028, 0x1050), element(0x0028, 0x1050, "DS", str(center))),
            ((0x0028, 0x1051), element(0x0028, 0x1051, "DS", "3000")),
        ])
    write(os.path.join(OUT, "dx12_mono2.dcm"), part10(dx("MONOCHROME2", s12, 2000, 2), DX, uid(2)))
    write(os.path.join(OUT, "dx12_mono1.dcm"),
          part10(dx("MONOCHROME1", [4095 - v for v in s12], 4096 - 2000, 3), DX, uid(3)))
    run("dcm2pnm", "+on2", "+Wi", "1", os.path.join(OUT, "dx12_mono1.dcm"), os.path.join(OUT, "dx12_mono1_dcm2pnm.png"))

    # Signed 12-bit (Pixel Representation 1, values -2048...2047 sign-extended to 16 bits) with a window.
    signed = [v - 2048 for v in s12]
    dxs = image_dataset([v & 0xFFFF for v in signed], DX, uid(6), modality="DX", extra=[
        ((0x0028, 0x1050), element(0x0028, 0x1050, "DS", "0")),
        ((0x0028, 0x1051), element(0x0028, 0x1051, "DS", "3500")),
    ])
    dxs = [(t, element(0x0028, 0x0103, "US", us(1)) if t == (0x0028, 0x0103) else e) for t, e in dxs]
    write(os.path.join(OUT, "dx12_signed.dcm"), part10(dxs, DX, uid(6)))
    run("dcm2pnm", "+on2", "+Wi", "1", os.path.join(OUT, "dx12_signed.dcm"), os.path.join(OUT, "dx12_signed_dcm2pnm.png"))

    # 14 bits stored with a non-linear VOI LUT (gamma 0.6, 2048 entries of 12 bits from stored value 6000; values
    # outside clamp to the ends) and a window beside it.
    s14 = sample(16383)
    lut = [int(round(4095 * (i / 2047.0) ** 0.6)) for i in range(2048)]
    voi = (element(0x0028, 0x3002, "US", struct.pack("<HHH", 2048, 6000, 12)) +
           element(0x0028, 0x3003, "LO", "GAMMA 0.6") +
           element(0x0028, 0x3006, "OW", struct.pack("<%dH" % len(lut), *lut)))
    dx14 = image_dataset(s14, DX, uid(4), bits_stored=14, modality="DX", extra=[
        ((0x0028, 0x1050), element(0x0028, 0x1050, "DS", "8000")),
        ((0x0028, 0x1051), element(0x0028, 0x1051, "DS", "4000")),
        ((0x0028, 0x3010), element(0x0028, 0x3010, "SQ", [voi])),
    ])
    write(os.path.join(OUT, "dx14_voilut.dcm"), part10(dx14, DX, uid(4)))
    run("dcm2pnm", "+on2", "+Wl", "1", os.path.join(OUT, "dx14_voilut.dcm"), os.path.join(OUT, "dx14_voilut_dcm2pnm.png"))

    # 8-bit Secondary Capture without any VOI (min-max window) and its JPEG baseline version.
    s8 = sample(255, 0.1, 0.8)
    sc = image_dataset(s8, SC, uid(5), bits_allocated=8, bits_stored=8, modality="OT")
    write(os.path.join(OUT, "sc8.dcm"), part10(sc, SC, uid(5)))
    run("dcmcjpeg", "+eb", "+un", os.path.join(OUT, "sc8.dcm"), os.path.join(OUT, "sc8_jpeg_baseline.dcm"))
    for name in ("sc8", "sc8_jpeg_baseline"):
        run("dcmj2pnm", "+on", "+Wm", os.path.join(OUT, name + ".dcm"), os.path.join(OUT, name + "_dcm2pnm.png"))
    j2k_fixtures(cr, s12, sc, s8)
    return cr, s12


def j2k_fixtures(cr, s12, sc, s8):
    """The 12-bit CR and the 8-bit SC picture as JPEG 2000 (lossless, lossy, JP2-wrapped, in fragments) and HTJ2K."""
    lossless = jpeg2000(s12, 12, ["opj_compress"])
    write(os.path.join(OUT, "cr12_j2k_lossless.dcm"),
          part10(with_pixel_data(cr, encapsulated(lossless)), CR, uid(1), syntax=J2K_LOSSLESS))
    write(os.path.join(OUT, "cr12_j2k_fragments.dcm"),
          part10(with_pixel_data(cr, encapsulated(lossless, fragments=3)), CR, uid(1), syntax=J2K_LOSSLESS))
    # Some archives keep the JP2 file format wrapper inside the fragment (not conformant, but found in the wild).
    jp2 = jpeg2000(s12, 12, ["opj_compress"], suffix=".jp2")
    write(os.path.join(OUT, "cr12_j2k_jp2.dcm"),
          part10(with_pixel_data(cr, encapsulated(jp2)), CR, uid(1), syntax=J2K_LOSSLESS))
    # Irreversible 9/7 wavelet at 2:1 (this small, noisy crop loses about 4 of 4096 stored values on average).
    lossy = jpeg2000(s12, 12, ["opj_compress", "-I", "-r", "2"])
    write(os.path.join(OUT, "cr12_j2k_lossy.dcm"),
          part10(with_pixel_data(cr, encapsulated(lossy), lossy_marks("2")), CR, uid(1), syntax=J2K))
    ht = jpeg2000(s12, 12, ["ojph_compress", "-reversible", "true"], suffix=".j2c")
    write(os.path.join(OUT, "cr12_htj2k_lossless.dcm"),
          part10(with_pixel_data(cr, encapsulated(ht)), CR, uid(1), syntax=HTJ2K_LOSSLESS))
    ht_lossy = jpeg2000(s12, 12, ["ojph_compress", "-qstep", "0.002"], suffix=".j2c")
    write(os.path.join(OUT, "cr12_htj2k_lossy.dcm"),
          part10(with_pixel_data(cr, encapsulated(ht_lossy), lossy_marks("2.2")), CR, uid(1), syntax=HTJ2K))
    sc8 = jpeg2000(s8, 8, ["opj_compress"])
    write(os.path.join(OUT, "sc8_j2k_lossless.dcm"),
          part10(with_pixel_data(sc, encapsulated(sc8)), SC, uid(5), syntax=J2K_LOSSLESS))


def bad(cr, s12):
    os.makedirs(BAD, exist_ok=True)
    manifest = {}
    good_bytes = part10(cr, CR, uid(1))

    def case(name, data, *match):
        write(os.path.join(BAD, name), data)
        manifest[name] = list(match)

    def replaced(tag, new):
        return [(t, new if t == tag else e) for t, e in cr]

    case("truncated_in_pixels.dcm", good_bytes[:len(good_bytes) - 1500], "declares", "only")
    case("truncated_meta.dcm", good_bytes[:150])
    case("dicm_only.dcm", b"\0" * 128 + b"DICM", "no transfer syntax")
    huge_size = [(t, element(0x0028, t[1], "US", us(65535)) if t in ((0x0028, 0x0010), (0x0028, 0x0011)) else e)
                 for t, e in cr]
    case("huge_dimensions.dcm", part10(huge_size, CR, uid(9)), "exceeds the limit")
    short = [(t, element(0x7FE0, 0x0010, "OW", struct.pack("<%dH" % (len(s12) // 2), *s12[:len(s12) // 2]))
              if t == (0x7FE0, 0x0010) else e) for t, e in cr]
    case("pixels_shorter_than_declared.dcm", part10(short, CR, uid(9)), "pixel data shorter than declared")
    case("unknown_transfer_syntax.dcm", part10(cr, CR, uid(9), syntax="1.2.3.4.5"), "unsupported transfer syntax")
    frag = struct.pack("<HHI", 0xFFFE, 0xE000, 0) + struct.pack("<HHI", 0xFFFE, 0xE000, 8) + b"\xff\x4f\xff\x51junk"[:8]
    encaps = (struct.pack("<HH", 0x7FE0, 0x0010) + b"OB\0\0" + struct.pack("<I", 0xFFFFFFFF) + frag +
              struct.pack("<HHI", 0xFFFE, 0xE0DD, 0))
    j2k = [(t, encaps if t == (0x7FE0, 0x0010) else e) for t, e in cr]
    case("jpeg2000.dcm", part10(j2k, CR, uid(9), syntax="1.2.840.10008.1.2.4.90"), "JPEG 2000")
    j2k_bad(case, cr)
    lying = (struct.pack("<HHI", 0xFFFE, 0xE000, 0) + struct.pack("<HHI", 0xFFFE, 0xE000, 16) +
             b"\xff\xd8\xff\xc3\x00\x0b\x0c\x00\x28\x00\x30\x01\x01\x11\x00\xff")
    lie = (struct.pack("<HH", 0x7FE0, 0x0010) + b"OB\0\0" + struct.pack("<I", 0xFFFFFFFF) + lying +
           struct.pack("<HHI", 0xFFFE, 0xE0DD, 0))
    case("jpeg_lossless_stream_lies.dcm",
         part10([(t, lie if t == (0x7FE0, 0x0010) else e) for t, e in cr], CR, uid(9), syntax="1.2.840.10008.1.2.4.70"))
    # 20000 nested undefined-length sequences (deflated, so the file stays small and the structure is checked in
    # the inflated dataset; CXRImagingTests builds an uncompressed one in memory).
    depth = 20000
    nest = b""
    for _ in range(depth):
        nest = (struct.pack("<HH", 0x0040, 0xA730) + b"SQ\0\0" + struct.pack("<I", 0xFFFFFFFF) +
                struct.pack("<HHI", 0xFFFE, 0xE000, 0xFFFFFFFF) + nest +
                struct.pack("<HHI", 0xFFFE, 0xE00D, 0) + struct.pack("<HHI", 0xFFFE, 0xE0DD, 0))
    deep = b"".join(e for _, e in sorted(cr + [((0x0040, 0xA730), nest)], key=lambda t: t[0]))
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    case("deep_sequences_deflated.dcm",
         part10(None, CR, uid(9), syntax="1.2.840.10008.1.2.1.99", raw_dataset=comp.compress(deep) + comp.flush()),
         "nested deeper than")
    huge_len = struct.pack("<HH", 0x0018, 0x1000) + b"UT\0\0" + struct.pack("<I", 0xFFFFFFF0) + b"x" * 16
    case("element_length_past_end.dcm", part10(cr + [((0x0018, 0x1000), huge_len)], CR, uid(9)), "(0018,1000) declares")
    case("rows_wrong_vr.dcm", part10(replaced((0x0028, 0x0010), struct.pack("<HH", 0x0028, 0x0010) + b"UI" +
                                               struct.pack("<H", 4) + b"1.2\0"), CR, uid(9)))
    case("rgb.dcm", part10(replaced((0x0028, 0x0004), element(0x0028, 0x0004, "CS", "RGB")), CR, uid(9)),
         "only greyscale")
    case("bits_allocated_32.dcm", part10(replaced((0x0028, 0x0100), element(0x0028, 0x0100, "US", us(32))), CR,
                                         uid(9)), "bits allocated 32")
    case("multiframe.dcm", part10(cr + [((0x0028, 0x0008), element(0x0028, 0x0008, "IS", "2"))], CR, uid(9)),
         "multi-frame")
    case("no_pixel_data.dcm", part10([(t, e) for t, e in cr if t != (0x7FE0, 0x0010)], CR, uid(9)), "no pixel data")
    case("garbage_after_dicm.dcm", b"\0" * 128 + b"DICM" + bytes(range(256)) * 4)
    # A deflated dataset that inflates to 4 MiB (the tests read it with a 1 MiB limit).
    body = b"".join(e for _, e in sorted(cr, key=lambda t: t[0]))
    body += struct.pack("<HH", 0x0018, 0x1000) + b"UT\0\0" + struct.pack("<I", 4 << 20) + b" " * (4 << 20)
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    deflated = comp.compress(body) + comp.flush()
    write(os.path.join(OUT, "deflate_4mib.dcm"),
          part10(None, CR, uid(9), syntax="1.2.840.10008.1.2.1.99", raw_dataset=deflated))
    with open(os.path.join(BAD, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")


def j2k_bad(case, cr):
    """JPEG 2000 files that lie about their codestream, or whose codestream is cut short or corrupt."""
    lossless = jpeg2000(sample(4095), 12, ["opj_compress"])

    def j2k(dataset, codestream, syntax=J2K_LOSSLESS):
        return part10(with_pixel_data(dataset, encapsulated(codestream)), CR, uid(9), syntax=syntax)

    def header(tag, vr, value):
        return [(t, element(t[0], t[1], vr, value) if t == tag else e) for t, e in cr]

    case("j2k_truncated.dcm", j2k(cr, lossless[:len(lossless) * 3 // 5]), "JPEG 2000")
    case("j2k_rows_lie.dcm", j2k(header((0x0028, 0x0010), "US", us(20)), lossless), "JPEG 2000", "48x40",
         "48x20")
    bits10 = [(t, e) for t, e in header((0x0028, 0x0101), "US", us(10)) if t != (0x0028, 0x0102)]
    bits10.append(((0x0028, 0x0102), element(0x0028, 0x0102, "US", us(9))))
    case("j2k_precision_lies.dcm", j2k(sorted(bits10), lossless), "JPEG 2000", "12-bit", "10 bits stored")
    # The SIZ marker (right after SOC) declares a 60000 x 60000 image in one tile: refused from the main header,
    # before OpenJPEG allocates for a sample.
    huge = lossless[:8] + struct.pack(">II", 60000, 60000) + lossless[16:24] + struct.pack(">II", 60000, 60000) + \
        lossless[32:]
    case("j2k_siz_huge.dcm", j2k(cr, huge), "JPEG 2000", "60000x60000", "48x40")
    case("j2k_not_a_codestream.dcm", j2k(cr, b"\x00\x01not a codestream at all"), "JPEG 2000")
    case("j2k_no_fragments.dcm", j2k(cr, b""), "no JPEG 2000 data")
    case("j2k_multicomponent.dcm", j2k(cr, lossless, syntax="1.2.840.10008.1.2.4.92"), "multi-component")


if __name__ == "__main__":
    cr, s12 = good()
    bad(cr, s12)
