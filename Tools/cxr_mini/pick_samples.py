"""Copy the 8 sample radiographs into Samples/ (re-encoded 8-bit grey PNG, maximum compression) with attribution.

Run: /work/venv/bin/python Tools/cxr_mini/pick_samples.py
Source: ../shared/data/cxr-permissive (permissive licences only: CC BY / CC BY-SA / CC0 / NIH). Writes
Samples/<name>.png and Samples/ATTRIBUTION.md. Deterministic.
"""
import csv
from PIL import Image
import common

PICK = ["nih_00000001_000.png", "nih_00027426_000.png", "covid_0425.png", "covid_0434.png",
        "covid_0443.png", "covid_0490.png", "covid_0637.png", "covid_0639.png"]
OK = ("CC BY", "CC BY-SA", "CC0", "NIH CC", "public domain")
SRC = common.SHARED / "cxr-permissive"
OUT = common.REPO / "Samples"
NIH_CITE = ("Wang X, Peng Y, Lu L, Lu Z, Bagheri M, Summers RM. ChestX-ray8: Hospital-scale chest X-ray database "
            "and benchmarks. CVPR 2017. Images courtesy of the NIH Clinical Center "
            "(https://nihcc.app.box.com/v/ChestXray-NIHCC).")
HANNOVER = ("Winther HB et al., COVID-19 image repository, Hannover Medical School, figshare, "
            "doi:10.6084/m9.figshare.12275009")
AUTHORS = {
    "covid_0637.png": "figure 1 of doi:10.1186/s12941-020-00358-y (Annals of Clinical Microbiology and Antimicrobials, 2020)",
    "covid_0639.png": "figure 3 of doi:10.1186/s41182-020-00203-0 (Tropical Medicine and Health, 2020)",
}


def main():
    rows = {r["filename"]: r for r in csv.DictReader(open(SRC / "labels.csv", newline=""))}
    OUT.mkdir(exist_ok=True)
    lines = ["# Sample chest radiographs", "",
             "Eight real frontal chest X-rays for trying cxr-edit, copied from the permissively licensed subset",
             "(`cxr-permissive`) of the project's shared data and re-encoded as 8-bit greyscale PNG (pixels unchanged).",
             "Image left is the patient's right. Findings are the source dataset's labels (NIH labels are text-mined",
             "and about 90% accurate). Not for clinical use.", "",
             "| File | Size | View | Sex / age | Findings | Source / author | Licence | Link |",
             "|---|---|---|---|---|---|---|---|"]
    total = 0
    for f in PICK:
        r = rows[f]
        assert r["license"].startswith(OK), (f, r["license"])
        im = Image.open(SRC / "images" / f).convert("L")
        im.save(OUT / f, optimize=True, compress_level=9)
        total += (OUT / f).stat().st_size
        link = r["attribution"].split("url=")[-1].strip() if "url=" in r["attribution"] else "https://nihcc.app.box.com/v/ChestXray-NIHCC"
        doi = r["attribution"].split("doi=")[-1].split(";")[0].strip() if "doi=" in r["attribution"] else ""
        if f.startswith("nih_"):
            who, lic = "NIH ChestX-ray14 (" + f[4:].replace(".png", ".png") + "), NIH Clinical Center", "NIH: no restriction on use (Kaggle mirror: CC0); cite Wang et al. 2017"
        else:
            who = AUTHORS.get(f, HANNOVER) + ", via the COVID-19 image data collection (Cohen et al., arXiv:2006.11988)"
            lic = r["license"]
            if doi and f not in AUTHORS:
                who += f", doi:{doi}"
        demo = " ".join(x for x in [r["sex"], r["age"]] if x) or "unknown"
        lines.append(f"| {f} | {im.width}x{im.height} | {r['view']} | {demo} | {r['findings']} | {who} | {lic} | {link} |")
    lines += ["", "NIH images: " + NIH_CITE, "",
              "COVID-19 image data collection: Cohen JP, Morrison P, Dao L, Roth K, Duong TQ, Ghassemi M. COVID-19 Image "
              "Data Collection: Prospective Predictions Are the Future. arXiv:2006.11988 (2020). Each image keeps the "
              "licence of its original publication shown above; CC BY / CC BY-SA require this attribution to be kept.", ""]
    (OUT / "ATTRIBUTION.md").write_text("\n".join(lines))
    print("samples", len(PICK), f"{total / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
