import Foundation
import XCTest
#if canImport(Glibc)
    import Glibc
#endif

/// Output paths are validated before the run starts (issue 18, item 5): a read-only output folder or an output
/// path that is a directory was detected only after the whole run.
final class OutputPathTests: XCTestCase {
    /// An edit that would run for minutes: a refusal within seconds shows the check comes first.
    func slowEdit(_ output: String) throws -> (CLI.Result, TimeInterval) {
        let start = Date()
        let r = try CLI.run([
            "edit", CLI.bad.appendingPathComponent("ok/grey8.png").path, "--model", CLI.sd1.path,
            "--prompt", "x", "--steps", "1000", "--strength", "1", "-o", output, "--quiet",
        ])
        return (r, Date().timeIntervalSince(start))
    }

    func testOutputThatIsADirectoryIsRefusedBeforeTheRun() throws {
        let out = try CLI.tempDir(self)
        let dir = out.appendingPathComponent("o.png")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: false)
        for overwrite in [false, true] {
            let start = Date()
            let r = try CLI.run(
                [
                    "edit", CLI.bad.appendingPathComponent("ok/grey8.png").path, "--model", CLI.sd1.path,
                    "--prompt", "x", "--steps", "1000", "--strength", "1", "-o", dir.path, "--quiet",
                ]
                    + (overwrite ? ["--overwrite"] : []))
            CLI.assertFails(
                r, matches: ["o.png", "is a directory"], dir: out, before: ["o.png"], "output is a directory")
            XCTAssertLessThan(Date().timeIntervalSince(start), 15)
        }
        let g = try CLI.run(["generate", "--model", CLI.sd1.path, "--prompt", "x", "-o", dir.path, "--quiet"])
        CLI.assertFails(g, matches: ["is a directory"], dir: out, before: ["o.png"], "generate into a directory")
    }

    func testUnwritableOutputFolderIsRefusedBeforeTheRun() throws {
        // /proc refuses new files for every user, root included; a 0555 folder only for other users.
        var folders = ["/proc"]
        let locked = try CLI.tempDir(self, "ro")
        if geteuid() != 0 {
            chmod(locked.path, 0o555)
            addTeardownBlock { chmod(locked.path, 0o755) }
            folders.append(locked.path)
        }
        for folder in folders {
            let (r, seconds) = try slowEdit(folder + "/o.png")
            CLI.assertFails(r, matches: [folder, "not writable"], "output in \(folder)")
            XCTAssertLessThan(seconds, 15)
        }
        XCTAssertEqual(CLI.listing(locked), [])
    }

    /// init-model with a bad --bpe left a half-written model folder (configs, no weights) behind.
    func testInitModelFailureLeavesNoHalfWrittenFolder() throws {
        let out = try CLI.tempDir(self)
        let bpe = out.appendingPathComponent("bad.gz")
        try Data("not gzip".utf8).write(to: bpe)
        let r = try CLI.run(["init-model", "--arch", "sd15", out.appendingPathComponent("m").path, "--bpe", bpe.path])
        CLI.assertFails(r, matches: ["bad.gz"], dir: out, before: ["bad.gz"], "init-model --bpe bad.gz")
    }

    /// `probe report` on a synthesize dataset overwrote the dataset's summary.json with a probe summary.
    func testProbeReportRefusesASynthesizeDataset() throws {
        let work = try CLI.tempDir(self, "syn")
        let spec = work.appendingPathComponent("s.yaml")
        try "prompts: [{prompt: \"Cardiomegaly.\", count: 1}]\n".write(to: spec, atomically: true, encoding: .utf8)
        let data = work.appendingPathComponent("data")
        let s = try CLI.run(["synthesize", "--spec", spec.path, "--out", data.path, "--model", CLI.sd1.path, "--quiet"])
        XCTAssertEqual(s.status, 0, s.stderr)
        let before = try Data(contentsOf: data.appendingPathComponent("summary.json"))
        let listing = CLI.listing(data)
        let r = try CLI.run(["probe", "report", data.path])
        CLI.assertFails(r, matches: ["synthesize dataset"], dir: data, before: listing, "probe report on a dataset")
        XCTAssertEqual(try Data(contentsOf: data.appendingPathComponent("summary.json")), before)
    }

    /// A probe run whose first job failed left run.json and .lock behind, and the directory then refused the
    /// corrected spec as a run with other settings. A run directory it created and wrote no result to is removed.
    func testFailedProbeRunLeavesNoRunDirectory() throws {
        let work = try CLI.tempDir(self, "failrun")
        let images = work.appendingPathComponent("imgs")
        try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            at: CLI.bad.appendingPathComponent("ok/grey8.png"),
            to: images.appendingPathComponent("grey8.png"))
        let adapter = CLI.testsDir.deletingLastPathComponent().appendingPathComponent(
            "Tools/classifiers/fake_adapter.py")
        func spec(_ mode: String) throws -> String {
            let url = work.appendingPathComponent("\(mode).yaml")
            try
                "inputs: {folder: \(images.path)}\nclassifiers: [\"cmd:python3 \(adapter.path) \(mode)\"]\nedits: [{add: effusion}]\n"
                .write(to: url, atomically: true, encoding: .utf8)
            return url.path
        }
        let run = work.appendingPathComponent("run")
        let r = try CLI.run([
            "probe", "--spec", try spec("crash"), "--out", run.path, "--model", CLI.sd1.path, "--quiet",
        ])
        // The adapter's own stderr is passed through, so only the last line is ours.
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderrLines.last?.hasPrefix("cxr-edit: error: ") ?? false, r.stderr)
        XCTAssertTrue(r.stderr.contains("classifier"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: run.path), "left \(CLI.listing(run))")
    }
}
