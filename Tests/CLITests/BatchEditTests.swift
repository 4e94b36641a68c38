import CXRImaging
import Foundation
import XCTest

/// `cxr-edit edit` over folders, several files and seeds into --out-dir: one model load, resumable reruns that
/// skip what exists and matches, refusal of outputs made otherwise, every input checked before the first edit,
/// and outputs byte for byte those of the single-file edit.
final class BatchEditTests: XCTestCase {
    static let ok = CLI.bad.appendingPathComponent("ok")

    /// A folder with two radiographs (8- and 16-bit) and a file that is not an image (skipped, not an error).
    func inputFolder() throws -> URL {
        let dir = try CLI.tempDir(self, "in")
        for name in ["grey8.png", "grey16.png"] {
            try FileManager.default.copyItem(
                at: Self.ok.appendingPathComponent(name), to: dir.appendingPathComponent(name))
        }
        try Data("notes about the images\n".utf8).write(to: dir.appendingPathComponent("notes.txt"))
        return dir
    }

    func provenance(_ url: URL) throws -> [String: String] {
        let r = try CLI.run(["provenance", "--json", url.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: String])
    }

    func batch(_ inputs: [String], out: URL, _ more: [String]) throws -> CLI.Result {
        try CLI.run(
            ["edit"] + inputs + [
                "--model", CLI.sd1.path, "--prompt", "Cardiomegaly.", "--steps", "2",
                "--out-dir", out.path, "--progress",
            ] + more)
    }

    func occurrences(of needle: String, in text: String) -> Int { text.components(separatedBy: needle).count - 1 }

