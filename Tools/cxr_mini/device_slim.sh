#!/usr/bin/env bash
# Makes the working tree small enough to travel to a lent GPU machine with the training pack, and restores it.
#
# Why: the device tool sends the whole working tree (tracked files, untracked files git does not ignore, carried
# paths) and refuses more than 64 MiB in all. The tracked tree alone is ~86 MiB, so the pack (.device-pack, 18 MiB at
# --quality 80) and the diffusers wheel (.whl, 6 MiB) only fit once the folders device_train.sh never reads are
# out of the tree for the call: test fixtures, doc pictures, samples, the CLIP vocabulary, the demo classifier, and
# (since the shipped inpainting UNet became the widened one, 31.5 MiB, December 7 2026) Models/cxr-mini/unet-inpaint:
# with it the slimmed tree, pack and wheel came to 86 MiB, so the device job trains a wide UNet from scratch
# (device_train.sh --width 2), which never reads it. They are tracked, so `back` restores them from git exactly.
#
#   Tools/cxr_mini/device_slim.sh size    # what would travel now, and after `out`
#   Tools/cxr_mini/device_slim.sh out     # remove them from the working tree (refused if any has local changes)
#   Tools/cxr_mini/device_slim.sh back    # git checkout them again
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
SLIM=(Tests/Fixtures docs/images Samples Resources Models/cxr-demo-classifier Models/cxr-mini/unet-inpaint)
CARRY=(.device-pack .whl)

mib() { awk '{ s += $1 } END { printf "%.1f MiB", s / 1048576 }'; }
travelling() {  # sizes of the files present that would travel: tracked, untracked-not-ignored, carried
    { git ls-files -z --cached --others --exclude-standard | xargs -0 -r stat -c %s 2>/dev/null || true
      for c in "${CARRY[@]}"; do [ -e "$c" ] && find "$c" -type f -exec stat -c %s {} +; done; } | mib
}

case "${1:-size}" in
size)
    echo "travels now: $(travelling) (limit 64 MiB)"
    echo "slimmed away: $(git ls-files -z -- "${SLIM[@]}" | xargs -0 -r stat -c %s | mib) (${SLIM[*]})"
    ;;
out)
    if ! git diff --quiet HEAD -- "${SLIM[@]}" || [ -n "$(git ls-files --others --exclude-standard -- "${SLIM[@]}")" ]; then
        echo "device_slim: local changes under ${SLIM[*]}; commit or stash them first" >&2; exit 1
    fi
    rm -rf -- "${SLIM[@]}"
    echo "travels now: $(travelling) (limit 64 MiB); restore with: $0 back"
    ;;
back)
    git checkout -- "${SLIM[@]}"
    git status --short -- "${SLIM[@]}"
    echo "restored: ${SLIM[*]}"
    ;;
*) echo "usage: $0 size|out|back" >&2; exit 2 ;;
esac
