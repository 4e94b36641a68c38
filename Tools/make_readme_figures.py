"""Pictures for README.md / docs/usage.md: input, output and difference for an --add edit, a regional edit, and
generated images, all made with the cxr-edit binary and the bundled default model.

Run from the repo root after `swift build -c release`:  python3 Tools/make_readme_figures.py [path/to/cxr-edit]
Needs Pillow and numpy (only for composing the panels).
"""
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

BIN = sys.argv[1] if len(sys.argv) > 1 else ".build/release/cxr-edit"
OUT = Path("docs/images/readme")
OUT.mkdir(parents=True, exist_ok=True)
SAMPLE = "Samples/nih_00027426_000.png"
tmp = Path(tempfile.mkdtemp())


def run(*args, quiet=True):
    print("$", BIN, *args)
    subprocess.run([BIN, *args, *(["--quiet"] if quiet else []), "--overwrite"], check=True)


def panel(paths_titles, out, size=256):
    tiles = []
    for path, title in paths_titles:
        im = path if isinstance(path, Image.Image) else Image.open(path)
        im = im.convert("L").resize((size, size), Image.LANCZOS).convert("RGB")
        canvas = Image.new("RGB", (size, size + 22), "white")
        canvas.paste(im, (0, 22))
        ImageDraw.Draw(canvas).text((4, 5), title, fill="black")
        tiles.append(canvas)
    sheet = Image.new("RGB", (size * len(tiles) + 4 * (len(tiles) - 1), size + 22), "white")
    for i, t in enumerate(tiles):
        sheet.paste(t, (i * (size + 4), 0))
    sheet.save(out, optimize=True)
    print("wrote", out)


def difference(a, b):
    x = np.asarray(Image.open(a).convert("L"), dtype=np.float32)
    y = np.asarray(Image.open(b).convert("L"), dtype=np.float32)
    d = np.abs(x - y)
    d = (255 * d / max(d.max(), 1)).astype(np.uint8)
    return Image.fromarray(d)


edit = tmp / "add.png"
run(SAMPLE, "--add", "pleural effusion", "--side", "right", "--severity", "large", "--strength", "0.5", "--seed", "1", "-o", str(edit))
panel([(SAMPLE, "input"), (edit, "--add 'pleural effusion' (SDEdit 0.5)"), (difference(SAMPLE, edit), "|difference|")],
      OUT / "add_effusion.png")

region = tmp / "region.png"
run(SAMPLE, "--add", "pleural effusion", "--side", "right", "--severity", "large", "--region", "right-lower-zone",
    "--dilate", "8", "--strength", "0.8", "--seed", "2", "-o", str(region))
overlay = tmp / "overlay.png"
run("regions", SAMPLE, "--region", "right-lower-zone", "-o", str(overlay), quiet=False)
panel([(overlay, "fitted right-lower-zone"), (region, "inpainted inside it"), (difference(SAMPLE, region), "|difference| (0 outside)")],
      OUT / "region_edit.png")

gen = tmp / "gen.png"
run("generate", "--prompt", "65 year old male. PA chest radiograph. Cardiomegaly.", "--count", "3", "--seed", "7", "-o", str(gen))
panel([(tmp / f"gen-{i}.png", f"generate, seed {6 + i}") for i in (1, 2, 3)], OUT / "generated.png")
