@testable import CXRProbe
@testable import CXRRuns
import Foundation
import XCTest

final class ProbeSpecTests: XCTestCase {
    func spec(_ text: String, name: String = "s.yaml") throws -> ProbeSpec {
        let dir = try ProbeFixtures.tempDir("spec")
        let url = dir.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return try ProbeSpec.load(url)
    }

    func assertError(_ text: String, contains parts: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try spec(text), file: file, line: line) { e in
            let msg = "\(e)"
            XCTAssertFalse(msg.contains("\n"), "one line: \(msg)", file: file, line: line)
            XCTAssertTrue(msg.contains("s.yaml"), "names the file: \(msg)", file: file, line: line)
            for p in parts { XCTAssertTrue(msg.contains(p), "'\(p)' in: \(msg)", file: file, line: line) }
        }
    }

    func testParsesAndExpandsEdits() throws {
        let s = try spec(
            """
            model: ../models/x
            inputs: {folder: imgs, limit: 5}
            edits:
              - add: effusion
                side: right
                severity: large
              - remove: pneumothorax
                keep_region: [right-apex]
              - add: cardiomegaly
                severities: [mild, moderate, severe]
              - prompt: "Normal chest radiograph."
                target: No Finding
            strengths: [0.3, 0.5]
            seeds: "0..3"
            steps: 20
            guidance: 4
            scheduler: DDIM
            classifiers: [demo, "cmd:python3 my_model.py"]
            """)
        XCTAssertEqual(
            s.edits.map(\.name),
            [
                "add-effusion-right-large", "remove-pneumothorax", "add-cardiomegaly-mild",
                "add-cardiomegaly-moderate", "add-cardiomegaly-severe", "prompt-4",
            ])
        XCTAssertEqual(s.edits[0].mode, .inpaint, "add/remove repaint their extent unless mode: sdedit")
        XCTAssertEqual(s.edits[5].mode, .sdedit, "a prompt without region re-draws the whole image")
        XCTAssertEqual([s.margin, s.force ? 1 : 0], [8, 0])
        XCTAssertEqual(s.detail, .difference, "probes build edits from their null edits unless told otherwise")
        XCTAssertEqual(s.edits[1].keepRegion, ["right-apex"])
        XCTAssertEqual(s.edits[5].target, "No Finding")
        XCTAssertEqual(s.strengths, [0.3, 0.5])
        XCTAssertEqual(s.seeds, [0, 1, 2, 3])
        XCTAssertEqual(s.steps, 20)
        XCTAssertEqual(s.scheduler, "ddim")
        XCTAssertEqual(s.classifiers, ["demo", "cmd:python3 my_model.py"])
        XCTAssertEqual(s.inputs.limit, 5)
        // Relative paths are relative to the spec's folder.
        XCTAssertEqual(s.inputs.folder?.deletingLastPathComponent().path, s.file.deletingLastPathComponent().path)
        XCTAssertTrue(s.model?.path.hasSuffix("/models/x") ?? false)
        XCTAssertFalse(s.model?.path.contains("..") ?? true)
    }

    func testJSONSpecAndDefaults() throws {
        let s = try spec(
            #"{"inputs": "imgs", "edits": [{"prompt": "Cardiomegaly.", "mask": "m.png"}]}"#, name: "s.json")
        XCTAssertEqual(s.strengths, [0.5])
        XCTAssertEqual(s.seeds, [0])
        XCTAssertEqual(s.classifiers, ["demo"])
        XCTAssertEqual(s.edits[0].mode, .inpaint)
        XCTAssertEqual(s.threshold, 0.5)
    }

    /// `window:` takes what `--window` takes (and `auto`); a DICOM window is part of the fingerprint and ids only
    /// when chosen, so runs made before the key existed keep theirs.
    func testWindowKey() throws {
        let base = "inputs: imgs\nedits: [{prompt: x}]\n"
        XCTAssertEqual(try spec(base).window, .automatic)
        XCTAssertEqual(try spec(base + "window: 2").window, .number(2))
        XCTAssertEqual(try spec(base + "window: minmax").window, .minMax)
        XCTAssertEqual(try spec(base + "window: auto").window, .automatic)
        assertError(base + "window: 0", contains: ["window", "'0'"])
        assertError(base + "window: lung", contains: ["window", "minmax", "'lung'"])
        func plan(_ text: String) throws -> ProbePlan {
            try ProbePlan(
                spec: try spec(text), images: [], steps: 2, guidance: 3, schedulerName: "ddim", modelHash: "h")
        }
        XCTAssertEqual(try plan(base).fingerprint, try plan(base + "window: auto").fingerprint)
        XCTAssertFalse(try StableJSON.string(try plan(base).settings).contains("window"))
        XCTAssertNotEqual(try plan(base).fingerprint, try plan(base + "window: 2").fingerprint)
        XCTAssertNotEqual(try plan(base + "window: 1").fingerprint, try plan(base + "window: 2").fingerprint)
    }

    /// `detail:` takes `difference` (the default), `on` and `off` (or true / false, which YAML also reads on / off
    /// as); on and off keep the fingerprints runs had before `difference` existed.
    func testDetailKey() throws {
        let base = "inputs: imgs\nedits: [{prompt: x}]\n"
        XCTAssertEqual(try spec(base).detail, .difference)
        XCTAssertEqual(try spec(base + "detail: difference").detail, .difference)
        XCTAssertEqual(try spec(base + "detail: \"on\"").detail, .transfer)
        XCTAssertEqual(try spec(base + "detail: on").detail, .transfer)
        XCTAssertEqual(try spec(base + "detail: true").detail, .transfer)
        XCTAssertEqual(try spec(base + "detail: \"off\"").detail, .off)
        XCTAssertEqual(try spec(base + "detail: false").detail, .off)
        assertError(base + "detail: sharp", contains: ["detail", "difference, on or off", "'sharp'"])
        func plan(_ text: String) throws -> ProbePlan {
            try ProbePlan(
                spec: try spec(text), images: [], steps: 2, guidance: 3, schedulerName: "ddim", modelHash: "h")
        }
        XCTAssertTrue(try StableJSON.string(try plan(base + "detail: on").settings).contains(#""detail":true"#))
        XCTAssertTrue(try StableJSON.string(try plan(base).settings).contains(#""detail":"difference""#))
    }

    func testErrorsNameFileAndKey() {
        let base = "inputs: imgs\nedits: [{prompt: x}]\n"
        assertError(base + "strenghts: [0.5]", contains: ["strenghts", "unknown key"])
        assertError(base + "strengths: [0.5, 1.5]", contains: ["strengths[1]", "(0.0, 1.0]"])
        assertError(base + "strengths: [0]", contains: ["strengths[0]"])
        assertError(base + "steps: 0", contains: ["steps", "between 1 and 1000"])
        assertError(base + "scheduler: fast", contains: ["scheduler", "fast"])
        assertError("edits: [{prompt: x}]", contains: ["inputs", "required"])
        assertError("inputs: imgs", contains: ["edits", "required"])
        assertError(
            "inputs: imgs\nedits: [{add: effusion, remove: pneumothorax}]", contains: ["edits[0]", "exactly one"])
        assertError("inputs: imgs\nedits: [{add: effusion, side: up}]", contains: ["edits[0].side", "up"])
        assertError("inputs: imgs\nedits: [{prompt: x, sevrity: mild}]", contains: ["edits[0].sevrity"])
        assertError(
            "inputs: imgs\nedits: [{prompt: a, name: e}, {prompt: b, name: e}]", contains: ["two edits", "'e'"])
        assertError("inputs: imgs\ninputs: other\nedits: [{prompt: x}]", contains: ["inputs", "twice"])
        assertError("inputs: [unclosed\n", contains: ["line"])
        assertError(base + "classifiers: []", contains: ["classifiers"])
        assertError(base + "seeds: \"5..2\"", contains: ["seeds"])
        assertError("inputs: {folder: a, csv: b}\nedits: [{prompt: x}]", contains: ["inputs", "exactly one"])
        assertError(base + "feather: 4", contains: ["feather", "margin"])
        assertError(base + "unet: big", contains: ["unet", "big"])
        assertError(
            "inputs: imgs\nedits: [{add: effusion, region: [heart], mode: sdedit}]",
            contains: ["edits[0].mode", "whole image"])
    }

    /// `auto` (the findings' extents, in any case) beside a prompt edit is refused where it is written, as
    /// `FindingEdit` would refuse it for every image.
    func testAutomaticRegionOfAPromptIsRefusedAtItsKey() {
        for region in ["[auto]", "[auto, heart]", "[Auto]"] {
            assertError(
                "inputs: imgs\nedits: [{prompt: x, region: \(region)}]", contains: ["edits[0].region", "'auto'"])
        }
    }

    func testLimitsOnHostileSpecs() {
        // Alias bomb: nine levels of tenfold aliases would expand to 10^9 nodes.
        var bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        for i in 1...8 {
            bomb +=
                "b\(i): &b\(i) [\(Array(repeating: i == 1 ? "*a" : "*b\(i - 1)", count: 10).joined(separator: ", "))]\n"
        }
        bomb += "inputs: imgs\nedits: [{prompt: x}]\n"
        assertError(bomb, contains: ["more than"])
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        assertError("inputs: imgs\nedits: \(deep)\n", contains: ["deeper"])
        let long = String(repeating: "x", count: 5000)
        assertError("inputs: imgs\nedits: [{prompt: \(long)}]\n", contains: ["longer"])
    }

    /// Strings a run would fail on only later: NUL (at PNG writing), whitespace-only prompts, and lengths hidden in
    /// combining marks (each mark joins the previous character, so the 4,096-character limit counted one).
    func testSpecStringsAreCheckedUpFront() {
        assertError("inputs: imgs\nedits: [{prompt: \"Effusion.\\0\"}]\n", contains: ["edits[0].prompt", "U+0000"])
        assertError("inputs: imgs\nedits: [{prompt: \"\\e[31m\"}]\n", contains: ["U+001B"])
        assertError("inputs: imgs\nedits: [{prompt: \"\\n\\t\\n\"}]\n", contains: ["prompt", "empty"])
        let zalgo = "a" + String(repeating: "\u{0301}", count: 5000)
        assertError("inputs: imgs\nedits: [{prompt: \"\(zalgo)\"}]\n", contains: ["longer"])
    }

    /// Repeated seeds, strengths or inputs made equal jobs share one id: the run never reached as many rows
    /// as jobs and stayed `complete: false` for ever. They are refused when the plan is made.
    func testPlanRefusesDuplicates() throws {
        let a = InputImage(url: URL(fileURLWithPath: "/data/a.png"), name: "a.png", labels: [:])
        let b = InputImage(url: URL(fileURLWithPath: "/data/b.png"), name: "b.png", labels: [:])
        func plan(_ text: String, _ images: [InputImage]) throws -> ProbePlan {
            try ProbePlan(
                spec: spec(text), images: images, steps: 2, guidance: 1, schedulerName: "ddim", modelHash: "x")
        }
        let base = "inputs: imgs\nclassifiers: [demo]\n"
        XCTAssertNoThrow(try plan(base + "edits: [{add: effusion}]\nseeds: [1, 2]\n", [a, b]))
        for (text, images, words) in [
            (base + "edits: [{add: effusion}]\nseeds: [1, 1]\n", [a], ["seeds", "twice"]),
            (base + "edits: [{add: effusion}]\nstrengths: [0.5, 0.5]\n", [a], ["strengths", "twice"]),
            (base + "edits: [{add: effusion}]\n", [a, b, a], ["a.png", "twice"]),
        ] {
            XCTAssertThrowsError(try plan(text, images)) { e in
                for w in words { XCTAssertTrue("\(e)".contains(w), "'\(w)' in \(e)") }
            }
        }
    }

    /// 5,000 levels overflowed the stack inside the YAML composer (exit 139) before the depth check on nodes ran:
    /// the text is now measured first (issue 18).
    func testDeepNestingIsRefusedBeforeTheYAMLLibraryRecurses() {
        let flow = String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000)
        assertError("inputs: imgs\nedits: \(flow)\n", contains: ["deeper"])
        assertError("inputs: imgs\nedits:\n" + String(repeating: "- ", count: 5000) + "x\n", contains: ["deeper"])
        var block = "inputs: imgs\nedits:\n"
        for level in 0..<1400 { block += String(repeating: " ", count: level + 1) + "k:\n" }
        assertError(block, contains: ["deeper"])
        assertError(
            "inputs: imgs\nedits: " + String(repeating: "{a: ", count: 5000) + "1"
                + String(repeating: "}", count: 5000),
            contains: ["deeper"])
    }

    /// The estimate is the deepest container's depth + 1 (the root counts 1); compact entries may count one more.
    func testNestingEstimateIgnoresQuotedBracketsAndComments() {
        XCTAssertEqual(YAMLNesting.estimate("a: 1\nb:\n  c: [1, [2]]\n"), 4)
        XCTAssertEqual(YAMLNesting.estimate("- - - x\n"), 4)
        let quoted = String(repeating: "[", count: 60)
        XCTAssertEqual(YAMLNesting.estimate("p: \"\(quoted)\"\nq: '\(quoted)' # \(quoted)\nr: it's [x]\n"), 2)
        XCTAssertEqual(YAMLNesting.estimate("{\"a\": [\"[[[\", {\"b\": \"\\\"[\"}]}"), 4)
    }

    func testCSVInputs() throws {
        let dir = try ProbeFixtures.tempDir("csv")
        try "path,Effusion,sex\na.png,1,F\n\"b, c.png\",0,M\n".write(
            to: dir.appendingPathComponent("list.csv"), atomically: true, encoding: .utf8)
        let inputs = ProbeInputs(folder: nil, csv: dir.appendingPathComponent("list.csv"), limit: nil)
        let list = try inputs.list(specFile: "s.yaml")
        XCTAssertEqual(list.map(\.name), ["a.png", "b, c.png"])
        XCTAssertEqual(list[0].labels, ["Effusion": "1", "sex": "F"])
        XCTAssertEqual(list[1].url.path, dir.appendingPathComponent("b, c.png").path)
        try "file\n".write(to: dir.appendingPathComponent("empty.csv"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(
            try ProbeInputs(folder: nil, csv: dir.appendingPathComponent("empty.csv"), limit: nil).list(specFile: "s"))
        try "name,x\na,1\n".write(to: dir.appendingPathComponent("nopath.csv"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(
            try ProbeInputs(folder: nil, csv: dir.appendingPathComponent("nopath.csv"), limit: nil).list(specFile: "s")
        ) {
            XCTAssertTrue("\($0)".contains("path column"))
        }
    }

    func testExampleSpecInDocsParses() throws {
        let url = ProbeFixtures.testsDir.deletingLastPathComponent().appendingPathComponent("docs/examples/probe.yaml")
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw XCTSkip("docs/examples/probe.yaml not present")
        }
        let s = try ProbeSpec.load(url)
        XCTAssertGreaterThanOrEqual(s.edits.count, 3)
        try FindingsEditResolver().validate(s.edits, specFile: url.path)
    }
}
