import CXRFindings
import CXRImaging
import XCTest

/// Severity sets how far an edit reaches; the table must equal Tools/cxr_mini/findings.py `extent()`, which drew
/// the masks the bundled inpainting UNet was trained on.
final class ExtentTests: XCTestCase {
    func testExtentsMatchTheTrainingScript() throws {
        let vocab = try Vocabulary.standard()
        // (finding, side, severity) -> findings.py extent(), printed by the script itself.
        let cases: [(String, Side?, String?, [String], Int)] = [
            ("pleural-effusion", .right, "large", ["right-cp-angle", "right-lower-zone", "right-middle-zone"], 18),
            ("pleural-effusion", .left, "trace", ["left-cp-angle"], 6),
            (
                "pleural-effusion", nil, nil,
                [
                    "right-cp-angle", "left-cp-angle", "right-lower-zone", "left-lower-zone",
                    "right-middle-zone", "left-middle-zone",
                ], 10
            ),
            (
                "pleural-effusion", .bilateral, "small",
                [
                    "right-cp-angle", "left-cp-angle", "right-lower-zone",
                    "left-lower-zone",
                ], 8
            ),
            ("pleural-effusion", .right, "huge", ["right-cp-angle", "right-lower-zone", "right-middle-zone"], 10),
            ("cardiomegaly", nil, nil, ["heart"], 14),
            ("cardiomegaly", nil, "mild", ["heart"], 8),
            ("cardiomegaly", nil, "severe", ["heart"], 20),
            ("pneumothorax", .left, "small", ["left-apex"], 8),
            ("pneumothorax", nil, "large", ["right-lung", "left-lung"], 8),
            ("enlarged-cardiomediastinum", nil, "severe", ["mediastinum", "heart"], 14),
            ("consolidation", .right, "moderate", ["right-lower-zone", "right-middle-zone"], 0),
            ("atelectasis", nil, nil, ["right-lower-zone", "left-lower-zone"], 0),
            ("central-line", .left, nil, ["mediastinum", "left-upper-zone"], 0),
        ]
        for (id, side, severity, regions, grow) in cases {
            let f = try XCTUnwrap(vocab.finding(id: id), id)
            let area = f.editExtent(side: side, severity: severity)
            XCTAssertEqual(area.regions, regions, "\(id) \(side?.rawValue ?? "-") \(severity ?? "-")")
            XCTAssertEqual(area.grow, grow, "\(id) \(side?.rawValue ?? "-") \(severity ?? "-")")
        }
    }

    func testEveryExtentIsWellFormedAndGrowsWithSeverity() throws {
        let vocab = try Vocabulary.standard()
        let atlas = try RegionAtlas.standard()
        let withExtent = vocab.findings.filter { $0.extent != nil }
        XCTAssertEqual(
            Set(withExtent.map(\.id)),
            ["cardiomegaly", "enlarged-cardiomediastinum", "pleural-effusion", "pneumothorax"])
        let fitter = RegionFitter(atlas: atlas)
        let identity = AtlasFit(
            scaleX: 1, scaleY: 1, offsetX: 0, offsetY: 0, score: 1, imageWidth: 256, imageHeight: 256)
        for f in withExtent {
            let e = try XCTUnwrap(f.extent)
            XCTAssertNotNil(e.levels[e.default], "\(f.id): default level '\(e.default)' has no entry")
            XCTAssertEqual(Set(e.levels.keys), Set(f.severities), "\(f.id): a level per severity")
            // Milder severities never reach further than stronger ones.
            var previous = 0.0
            for severity in f.severities {
                let area = f.editExtent(side: f.sided ? .right : nil, severity: severity)
                try atlas.validate(area.regions)
                let placed = try fitter.place(RegionRequest(edit: [area]), fit: identity)
                let coverage = try XCTUnwrap(placed.edit).coverage
                XCTAssertGreaterThanOrEqual(coverage, previous, "\(f.id) \(severity)")
                previous = coverage
            }
        }
    }

    func testGrowthIsScaledByTheFitAndDilationAdds() throws {
        let fitter = try RegionFitter.standard()
        let fit = AtlasFit(
            scaleX: 2.1, scaleY: 1.9, offsetX: 10, offsetY: 5, score: 0.9, imageWidth: 560, imageHeight: 500)
        let area = ExtentArea(regions: ["heart"], grow: 10)
        let placed = try fitter.place(RegionRequest(edit: [area], dilate: 3, keep: ["right-apex"]), fit: fit)
        XCTAssertEqual(placed.growth, [23], "10 atlas px x mean scale 2.0 + 3 px")
        XCTAssertEqual(placed.edit, try fitter.place(["heart"], fit: fit, dilate: 23))
        XCTAssertEqual(placed.keep, try fitter.place(["right-apex"], fit: fit))
        // Two areas: each grown by its own amount, then joined.
        let two = try fitter.place(RegionRequest(edit: [area, ExtentArea(regions: ["left-apex"], grow: 0)]), fit: fit)
        XCTAssertEqual(two.growth, [20, 0])
        XCTAssertEqual(
            two.edit, try fitter.place(["heart"], fit: fit, dilate: 20).union(fitter.place(["left-apex"], fit: fit)))
    }

    func testWeakFitIsRefusedUnlessForced() throws {
        let weak = AtlasFit(scaleX: 1, scaleY: 1, offsetX: 0, offsetY: 0, score: 0.2, imageWidth: 256, imageHeight: 256)
        XCTAssertThrowsError(try FitPolicy.standard.check(weak)) { e in
            XCTAssertEqual(e as? WeakFitError, WeakFitError(score: 0.2, minimumScore: FitPolicy.defaultMinimumScore))
            XCTAssertTrue("\(e)".contains("0.20"), "\(e)")
            XCTAssertFalse("\(e)".contains("--"), "library errors name no CLI flag: \(e)")
        }
        XCTAssertNoThrow(try FitPolicy(force: true).check(weak))
        XCTAssertNotNil(FitPolicy(force: true).warning(for: weak))
        var good = weak
        good.score = 0.9
        XCTAssertNil(FitPolicy.standard.warning(for: good))
    }

    func testComposedEditCarriesNullPromptsAndAreas() throws {
        let vocab = try Vocabulary.standard()
        var effusion = try vocab.lookup("pleural effusion")
        try vocab.apply(side: .right, severity: "large", to: &effusion)
        let cardio = try vocab.lookup("cardiomegaly")
        let c = try compose(
            EditSpec(basePrompt: "PA view", baseNegativePrompt: "blurry", adds: [effusion], removes: [cardio]),
            vocabulary: vocab)
        XCTAssertEqual(c.prompt, "PA view. Large right pleural effusion. Heart size is normal.")
        XCTAssertEqual(c.negativePrompt, "blurry. PA view. Cardiomegaly.")
        XCTAssertEqual(c.basePrompt, "PA view.")
        XCTAssertEqual(c.baseNegativePrompt, "blurry. PA view.")
        XCTAssertEqual(
            c.areas,
            [
                ExtentArea(regions: ["right-cp-angle", "right-lower-zone", "right-middle-zone"], grow: 18),
                ExtentArea(regions: ["heart"], grow: 14),
            ])
        let plain = try compose(EditSpec(adds: [cardio]), vocabulary: vocab)
        XCTAssertEqual(plain.basePrompt, EditSpec.defaultBasePrompt)
        XCTAssertEqual(plain.baseNegativePrompt, "")
    }
}
