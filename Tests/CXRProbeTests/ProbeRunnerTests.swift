@testable import CXRProbe
@testable import CXRRuns
import CXRClassifiers
import CXRFindings
import CXRImaging
import Foundation
import XCTest

/// End-to-end runs on the tiny model (2 denoising steps at 64 px).
final class ProbeRunnerTests: XCTestCase {
    func testRunWritesRowsImagesAndMetrics() throws {
        let dir = try ProbeFixtures.tempDir("run")
        let spec = try ProbeFixtures.writeStudy(in: dir)
        let out = dir.appendingPathComponent("run")
        let stub = StubClassifier()
        let summary = try ProbeFixtures.runner(spec: spec, out: out, classifier: stub).run()
        XCTAssertEqual(summary.total, 8)
        XCTAssertEqual(summary.done, 8)
        XCTAssertEqual(
            stub.calls, 2 + 8 + 8,
            "originals scored once per image, every counterfactual, and each null edit once (8 distinct)")
        let rows = try ResultsLog<ProbeRow>.readRows(out.appendingPathComponent("results.jsonl"))
        XCTAssertEqual(rows.count, 8)
        XCTAssertEqual(Set(rows.map(\.id)).count, 8)
        for r in rows {
            let c = try XCTUnwrap(r.classifiers["stub"])
            let before = c.before, after = c.after
            XCTAssertEqual(Set(before.keys), ["Cardiomegaly", "Effusion", "Pneumothorax"])
            let target = try XCTUnwrap(r.target)
            XCTAssertEqual(c.targetDelta ?? .nan, after[target]! - before[target]!, accuracy: 1e-12)
            XCTAssertNotNil(c.targetFlip)
            // The effect is measured against the matched null edit, whose shift is reported on its own.
            let null = c.nullAfter
            XCTAssertEqual(c.targetEffect ?? .nan, after[target]! - null[target]!, accuracy: 1e-12)
            XCTAssertEqual(c.targetNullDelta ?? .nan, null[target]! - before[target]!, accuracy: 1e-12)
            XCTAssertEqual(r.null.prompt, "Frontal chest radiograph.")
            let nullPNG = out.appendingPathComponent(try XCTUnwrap(r.null.output))
            XCTAssertEqual(try Provenance.read(from: nullPNG)?.mode, "probe-null-edit")
            XCTAssertEqual(r.schema, "cxr-edit.probe/2")
            XCTAssertEqual(r.modelSHA256, "tiny-model-hash")
            let output = try XCTUnwrap(r.output)
            let png = out.appendingPathComponent(output)
            let prov = try XCTUnwrap(try Provenance.read(from: png))
            XCTAssertEqual(prov.source, Provenance.syntheticNotice)
            XCTAssertEqual(prov.extra["probe-id"], r.id)
            if r.mode == "inpaint" {
                // Pasted back outside the mask: identical there, and the mask is hashed.
                XCTAssertEqual(r.identicalOutside, true)
                XCTAssertNil(r.psnrOutside)
                XCTAssertEqual(r.ssimOutside ?? 0, 1, accuracy: 1e-9)
                XCTAssertEqual(r.maskSHA256?.count, 64)
            } else {
                XCTAssertEqual(r.identicalOutside, false)
                XCTAssertNotNil(r.psnrOutside)
                XCTAssertNil(r.maskSHA256)
            }
        }
    }

    func testResumeSkipsFinishedRowsAndRefusesOtherSettings() throws {
        let dir = try ProbeFixtures.tempDir("resume")
        let spec = try ProbeFixtures.writeStudy(in: dir)
        let out = dir.appendingPathComponent("run")
        let first = try ProbeFixtures.runner(spec: spec, out: out, options: ProbeRunOptions(stopAfter: 3)).run()
        XCTAssertEqual(first.done, 3)
        // Tear the last line as a crash would.
        let results = out.appendingPathComponent("results.jsonl")
        var data = try Data(contentsOf: results)
        data.removeLast(20)
        try data.write(to: results)
        let second = try ProbeFixtures.runner(spec: spec, out: out).run()
        XCTAssertEqual(second.alreadyDone, 2)
        XCTAssertEqual(second.done, 6)
        let rows = try ResultsLog<ProbeRow>.readRows(results)
        XCTAssertEqual(rows.count, 8)
        XCTAssertEqual(Set(rows.map(\.id)).count, 8)
        let third = try ProbeFixtures.runner(spec: spec, out: out).run()
        XCTAssertEqual(third.done, 0)
        // Same directory, different settings: refused.
        var text = try String(contentsOf: spec, encoding: .utf8)
        text = text.replacingOccurrences(of: "guidance: 3", with: "guidance: 5")
        try text.write(to: spec, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ProbeFixtures.runner(spec: spec, out: out).run()) {
            XCTAssertTrue("\($0)".contains("different settings"))
        }
    }

