import Foundation
import XCTest

/// Inputs read whole are read through one bounded, regular-file-only reader (issue 18, items 1-2): a symbolic link
/// to a huge sparse file is judged by its target and refused before any of it is read; a spec nested 5,000 deep
/// is refused before the YAML library recurses (it segfaulted inside the library before).
final class BoundedReadTests: XCTestCase {
    /// A symbolic link `name` in `dir` to a 5 GB sparse file (no disk space used).
    func hugeLink(_ name: String, in dir: URL) throws -> URL {
        let target = dir.appendingPathComponent(".huge-\(name)")
        XCTAssertTrue(FileManager.default.createFile(atPath: target.path, contents: nil))
        let handle = try FileHandle(forWritingTo: target)
        try handle.truncate(atOffset: 5 << 30)
        try handle.close()
        let link = dir.appendingPathComponent(name)
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: target)
        return link
    }

    func testSpecAndInputsCSVAndNoiseBehindLinksToHugeFiles() throws {
        let dir = try CLI.tempDir(self, "huge")
        let out = try CLI.tempDir(self)
        let spec = try hugeLink("spec.yaml", in: dir)
        for command in ["probe", "synthesize"] {
            let start = Date()
            let r = try CLI.run([
                command, "--spec", spec.path, "--out", out.appendingPathComponent("run").path, "--quiet",
            ])
            CLI.assertFails(r, matches: ["spec.yaml", "limit"], dir: out, "\(command) with a 5 GB spec")
            XCTAssertLessThan(Date().timeIntervalSince(start), 10)
        }
        let csv = try hugeLink("inputs.csv", in: dir)
        let csvSpec = dir.appendingPathComponent("csv.yaml")
        try "inputs: {csv: \(csv.path)}\nclassifiers: [demo]\nedits: [{add: effusion}]\n"
            .write(to: csvSpec, atomically: true, encoding: .utf8)
        let r = try CLI.run([
            "probe", "--spec", csvSpec.path, "--out", out.appendingPathComponent("run").path, "--quiet",
        ])
        CLI.assertFails(r, matches: ["inputs.csv", "limit"], dir: out, "probe with a 5 GB inputs CSV")

        let noise = try hugeLink("noise.npy", in: dir)
        for args in [["edit", CLI.bad.appendingPathComponent("ok/grey8.png").path], ["generate"]] {
            let r = try CLI.run(
                args + [
                    "--noise", noise.path, "--model", CLI.sd1.path, "--prompt", "x", "--steps", "2",
                    "-o", out.appendingPathComponent("o.png").path, "--quiet",
                ])
            CLI.assertFails(r, matches: ["noise.npy", "limit"], dir: out, "\(args[0]) with a 5 GB --noise")
        }
    }

    func testModelDefaultsFileBehindALinkToAHugeFileIsIgnoredUnread() throws {
        let out = try CLI.tempDir(self)
        let model = try CLI.modelCopy(self)
        _ = try hugeLink("cxr-edit.json", in: model)
        let r = try CLI.run([
            "edit", CLI.bad.appendingPathComponent("ok/grey8.png").path, "--model", model.path,
            "--prompt", "x", "--steps", "2", "-o", out.appendingPathComponent("o.png").path, "--quiet",
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stderrLines.count, 1, r.stderr)
        XCTAssertTrue(
            r.stderr.hasPrefix("cxr-edit: warning: ") && r.stderr.contains("cxr-edit.json: ignored"), r.stderr)
    }

    func testDeeplyNestedSpecsAreOneLineErrorsNotCrashes() throws {
        let dir = try CLI.tempDir(self, "deep")
        let out = try CLI.tempDir(self)
        let shapes = [
            "flow": "inputs: imgs\nedits: " + String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000),
            "compact": "inputs: imgs\nedits:\n" + String(repeating: "- ", count: 5000) + "x\n",
        ]
        for (name, text) in shapes {
            let spec = dir.appendingPathComponent("\(name).yaml")
            try text.write(to: spec, atomically: true, encoding: .utf8)
            for command in ["probe", "synthesize"] {
                let r = try CLI.run([
                    command, "--spec", spec.path, "--out", out.appendingPathComponent("run").path, "--quiet",
                ])
                CLI.assertFails(
                    r, matches: ["\(name).yaml", "deeper"], dir: out, "\(command) with a \(name) spec 5000 deep")
            }
        }
    }
}
