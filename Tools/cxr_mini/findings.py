"""The prompt language of cxr-mini, read from the same findings vocabulary the Swift composer reads.

Source of truth: Sources/CXRFindings/Resources/findings.json (docs/findings.md). `presence()` / `absence()`
fill the templates exactly as CXRFindings' `PhraseTemplate.fill` does, and `compose()` joins sentences the way
`compose(_:vocabulary:)` does ("Frontal chest radiograph." + added findings' presence sentences + removed
findings' absence sentences), so every prompt `--add/--remove/--severity/--side` writes is a training prompt.
`extent()` gives the regions and growth of an edit for a severity (the same table the Swift side uses).

Labels of the training images map to vocabulary entries by the entry's torchxrayvision label (NIH names) or,
for the COVID-19 collection, by its keywords. Severity comes from NIH's expert boxes where an image has one:
tertiles of heart-box width (cardiomegaly) or box area (effusion, pneumothorax) among all boxes of the finding.
Run `python Tools/cxr_mini/findings.py` to print examples.
"""
import csv, json, random
import common

VOCAB_PATH = common.REPO / "Sources" / "CXRFindings" / "Resources" / "findings.json"
VOCAB = json.loads(VOCAB_PATH.read_text())
BY_ID = {f["id"]: f for f in VOCAB["findings"]}
BASE = "Frontal chest radiograph."  # EditSpec.defaultBasePrompt: also the null edit's prompt
# The findings a user edits most and that the demo classifier scores: sampled more often in training.
TARGETS = ["cardiomegaly", "pleural-effusion", "pneumothorax"]
NIH_TO_ID = {f["labels"]["torchxrayvision"]: f["id"] for f in VOCAB["findings"] if "torchxrayvision" in f["labels"]}
COVID_TO_ID = {"COVID-19": "pneumonia", "Pneumonia": "pneumonia", "ARDS": "edema", "Cardiomegaly": "cardiomegaly",
               "Nodule": "nodule"}
KEYWORD_TO_ID = {"consolidation": "consolidation", "effusion": "pleural-effusion", "edema": "edema",
                 "pneumothorax": "pneumothorax", "cardiomegaly": "cardiomegaly", "atelectasis": "atelectasis",
                 "ards": "edema", "ground-glass": "lung-opacity", "opacity": "lung-opacity"}
# Severity tertiles from boxes (measure, finding id) -> level names mildest first.
BOX_MEASURE = {"cardiomegaly": "width", "pleural-effusion": "area", "pneumothorax": "area"}


def fill(template, side=None, severity=None):
    """CXRFindings.PhraseTemplate.fill: drop empty placeholders, tidy spaces, capitalise the first letter."""
    s = template.replace("{Severity}", severity or "").replace("{severity}", severity or "")
    s = s.replace("{side}", side or "")
    s = " ".join(s.split()).replace(" .", ".")
    return s[:1].upper() + s[1:]


def presence(fid, side=None, severity=None):
    f = BY_ID[fid]
    if side is None:
        t = f["presence"]
    elif side == "bilateral":
        t = f.get("presenceBilateral") or f.get("presenceSided") or f["presence"]
    else:
        t = f.get("presenceSided") or f["presence"]
    return fill(t, side, severity)


def absence(fid):
    a = BY_ID[fid].get("absence")
    return fill(a) if a else None


def compose(adds=(), removes=(), base=BASE):
    """adds/removes: [(id, side, severity)]; returns (prompt, negative prompt) like the Swift composer."""
    parts = [base] + [presence(i, s, v) for i, s, v in adds]
    neg = []
    for i, s, v in removes:
        a = absence(i)
        if a:
            parts.append(a)
        neg.append(presence(i, s, v))
    return " ".join(parts), " ".join(neg)


def extent(fid, side=None, severity=None):
    """(region names, grow in atlas px) for an edit of `fid`; side None/bilateral = both sides."""
    f = BY_ID[fid]
    sides = ["right", "left"] if side in (None, "bilateral") else [side]
    ext = f.get("extent")
    if ext:
        level = ext["levels"][severity if severity in ext["levels"] else ext["default"]]
        names, grow = level["regions"], level["grow"]
    else:
        names, grow = f["region"], 0
    out = []
    for n in names:
        for e in ([n.replace("{side}", s) for s in sides] if "{side}" in n else [n]):
            if e not in out:
                out.append(e)
    return out, grow


def levels(fid):
    ext = BY_ID[fid].get("extent")
    return list(ext["levels"]) if ext else BY_ID[fid]["severities"]


