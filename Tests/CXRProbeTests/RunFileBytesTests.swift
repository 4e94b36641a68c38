import CXRImaging
import CXRPipelines
@testable import CXRProbe
@testable import CXRRuns
import Foundation
import XCTest

/// run.json, the commands' `--json` outputs and the null-edit hash input, pinned by the bytes the code wrote while
/// they were built as dictionaries (Tests/Fixtures/probe/outputs, README.md): a resumed or merged run must find the
/// run.json it wrote, scripts reading `--json` the same text, and a resumed run the same null-edit ids.
final class RunFileBytesTests: XCTestCase {
    let probeRun = ProbeFixtures.probeFixtures.appendingPathComponent("rows-v2")
    let dataset = ProbeFixtures.probeFixtures.appendingPathComponent("synthesize-v1")
    let outputs = ProbeFixtures.probeFixtures.appendingPathComponent("outputs")

    /// The fields of a fixture's run.json that name the machine it was made on.
    struct Paths: Decodable {
        struct Edit: Decodable { var mask: String? }
        struct Settings: Decodable { var edits: [Edit]? }
        var spec: String
        var settings: Settings
    }

    func paths(_ run: URL) throws -> Paths {
        try JSONDecoder().decode(Paths.self, from: Data(contentsOf: run.appendingPathComponent("run.json")))
    }

    func text(_ url: URL) throws -> String { try String(contentsOf: url, encoding: .utf8) }

    /// `actual` is the text of fixture `name`.
    func assertOutput(_ actual: String, _ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(actual, try text(outputs.appendingPathComponent(name)), name, file: file, line: line)
    }

    func testProbeRunInfoIsWrittenAsBefore() throws {
        let plan = try OlderRunDirectoryTests.olderProbePlan(
            mask: try XCTUnwrap(try paths(probeRun).settings.edits?[1].mask))
        try assertWrittenAsBefore(
            plan.runInfo(software: "cxr-edit", modelName: ""), spec: plan.spec.file, run: probeRun)
    }

    func testDatasetRunInfoIsWrittenAsBefore() throws {
        let plan = try OlderRunDirectoryTests.olderDatasetPlan()
        try assertWrittenAsBefore(plan.runInfo(software: "cxr-edit", modelName: ""), spec: plan.spec.file, run: dataset)
    }

    /// `info` written into a new directory is the run.json of the older `run` byte for byte, once the spec's path
    /// reads as the one that run recorded.
    func assertWrittenAsBefore<Details>(
        _ info: RunInfo<Details>, spec: URL, run: URL, file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let dir = try ProbeFixtures.tempDir("run-info")
        try info.writeOrCheck(directory: dir)
        let written = try text(dir.appendingPathComponent("run.json"))
        XCTAssertEqual(
            written.replacingOccurrences(of: spec.path, with: try paths(run).spec),
            try text(run.appendingPathComponent("run.json")), file: file, line: line)
    }

    /// A merge rewrites run.json with the directories it merged; everything else is kept as it was.
    func testMergedRunInfoKeepsTheRunInfoOfBothKinds() throws {
        for (source, name) in [(probeRun, "probe-merged-run.json"), (dataset, "dataset-merged-run.json")] {
            let merged = try ProbeFixtures.tempDir("merged").appendingPathComponent("merged")
            if source == probeRun {
                _ = try RunMerge.merge(ProbeRow.self, into: merged, from: [source])
            } else {
                _ = try RunMerge.merge(SynthesisRow.self, into: merged, from: [source])
            }
            let written = try text(merged.appendingPathComponent("run.json"))
            try assertOutput(written.replacingOccurrences(of: source.path, with: "SOURCE"), name)
        }
    }

    /// manifest.json copies run.json's settings. Its `model` is the last component of run.json's model path; the
    /// fixture's path is empty (the bundled default), which stays empty (it once named the current folder).
    func testDatasetManifestIsWrittenAsBefore() throws {
        let dir = try ProbeFixtures.tempDir("manifest").appendingPathComponent("synthesize-v1")
        try FileManager.default.copyItem(at: dataset, to: dir)
        _ = try DatasetFinalizer.finalize(directory: dir, software: "cxr-edit test")
        let written = try text(dir.appendingPathComponent("manifest.json"))
        XCTAssertEqual(written, try text(dataset.appendingPathComponent("manifest.json")))
    }

    // MARK: --json outputs

    let runSummary = ProbeRunSummary(
        runDirectory: URL(fileURLWithPath: "/runs/study"),
        shard: try! Shard(parsing: "1/4"), total: 12, alreadyDone: 2, done: 10,
        seconds: 61.5, denoisingSeconds: 40.25, classifierSeconds: 3.125)

