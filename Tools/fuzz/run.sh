#!/usr/bin/env bash
# Builds the libFuzzer targets of cxr-edit's untrusted-input readers with AddressSanitizer and runs each for a
# bounded time, keeping crashing inputs as regression files.
#
#   Tools/fuzz/run.sh                      # all targets, 60 s each
#   FUZZ_SECONDS=300 Tools/fuzz/run.sh fuzz-image fuzz-pickle
#   Tools/fuzz/run.sh --regress            # only replay Tests/Fixtures/bad/fuzz-regressions (no fuzzing)
#
# Targets: fuzz-safetensors, fuzz-pickle, fuzz-image, fuzz-dicom, fuzz-json, fuzz-tokenizer, fuzz-spec, fuzz-npy
# (see Package.swift).
# Build: debug configuration with -sanitize=fuzzer,address. Debug on purpose: it keeps Swift's overflow and
# bounds checks, which the main package's release build (-Ounchecked) removes, so logic errors trap here.
# Environment: FUZZ_SECONDS (per target, default 60), FUZZ_BUILD (scratch build dir, default $TMPDIR/cxr-fuzz-build),
# FUZZ_WORK (corpora and logs, default $TMPDIR/cxr-fuzz-work), CXR_EDIT_ROOT (main package, default ../..).
# Nothing is written inside the repository except new crash inputs under Tests/Fixtures/bad/fuzz-regressions/.
set -euo pipefail
export SWIFT_BACKTRACE=enable=no  # the Swift backtracer and ASan fight over crashes; let ASan report
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
TMP="${TMPDIR:-/tmp}"
BUILD="${FUZZ_BUILD:-$TMP/cxr-fuzz-build}"
WORK="${FUZZ_WORK:-$TMP/cxr-fuzz-work}"
SECONDS_PER_TARGET="${FUZZ_SECONDS:-60}"
REGRESSIONS="$ROOT/Tests/Fixtures/bad/fuzz-regressions"
ALL=(fuzz-safetensors fuzz-pickle fuzz-image fuzz-dicom fuzz-json fuzz-tokenizer fuzz-spec fuzz-npy)
REGRESS_ONLY=0
if [[ "${1:-}" == "--regress" ]]; then REGRESS_ONLY=1; shift; fi
TARGETS=("$@")
[[ ${#TARGETS[@]} -eq 0 ]] && TARGETS=("${ALL[@]}")

echo "== building ${TARGETS[*]} (debug, -sanitize=fuzzer,address) in $BUILD"
for t in "${TARGETS[@]}"; do
  swift build --package-path "$HERE" --scratch-path "$BUILD" --product "$t" \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library \
    -Xcxx -fsanitize=fuzzer-no-link,address  # the C++ DICOM shim (CDICOM); DCMTK itself is the system build
done
BIN="$(swift build --package-path "$HERE" --scratch-path "$BUILD" --show-bin-path)"
# Swift runtime caches look like leaks to LeakSanitizer; memory safety is what ASan checks here.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:allocator_may_return_null=1}"

echo "== seeds in $WORK/seeds"
mkdir -p "$WORK"
python3 - "$ROOT" "$WORK/seeds" <<'PY'
import os, shutil, sys, zipfile
root, out = sys.argv[1], sys.argv[2]
fx = os.path.join(root, "Tests", "Fixtures")
def put(target, name, data):
    d = os.path.join(out, target); os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f: f.write(data)
def files(*dirs, ext=()):
    for d in dirs:
        d = os.path.join(fx, d)
        if not os.path.isdir(d): continue
        for n in sorted(os.listdir(d)):
            p = os.path.join(d, n)
            if os.path.isfile(p) and (not ext or n.endswith(ext)) and os.path.getsize(p) <= 200_000:
                yield n, open(p, "rb").read()
for n, b in files("checkpoint", "checkpoint/bad", ext=(".safetensors",)): put("fuzz-safetensors", n, b)
for n, b in files("checkpoint", "checkpoint/bad", ext=(".bin", ".pt", ".ckpt")):
    put("fuzz-pickle", "raw-" + n, b"\x01" + b)
    try:
        z = zipfile.ZipFile(os.path.join(fx, "checkpoint", n) if os.path.exists(os.path.join(fx, "checkpoint", n)) else os.path.join(fx, "checkpoint", "bad", n))
        for e in z.namelist():
            if e.endswith("data.pkl"): put("fuzz-pickle", "pkl-" + n, b"\x00" + z.read(e))
    except Exception:
        pass
for n, b in files("imaging", "imaging/bad", "bad/images", "bad/ok", "bad/masks", ext=(".png", ".jpg")): put("fuzz-image", n, b)
for n, b in files("dicom", "dicom/bad", ext=(".dcm",)): put("fuzz-dicom", n, b)
for n, b in files("models/sd1-tiny", "models/sd1-tiny/unet", "models/sd1-tiny/vae", "models/sd1-tiny/text_encoder",
                  "models/sd1-tiny/scheduler", "models/sd2-tiny/unet", "bad/configs", ext=(".json",)):
    put("fuzz-json", n.replace("/", "_") + str(len(b)), b)
for i, s in enumerate(["Large right pleural effusion.", "No acute cardiopulmonary process.",
                       "Cardiomegaly with mild pulmonary edema; small bilateral effusions.",
                       "<|startoftext|>pneumothorax<|endoftext|>", "ÉPANCHEMENT pleural droit 12mm", "x" * 300]):
    put("fuzz-tokenizer", "prompt%d" % i, s.encode())
for n, b in files("../../docs/examples", ext=(".yaml", ".yml", ".json")): put("fuzz-spec", n, b)
for i, s in enumerate(["inputs: imgs\nedits: [{add: effusion, side: left}]\nseeds: 0..3\n",
                       "prompts: [{prompt: Cardiomegaly., count: 2}]\n", "a: &a [x, *a]\n", "- - - [ {a: 'b'} ]\n"]):
    put("fuzz-spec", "spec%d.yaml" % i, s.encode())
for n, b in files("bad/npy", ext=(".npy",)): put("fuzz-npy", n, b)
PY

status=0
echo "== regression inputs ($REGRESSIONS)"
for t in "${TARGETS[@]}"; do
  dir="$REGRESSIONS/$t"
  if [[ -d "$dir" ]] && compgen -G "$dir/*" > /dev/null; then
    if "$BIN/$t" -runs=1 "$dir"/* > "$WORK/$t.regress.log" 2>&1; then echo "$t: $(ls "$dir" | wc -l) regression inputs pass"
    else echo "$t: REGRESSION FAILS (see $WORK/$t.regress.log)"; status=1; fi
  else
    echo "$t: no regression inputs"
  fi
done
[[ $REGRESS_ONLY -eq 1 ]] && exit $status

printf "\n%-18s %10s %8s %8s %s\n" target executions exec/s corpus findings
for t in "${TARGETS[@]}"; do
  mkdir -p "$WORK/corpus/$t" "$WORK/artifacts/$t"
  log="$WORK/$t.log"
  set +e
  "$BIN/$t" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="$WORK/artifacts/$t/" \
    "$WORK/corpus/$t" "$WORK/seeds/$t" > "$log" 2>&1
  rc=$?
  set -e
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  found=0
  for a in "$WORK/artifacts/$t"/*; do
    [[ -f "$a" ]] || continue
    mkdir -p "$REGRESSIONS/$t"
    cp "$a" "$REGRESSIONS/$t/$(basename "$a")"
    found=$((found + 1))
  done
  rm -f "$WORK/artifacts/$t"/*
  printf "%-18s %10s %8s %8s %s\n" "$t" "$execs" "$rate" "$(ls "$WORK/corpus/$t" | wc -l)" \
    "$([[ $found -gt 0 || $rc -ne 0 ]] && echo "$found new input(s), exit $rc: see $log" || echo none)"
  [[ $found -gt 0 || $rc -ne 0 ]] && status=1
done
exit $status
