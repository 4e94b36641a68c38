@testable import CXRProbe
import CXRFindings
import Foundation
import XCTest

/// summary.json's label agreement (does a classifier call a finding more often on images labelled with it?), and the
/// documented example specs' exact label counts.
final class SynthesizeSummaryTests: XCTestCase {
    func row(_ labels: [String], sex: String? = nil, view: String? = nil, _ scores: [String: Double]) -> SynthesisRow {
        var r = SynthesisRow.made(labels: labels, scores: ["demo": scores])
        r.sex = sex
        r.view = view
        return r
    }

    func entry(_ a: [String: ClassifierAgreement], _ label: String) throws -> LabelAgreement {
        try XCTUnwrap(a["demo"]?.labels[label], label)
    }

    func testAgreementPerLabelAndDemographics() throws {
        let rows = [
            row(
                ["Pneumothorax"], sex: "male", view: "AP",
                ["Pneumothorax": 0.9, "Effusion": 0.6, "Abnormal": 0.8, "Male": 0.7, "AP view": 0.9]),
            row(
                ["Pneumothorax"], sex: "female", view: "PA",
                ["Pneumothorax": 0.4, "Effusion": 0.2, "Abnormal": 0.7, "Male": 0.2, "AP view": 0.1]),
            row(
                ["Effusion"], sex: "female", view: "PA",
                ["Pneumothorax": 0.6, "Effusion": 0.3, "Abnormal": 0.6, "Male": 0.6, "AP view": 0.2]),
            row(
                ["No Finding"], sex: "male", view: "PA",
                ["Pneumothorax": 0.1, "Effusion": 0.7, "Abnormal": 0.3, "Male": 0.8, "AP view": 0.3]),
            // unknown: left out
            row([], ["Pneumothorax": 0.99, "Effusion": 0.99, "Abnormal": 0.99, "Male": 0.99, "AP view": 0.99]),
        ]
        let a = DatasetFinalizer.agreement(rows, threshold: 0.5)
        // Pneumothorax: called on 1 of 2 labelled images, 1 of 2 others -> no better than chance.
        let ptx = try entry(a, "Pneumothorax")
        XCTAssertEqual(ptx.labelled, 2)
        XCTAssertEqual(ptx.unlabelled, 2)
        XCTAssertEqual(ptx.positiveRateLabelled, 0.5)
        XCTAssertEqual(ptx.positiveRateUnlabelled, 0.5)
        XCTAssertEqual(ptx.sensitivity, 0.5)
        XCTAssertEqual(ptx.specificity, 0.5)
        XCTAssertEqual(ptx.agrees, false)
        XCTAssertEqual(ptx.meanScoreLabelled ?? 0, 0.65, accuracy: 1e-12)
        // Effusion: never called on the labelled image, called on 2 of 3 others -> disagrees.
        let eff = try entry(a, "Effusion")
        XCTAssertEqual(eff.positiveRateLabelled, 0)
        XCTAssertEqual(eff.positiveRateUnlabelled ?? 0, 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(eff.agrees, false)
        // Abnormal: any finding vs No Finding -> 3 of 3 vs 0 of 1.
        let abn = try entry(a, "Abnormal")
        XCTAssertEqual([abn.labelled, abn.unlabelled], [3, 1])
        XCTAssertEqual(abn.agrees, true)
        XCTAssertEqual(abn.truthFrom, "labels (any finding)")
        // Male and AP view come from the demographics.
        let male = try entry(a, "Male")
        XCTAssertEqual([male.labelled, male.unlabelled], [2, 2])
        XCTAssertEqual(male.positiveRateLabelled, 1)
        XCTAssertEqual(male.positiveRateUnlabelled, 0.5)
        XCTAssertEqual(male.agrees, true)
        let ap = try entry(a, "AP view")
        XCTAssertEqual([ap.labelled, ap.unlabelled], [1, 3])
        XCTAssertEqual(ap.agrees, true)
        let c = try XCTUnwrap(a["demo"])
        XCTAssertEqual(c.labelsChecked, 5)
        XCTAssertEqual(c.labelsAgreeing, 3)
    }

    func testAgreementIsUndecidedWithoutBothGroups() throws {
        let a = DatasetFinalizer.agreement([row(["Pneumothorax"], ["Pneumothorax": 0.9, "Mass": 0.9])], threshold: 0.5)
        XCTAssertNil(try entry(a, "Pneumothorax").agrees)
        XCTAssertNil(try entry(a, "Mass").agrees)
        XCTAssertEqual(try entry(a, "Mass").unlabelled, 1)
        XCTAssertNil(try entry(a, "Mass").sensitivity)
    }

    /// docs/examples/synthesize*.yaml parse and plan to the counts docs/synthesize.md states.
    func testDocumentedExampleSpecs() throws {
        let examples = ProbeFixtures.testsDir.deletingLastPathComponent().appendingPathComponent("docs/examples")
        let balance = examples.appendingPathComponent("synthesize-balance.yaml")
        guard FileManager.default.fileExists(atPath: balance.path) else { throw XCTSkip("docs/examples not present") }
        func plan(_ name: String) throws -> SynthesizePlan {
            let s = try SynthesizeSpec.load(examples.appendingPathComponent(name))
            return try SynthesizePlan(
                spec: s, vocabulary: Vocabulary.standard(), steps: 50, guidance: 7, schedulerName: "DDIMScheduler",
                modelHash: "h", nativeSize: 256)
        }
        let b = try plan("synthesize-balance.yaml")
        XCTAssertEqual(b.requested, ["No Finding": 2, "Cardiomegaly": 5, "Pneumothorax": 8, "Effusion": 9])
        XCTAssertEqual(b.items.first?.prompt, "52 year old male. PA chest radiograph. Moderate cardiomegaly.")
        XCTAssertEqual(b.spec.classifiers, ["demo"])
        XCTAssertEqual(try plan("synthesize.yaml").requested, ["Pneumothorax": 60, "Effusion": 40, "No Finding": 100])
    }
}
