#!/usr/bin/env bash
# The whole GPU-machine job of cxr-mini's inpainting UNet in one command (stage 5 on a lent GPU, see README.md):
# unpack the carried data pack, remake the masks and latents (prepare_inpaint.py), train (train_inpaint.py, bf16,
# large batch, EMA), export the EMA weights (export_inpaint.py), load the result with diffusers as a check, and put
# what must come back into $OUT (or --result): unet-inpaint/ (weights split into 15 MiB parts when larger, since
# files over 16 MiB do not come back), the run log, this job's log and SHA256SUMS.
#
# Why one script: a lent machine gives at most 10 minutes a command and 15 minutes in all, starting bare; every
# step must be in one prepared call that finishes well inside the limit (--deadline), printing as it goes.
# Nothing of the repository's working tree changes (data, state, run logs and the export live under --work), so the
# same script also runs here on the CPU as a dry run:
#   PY=/work/venv/bin/python CXR_THREADS=1 nice -n 10 Tools/cxr_mini/device_train.sh --device cpu \
#       --minutes 0.3 --limit 16 --batch 4 --work /tmp/cxr-dry
#
# Options (defaults in brackets):
#   --pack DIR     the pack of device_pack.py [.device-pack]       --whl DIR   carried wheels [.whl]
#   --work DIR     scratch folder [/tmp/cxr-device]                --result DIR  what comes back [$OUT, else WORK/result]
#   --device D     cuda or cpu [cuda]                              --minutes M  training time [6]
#   --deadline M   the whole job's budget: training is cut so that the export still fits [9]
#   --batch B      [128 on cuda, 4 on cpu]                         --limit N   first N training images only [all]
#   --width W      2 (or more): a wider UNet from scratch (--init unet --width W, runs/inpaint-wW.json) [2];
#                  1: go on from the committed unet-inpaint (--init export --omit 0, runs/inpaint_widened.json,
#                  its log since it is the widened one); it must travel, and with it the tree is too large for the
#                  device tool since December 7, 2026 (device_slim.sh takes it out): a CPU dry run only.
#                  (widen, the committed one made twice as wide, is gone: it is widened already.)
#   --no-anneal    keep the learning rate flat (default: cosine decay to 10%, as a session's last run)
#   -- ARGS        passed on to train_inpaint.py (e.g. -- --lr 6e-4 --removal 0.2)
set -euo pipefail
export PYTHONUNBUFFERED=1
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
PY=${PY:-python3}
pack=$repo/.device-pack whl=$repo/.whl work=/tmp/cxr-device result=${OUT:-} device=cuda
minutes=6 deadline=9 batch="" limit=0 width=2 anneal=--anneal
extra=()
while [ $# -gt 0 ]; do
  case $1 in
    --pack) pack=$2; shift 2;;          --whl) whl=$2; shift 2;;
    --work) work=$2; shift 2;;          --result) result=$2; shift 2;;
    --device) device=$2; shift 2;;      --minutes) minutes=$2; shift 2;;
    --deadline) deadline=$2; shift 2;;  --batch) batch=$2; shift 2;;
    --limit) limit=$2; shift 2;;        --width) width=$2; shift 2;;
    --no-anneal) anneal=""; shift;;
    --) shift; extra=("$@"); break;;
    *) echo "device_train.sh: unknown option $1 (see the comment at the top)" >&2; exit 2;;
  esac
done
result=${result:-$work/result}
if [ "$width" = widen ]; then
  echo "device_train.sh: --width widen is gone: the committed unet-inpaint is the widened one already" >&2; exit 2
fi
if [ "$width" = 1 ] && [ ! -f "$repo/Models/cxr-mini/unet-inpaint/diffusion_pytorch_model.safetensors" ]; then
  echo "device_train.sh: --width 1 goes on from Models/cxr-mini/unet-inpaint, which is not in this tree" \
       "(device_slim.sh out takes it out: with it the tree does not fit the device tool); use --width 2" >&2; exit 2
fi
rm -rf "$work/shared" "$work/state" "$work/runs" "$work/model"
mkdir -p "$work" "$result"
say() { echo "[device_train ${SECONDS}s] $*"; }