    func testResumeRefusesAnInputReplacedUnderTheSameName() throws {
        let dir = try ProbeFixtures.tempDir("replaced")
        let spec = try ProbeFixtures.writeStudy(in: dir)
        let out = dir.appendingPathComponent("run")
        let first = try ProbeFixtures.runner(spec: spec, out: out, options: ProbeRunOptions(stopAfter: 2)).run()
        XCTAssertEqual(first.done, 2)
        let results = out.appendingPathComponent("results.jsonl")
        let before = try ResultsLog<ProbeRow>.readRows(results).count
        // Replace img00.png (whose rows exist) with other content under the same name.
        let imgDir = dir.appendingPathComponent("images-in")
        try FileManager.default.removeItem(at: imgDir.appendingPathComponent("img00.png"))
        try FileManager.default.copyItem(
            at: imgDir.appendingPathComponent("img01.png"),
            to: imgDir.appendingPathComponent("img00.png"))
        XCTAssertThrowsError(try ProbeFixtures.runner(spec: spec, out: out).run()) {
            XCTAssertTrue("\($0)".contains("changed since this run made its rows"), "\($0)")
        }
        XCTAssertEqual(
            try ResultsLog<ProbeRow>.readRows(results).count, before, "no second set of rows for the replaced image")
    }

    func testTwoShardsMergeToTheSingleRun() throws {
        let dir = try ProbeFixtures.tempDir("shards")
        let spec = try ProbeFixtures.writeStudy(in: dir)
        let single = dir.appendingPathComponent("single")
        _ = try ProbeFixtures.runner(spec: spec, out: single).run()
        var shardDirs = [URL]()
        for i in 0..<2 {
            let d = dir.appendingPathComponent("shard\(i)")
            let s = try ProbeFixtures.runner(
                spec: spec, out: d, options: ProbeRunOptions(shard: try Shard(parsing: "\(i)/2"))
            ).run()
            XCTAssertEqual(s.done, 4)
            shardDirs.append(d)
        }
        let a = Set(try ResultsLog<ProbeRow>.readRows(shardDirs[0].appendingPathComponent("results.jsonl")).map(\.id))
        let b = Set(try ResultsLog<ProbeRow>.readRows(shardDirs[1].appendingPathComponent("results.jsonl")).map(\.id))
        XCTAssertTrue(a.isDisjoint(with: b))
        let merged = dir.appendingPathComponent("merged")
        let outcome = try RunMerge.merge(ProbeRow.self, into: merged, from: shardDirs)
        XCTAssertEqual(outcome.rows, 8)
        XCTAssertEqual(outcome.copiedFiles, 8 + 8, "counterfactuals and their null edits")
        let m = try ResultsLog<ProbeRow>.readRows(merged.appendingPathComponent("results.jsonl"))
        let s = try ResultsLog<ProbeRow>.readRows(single.appendingPathComponent("results.jsonl"))
        XCTAssertEqual(ProbeFixtures.comparable(m), ProbeFixtures.comparable(s))
        for r in m {
            let o = try XCTUnwrap(r.output)
            XCTAssertEqual(
                try Data(contentsOf: merged.appendingPathComponent(o)),
                try Data(contentsOf: single.appendingPathComponent(o)))
        }
        // Merging again (shards already in) changes nothing.
        XCTAssertEqual(try RunMerge.merge(ProbeRow.self, into: merged, from: shardDirs).duplicates, 8)
        XCTAssertEqual(
            ProbeFixtures.comparable(try ResultsLog<ProbeRow>.readRows(merged.appendingPathComponent("results.jsonl"))),
            ProbeFixtures.comparable(s))
    }

