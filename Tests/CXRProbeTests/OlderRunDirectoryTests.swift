import CXRFindings
@testable import CXRProbe
@testable import CXRRuns
import Foundation
import XCTest

/// Run directories written before rows were typed (Tests/Fixtures/probe/README.md) read into the typed rows, write
/// back the same results.jsonl, and give the same reports, byte for byte.
final class OlderRunDirectoryTests: XCTestCase {
    let probeRun = ProbeFixtures.probeFixtures.appendingPathComponent("rows-v2")
    let dataset = ProbeFixtures.probeFixtures.appendingPathComponent("synthesize-v1")

    /// A copy of a fixture directory (reports write into the run directory).
    func copy(_ fixture: URL) throws -> URL {
        let dir = try ProbeFixtures.tempDir("older").appendingPathComponent(fixture.lastPathComponent)
        try FileManager.default.copyItem(at: fixture, to: dir)
        return dir
    }

    func testProbeRowsWriteBackTheBytesTheyWereReadFrom() throws {
        let results = probeRun.appendingPathComponent("results.jsonl")
        let rows = try ResultsLog<ProbeRow>.readRows(results)
        XCTAssertEqual(rows.count, 12)
        var written = [UInt8]()
        for row in rows { written += try StableJSON.encode(row) + [10] }
        XCTAssertEqual(String(decoding: written, as: UTF8.self), try String(contentsOf: results, encoding: .utf8))
        // The fixture has the cases a typed row must keep apart: explicit nulls, absent keys, an integral double.
        XCTAssertEqual(Set(rows.map { $0.regions == nil }), [true, false])
        XCTAssertEqual(Set(rows.map { $0.psnrOutside == nil }), [true, false])
        XCTAssertEqual(Set(rows.map(\.strength)), [0.5, 1])
        XCTAssertEqual(rows.first?.labels, ["sex": "female", "note": "a, quoted"])
    }

    func testProbeReportOfAnOlderRunIsByteIdentical() throws {
        let dir = try copy(probeRun)
        let files = try ProbeReport.write(runDirectory: dir)
        let csv = try Data(contentsOf: files.csv)
        XCTAssertEqual(
            String(decoding: csv, as: UTF8.self),
            try String(contentsOf: probeRun.appendingPathComponent("results.csv"), encoding: .utf8))
        XCTAssertEqual(csv, try Data(contentsOf: probeRun.appendingPathComponent("results.csv")))
        // summary.json names the run directory it was made in; everything else is the same.
        let old = try String(contentsOf: probeRun.appendingPathComponent("summary.json"), encoding: .utf8)
        let oldDirectory = try XCTUnwrap(
            (try JSONSerialization.jsonObject(with: Data(old.utf8)) as? [String: Any])?["run_directory"] as? String)
        let summary = try String(contentsOf: files.summary, encoding: .utf8)
        XCTAssertEqual(summary.replacingOccurrences(of: dir.path, with: oldDirectory), old)
    }

