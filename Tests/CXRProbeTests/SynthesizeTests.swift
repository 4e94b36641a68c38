@testable import CXRProbe
@testable import CXRRuns
import CXRFindings
import CXRImaging
import Foundation
import XCTest

final class SynthesizeTests: XCTestCase {
    static func writeSpec(_ dir: URL, count: Int = 6) throws -> URL {
        let url = dir.appendingPathComponent("synth.yaml")
        try """
        count: \(count)
        distribution:
          pneumothorax: 0.5
          no finding: 0.5
        sides: {right: 1, left: 1}
        severities: [small, large]
        demographics:
          sex: [female, male]
          age: [30, 70]
          view: {PA: 3, AP: 1}
        steps: 2
        guidance: 3
        seed: 11
        width: 64
        height: 64
        max_pairs_per_prompt: 3
        """.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    func runner(_ spec: URL, _ out: URL, _ options: ProbeRunOptions = ProbeRunOptions()) throws -> SynthesizeRunner {
        let s = try SynthesizeSpec.load(spec)
        let plan = try SynthesizePlan(
            spec: s, vocabulary: Vocabulary.standard(), steps: s.steps ?? 2, guidance: s.guidance ?? 3,
            schedulerName: "PNDMScheduler", modelHash: "tiny", nativeSize: 64)
        return SynthesizeRunner(
            plan: plan, model: try ProbeFixtures.model(), classifiers: [StubClassifier()], directory: out,
            options: options)
    }

    func testApportionIsExact() {
        XCTAssertEqual(apportion(10, fractions: [0.3, 0.2, 0.5]), [3, 2, 5])
        XCTAssertEqual(apportion(7, fractions: [1, 1, 1]), [3, 2, 2])
        XCTAssertEqual(apportion(1000, fractions: [0.333, 0.333, 0.334]), [333, 333, 334])
        XCTAssertEqual(apportion(5, fractions: [0.5, 0.5]).reduce(0, +), 5)
    }

    func testPlanIsDeterministicAndComposesPrompts() throws {
        let dir = try ProbeFixtures.tempDir("synth-plan")
        let spec = try SynthesizeSpec.load(try Self.writeSpec(dir, count: 40))
        let a = try SynthesizePlan(
            spec: spec, vocabulary: Vocabulary.standard(), steps: 2, guidance: 3, schedulerName: "x", modelHash: "h",
            nativeSize: 64)
        let b = try SynthesizePlan(
            spec: spec, vocabulary: Vocabulary.standard(), steps: 2, guidance: 3, schedulerName: "x", modelHash: "h",
            nativeSize: 64)
        XCTAssertEqual(a.items, b.items)
        XCTAssertEqual(a.items.filter { $0.labels == ["Pneumothorax"] }.count, 20)
        XCTAssertEqual(a.requested, ["Pneumothorax": 20, "No Finding": 20])
        let ptx = try XCTUnwrap(a.items.first { $0.labels == ["Pneumothorax"] })
        XCTAssertNotNil(ptx.side)
        XCTAssertTrue(ptx.prompt.contains("year old"), ptx.prompt)
        XCTAssertTrue(ptx.prompt.lowercased().contains("pneumothorax"), ptx.prompt)
        XCTAssertNil(a.items.first { $0.labels == ["No Finding"] }?.side)
        XCTAssertEqual(Set(a.items.map(\.seed)).count, 40)
    }

    func testSpecErrors() throws {
        let dir = try ProbeFixtures.tempDir("synth-spec")
        let url = dir.appendingPathComponent("s.yaml")
        for (text, part) in [
            ("count: 5\ndistribution: {pneumothorax: 0.5, effusion: 0.4}", "add up"),
            ("count: 5", "exactly one"),
            ("prompts: [{prompt: x}]", "count"),
            ("count: 5\ndistribution: {pneumothorax: 1}\nsides: [up]", "up"),
            ("count: 5\ndistribution: {pneumothorax: 1}\nwindow: 2", "no from: folder"),
            ("count: 5\ndistribution: {pneumothorax: 1}\nfrom: real\nwindow: lung", "'lung'"),
        ] {
            try text.write(to: url, atomically: true, encoding: .utf8)
            XCTAssertThrowsError(try SynthesizeSpec.load(url)) {
                XCTAssertTrue("\($0)".contains(part) && "\($0)".contains("s.yaml"), "\($0)")
            }
        }
    }

    func testDatasetResumeAndShardsMergeFileForFile() throws {
        let dir = try ProbeFixtures.tempDir("synth")
        let spec = try Self.writeSpec(dir)
        // Interrupted run (3 rows, last one torn), then resumed.
        let out = dir.appendingPathComponent("ds")
        XCTAssertEqual(try runner(spec, out, ProbeRunOptions(stopAfter: 3)).run().done, 3)
        let results = out.appendingPathComponent("results.jsonl")
        var data = try Data(contentsOf: results)
        data.removeLast(10)
        try data.write(to: results)
        let resumed = try runner(spec, out).run()
        XCTAssertEqual(resumed.alreadyDone, 2)
        XCTAssertEqual(resumed.done, 4)
        let summary = try DatasetFinalizer.finalize(directory: out, software: "test")
        XCTAssertEqual(summary.complete, true)
        XCTAssertEqual(summary.labelsMatchRequest?.wrappedValue, true)
        XCTAssertEqual(summary.realisedLabels, ["Pneumothorax": 3, "No Finding": 3])
        XCTAssertFalse(summary.diversity.perPrompt.isEmpty && summary.diversity.perLabel.isEmpty)
        XCTAssertNotNil(summary.classifierAgreement["stub"])
        let csv = try String(contentsOf: out.appendingPathComponent("labels.csv"), encoding: .utf8).split(
            separator: "\n")
        XCTAssertEqual(csv.count, 7)
        XCTAssertTrue(csv[0].hasPrefix("file,prompt,negative_prompt,Atelectasis"))
        let images = try FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("images").path)
            .filter { $0.hasSuffix(".png") }
        XCTAssertEqual(images.sorted(), (0..<6).map { String(format: "%06d.png", $0) })
        let prov = try XCTUnwrap(try Provenance.read(from: out.appendingPathComponent("images/000000.png")))
        XCTAssertEqual(prov.source, Provenance.syntheticNotice)

        // Two shards merged == the single (resumed) run, file for file.
        var shards = [URL]()
        for i in 0..<2 {
            let d = dir.appendingPathComponent("shard\(i)")
            _ = try runner(spec, d, ProbeRunOptions(shard: try Shard(parsing: "\(i)/2"))).run()
            shards.append(d)
        }
        let merged = dir.appendingPathComponent("merged")
        _ = try RunMerge.merge(SynthesisRow.self, into: merged, from: shards)
        _ = try DatasetFinalizer.finalize(directory: merged, software: "test")
        for f in ["labels.csv", "manifest.json", "summary.json"] + images.map({ "images/\($0)" }) {
            XCTAssertEqual(
                try Data(contentsOf: merged.appendingPathComponent(f)),
                try Data(contentsOf: out.appendingPathComponent(f)), f)
        }
    }

