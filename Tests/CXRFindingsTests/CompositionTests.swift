import CXRFindings
import XCTest

final class CompositionTests: XCTestCase {
    var vocab: Vocabulary!

    override func setUpWithError() throws { vocab = try Vocabulary.standard() }

    func testAddPutsPresenceInPrompt() throws {
        let eff = try vocab.lookup("large right pleural effusion")
        let c = try compose(EditSpec(adds: [eff]), vocabulary: vocab)
        XCTAssertEqual(c.prompt, "Frontal chest radiograph. Large right pleural effusion.")
        XCTAssertEqual(c.negativePrompt, "")
        XCTAssertEqual(c.regions, ["right-lower-zone"])
        XCTAssertTrue(c.notes.isEmpty)
    }

    func testRemovePushesGuidanceAway() throws {
        var ptx = try vocab.lookup("PTX")
        try vocab.apply(side: .right, severity: "small", to: &ptx)
        let c = try compose(
            EditSpec(basePrompt: "PA chest x-ray", baseNegativePrompt: "blurry", removes: [ptx]), vocabulary: vocab)
        XCTAssertEqual(c.prompt, "PA chest x-ray. No pneumothorax.")
        // Guidance starts from the image as it is (base prompt + finding) and moves away from the finding; the
        // null edit's negative prompt is the base prompt, so it renders the plain "PA chest x-ray." conditional.
        XCTAssertEqual(c.negativePrompt, "blurry. PA chest x-ray. Small right pneumothorax.")
        XCTAssertEqual(c.basePrompt, "PA chest x-ray.")
        XCTAssertEqual(c.baseNegativePrompt, "blurry. PA chest x-ray.")
        XCTAssertEqual(c.regions, ["right-lung"])
    }

    func testCombinedFindingsKeepOrderAndUnionRegions() throws {
        let c = try compose(
            EditSpec(
                adds: [try vocab.lookup("mild cardiomegaly"), try vocab.lookup("left effusion")],
                removes: [try vocab.lookup("edema")]), vocabulary: vocab)
        XCTAssertEqual(
            c.prompt, "Frontal chest radiograph. Mild cardiomegaly. Left pleural effusion. No pulmonary edema.")
        XCTAssertEqual(c.negativePrompt, "Frontal chest radiograph. Pulmonary edema.")
        XCTAssertEqual(c.baseNegativePrompt, "Frontal chest radiograph.")
        XCTAssertEqual(c.regions, ["heart", "left-lower-zone", "lungs"])
        XCTAssertLessThan(estimatedCLIPTokens(c.prompt), 75)
    }

    func testContradictionsAndHandBuiltRequestsAreRejected() throws {
        let eff = try vocab.lookup("effusion")
        XCTAssertThrowsError(try compose(EditSpec(adds: [eff], removes: [eff]), vocabulary: vocab)) {
            XCTAssertTrue("\($0)".contains("both added and removed"))
        }
        XCTAssertThrowsError(try compose(EditSpec(adds: [eff, eff]), vocabulary: vocab)) {
            XCTAssertTrue("\($0)".contains("twice"))
        }
        let bad = FindingRequest(finding: vocab.finding(id: "cardiomegaly")!, side: .left)
        XCTAssertThrowsError(try compose(EditSpec(adds: [bad]), vocabulary: vocab)) {
            XCTAssertTrue("\($0)".contains("no side"))
        }
    }

    func testLongPromptsGetANote() throws {
        let ids = [
            "cardiomegaly", "edema", "emphysema", "fibrosis", "hernia", "enlarged-cardiomediastinum",
            "endotracheal-tube",
            "central-line", "pacemaker", "chest-tube", "pneumonia", "nodule", "mass", "fracture",
        ]
        let adds = ids.map { FindingRequest(finding: vocab.finding(id: $0)!) }
        let c = try compose(EditSpec(adds: adds), vocabulary: vocab)
        XCTAssertGreaterThan(estimatedCLIPTokens(c.prompt), 75)
        XCTAssertTrue(c.notes.contains { $0.contains("75") })
        XCTAssertEqual(estimatedCLIPTokens("Large right pleural effusion."), 5)
    }
}