    func testReportFiles() throws {
        let dir = try ProbeFixtures.tempDir("report")
        let spec = try ProbeFixtures.writeStudy(in: dir)
        let out = dir.appendingPathComponent("run")
        _ = try ProbeFixtures.runner(spec: spec, out: out).run()
        let files = try ProbeReport.write(runDirectory: out)
        let html = try String(contentsOf: files.html, encoding: .utf8)
        for section in [
            "id=\"per-edit\"", "id=\"prompts\"", "id=\"shortcut-matrix\"", "id=\"strength-curves\"", "id=\"gallery\"",
            "<svg", "data:image/png;base64,", "effusion-sdedit", "prompt-2", "sensitivity to re-synthesis",
        ] {
            XCTAssertTrue(html.contains(section), section)
        }
        XCTAssertFalse(html.contains("http://") && html.contains("<script"), "self-contained")
        XCTAssertFalse(html.contains("src=\"http"))
        let summary = try XCTUnwrap(
            try JSONSerialization.jsonObject(with: Data(contentsOf: files.summary)) as? [String: Any])
        XCTAssertEqual(summary["rows"] as? Int, 8)
        let edits = try XCTUnwrap(
            ((summary["classifiers"] as? [String: Any])?["stub"] as? [String: Any])?["edits"] as? [String: Any])
        let e = try XCTUnwrap(edits["effusion-sdedit"] as? [String: Any])
        let delta = try XCTUnwrap(e["target_delta"] as? [String: Any])
        XCTAssertLessThanOrEqual(delta["ci_low"] as! Double, delta["mean"] as! Double)
        XCTAssertEqual(delta["n"] as? Int, 4)
        let effect = try XCTUnwrap(e["effect"] as? [String: Any])
        XCTAssertEqual(effect["images"] as? Int, 2, "bootstrapped by image")
        XCTAssertLessThanOrEqual(effect["ci_low"] as! Double, effect["ci_high"] as! Double)
        XCTAssertNotNil(e["sensitivity_to_resynthesis"] as? [String: Any])
        XCTAssertEqual(summary["complete"] as? Bool, true)
        XCTAssertFalse(html.contains("id=\"partial\""))
        let csv = try String(contentsOf: files.csv, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(csv.count, 1 + 8)
        XCTAssertTrue(csv[0].hasPrefix("id,image,edit"))
        XCTAssertTrue(csv[0].contains("delta_Effusion") && csv[0].contains("effect_Effusion"))
        // Integers as integers, flags as true/false (seed 3 was once written "true").
        let header = csv[0].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let first = csv[1].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(first[header.firstIndex(of: "seed")!], "3")
        XCTAssertEqual(first[header.firstIndex(of: "steps")!], "2")
        XCTAssertTrue(["true", "false"].contains(first[header.firstIndex(of: "identical_outside")!]))
    }

    /// What issue 13 asks of the report, checked without a browser: it leads with the effect of every edit, shown
    /// beside its null control (the null edit's own shift), each with an interval from the image-level bootstrap,
    /// in the table and in the interval chart.
    func testReportLeadsWithTheEffectItsNullControlAndImageLevelIntervals() throws {
        let dir = try ProbeFixtures.tempDir("report-effect")
        let spec = try ProbeFixtures.writeStudy(in: dir)
        let out = dir.appendingPathComponent("run")
        _ = try ProbeFixtures.runner(spec: spec, out: out).run()
        let html = try String(contentsOf: try ProbeReport.write(runDirectory: out).html, encoding: .utf8)
        func count(_ pattern: String) throws -> Int {
            let regex = try NSRegularExpression(pattern: pattern)
            return regex.numberOfMatches(in: html, range: NSRange(html.startIndex..., in: html))
        }
        let interval = #"[+-]\d\.\d{3} \[[+-]\d\.\d{3}, [+-]\d\.\d{3}\]"#
        XCTAssertEqual(try count(#"<td class="effect"><b>"# + interval + "</b></td>"), 2, "an effect per edit")
        XCTAssertEqual(try count(#"<td class="null">"# + interval + "</td>"), 2, "a null control per edit")
        XCTAssertTrue(html.contains("over images"), "the intervals say what was resampled")
        let chart = try XCTUnwrap(html.range(of: #"<svg[^>]*class="forest""#, options: .regularExpression))
        let chartEnd = try XCTUnwrap(html.range(of: "</svg>", range: chart.upperBound..<html.endIndex))
        let svg = String(html[chart.lowerBound..<chartEnd.upperBound])
        for kind in ["effect", "null"] {
            XCTAssertEqual(svg.components(separatedBy: "<g class=\"\(kind)\">").count - 1, 2, "\(kind) whiskers")
        }
        XCTAssertTrue(svg.contains("2 images"), "each edit says over how many images its interval was drawn")
        // The report leads with it: the per-edit section comes before every other section.
        let perEdit = try XCTUnwrap(html.range(of: "id=\"per-edit\""))
        for other in ["prompts", "shortcut-matrix", "strength-curves", "gallery", "image-metrics"] {
            let r = try XCTUnwrap(html.range(of: "id=\"\(other)\""), other)
            XCTAssertLessThan(perEdit.lowerBound, r.lowerBound, other)
        }
    }

    func testPartialRunIsMarkedPartial() throws {
        let dir = try ProbeFixtures.tempDir("partial")
        let spec = try ProbeFixtures.writeStudy(in: dir)
        let out = dir.appendingPathComponent("run")
        _ = try ProbeFixtures.runner(spec: spec, out: out, options: ProbeRunOptions(stopAfter: 3)).run()
        let files = try ProbeReport.write(runDirectory: out)
        let summary = try XCTUnwrap(
            try JSONSerialization.jsonObject(with: Data(contentsOf: files.summary)) as? [String: Any])
        XCTAssertEqual(summary["partial"] as? Bool, true)
        XCTAssertEqual(summary["expected_rows"] as? Int, 8)
        XCTAssertEqual(summary["rows"] as? Int, 3)
        let html = try String(contentsOf: files.html, encoding: .utf8)
        XCTAssertTrue(html.contains("id=\"partial\"") && html.contains("3 of 8"), "the report says the run is partial")
        XCTAssertTrue(html.contains("id=\"null-difference\""), "the report says why the null control is zero")
    }

    /// Under the default `detail: difference` every null edit is the input, so the null control reads zero; the report
    /// says why. With `detail: off` the null edits are re-renderings and the note is absent.
    func testNullDifferenceNoteFollowsTheDetailSetting() throws {
        let dir = try ProbeFixtures.tempDir("detail-note")
        let spec = try ProbeFixtures.writeStudy(in: dir)
        _ = try ProbeFixtures.runner(spec: spec, out: dir.appendingPathComponent("run")).run()
        let log = try ResultsLog<ProbeRow>.readRows(dir.appendingPathComponent("run/results.jsonl"))
        XCTAssertFalse(log.isEmpty)
        for row in log {
            XCTAssertEqual(row.detail.mode, .difference)
            XCTAssertEqual(row.null.changedFraction, 0, "the null edit is the input")
            XCTAssertEqual(row.null.sharpnessRatio, 1)
        }
        try (try String(contentsOf: spec, encoding: .utf8) + "\ndetail: off\n").write(
            to: spec, atomically: true, encoding: .utf8)
        _ = try ProbeFixtures.runner(
            spec: spec, out: dir.appendingPathComponent("off"), options: ProbeRunOptions(stopAfter: 2)
        )
        .run()
        let files = try ProbeReport.write(runDirectory: dir.appendingPathComponent("off"))
        XCTAssertFalse(try String(contentsOf: files.html, encoding: .utf8).contains("id=\"null-difference\""))
    }

    func testClassifierAnsweringOutOfRangeIsAClearError() throws {
        let dir = try ProbeFixtures.tempDir("broken")
        let spec = try ProbeFixtures.writeStudy(in: dir)
        XCTAssertThrowsError(
            try ProbeFixtures.runner(spec: spec, out: dir.appendingPathComponent("run"), classifier: BrokenClassifier())
                .run()
        ) {
            XCTAssertTrue("\($0)".contains("classifier 'broken'"), "\($0)")
        }
    }

    /// An external classifier that crashes, prints garbage or hangs: one line naming it; the run directory stays
    /// consistent and a rerun with a working classifier completes it.
    func testMisbehavingExternalClassifierLeavesARunThatResumes() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") else {
            throw XCTSkip("python3 not available")
        }
        let adapter = ProbeFixtures.probeFixtures.appendingPathComponent("flaky_adapter.py").path
        for mode in ["crash", "garbage", "hang"] {
            let dir = try ProbeFixtures.tempDir("flaky-\(mode)")
            let spec = try ProbeFixtures.writeStudy(in: dir)
            let out = dir.appendingPathComponent("run")
            setenv("CXR_TEST_FAIL_AFTER", "4", 1)
            setenv("CXR_TEST_FAIL_MODE", mode, 1)
            let bad = try ClassifierFactory.make(spec: "cmd:python3 \(adapter)", timeout: 3)
            unsetenv("CXR_TEST_FAIL_AFTER"); unsetenv("CXR_TEST_FAIL_MODE")
            XCTAssertThrowsError(try ProbeFixtures.runner(spec: spec, out: out, classifier: bad).run()) { e in
                let msg = "\(e)"
                XCTAssertTrue(msg.contains("flaky_adapter"), msg)
                XCTAssertFalse(msg.contains("\n"))
            }
            let partial = try ResultsLog<ProbeRow>.readRows(out.appendingPathComponent("results.jsonl")).count
            // Requests: the original, then per row its null edit and its counterfactual; the 5th request failed.
            XCTAssertEqual(partial, 1, mode)
            let good = try ClassifierFactory.make(spec: "cmd:python3 \(adapter)")
            let s = try ProbeFixtures.runner(spec: spec, out: out, classifier: good).run()
            XCTAssertEqual(s.alreadyDone + s.done, 8)
            XCTAssertEqual(
                Set(try ResultsLog<ProbeRow>.readRows(out.appendingPathComponent("results.jsonl")).map(\.id)).count, 8)
        }
    }

    func testFindingEditsResolveThroughTheVocabulary() throws {
        let resolver = try FindingsEditResolver()
        let sample = ProbeFixtures.testsDir.deletingLastPathComponent().appendingPathComponent(
            "Samples/nih_00027426_000.png")
        let img = try ImageIO.read(sample)
        // add/remove repaint their extent by default, as `cxr-edit edit` does.
        let add = ProbeEdit(name: "e", action: .add, finding: "effusion", side: "right", severity: "large")
        XCTAssertEqual(add.mode, .inpaint)
        let r = try resolver.resolve(add, image: img, imageKey: "k")
        XCTAssertTrue(r.prompt.lowercased().contains("effusion"), r.prompt)
        XCTAssertEqual(r.nullPrompt, "Frontal chest radiograph.")
        XCTAssertEqual(r.target, "Effusion")
        XCTAssertEqual(r.area, "extents")
        XCTAssertEqual(r.regions, "right-cp-angle+right-lower-zone+right-middle-zone(grow 18)")
        XCTAssertNotNil(r.editMask)
        XCTAssertGreaterThan(try XCTUnwrap(r.fit).score, FitPolicy.defaultMinimumScore)
        let global = ProbeEdit(name: "g", action: .add, finding: "effusion", mode: .sdedit)
        XCTAssertNil(try resolver.resolve(global, image: img, imageKey: "k").editMask)
        let remove = ProbeEdit(name: "r", action: .remove, finding: "pneumothorax", region: ["auto"])
        let rr = try resolver.resolve(remove, image: img, imageKey: "k")
        XCTAssertEqual(rr.negativePrompt, "Frontal chest radiograph. Pneumothorax.")
        XCTAssertEqual(
            rr.nullNegativePrompt, "Frontal chest radiograph.",
            "the null edit drops the removal's presence sentence and keeps the base prompt as its negative prompt")
        XCTAssertEqual(rr.target, "Pneumothorax")
        XCTAssertNotNil(rr.editMask)
        XCTAssertThrowsError(
            try resolver.validate([ProbeEdit(name: "x", action: .add, finding: "unicorn")], specFile: "s.yaml")
        ) {
            XCTAssertTrue("\($0)".contains("s.yaml"))
        }
        // A flat image fits the atlas poorly: refused unless the spec forces it, and then recorded.
        let flat = try RasterImage(
            width: 64, height: 64, channels: 1, bitDepth: 8, samples: Array(repeating: 100, count: 64 * 64))
        XCTAssertThrowsError(try resolver.resolve(add, image: flat, imageKey: "flat")) {
            XCTAssertTrue("\($0)".contains("force: true"), "\($0)")
        }
        let forced = try FindingsEditResolver(fitPolicy: FitPolicy(force: true)).resolve(
            add, image: flat, imageKey: "flat")
        XCTAssertNotNil(forced.fitWarning)
    }
}
