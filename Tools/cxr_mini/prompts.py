"""Radiology-style prompts for cxr-mini (RoentGen impression phrasing + RoentGen-v2 demographic prefix).

  "65 year old male. AP chest radiograph. Small right pleural effusion."
  "No acute cardiopulmonary process." (no finding; unknown fields left out)

Phrases were written by hand after studying the wording of the IU/Open-i impressions (not copied wholesale).
Laterality (image left = patient's right) comes from NIH's expert boxes where an image has one.
`candidates(row, boxes)` returns every phrasing of one image; training picks one at random per step.
Run `python Tools/cxr_mini/prompts.py` to print a few examples.
"""
import csv, itertools, random
import common

NO_FINDING = ["No acute cardiopulmonary process.", "No acute cardiopulmonary abnormality.",
              "Lungs are clear. No acute disease.", "Normal chest radiograph."]

# {side} is replaced by "right " / "left " / "" (unknown)
PHRASES = {
    "Atelectasis": ["{Side}basilar atelectasis.", "Subsegmental {side}atelectasis.", "Linear {side}atelectasis."],
    "Cardiomegaly": ["Cardiomegaly.", "Enlarged cardiac silhouette.", "The heart is enlarged."],
    "Effusion": ["{Side}pleural effusion.", "Small {side}pleural effusion.",
                 "Blunting of the {side}costophrenic angle consistent with pleural effusion."],
    "Infiltration": ["{Side}pulmonary infiltrate.", "Patchy {side}infiltrates.", "Hazy {side}airspace opacity."],
    "Mass": ["{Side}lung mass.", "Pulmonary mass in the {side}lung.", "Large {side}pulmonary mass."],
    "Nodule": ["{Side}pulmonary nodule.", "Nodular opacity in the {side}lung.", "Solitary {side}lung nodule."],
    "Pneumonia": ["{Side}pneumonia.", "Airspace disease consistent with {side}pneumonia.",
                  "Focal {side}opacity concerning for pneumonia."],
    "Pneumothorax": ["{Side}pneumothorax.", "Small {side}apical pneumothorax.", "Visible {side}pleural line, pneumothorax."],
    "Consolidation": ["Focal airspace consolidation.", "Lobar consolidation.", "Dense consolidation."],
    "Edema": ["Pulmonary edema.", "Interstitial pulmonary edema.", "Vascular congestion with pulmonary edema."],
    "Emphysema": ["Emphysema.", "Hyperexpanded lungs consistent with emphysema.", "Emphysematous changes."],
    "Fibrosis": ["Pulmonary fibrosis.", "Interstitial fibrotic changes.", "Coarse interstitial markings, fibrosis."],
    "Pleural_Thickening": ["Pleural thickening.", "Apical pleural thickening.", "Pleural thickening and scarring."],
    "Hernia": ["Hiatal hernia.", "Small hiatal hernia.", "Retrocardiac density, hiatal hernia."],
    # cxr256 (COVID-19 image data collection / JSRT) findings
    "COVID-19": ["Multifocal patchy opacities consistent with viral pneumonia.",
                 "Bilateral peripheral opacities, COVID-19 pneumonia.", "Bilateral airspace disease, viral pneumonia."],
    "ARDS": ["Diffuse bilateral airspace opacities consistent with ARDS.", "Diffuse bilateral opacities, ARDS."],
    "InfectPneumonia": ["Pneumonia.", "Airspace disease consistent with pneumonia.", "Focal opacity concerning for pneumonia."],
}
KEYWORDS = {"consolidation": "Consolidation", "effusion": "Effusion", "edema": "Edema",
            "pneumothorax": "Pneumothorax", "cardiomegaly": "Cardiomegaly", "atelectasis": "Atelectasis",
            "ards": "ARDS", "ground-glass": "GGO", "opacity": "OPACITY"}
PHRASES["GGO"] = ["Ground-glass opacities.", "Bilateral ground-glass opacities."]
PHRASES["OPACITY"] = ["Patchy airspace opacities.", "Hazy bilateral opacities."]
VIEWS = {"PA": ["PA chest radiograph.", "PA view of the chest."], "AP": ["AP chest radiograph.", "AP view of the chest."],
         "AP Supine": ["AP supine chest radiograph.", "Supine AP chest radiograph."]}
BOXED = {"Infiltrate": "Infiltration"}


def load_boxes():
    """filename -> {finding: 'right ' | 'left ' | ''} from NIH's boxes (image left = patient's right)."""
    out = {}
    with open(common.SHARED / "nih-labelled" / "boxes.csv", newline="") as f:
        for r in csv.DictReader(f):
            fnd = BOXED.get(r["finding"], r["finding"])
            cx = float(r["x"]) + float(r["w"]) / 2
            side = "right " if cx < 118 else "left " if cx > 138 else ""
            d = out.setdefault(r["filename"], {})
            d[fnd] = side if fnd not in d or d[fnd] == side else ""
    return out


def findings_of(row):
    """Canonical finding keys of a row (empty list = no finding)."""
    f = row.get("findings", "") or ""
    keys = []
    if row["dataset"] == "nih-labelled" or row["filename"].startswith("nih_"):
        keys = [x for x in f.split("|") if x and x != "No Finding"]
    else:
        parts = [x.strip() for x in f.split(";")]
        for p in parts:
            if p.startswith("No Finding") or not p:
                continue
            if p in ("COVID-19", "Nodule", "Cardiomegaly", "Pneumonia", "ARDS"):
                keys.append("InfectPneumonia" if p == "Pneumonia" else p)
            else:  # SARS, Pneumocystis, Streptococcus, ... : infectious pneumonia
                keys.append("InfectPneumonia")
        for k in (row.get("notes_keywords") or "").split(";"):
            if k in KEYWORDS and KEYWORDS[k] not in keys:
                keys.append(KEYWORDS[k])
        if "ARDS" in keys and "InfectPneumonia" in keys:
            keys.remove("InfectPneumonia")
    seen = []
    for k in keys:
        if k not in seen and k in PHRASES:
            seen.append(k)
    return seen[:3]


def _phr(p, side):
    s = p.replace("{side}", side).replace("{Side}", side.capitalize())
    return s[0].upper() + s[1:]


def candidates(row, boxes):
    """All prompt phrasings for one image (demographics and view left out when unknown)."""
    demo = []
    age, sex = (row.get("age") or "").strip(), (row.get("sex") or "").strip()
    word = {"M": "male", "F": "female"}.get(sex)
    if age and word:
        demo.append(f"{int(float(age))} year old {word}.")
    elif word:
        demo.append(f"{word.capitalize()} patient.")
    elif age:
        demo.append(f"{int(float(age))} year old patient.")
    views = VIEWS.get(row.get("view", ""), [""])
    keys = findings_of(row)
    sides = boxes.get(row["filename"], {})
    if not keys:
        imps = NO_FINDING
    else:
        opts = [[_phr(p, sides.get(k, "")) for p in PHRASES[k]] for k in keys]
        imps = [" ".join(c) for c in itertools.product(*opts)]
    out = []
    for v in views:
        for i in imps:
            out.append(" ".join(x for x in demo + [v, i] if x))
    return out


if __name__ == "__main__":
    rows = common.load_rows()
    boxes = load_boxes()
    rng = random.Random(0)
    for r in rng.sample(rows, 12):
        c = candidates(r, boxes)
        print(r["filename"], r["findings"], "->", len(c), "|", rng.choice(c))