job() {

if [ "$device" = cpu ]; then
  export CUDA_VISIBLE_DEVICES="" CXR_THREADS=${CXR_THREADS:-2}
  batch=${batch:-4} workers=0 gpu_args=()
else
  export CXR_THREADS=${CXR_THREADS:-$(nproc)}
  batch=${batch:-128} workers=$(( $(nproc) > 4 ? $(nproc) - 2 : 0 )) gpu_args=(--bf16)
fi

# diffusers is not on the GPU machine: install the carried wheel(s) unless an import works already.
if ! "$PY" -c "import diffusers" 2>/dev/null; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$work/site" "$whl"/*.whl
  export PYTHONPATH=$work/site${PYTHONPATH:+:$PYTHONPATH}
fi
"$PY" - "$device" <<'EOF'
import sys, torch, diffusers, transformers, huggingface_hub
print("python", sys.version.split()[0], "torch", torch.__version__, "diffusers", diffusers.__version__,
      "transformers", transformers.__version__, "hub", huggingface_hub.__version__,
      "gpu", torch.cuda.get_device_name(0) if torch.cuda.is_available() else None)
assert sys.argv[1] == "cpu" or torch.cuda.is_available(), "--device cuda, but torch sees no GPU"
EOF

say "unpack"
"$PY" "$here/device_pack.py" unpack "$pack" --shared "$work/shared" --state "$work/state"
export CXR_SHARED=$work/shared CXR_STATE=$work/state CXR_RUNS=$work/runs
mkdir -p "$CXR_RUNS"
if [ "$width" = 1 ]; then
  log=inpaint_widened train_args=(--init export --omit 0)
else
  log=inpaint-w$width train_args=(--init unet --width "$width")
fi
# The committed model's run log: --init export counts steps and wall time on from it (the copy is what comes back).
# Fresh starts (--width 2 or more) write a log of their own, which must not resume a committed one: their steps
# start at 0 again.
cp "$here/runs/inpaint.json" "$here/runs/inpaint_widened.json" "$CXR_RUNS/"

say "prepare (workers $workers, limit $limit)"
"$PY" "$here/prepare_inpaint.py" --workers "$workers" --limit "$limit"

# Training gets what is left of the deadline after a 90 s reserve (its own start, the export, the check).
minutes=$("$PY" -c "print(round(max(0.1, min($minutes, ($deadline * 60 - $SECONDS - 90) / 60)), 2))")
say "train $minutes min, batch $batch, width $width, log runs/$log.json ${gpu_args[*]} $anneal ${extra[*]}"
"$PY" "$here/train_inpaint.py" --minutes "$minutes" --batch "$batch" --log "$log" --log-every 200 \
  "${train_args[@]}" "${gpu_args[@]}" $anneal "${extra[@]}"

say "export"
mkdir -p "$work/model"
cp "$repo/Models/cxr-mini/cxr-edit.json" "$work/model/"
"$PY" "$here/export_inpaint.py" --out "$work/model"

say "check: diffusers loads the export and inpaints with it"
"$PY" - "$repo/Models/cxr-mini" "$work/model/unet-inpaint" <<'EOF'
import sys
sys.modules.setdefault("torchvision", None)  # as common.py: a mismatched torchvision breaks diffusers' imports
from pathlib import Path
import torch
from diffusers import StableDiffusionInpaintPipeline, UNet2DConditionModel
from PIL import Image
model, exported = Path(sys.argv[1]), Path(sys.argv[2])
unet = UNet2DConditionModel.from_pretrained(str(exported), torch_dtype=torch.float32)
pipe = StableDiffusionInpaintPipeline.from_pretrained(str(model), unet=unet, torch_dtype=torch.float32,
                                                      safety_checker=None, requires_safety_checker=False)
img = Image.new("RGB", (256, 256), (90, 90, 90))
mask = Image.new("L", (256, 256), 0); mask.paste(255, (64, 64, 192, 192))
out = pipe("Frontal chest radiograph. Enlarged cardiac silhouette.", image=img, mask_image=mask, height=256,
           width=256, num_inference_steps=3, output_type="np", generator=torch.Generator().manual_seed(0)).images
folder = sum(f.stat().st_size for f in model.rglob("*") if f.is_file() and "unet-inpaint" not in f.parts)
folder += sum(f.stat().st_size for f in exported.rglob("*") if f.is_file())
params = sum(p.numel() for p in unet.parameters())
print(f"loaded: {params} parameters, block_out_channels {list(unet.config.block_out_channels)}; inpainted "
      f"{out.shape}, finite {bool(torch.isfinite(torch.from_numpy(out)).all())}; model folder with it "
      f"{folder / 1e6:.1f} MB (limit 60)")
assert torch.isfinite(torch.from_numpy(out)).all() and folder <= 60e6
EOF

say "collect into $result"
mkdir -p "$result/unet-inpaint"
cp "$work/model/unet-inpaint/config.json" "$result/unet-inpaint/"
w=$work/model/unet-inpaint/diffusion_pytorch_model.safetensors
if [ "$(stat -c %s "$w")" -gt $((15 * 1024 * 1024)) ]; then
  split -b 15M -d -a 1 "$w" "$result/unet-inpaint/diffusion_pytorch_model.safetensors.part"
else
  cp "$w" "$result/unet-inpaint/"
fi
cp "$CXR_RUNS/$log.json" "$result/"
ck=$CXR_STATE/inpaint.pt
if [ "$(stat -c %s "$ck")" -le $((15 * 1024 * 1024)) ]; then
  cp "$ck" "$result/"
else
  say "checkpoint $(( $(stat -c %s "$ck") / 1048576 )) MiB (optimizer + EMA) stays behind: files over 16 MiB do not come back; go on with --init export"
fi
(cd "$work/model/unet-inpaint" && sha256sum diffusion_pytorch_model.safetensors config.json) > "$result/SHA256SUMS"
ls -l "$result" "$result/unet-inpaint"
say "done"
}

# Everything also into the result folder's device.log (it comes back even when the command is cut off).
job 2>&1 | tee -a "$result/device.log"
exit "${PIPESTATUS[0]}"
