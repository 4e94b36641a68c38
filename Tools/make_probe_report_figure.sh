#!/bin/sh
# The probe report picture in docs/probe.md: runs the quick example (docs/examples/probe.yaml, a few minutes with
# the bundled model on 2 cores), writes its report, and renders report.html in headless Chromium
# (`apt-get install -y chromium`) to docs/images/probe/report.png. Run from the repository root after
# `swift build -c release`. RUN_DIR (default /tmp/cxr-probe-example) is kept, so a rerun resumes.
set -eu
BIN=${BIN:-.build/release/cxr-edit}
RUN_DIR=${RUN_DIR:-/tmp/cxr-probe-example}
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || command -v google-chrome)}
"$BIN" probe --spec docs/examples/probe.yaml --out "$RUN_DIR" --dry-run
"$BIN" probe --spec docs/examples/probe.yaml --out "$RUN_DIR"
"$BIN" probe report "$RUN_DIR"
# A fixed window: the report is one self-contained page (no scripts, no network), so the picture depends only on
# the run's figures and Chromium's fonts.
"$CHROMIUM" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,2000 \
    --screenshot="$PWD/docs/images/probe/report.png" "file://$RUN_DIR/report.html" 2>/dev/null
echo "docs/images/probe/report.png"