    func testProbeRunOfAnOlderRunResumesAndMerges() throws {
        // A log opened on the older file keeps its rows and ids, and appends in the same layout.
        let dir = try copy(probeRun)
        let url = dir.appendingPathComponent("results.jsonl")
        let log = try ResultsLog<ProbeRow>(url: url)
        XCTAssertEqual(log.rows.count, 12)
        var again = try XCTUnwrap(log.rows.last)
        again.id = "appended"
        try log.append(again)
        let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 13)
        let id = log.rows[11].id
        XCTAssertEqual(
            String(lines[12]), lines[11].replacingOccurrences(of: #""id":"\#(id)""#, with: #""id":"appended""#))
        // Merged with itself: the same rows, in plan order.
        let merged = dir.deletingLastPathComponent().appendingPathComponent("merged")
        let outcome = try RunMerge.merge(ProbeRow.self, into: merged, from: [probeRun])
        XCTAssertEqual(outcome.rows, 12)
        XCTAssertEqual(
            try Data(contentsOf: merged.appendingPathComponent("results.jsonl")),
            try Data(contentsOf: probeRun.appendingPathComponent("results.jsonl")))
    }

    /// Resuming skips the rows whose id the plan computes, so the ids and the settings fingerprint of the older run
    /// must come out of the current code unchanged; the spec is the fixture's, with its mask where it was.
    func testIdsAndFingerprintOfAnOlderRunAreUnchanged() throws {
        let info = try XCTUnwrap(try RunInfo<ProbeRunDetails>.read(probeRun))
        let mask = try XCTUnwrap(info.settings["edits"]?[1]?["mask"]?.string)
        let plan = try Self.olderProbePlan(mask: mask)
        XCTAssertEqual(plan.fingerprint, info.fingerprint)
        let rows = try ResultsLog<ProbeRow>.readRows(probeRun.appendingPathComponent("results.jsonl"))
        for row in rows {
            XCTAssertEqual(plan.id(for: plan.job(at: row.position), imageSHA256: row.imageSHA256), row.id)
            XCTAssertEqual(row.editSpec, plan.spec.edits[row.editIndex].record)
        }
    }

    /// The plan of the older probe run, from the fixture's spec (its mask where it was when the run was made).
    /// `detail: on` was the default when the run was made (the default is now `difference`, a different study).
    static func olderProbePlan(mask: String) throws -> ProbePlan {
        let dir = try ProbeFixtures.tempDir("older-ids")
        let specURL = dir.appendingPathComponent("study.yaml")
        try """
        inputs:
          csv: inputs.csv
        edits:
          - prompt: "Large right pleural effusion."
            target: Effusion
            name: effusion-sdedit
          - prompt: "Cardiomegaly, \\"enlarged\\"."
            mask: \(mask)
            target: Cardiomegaly
          - add: effusion
            side: right
            severity: large
            name: effusion-add
        strengths: [0.5, 1.0]
        seeds: [3]
        steps: 2
        guidance: 3
        force: true
        classifiers: [stub]
        detail: on
        """.write(to: specURL, atomically: true, encoding: .utf8)
        let images = ["images-in/img00.png", "images-in/img01.png"].map {
            InputImage(url: dir.appendingPathComponent($0), name: $0, labels: [:])
        }
        return try ProbePlan(
            spec: try ProbeSpec.load(specURL), images: images, steps: 2, guidance: 3,
            schedulerName: "PNDMScheduler", modelHash: "tiny-model-hash")
    }

    /// The same for a dataset: its spec is SynthesizeTests' with four images.
    func testIdsAndFingerprintOfAnOlderDatasetAreUnchanged() throws {
        let info = try XCTUnwrap(try RunInfo<DatasetRunDetails>.read(dataset))
        let plan = try Self.olderDatasetPlan()
        XCTAssertEqual(plan.fingerprint, info.fingerprint)
        let rows = try ResultsLog<SynthesisRow>.readRows(dataset.appendingPathComponent("results.jsonl"))
        XCTAssertEqual(rows.count, 4)
        for row in rows {
            XCTAssertEqual(plan.id(for: plan.items[row.position], sourceSHA256: row.sourceSHA256), row.id)
        }
    }

    /// The plan of the older dataset.
    static func olderDatasetPlan() throws -> SynthesizePlan {
        let spec = try SynthesizeSpec.load(
            try SynthesizeTests.writeSpec(
                try ProbeFixtures.tempDir("older-synth"),
                count: 4))
        return try SynthesizePlan(
            spec: spec, vocabulary: Vocabulary.standard(), steps: 2, guidance: 3,
            schedulerName: "PNDMScheduler", modelHash: "tiny", nativeSize: 64)
    }

    func testDatasetFilesOfAnOlderDatasetAreByteIdentical() throws {
        let dir = try copy(dataset)
        let rows = try ResultsLog<SynthesisRow>.readRows(dir.appendingPathComponent("results.jsonl"))
        var written = [UInt8]()
        for row in rows { written += try StableJSON.encode(row) + [10] }
        XCTAssertEqual(written, [UInt8](try Data(contentsOf: dataset.appendingPathComponent("results.jsonl"))))
        _ = try DatasetFinalizer.finalize(directory: dir, software: "cxr-edit test")
        for file in ["labels.csv", "manifest.json", "summary.json"] {
            XCTAssertEqual(
                try String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8),
                try String(contentsOf: dataset.appendingPathComponent(file), encoding: .utf8), file)
        }
    }

    /// A probe directory is not a dataset: reading it as one names the file, the line and both schemas.
    func testRowsOfTheOtherKindAreRefusedByName() throws {
        let results = probeRun.appendingPathComponent("results.jsonl")
        XCTAssertThrowsError(try ResultsLog<SynthesisRow>.readRows(results)) {
            let message = "\($0)"
            XCTAssertTrue(message.contains("\(results.path): line 1"), message)
            XCTAssertTrue(message.contains(ProbeRow.schema) && message.contains(SynthesisRow.schema), message)
        }
    }
}