    func testFolderIsEditedWithEverySeedOnOneModelLoadAndARerunDoesNothing() throws {
        let input = try inputFolder()
        let out = try CLI.tempDir(self).appendingPathComponent("made-by-the-batch")  // created by the run
        let r = try batch([input.path], out: out, ["--seeds", "0..1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let names = ["grey16.seed0.png", "grey16.seed1.png", "grey8.seed0.png", "grey8.seed1.png"]
        XCTAssertEqual(CLI.listing(out), names, "every image with every seed, nothing else (no temp file)")
        XCTAssertEqual(r.stdout, names.map { out.appendingPathComponent($0).path + "\n" }.joined())
        XCTAssertEqual(occurrences(of: "loading model", in: r.stderr), 1, "one model load for the batch: \(r.stderr)")
        XCTAssertTrue(r.stderr.contains("ETA"), "progress with an ETA: \(r.stderr)")
        XCTAssertTrue(r.stderr.contains("edit: 4 new, 0 already done, 4 in the batch (2 images x 2 seeds)"), r.stderr)

        let p = try provenance(out.appendingPathComponent("grey16.seed1.png"))
        XCTAssertEqual(p["cxr-edit:seed"], "1")
        XCTAssertEqual(p["cxr-edit:x:input"], "grey16.png")
        XCTAssertEqual(
            p["cxr-edit:x:input-sha256"], try SHA256.hex(ofFileAt: input.appendingPathComponent("grey16.png")))
        let image = try ImageIO.read(out.appendingPathComponent("grey16.seed1.png"))
        XCTAssertEqual([image.width, image.height, image.bitDepth], [64, 48, 16], "written at the input's bit depth")
        XCTAssertNotEqual(
            try ImageIO.read(out.appendingPathComponent("grey8.seed0.png")).samples,
            try ImageIO.read(out.appendingPathComponent("grey8.seed1.png")).samples, "seeds differ")

        let before = try names.map { try Data(contentsOf: out.appendingPathComponent($0)) }
        let again = try batch([input.path], out: out, ["--seeds", "0..1"])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stderr.contains("nothing to do"), again.stderr)
        XCTAssertEqual(occurrences(of: "loading model", in: again.stderr), 0, "a finished batch loads no model")
        XCTAssertEqual(again.stdout, r.stdout, "the same outputs listed")
        XCTAssertEqual(try names.map { try Data(contentsOf: out.appendingPathComponent($0)) }, before)

        // One output lost: the rerun makes that one only.
        try FileManager.default.removeItem(at: out.appendingPathComponent("grey8.seed0.png"))
        let resumed = try batch([input.path], out: out, ["--seeds", "0..1"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stderr.contains("edit: 1 new, 3 already done, 4 in the batch"), resumed.stderr)
        XCTAssertEqual(
            try names.map { try Data(contentsOf: out.appendingPathComponent($0)) }, before,
            "the remade output is the lost one, byte for byte")
    }

    func testExistingOutputsOfAnotherRequestAreRefusedUnlessOverwrite() throws {
        let input = try inputFolder()
        let out = try CLI.tempDir(self)
        XCTAssertEqual(try batch([input.path], out: out, ["--seed", "4"]).status, 0)
        let names = CLI.listing(out)
        XCTAssertEqual(names, ["grey16.seed4.png", "grey8.seed4.png"])
        let before = try names.map { try Data(contentsOf: out.appendingPathComponent($0)) }

        // Other options under the same names: refused before any edit, nothing changed.
        let steps = try CLI.run([
            "edit", input.path, "--model", CLI.sd1.path, "--prompt", "Cardiomegaly.", "--steps",
            "3", "--seed", "4", "--out-dir", out.path,
        ])
        CLI.assertFails(
            steps, matches: ["grey16.seed4.png", "--overwrite", "steps"], dir: out, before: names,
            "other --steps")
        let prompt = try CLI.run([
            "edit", input.path, "--model", CLI.sd1.path, "--prompt", "Pneumothorax.", "--steps",
            "2", "--seed", "4", "--out-dir", out.path,
        ])
        CLI.assertFails(prompt, matches: ["--overwrite", "prompt"], dir: out, before: names, "other --prompt")
        XCTAssertEqual(try names.map { try Data(contentsOf: out.appendingPathComponent($0)) }, before)

        // Another image under an input's name.
        try FileManager.default.removeItem(at: input.appendingPathComponent("grey8.png"))
        try FileManager.default.copyItem(
            at: Self.ok.appendingPathComponent("palette1.png"),
            to: input.appendingPathComponent("grey8.png"))
        let replaced = try batch([input.path], out: out, ["--seed", "4"])
        CLI.assertFails(
            replaced, matches: ["grey8.seed4.png", "another input image"], dir: out, before: names,
            "input replaced")

        // --overwrite remakes the differing output and keeps the matching one.
        let overwrite = try batch([input.path], out: out, ["--seed", "4", "--overwrite"])
        XCTAssertEqual(overwrite.status, 0, overwrite.stderr)
        XCTAssertTrue(overwrite.stderr.contains("edit: 1 new, 1 already done"), overwrite.stderr)
        XCTAssertEqual(try Data(contentsOf: out.appendingPathComponent("grey16.seed4.png")), before[0])
        XCTAssertEqual(
            try provenance(out.appendingPathComponent("grey8.seed4.png"))["cxr-edit:x:input-sha256"],
            try SHA256.hex(ofFileAt: Self.ok.appendingPathComponent("palette1.png")))
    }

    /// Each bad batch stops with one error line before any edit: no output folder made, nothing written. The
    /// unreadable image sorts last, so a batch that checked lazily would already have written the others.
    func testBadInputsAreRefusedBeforeAnyWork() throws {
        let input = try inputFolder()
        let parent = try CLI.tempDir(self)
        let out = parent.appendingPathComponent("out")
        try Data("not an image".utf8).write(to: input.appendingPathComponent("zz-broken.png"))
        CLI.assertFails(
            try batch([input.path], out: out, ["--seeds", "0..1"]), matches: ["zz-broken.png"], dir: parent,
            "an unreadable image in the folder")
        try FileManager.default.removeItem(at: input.appendingPathComponent("zz-broken.png"))

        let empty = try CLI.tempDir(self, "empty")
        try Data("x\n".utf8).write(to: empty.appendingPathComponent("labels.csv"))
        CLI.assertFails(
            try batch([empty.path], out: out, []), matches: [empty.lastPathComponent, "no images"],
            dir: parent, "a folder without images")
        CLI.assertFails(
            try batch([input.path, parent.appendingPathComponent("missing.png").path], out: out, []),
            matches: ["missing.png", "no such file"], dir: parent, "a missing input")

        // Same stem in two places: both would write x.seed0.png.
        let other = try CLI.tempDir(self, "other")
        try FileManager.default.copyItem(
            at: Self.ok.appendingPathComponent("grey8.png"),
            to: other.appendingPathComponent("grey8.png"))
        CLI.assertFails(
            try batch([input.path, other.appendingPathComponent("grey8.png").path], out: out, []),
            matches: ["would both write", "grey8.seed0.png"], dir: parent, "clashing output names")
        CLI.assertFails(
            try batch([input.path], out: input, []), matches: ["input folder"], dir: parent,
            "--out-dir is an input folder")
        XCTAssertEqual(CLI.listing(input), ["grey16.png", "grey8.png", "notes.txt"])

        // -o names one file: several inputs, a folder or several seeds need --out-dir.
        let two = [Self.ok.appendingPathComponent("grey8.png").path, Self.ok.appendingPathComponent("grey16.png").path]
        for (args, what) in [
            (two, "several inputs"), ([input.path], "directory"),
            ([two[0], "--seeds", "0..1"], "--seeds"),
        ] {
            let r = try CLI.run(
                ["edit"] + args + [
                    "--model", CLI.sd1.path, "--prompt", "Cardiomegaly.", "-o",
                    parent.appendingPathComponent("x.png").path,
                ])
            CLI.assertFails(r, matches: [what, "--out-dir"], dir: parent, "-o with \(what)")
        }
        for (seeds, message) in [("3..1", "backwards"), ("0,1,1", "twice"), ("a", "not a seed")] {
            CLI.assertFails(
                try batch([input.path], out: out, ["--seeds", seeds]), matches: ["--seeds", message],
                dir: parent, "--seeds \(seeds)")
        }
    }

    /// A batch output is the file the single-file edit writes for that input and seed, byte for byte (provenance
    /// and its regenerating command included), here for a regional edit with a fitted region and its null edit.
    func testBatchOutputIsByteIdenticalToTheSingleFileEdit() throws {
        let input = try CLI.tempDir(self, "in")
        let sample = input.appendingPathComponent("chest.png")
        try FileManager.default.copyItem(at: RegionalEditTests.sample, to: sample)
        let out = try CLI.tempDir(self)
        let findings = ["--add", "pleural effusion", "--side", "right", "--steps", "2"]
        let b = try CLI.run(
            [
                "edit", input.path, "--model", CLI.sd1.path, "--out-dir", out.path, "--seeds", "0,3",
                "--null-edits", "--quiet",
            ] + findings)
        XCTAssertEqual(b.status, 0, b.stderr)
        XCTAssertEqual(
            CLI.listing(out),
            [
                "chest.seed0.null.png", "chest.seed0.png", "chest.seed3.null.png",
                "chest.seed3.png",
            ])
        let single = try CLI.tempDir(self, "single").appendingPathComponent("edit.png")
        let s = try CLI.run(
            ["edit", sample.path, "--model", CLI.sd1.path, "--seed", "3", "-o", single.path, "--quiet"]
                + findings)
        XCTAssertEqual(s.status, 0, s.stderr)
        XCTAssertEqual(
            try Data(contentsOf: out.appendingPathComponent("chest.seed3.png")), try Data(contentsOf: single))

        let null = try provenance(out.appendingPathComponent("chest.seed3.null.png"))
        XCTAssertEqual(null["cxr-edit:mode"], "null-edit")
        XCTAssertEqual(null["cxr-edit:x:null-edit-of"], "chest.seed3.png")
        XCTAssertEqual(null["cxr-edit:seed"], "3")
        XCTAssertEqual(null["cxr-edit:prompt"], "Frontal chest radiograph.")

        // A lost null edit is made again on its own.
        let nullData = try Data(contentsOf: out.appendingPathComponent("chest.seed0.null.png"))
        try FileManager.default.removeItem(at: out.appendingPathComponent("chest.seed0.null.png"))
        let again = try CLI.run(
            [
                "edit", input.path, "--model", CLI.sd1.path, "--out-dir", out.path, "--seeds", "0,3",
                "--null-edits",
            ] + findings)
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stderr.contains("edit: 1 new, 1 already done"), again.stderr)
        XCTAssertEqual(try Data(contentsOf: out.appendingPathComponent("chest.seed0.null.png")), nullData)
    }

    /// A .dcm input gives a .dcm output (a derived DICOM) that a rerun recognises; asking for --anonymize on a rerun
    /// does not keep the identifying files (the provenance alone cannot tell them apart).
    func testDICOMInputsGiveDICOMOutputsAndAnonymizeIsNotSkipped() throws {
        let dicom = CLI.fixtures.appendingPathComponent("dicom/cr12_explicit.dcm")
        let out = try CLI.tempDir(self)
        let args = [
            "edit", dicom.path, Self.ok.appendingPathComponent("grey8.png").path, "--model", CLI.sd1.path,
            "-p", "Cardiomegaly.", "--steps", "2", "--out-dir", out.path,
        ]
        let r = try CLI.run(args)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(CLI.listing(out), ["cr12_explicit.seed0.dcm", "grey8.seed0.png"])
        XCTAssertEqual(
            try provenance(out.appendingPathComponent("cr12_explicit.seed0.dcm"))["cxr-edit:x:input-sha256"],
            try SHA256.hex(ofFileAt: dicom))
        let again = try CLI.run(args)
        XCTAssertTrue(again.stderr.contains("nothing to do"), again.stderr)

        let before = try Data(contentsOf: out.appendingPathComponent("cr12_explicit.seed0.dcm"))
        CLI.assertFails(
            try CLI.run(args + ["--anonymize"]), matches: ["cr12_explicit.seed0.dcm", "--anonymize"],
            dir: out, before: CLI.listing(out), "a rerun with --anonymize")
        let anonymized = try CLI.run(args + ["--anonymize", "--overwrite"])
        XCTAssertEqual(anonymized.status, 0, anonymized.stderr)
        XCTAssertTrue(anonymized.stderr.contains("edit: 1 new, 1 already done"), anonymized.stderr)
        XCTAssertNotEqual(try Data(contentsOf: out.appendingPathComponent("cr12_explicit.seed0.dcm")), before)
    }
}
