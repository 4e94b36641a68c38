#!/usr/bin/env python3
"""A fake classifier adapter for the CXRClassifiers tests: speaks the cxr-edit classifier protocol
(docs/classifiers.md) with deterministic scores from each image's mean, and misbehaves on request.

Standard library only (the tests run it with the system python3, no numpy/torch). Run:
    python3 Tools/classifiers/fake_adapter.py [MODE]
MODE: ok (default) | crash | hang | garbage | wrong-id | out-of-range | missing-label | error | crash-on-start
      | no-hello
Scores per image: "Brightness" = mean / max value, "Darkness" = 1 - that, "Effusion" = 0.25 (constant).
"""
import json
import struct
import sys
import time
import zlib


def png_mean(path):
    """Mean sample value / max for 8/16-bit grey or RGB, non-interlaced PNG (what cxr-edit writes)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path}: not a PNG")
    pos, idat, hdr = 8, b"", None
    while pos < len(data):
        n, typ = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if typ == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif typ == b"IDAT":
            idat += body
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = hdr
    if interlace or ctype not in (0, 2) or depth not in (8, 16):
        raise ValueError(f"{path}: unsupported PNG (colour type {ctype}, depth {depth})")
    ch = 3 if ctype == 2 else 1
    bpp = ch * depth // 8
    stride = w * bpp
    raw = zlib.decompress(idat)
    prev = bytearray(stride)
    total, pos = 0, 0
    for _ in range(h):
        ft = raw[pos]
        line = bytearray(raw[pos + 1:pos + 1 + stride])
        pos += 1 + stride
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if ft == 1:
                line[i] = (line[i] + a) & 255
            elif ft == 2:
                line[i] = (line[i] + b) & 255
            elif ft == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif ft == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        if depth == 8:
            total += sum(line)
        else:
            total += sum(struct.unpack(f">{len(line) // 2}H", bytes(line)))
        prev = line
    maxv = 255 if depth == 8 else 65535
    return total / (w * h * ch) / maxv


def send(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "ok"
    if mode == "crash-on-start":
        print("fake_adapter: cannot load model weights", file=sys.stderr)
        sys.exit(2)
    if mode == "no-hello":
        print("loading model...")  # a log line on stdout: exactly what adapters must not do
        sys.stdout.flush()
    send({"protocol": "cxr-edit-classifier/1", "name": "fake", "labels": ["Brightness", "Darkness", "Effusion"]})
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        rid = req["id"]
        if mode == "crash":
            print("fake_adapter: simulated crash", file=sys.stderr)
            sys.stderr.flush()
            sys.exit(3)
        if mode == "hang":
            time.sleep(3600)
        if mode == "garbage":
            print("Traceback (most recent call last): not JSON")
            sys.stdout.flush()
            continue
        if mode == "error":
            send({"id": rid, "error": "model exploded"})
            continue
        preds = []
        for path in req["images"]:
            m = png_mean(path)
            preds.append({"Brightness": m, "Darkness": 1 - m, "Effusion": 0.25})
        if mode == "out-of-range":
            preds[0]["Effusion"] = 1.5
        if mode == "missing-label":
            del preds[0]["Darkness"]
        print(f"fake_adapter: scored {len(preds)} images", file=sys.stderr)
        sys.stderr.flush()
        send({"id": rid + 1 if mode == "wrong-id" else rid, "predictions": preds})


if __name__ == "__main__":
    main()
