@testable import CXRProbe
@testable import CXRRuns
import CXRFindings
import Foundation
import XCTest
#if canImport(Glibc)
    import Glibc
#endif

/// Crash safety of `synthesize` with a real process: a child (this test binary, re-entered through `testChildEntry`)
/// generates a dataset; the parent SIGKILLs it half-way, checks the lock held meanwhile, resumes, and finds every
/// image and row exactly once and every file identical to an uninterrupted run.
final class SynthesizeKillTests: XCTestCase {
    static let envSpec = "CXR_SYNTH_CHILD_SPEC", envOut = "CXR_SYNTH_CHILD_OUT"
    static let count = 12

    /// The child's work; a no-op (skipped) in a normal test run.
    func testChildEntry() throws {
        let env = ProcessInfo.processInfo.environment
        guard let spec = env[Self.envSpec], let out = env[Self.envOut] else {
            throw XCTSkip("child entry point for SynthesizeKillTests")
        }
        _ = try Self.runner(URL(fileURLWithPath: spec), URL(fileURLWithPath: out)).run()
    }

    /// A target-distribution spec on the tiny test model: 12 images of 32x32, 2 steps each.
    static func writeSpec(in dir: URL) throws -> URL {
        let url = dir.appendingPathComponent("synth.yaml")
        try """
        count: \(count)
        distribution: {pneumothorax: 0.25, effusion: 0.25, no finding: 0.5}
        sides: [left, right]
        demographics: {sex: [female, male], age: [20, 80], view: {PA: 1, AP: 1}}
        steps: 2
        guidance: 3
        seed: 5
        width: 32
        height: 32
        max_pairs_per_prompt: 2
        """.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    static func runner(_ spec: URL, _ out: URL) throws -> SynthesizeRunner {
        let s = try SynthesizeSpec.load(spec)
        let plan = try SynthesizePlan(
            spec: s, vocabulary: Vocabulary.standard(), steps: s.steps ?? 2, guidance: s.guidance ?? 3,
            schedulerName: "PNDMScheduler", modelHash: "tiny", nativeSize: 64)
        return SynthesizeRunner(
            plan: plan, model: try ProbeFixtures.model(), classifiers: [StubClassifier()], directory: out,
            options: ProbeRunOptions())
    }

    /// Every file of a finished dataset (relative path -> bytes), hidden temporaries included; results.jsonl and
    /// run.json are left out (timings, absolute paths) and compared through their rows instead.
    static func files(_ dir: URL) throws -> [String: Data] {
        var out = [String: Data]()
        let fm = FileManager.default
        for sub in ["", "images"] {
            let d = sub.isEmpty ? dir : dir.appendingPathComponent(sub)
            for name in try fm.contentsOfDirectory(atPath: d.path) {
                let rel = sub.isEmpty ? name : "\(sub)/\(name)"
                var isDir: ObjCBool = false
                guard fm.fileExists(atPath: d.appendingPathComponent(name).path, isDirectory: &isDir), !isDir.boolValue,
                    !["results.jsonl", "run.json", ".lock"].contains(rel)
                else { continue }
                out[rel] = try Data(contentsOf: d.appendingPathComponent(name))
            }
        }
        return out
    }

    func testSIGKILLHalfWayThenResumeGivesEveryImageOnce() throws {
        #if !os(Linux)
            throw XCTSkip("re-entering the test binary is implemented for Linux")
        #endif
        let n = Self.count
        let dir = try ProbeFixtures.tempDir("synth-kill")
        let spec = try Self.writeSpec(in: dir)
        let out = dir.appendingPathComponent("ds")
        let results = out.appendingPathComponent("results.jsonl")
        let child = try ProbeFixtures.startChild(
            test: "CXRProbeTests.SynthesizeKillTests/testChildEntry",
            environment: [Self.envSpec: spec.path, Self.envOut: out.path])
        let lines = ProbeFixtures.waitForRows(results, rows: 3, of: child, pollMicroseconds: 5_000)
        XCTAssertTrue(child.isRunning, "the child finished before it could be killed (\(lines) rows)")
        // While it runs, the dataset directory is locked against a second writer.
        XCTAssertThrowsError(try Self.runner(spec, out).run()) {
            XCTAssertTrue("\($0)".contains("another cxr-edit process"), "\($0)")
        }
        kill(child.processIdentifier, SIGKILL)
        child.waitUntilExit()
        XCTAssertEqual(child.terminationReason, .uncaughtSignal)
        let before = try ResultsLog<SynthesisRow>.readRows(results).count
        XCTAssertGreaterThanOrEqual(before, 3)
        XCTAssertLessThan(before, n)

        // Resume: only the missing images are generated.
        let summary = try Self.runner(spec, out).run()
        XCTAssertEqual(summary.alreadyDone, before)
        XCTAssertEqual(summary.alreadyDone + summary.done, n)
        let rows = try ResultsLog<SynthesisRow>.readRows(results)
        XCTAssertEqual(rows.count, n)
        XCTAssertEqual(Set(rows.map(\.id)).count, n)
        XCTAssertEqual(rows.map(\.position).sorted(), Array(0..<n))
        let dataset = try DatasetFinalizer.finalize(directory: out, software: "test")
        XCTAssertEqual(dataset.complete, true)
        XCTAssertEqual(dataset.labelsMatchRequest?.wrappedValue, true)
        XCTAssertEqual(dataset.realisedLabels, ["Pneumothorax": 3, "Effusion": 3, "No Finding": 6])
        // Diversity per label set: 3 classes x at most max_pairs_per_prompt (2) pairs.
        XCTAssertEqual(dataset.diversity.pairsPerLabel, 6)

        // The same files as an uninterrupted run, byte for byte, and nothing else (no torn temporaries).
        let clean = dir.appendingPathComponent("clean")
        _ = try Self.runner(spec, clean).run()
        _ = try DatasetFinalizer.finalize(directory: clean, software: "test")
        let resumedFiles = try Self.files(out), cleanFiles = try Self.files(clean)
        let images = (0..<n).map { String(format: "images/%06d.png", $0) }
        XCTAssertEqual(Set(resumedFiles.keys), Set(images + ["labels.csv", "manifest.json", "summary.json"]))
        XCTAssertEqual(Set(resumedFiles.keys), Set(cleanFiles.keys))
        for (name, data) in resumedFiles { XCTAssertEqual(data, cleanFiles[name], name) }
        let cleanRows = try ResultsLog<SynthesisRow>.readRows(clean.appendingPathComponent("results.jsonl"))
        XCTAssertEqual(
            ProbeFixtures.comparable(rows.sorted(by: SynthesisRow.planOrder)), ProbeFixtures.comparable(cleanRows))
        let csv = try String(contentsOf: out.appendingPathComponent("labels.csv"), encoding: .utf8).split(
            separator: "\n")
        XCTAssertEqual(csv.count, n + 1)
        XCTAssertEqual(Set(csv.dropFirst().map { $0.prefix(17) }).count, n, "every image once in labels.csv")
    }
}
