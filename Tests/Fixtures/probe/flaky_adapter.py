#!/usr/bin/env python3
"""Test stand-in classifier (cxr-edit classifier protocol, docs/classifiers.md) that can misbehave on purpose.

Scores are a deterministic function of the image file's bytes. With CXR_TEST_FAIL_AFTER=N it answers N requests
and then misbehaves as CXR_TEST_FAIL_MODE says: "crash" (exit 3), "garbage" (prints non-JSON) or "hang".
Run by the probe tests: `python3 flaky_adapter.py`.
"""
import hashlib
import json
import os
import sys
import time

LABELS = ["Cardiomegaly", "Effusion", "Pneumothorax"]
fail_after = int(os.environ.get("CXR_TEST_FAIL_AFTER", "-1"))
mode = os.environ.get("CXR_TEST_FAIL_MODE", "crash")
print(json.dumps({"protocol": "cxr-edit-classifier/1", "labels": LABELS}), flush=True)
answered = 0
for line in sys.stdin:
    if answered == fail_after:
        if mode == "garbage":
            print("Traceback (most recent call last): oops", flush=True)
            continue
        if mode == "hang":
            time.sleep(3600)
        print("adapter: simulated crash", file=sys.stderr, flush=True)
        sys.exit(3)
    req = json.loads(line)
    preds = []
    for path in req["images"]:
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).digest()
        preds.append({label: digest[i] / 255.0 for i, label in enumerate(LABELS)})
    print(json.dumps({"id": req["id"], "predictions": preds}), flush=True)
    answered += 1
