"""Pictures for README.md / docs/usage.md: input | null edit | edit | difference for `--add` edits (regional, the
default, and `--global`), the region an edit repaints, and generated images, all made with the cxr-edit binary and
the bundled default model. The difference is taken against the null edit, so it shows what the finding changed.

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


def with_null(name, title, *args):
    """An edit and its matched null edit (same image, seed, strength, region; prompt without the finding), after the
    raw null rendering (`--detail off`): what any pass through the model changes, which the default
    `--detail difference` cancels (its null edit is the input)."""
    edit, null = tmp / f"{name}.png", tmp / f"{name}.null.png"
    raw, raw_null = tmp / f"{name}.raw.png", tmp / f"{name}.raw-null.png"
    run(SAMPLE, *args, "-o", str(edit), "--null-edit", str(null))
    run(SAMPLE, *args, "--detail", "off", "-o", str(raw), "--null-edit", str(raw_null))
    x = np.asarray(Image.open(edit).convert("L"), dtype=np.float32)
    y = np.asarray(Image.open(null).convert("L"), dtype=np.float32)
    diff = Image.fromarray(np.clip(np.abs(x - y) * 4, 0, 255).astype(np.uint8))
    panel([(SAMPLE, "input"), (raw_null, "raw null rendering (cancelled)"), (null, "null edit (no finding)"),
           (edit, title), (diff, "4 x |edit - null edit|")], OUT / f"{name}.png")


with_null("add_effusion", "--add effusion --side right", "--add", "pleural effusion", "--side", "right",
          "--severity", "large", "--seed", "1")
with_null("add_cardiomegaly", "--add cardiomegaly --severity severe", "--add", "cardiomegaly", "--severity", "severe",
          "--seed", "1")
with_null("global_edit", "--global --strength 0.5", "--add", "pleural effusion", "--side", "right", "--global",
          "--strength", "0.5", "--seed", "1")

gen = tmp / "gen.png"
run("generate", "--prompt", "65 year old male. PA chest radiograph. Cardiomegaly.", "--count", "3", "--seed", "7", "-o", str(gen))
panel([(tmp / f"gen-{i}.png", f"generate, seed {6 + i}") for i in (1, 2, 3)], OUT / "generated.png")