    func testExplicitPromptsEditingRealImages() throws {
        let dir = try ProbeFixtures.tempDir("synth-from")
        let real = dir.appendingPathComponent("real")
        try FileManager.default.createDirectory(at: real, withIntermediateDirectories: true)
        try ProbeFixtures.writeImages(in: real, count: 2, size: 80)
        let spec = dir.appendingPathComponent("s.yaml")
        try """
        prompts:
          - {prompt: "Large right pleural effusion.", count: 2, findings: [effusion]}
          - {prompt: "Cardiomegaly.", count: 1, findings: [cardiomegaly]}
        from: real
        strength: 0.5
        steps: 2
        guidance: 3
        """.write(to: spec, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("ds")
        XCTAssertEqual(try runner(spec, out).run().done, 3)
        let summary = try DatasetFinalizer.finalize(directory: out, software: "test")
        XCTAssertEqual(summary.realisedLabels, ["Effusion": 2, "Cardiomegaly": 1])
        XCTAssertEqual(summary.labelsMatchRequest?.wrappedValue, true)
        let rows = try ResultsLog<SynthesisRow>.readRows(out.appendingPathComponent("results.jsonl"))
        XCTAssertEqual(rows.map(\.source), ["img00.png", "img01.png", "img00.png"])
        // Edited images keep the source's size.
        let img = try ImageIO.read(out.appendingPathComponent("images/000001.png"))
        XCTAssertEqual([img.width, img.height], [80, 80])
        XCTAssertEqual(
            try Provenance.read(from: out.appendingPathComponent("images/000001.png"))?.mode, "synthesize-edit")
    }

    /// `window:` reads DICOM `from:` images through the chosen window, as `edit --window` does: the provenance
    /// names it, and another window gives another picture to edit (so other pixels and other ids).
    func testWindowChoosesThePictureOfDICOMSources() throws {
        let dir = try ProbeFixtures.tempDir("synth-window")
        let real = dir.appendingPathComponent("real")
        try FileManager.default.createDirectory(at: real, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            at: ProbeFixtures.fixtures.appendingPathComponent("dicom/cr12_explicit.dcm"),
            to: real.appendingPathComponent("cr12.dcm"))
        var images = [String: RasterImage]()
        var ids = [String: String]()
        for window in ["1", "2"] {
            let spec = dir.appendingPathComponent("s\(window).yaml")
            try """
            prompts: [{prompt: "Cardiomegaly.", count: 1, findings: [cardiomegaly]}]
            from: real
            window: \(window)
            strength: 0.5
            steps: 2
            guidance: 3
            """.write(to: spec, atomically: true, encoding: .utf8)
            let out = dir.appendingPathComponent("ds\(window)")
            XCTAssertEqual(try runner(spec, out).run().done, 1)
            let file = out.appendingPathComponent("images/000000.png")
            let text = Dictionary(try ImageIO.readText(file).map { ($0.key, $0.value) }) { first, _ in first }
            XCTAssertEqual(text["cxr-edit:x:window"]?.hasPrefix("window \(window) of 2"), true, "\(text)")
            images[window] = try ImageIO.read(file)
            ids[window] = try ResultsLog<SynthesisRow>.readRows(out.appendingPathComponent("results.jsonl"))[0].id
        }
        XCTAssertNotEqual(images["1"], images["2"], "the window changes the picture that is edited")
        XCTAssertNotEqual(ids["1"], ids["2"])
    }

    func testMSSSIMFlagsDuplicates() throws {
        let dir = try ProbeFixtures.tempDir("dup")
        try FileManager.default.createDirectory(
            at: dir.appendingPathComponent("images"), withIntermediateDirectories: true)
        try ProbeFixtures.writeImages(in: dir.appendingPathComponent("images"), count: 2, size: 96)
        try FileManager.default.copyItem(
            at: dir.appendingPathComponent("images/img00.png"), to: dir.appendingPathComponent("images/copy.png"))
        let rows = ["images/img00.png", "images/copy.png", "images/img01.png"].map {
            SynthesisRow.made(prompt: "p", file: $0)
        }
        let d = try DatasetFinalizer.diversity(rows, directory: dir, threshold: 0.95, maxPairs: 10)
        let dups = d.nearDuplicates
        XCTAssertLessThan(d.perPrompt.first?.msSSIMMin ?? 1, 0.95)
        XCTAssertEqual(dups.count, 1)
        XCTAssertEqual(dups[0].msSSIM, 1, accuracy: 1e-9)
        XCTAssertEqual(d.pairs, 3)
    }
}
