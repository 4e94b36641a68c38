#!/bin/sh
# The probe report picture in docs/probe.md: runs the quick example (docs/examples/probe.yaml, a few minutes with
# the bundled model on 2 cores), writes its report, checks the page in headless Chromium (`apt-get install -y
# chromium`) and renders it to docs/images/probe/report.png. Run from the repository root after
# `swift build -c release`. RUN_DIR (default /tmp/cxr-probe-example) is kept, so a rerun resumes.
set -eu
BIN=${BIN:-.build/release/cxr-edit}
RUN_DIR=${RUN_DIR:-/tmp/cxr-probe-example}
PNG=${PNG:-docs/images/probe/report.png}
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || command -v chromium-headless-shell \
    || command -v google-chrome)}
"$BIN" probe --spec docs/examples/probe.yaml --out "$RUN_DIR" --dry-run
"$BIN" probe --spec docs/examples/probe.yaml --out "$RUN_DIR"
"$BIN" probe report "$RUN_DIR"
URL="file://$(cd "$RUN_DIR" && pwd)/report.html"
CHROME="$CHROMIUM --headless --no-sandbox --disable-gpu --hide-scrollbars --force-device-scale-factor=1"
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
# The page as Chromium builds it: every section, every thumbnail decoded, and no console message (the report has
# no scripts; a message would be a broken image or markup error).
$CHROME --enable-logging=stderr --v=0 --dump-dom "$URL" 2>"$LOG" >"$LOG.dom" || { cat "$LOG"; exit 1; }
for id in per-edit prompts shortcut-matrix strength-curves gallery image-metrics; do
    grep -q "id=\"$id\"" "$LOG.dom" || { echo "report.html: section $id missing" >&2; exit 1; }
done
grep -q 'class="forest"' "$LOG.dom" || { echo "report.html: no effect/null interval chart" >&2; exit 1; }
rm -f "$LOG.dom"
if grep -E 'CONSOLE|Uncaught|ERR_FILE|Failed to load' "$LOG" >&2; then
    echo "report.html: Chromium reported the messages above" >&2
    exit 1
fi
# A fixed window: the report is one self-contained page (no scripts, no network), so the picture depends only on
# the run's figures and Chromium's fonts. 1280 x 2400 shows the per-edit table and its interval chart, the prompts,
# the shortcut matrix and the start of the gallery.
$CHROME --window-size=1280,2400 --screenshot="$PWD/$PNG" "$URL" 2>/dev/null
echo "$PNG"