    func testProbeRunJSON() throws {
        try assertOutput(try StableJSON.string(runSummary) + "\n", "probe-run.json")
    }

    func testProbeDryRunJSON() throws {
        let survey = ProbeSurvey(
            total: 12, alreadyDone: 2, counterfactuals: 10, nullEdits: 4, denoisingSteps: 37,
            images: 2, fitWarnings: ["img01.png: effusion-add: weak fit 0.41 (forced)"])
        let estimate = ProbeSurvey.Estimate(
            survey: survey, estimatedSeconds: 123.456, secondsPerDenoisingStep: 0.75,
            shard: .all)
        try assertOutput(try StableJSON.string(estimate) + "\n", "probe-dry-run.json")
    }

    func testMergeAndReportJSON() throws {
        let outcome = RunMerge.Outcome(rows: 12, duplicates: 3, copiedFiles: 7)
        try assertOutput(try StableJSON.string(outcome) + "\n", "probe-merge.json")
        let files = ProbeReport.Files(
            summary: URL(fileURLWithPath: "/runs/study/summary.json"),
            csv: URL(fileURLWithPath: "/runs/study/results.csv"),
            html: URL(fileURLWithPath: "/runs/study/report.html"))
        try assertOutput(try StableJSON.string(files) + "\n", "probe-report.json")
    }

    /// `synthesize --json` and `synthesize merge --json` add the dataset's summary.
    func testSynthesizeJSON() throws {
        let dir = try ProbeFixtures.tempDir("synth-json").appendingPathComponent("synthesize-v1")
        try FileManager.default.copyItem(at: dataset, to: dir)
        let summary = try DatasetFinalizer.finalize(directory: dir, software: "cxr-edit test")
        let run = DatasetOutput(runSummary, imagesPerMinute: runSummary.perMinute, dataset: summary)
        try assertOutput(try StableJSON.string(run) + "\n", "synthesize-run.json")
        let merge = DatasetOutput(RunMerge.Outcome(rows: 4, duplicates: 0, copiedFiles: 4), dataset: summary)
        try assertOutput(try StableJSON.string(merge) + "\n", "synthesize-merge.json")
    }

    /// Seeds take the whole `UInt64` range: one above Int64's is written and read back exactly, not as a double.
    func testSeedsAboveInt64AreExact() throws {
        struct Seeded: Codable, Equatable { var seed: UInt64 }
        let line = try StableJSON.string(Seeded(seed: .max))
        XCTAssertEqual(line, #"{"seed":18446744073709551615}"#)
        let tree = try JSONDecoder().decode(ExactJSON.self, from: Data(line.utf8))
        XCTAssertEqual(tree, .object(["seed": .unsigned(.max)]))
        XCTAssertEqual(try StableJSON.string(tree), line)
    }

    // MARK: Hash input

    /// Null edits are named by this hash (`images/null-<id>.png`, rows' `null.id`): a resumed run must find them.
    func testNullEditKeysAreUnchanged() throws {
        let image = try RasterImage(
            width: 4, height: 4, channels: 1, bitDepth: 8,
            samples: (0..<16).map { UInt16($0 * 16) })
        let whole = EditRequest(
            image: image, prompt: "Frontal chest radiograph.", strength: 1, seed: 3, steps: 2,
            guidance: 3, imageKey: "abc")
        let mask = try Mask(width: 4, height: 4, pixels: (0..<16).map { $0 % 4 >= 2 })
        let masked = EditRequest(
            image: image, prompt: "No \"effusion\".", negativePrompt: "blurry",
            editMask: mask, keepMask: mask, strength: 0.8, seed: 12_345_678_901, steps: 30,
            guidance: 7.5, scheduler: .eulerAncestral, eta: 0.25, invert: true,
            sourcePrompt: "Large effusion.", detail: .off, margin: 12, unet: .inpaint)
        let keys = [ProbeRunner.nullKey(whole), ProbeRunner.nullKey(masked)]
        // Requests with on / off detail (and no source negative prompt) hash as before those settings existed; the
        // null difference and a source negative prompt are new keys.
        var difference = masked
        difference.detail = .difference
        difference.nullPrompt = "No \"effusion\"."
        difference.sourceNegativePrompt = "Effusion."
        XCTAssertTrue(ProbeRunner.nullKey(difference) != ProbeRunner.nullKey(masked))
        try assertOutput(keys.joined(separator: "\n") + "\n", "null-keys.txt")
    }
}