def box_sides_and_severity():
    """filename -> {finding id: (side, severity)} from NIH's expert boxes (image left = patient's right)."""
    rows = list(csv.DictReader(open(common.SHARED / "nih-labelled" / "boxes.csv", newline="")))
    per = {}
    for r in rows:
        fid = NIH_TO_ID.get({"Infiltrate": "Infiltration"}.get(r["finding"], r["finding"]))
        if fid is None:
            continue
        x, y, w, h = (float(r[k]) for k in "xywh")
        per.setdefault((r["filename"], fid), []).append((x, y, w, h))
    cuts = {}
    for fid, how in BOX_MEASURE.items():
        vals = sorted(max(b[2] for b in bs) if how == "width" else sum(b[2] * b[3] for b in bs)
                      for (fn, i), bs in per.items() if i == fid)
        cuts[fid] = [vals[len(vals) // 3], vals[2 * len(vals) // 3]]
    out = {}
    for (fn, fid), bs in per.items():
        sides = {"right" if x + w / 2 < 118 else "left" if x + w / 2 > 138 else "mid" for x, y, w, h in bs}
        side = None
        if BY_ID[fid]["sided"]:
            side = "bilateral" if {"right", "left"} <= sides else ("right" if "right" in sides else
                                                                  "left" if "left" in sides else None)
        sev = None
        if fid in BOX_MEASURE:
            v = max(b[2] for b in bs) if BOX_MEASURE[fid] == "width" else sum(b[2] * b[3] for b in bs)
            names = levels(fid)[-3:]  # the three upper levels (effusion's "trace" is never assigned from a box)
            sev = names[0] if v < cuts[fid][0] else names[1] if v < cuts[fid][1] else names[2]
        out.setdefault(fn, {})[fid] = (side, sev, bs)
    return out, cuts


def findings_of(row):
    """Vocabulary ids of a row's findings (empty = no finding)."""
    f = row.get("findings", "") or ""
    ids = []
    if row["filename"].startswith("nih_"):
        ids = [NIH_TO_ID[x] for x in f.split("|") if x in NIH_TO_ID]
    else:
        for p in (x.strip() for x in f.split(";")):
            if not p or p.startswith("No Finding"):
                continue
            ids.append(COVID_TO_ID.get(p, "pneumonia"))
        for k in (row.get("notes_keywords") or "").split(";"):
            if k in KEYWORD_TO_ID:
                ids.append(KEYWORD_TO_ID[k])
    seen = []
    for i in ids:
        if i not in seen:
            seen.append(i)
    return seen


def describe(row, boxes):
    """[(id, side, severity)] of the image, targets first, at most 3 sentences."""
    ids = findings_of(row)
    known = boxes.get(row["filename"], {})
    ids = sorted(ids, key=lambda i: i not in TARGETS)  # stable: targets first, then the label order
    return [(i, *known.get(i, (None, None, None))[:2]) for i in ids[:3]]


def training_prompt(desc, rng, absent_p=0.4, omit_p=0.25, absent=None):
    """A report-style prompt for an image described by `desc`, in the composer's language.

    Positives: base + presence sentences (side and severity where the boxes give them), but each target
    finding's sentence is left out with probability omit_p. Without that, the bare base prompt only ever
    described normal images, so a `--remove` edit's null edit (base prompt) already removed the finding and
    the edit could not differ from it; now the base prompt means "not stated" and the model keeps what the
    unmasked context shows. Absence sentences (what `--remove` writes): `absent` (a target id the image lacks,
    drawn with that finding's mask) always gets one; otherwise, with probability absent_p, one or two of the
    missing targets do, as reports list pertinent negatives.
    """
    adds = [d for d in desc if d[0] not in TARGETS or rng.random() >= omit_p]
    prompt, _ = compose(adds)
    have = {i for i, _, _ in desc}
    missing = [t for t in TARGETS if t not in have and t != absent]
    said = [absent] if absent else []
    if missing and rng.random() < absent_p:
        said += rng.sample(missing, min(len(missing), rng.choice([1, 1, 2])))
    for t in said:
        prompt += " " + absence(t)
    return prompt


if __name__ == "__main__":
    rows = common.load_rows()
    boxes, cuts = box_sides_and_severity()
    print("severity cuts", cuts)
    rng = random.Random(0)
    for r in rng.sample(rows, 10):
        d = describe(r, boxes)
        print(r["filename"], r["findings"], "->", training_prompt(d, rng))
    print(compose([("pleural-effusion", "right", "large")]))
    print(compose(removes=[("cardiomegaly", None, None)]))
    print(extent("pleural-effusion", "right", "large"), extent("cardiomegaly"))
