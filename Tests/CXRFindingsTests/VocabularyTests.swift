import CXRFindings
import XCTest

final class VocabularyTests: XCTestCase {
    var vocab: Vocabulary!

    override func setUpWithError() throws { vocab = try Vocabulary.standard() }

    func testCoversCheXpertAndTorchXRayVisionLabels() {
        let chexpert = [
            "No Finding", "Enlarged Cardiomediastinum", "Cardiomegaly", "Lung Opacity", "Lung Lesion", "Edema",
            "Consolidation", "Pneumonia", "Atelectasis", "Pneumothorax", "Pleural Effusion", "Pleural Other",
            "Fracture", "Support Devices",
        ]
        let xrv = [
            "Atelectasis", "Consolidation", "Infiltration", "Pneumothorax", "Edema", "Emphysema", "Fibrosis",
            "Effusion", "Pneumonia", "Pleural_Thickening", "Cardiomegaly", "Nodule", "Mass", "Hernia",
            "Lung Lesion", "Fracture", "Lung Opacity", "Enlarged Cardiomediastinum",
        ]
        for l in chexpert { XCTAssertNotNil(vocab.finding(label: l, in: "chexpert"), l) }
        for l in xrv { XCTAssertNotNil(vocab.finding(label: l, in: "torchxrayvision"), l) }
        XCTAssertEqual(vocab.finding(label: "Effusion", in: "torchxrayvision")?.id, "pleural-effusion")
        for id in ["chest-tube", "endotracheal-tube", "central-line", "pacemaker", "no-finding"] {
            XCTAssertNotNil(vocab.finding(id: id), id)
        }
    }

    func testSynonymsAreCaseInsensitive() throws {
        XCTAssertEqual(try vocab.lookup("Pleural Effusion").finding.id, "pleural-effusion")
        XCTAssertEqual(try vocab.lookup("effusion").finding.id, "pleural-effusion")
        XCTAssertEqual(try vocab.lookup("PTX").finding.id, "pneumothorax")
        XCTAssertEqual(try vocab.lookup("enlarged heart").finding.id, "cardiomegaly")
        XCTAssertEqual(try vocab.lookup("Pleural_Thickening").finding.id, "pleural-thickening")
        XCTAssertEqual(try vocab.lookup("ETT").finding.id, "endotracheal-tube")
        XCTAssertEqual(try vocab.lookup("pleural effusions").finding.id, "pleural-effusion")
        XCTAssertEqual(try vocab.lookup("mass").finding.id, "mass")
        let plain = try vocab.lookup("cardiomegaly")
        XCTAssertNil(plain.side)
        XCTAssertNil(plain.severity)
    }

    func testFreeTextCarriesSideAndSeverity() throws {
        let r = try vocab.lookup("large right pleural effusion")
        XCTAssertEqual(r.finding.id, "pleural-effusion")
        XCTAssertEqual(r.side, .right)
        XCTAssertEqual(r.severity, "large")
        let p = try vocab.lookup("small left-sided PTX")
        XCTAssertEqual(p.finding.id, "pneumothorax")
        XCTAssertEqual(p.side, .left)
        XCTAssertEqual(p.severity, "small")
        let b = try vocab.lookup("bilateral effusions")
        XCTAssertEqual(b.side, .bilateral)
        XCTAssertEqual(try vocab.lookup("right lower lobe pneumonia").finding.id, "pneumonia")
        XCTAssertEqual(try vocab.lookup("right lower lobe pneumonia").side, .right)
        XCTAssertEqual(try vocab.lookup("huge effusion").severity, "large")
        XCTAssertEqual(try vocab.lookup("mild cardiomegaly").severity, "mild")
    }

