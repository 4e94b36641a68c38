"""The training data of cxr-mini in one carryable pack, for a lent GPU machine that sees only the repository.

Run:
  here:  nice -n 10 /work/venv/bin/python Tools/cxr_mini/device_pack.py pack .device-pack [--quality 75]
  there: python3 Tools/cxr_mini/device_pack.py unpack .device-pack --shared /tmp/cxr/shared --state /tmp/cxr/state
         (device_train.sh does this)

Why: the GPU machine gets the working tree and up to 8 carried ignored paths (64 MiB in all, tracked files
included: see device_slim.sh), never ../shared or
/work/train-state, and PNGs plus the 173 MB inpaint_data.pt do not fit. What the scripts read of the shared data
is small: the labels CSVs of nih-labelled and cxr256 (common.load_rows), nih-labelled/boxes.csv (findings.py,
prompts.py) and the 2,566 training images at 256 x 256 grey (common.load_images). The images travel as JPEG
(quality 75: 16.6 MiB, 1.5 grey levels of mean error, below the VAE's own reconstruction error of ~5; quality 95
gives 0.7 at 40 MiB, which does not fit beside the ~38 MiB of slimmed tracked tree), the latents and
masks are remade there by prepare_inpaint.py, which on a GPU takes seconds.

`pack DIR` writes DIR/pack.zip (data/<sub>/*.csv deflated, images/<filename>.jpg stored, in load_rows order) and
DIR/manifest.json (names in order, sha1 of the source CSVs and of the zip, quality, error, the command).
`unpack DIR --shared S --state T` rebuilds S/data/<sub>/*.csv, so that CXR_SHARED=S gives load_rows() the same
rows (their image paths point nowhere), and T/images_u8.pt in load_images' cache format (same names, so it is
used instead of the missing files). The pack holds research-use data (JSRT, NIH): never commit it (.gitignore).
"""
import argparse, hashlib, io, json, os, sys, time, zipfile
from pathlib import Path

import numpy as np
from PIL import Image

CSVS = ["nih-labelled/labels.csv", "nih-labelled/boxes.csv", "cxr256/labels.csv"]


def sha1(data):
    return hashlib.sha1(data).hexdigest()


def pack(out, quality):
    import common  # CXR_SHARED as set by the caller
    t0 = time.time()
    rows = common.load_rows()
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / "pack.zip.part"
    sources, errs = {}, []
    with zipfile.ZipFile(tmp, "w") as z:
        for rel in CSVS:
            data = (common.SHARED / rel).read_bytes()
            sources[rel] = sha1(data)
            z.writestr("data/" + rel, data, compress_type=zipfile.ZIP_DEFLATED)
        for n, r in enumerate(rows):
            # Exactly what common.load_images caches: grey, resized to 256 x 256.
            u8 = np.asarray(Image.open(r["path"]).convert("L").resize((256, 256)), dtype=np.uint8)
            buf = io.BytesIO()
            Image.fromarray(u8).save(buf, "JPEG", quality=quality)
            back = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("L"), dtype=np.int16)
            errs.append(float(np.abs(back - u8).mean()))
            z.writestr("images/" + r["filename"] + ".jpg", buf.getvalue(), compress_type=zipfile.ZIP_STORED)
            if n % 500 == 0:
                print(f"{n}/{len(rows)} {time.time() - t0:.0f}s", flush=True)
    tmp.replace(out / "pack.zip")
    data = (out / "pack.zip").read_bytes()
    man = {"what": "cxr-mini training data for a GPU machine; research-use images (NIH, JSRT): never commit",
           "names": [r["filename"] for r in rows], "quality": quality, "csv_sha1": sources,
           "zip_sha1": sha1(data), "zip_bytes": len(data),
           "mean_abs_error_grey_levels": round(float(np.mean(errs)), 3),
           "worst_image_mean_abs_error": round(float(np.max(errs)), 3),
           "command": " ".join([Path(sys.argv[0]).name] + sys.argv[1:]),
           "shared": str(common.SHARED), "made": time.strftime("%Y-%m-%d %H:%M:%S"), "seconds": round(time.time() - t0)}
    (out / "manifest.json").write_text(json.dumps(man, indent=1))
    print(f"pack {out}: {len(rows)} images, {len(data) / 2 ** 20:.1f} MiB, mean error "
          f"{man['mean_abs_error_grey_levels']} grey levels, {time.time() - t0:.0f}s", flush=True)


def unpack(src, shared, state):
    t0 = time.time()
    man = json.loads((src / "manifest.json").read_text())
    data = (src / "pack.zip").read_bytes()
    assert sha1(data) == man["zip_sha1"], "pack.zip does not match its manifest (a partial copy?)"
    z = zipfile.ZipFile(io.BytesIO(data))
    for rel in CSVS:
        b = z.read("data/" + rel)
        assert sha1(b) == man["csv_sha1"][rel], rel
        dst = shared / "data" / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(b)
    names = man["names"]
    arr = np.stack([np.asarray(Image.open(io.BytesIO(z.read("images/" + n + ".jpg"))).convert("L"), dtype=np.uint8)
                    for n in names])
    # common binds CXR_SHARED / CXR_STATE when imported: import it only now, pointed at what was just rebuilt.
    os.environ["CXR_SHARED"], os.environ["CXR_STATE"] = str(shared), str(state)
    import torch
    import common
    rows = common.load_rows()
    assert [r["filename"] for r in rows] == names, "load_rows() on the unpacked CSVs differs from the pack's order"
    state.mkdir(parents=True, exist_ok=True)
    torch.save({"names": names, "images": torch.from_numpy(arr)}, state / "images_u8.pt")
    assert common.load_images(rows).shape == (len(names), 256, 256)  # served from the cache just written
    print(f"unpacked {len(names)} images ({sum(r['heldout'] for r in rows)} held out) -> {shared}, "
          f"{state / 'images_u8.pt'} in {time.time() - t0:.0f}s", flush=True)


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["pack", "unpack"])
    p.add_argument("dir", help="the pack folder (keep it ignored: .device-pack/ in the repository root is)")
    p.add_argument("--quality", type=int, default=75,
                   help="JPEG quality (pack); 80 keeps pack + wheel + slimmed tree under the 64 MiB a call may carry")
    p.add_argument("--shared", help="unpack: folder to use as CXR_SHARED")
    p.add_argument("--state", help="unpack: folder to use as CXR_STATE")
    a = p.parse_args()
    if a.mode == "pack":
        pack(Path(a.dir), a.quality)
    else:
        assert a.shared and a.state, "unpack needs --shared and --state"
        unpack(Path(a.dir), Path(a.shared), Path(a.state))