    func testUnknownFindingSuggestsCloseMatches() {
        XCTAssertThrowsError(try vocab.lookup("pneumothrax")) { e in
            let s = "\(e)"
            XCTAssertTrue(s.contains("unknown finding 'pneumothrax'"), s)
            XCTAssertTrue(s.contains("pneumothorax"), s)
            XCTAssertFalse(s.contains("\n"))
        }
        XCTAssertThrowsError(try vocab.lookup("cardiomegally")) { XCTAssertTrue("\($0)".contains("cardiomegaly")) }
        XCTAssertThrowsError(try vocab.lookup("xyzzy")) { XCTAssertTrue("\($0)".contains("unknown finding")) }
        XCTAssertLessThanOrEqual(vocab.suggestions(for: "pneumo").count, 3)
        XCTAssertThrowsError(try vocab.lookup("cardiomegaly and effusion")) {
            XCTAssertTrue("\($0)".contains("several findings"))
        }
        XCTAssertThrowsError(try vocab.lookup("left right effusion")) { XCTAssertTrue("\($0)".contains("two sides")) }
    }

    func testLateralityAndSeverityValidation() throws {
        var heart = try vocab.lookup("cardiomegaly")
        XCTAssertThrowsError(try vocab.apply(side: .left, severity: nil, to: &heart)) {
            XCTAssertTrue("\($0)".contains("has no side"))
        }
        XCTAssertThrowsError(try vocab.apply(side: nil, severity: "large", to: &heart)) {
            XCTAssertTrue("\($0)".contains("use mild, moderate or severe"), "\($0)")
        }
        XCTAssertThrowsError(try vocab.lookup("right cardiomegaly")) { XCTAssertTrue("\($0)".contains("has no side")) }
        var eff = try vocab.lookup("effusion")
        XCTAssertThrowsError(try vocab.apply(side: nil, severity: "severe", to: &eff)) {
            XCTAssertTrue("\($0)".contains("small"))
        }
        try vocab.apply(side: .right, severity: "big", to: &eff)
        XCTAssertEqual(eff.severity, "large")
        XCTAssertEqual(eff.side, .right)
        XCTAssertThrowsError(try vocab.apply(side: .left, severity: nil, to: &eff)) {
            XCTAssertTrue("\($0)".contains("side given twice"))
        }
        var tube = try vocab.lookup("chest tube")
        XCTAssertThrowsError(try vocab.apply(side: nil, severity: "small", to: &tube)) {
            XCTAssertTrue("\($0)".contains("takes no severity"))
        }
    }

    func testPhrasesAreWellFormedForEverySideAndSeverity() {
        for f in vocab.findings {
            let sides: [Side?] = f.sided ? [nil, .right, .left, .bilateral] : [nil]
            for side in sides {
                for sev in [nil] + f.severities.map(Optional.some) {
                    let p = f.presencePhrase(side: side, severity: sev)
                    XCTAssertFalse(p.contains("{") || p.contains("  "), p)
                    XCTAssertTrue(p.hasSuffix("."), p)
                    XCTAssertEqual(p.first.map { String($0) }, p.first.map { String($0).uppercased() }, p)
                    if let side, side != .bilateral {
                        XCTAssertTrue(p.lowercased().contains(side.rawValue), "\(f.id): \(p)")
                    }
                    if let sev { XCTAssertTrue(p.lowercased().contains(sev), "\(f.id): \(p)") }
                }
            }
            if let a = f.absencePhrase() { XCTAssertTrue(a.hasSuffix(".") && !a.contains("{"), a) }
            for side in [nil, Side.right, .left, .bilateral] {
                for r in f.defaultRegions(side: f.sided ? side : nil) {
                    XCTAssertTrue(RegionAtlas.standardNames.contains(r), "\(f.id): \(r)")
                }
            }
        }
        let eff = vocab.finding(id: "pleural-effusion")!
        XCTAssertEqual(eff.presencePhrase(side: nil, severity: nil), "Pleural effusion.")
        XCTAssertEqual(eff.presencePhrase(side: .right, severity: "large"), "Large right pleural effusion.")
        XCTAssertEqual(eff.presencePhrase(side: .bilateral, severity: "small"), "Small bilateral pleural effusions.")
        XCTAssertEqual(eff.absencePhrase(), "No pleural effusion.")
        XCTAssertEqual(eff.defaultRegions(side: .right), ["right-lower-zone"])
        XCTAssertEqual(eff.defaultRegions(side: nil), ["right-lower-zone", "left-lower-zone"])
    }
}
