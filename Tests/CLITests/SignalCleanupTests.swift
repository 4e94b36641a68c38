import Foundation
import XCTest
#if canImport(Glibc)
    import Glibc
#endif

/// SIGINT while an external classifier is answering (issue 18, item 4): the temporary copy of the radiograph
/// it was given is private (folder 0700, file 0600) and removed, and the adapter and the processes it started are
/// killed. Before, the copy stayed world-readable in the system temp folder and the adapter kept running.
final class SignalCleanupTests: XCTestCase {
    /// An adapter that records what it sees, starts a grandchild (`sleep`) and never answers.
    static let adapter = """
        import json, os, stat, subprocess, sys, time
        marker = sys.argv[1]
        print(json.dumps({"protocol": "cxr-edit-classifier/1", "name": "slow", "labels": ["Effusion"]}), flush=True)
        for line in sys.stdin:
            path = json.loads(line)["images"][0]
            child = subprocess.Popen(["sleep", "300"])
            info = {"pid": os.getpid(), "child": child.pid, "image": path,
                    "file_mode": stat.S_IMODE(os.stat(path).st_mode),
                    "dir_mode": stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode)}
            with open(marker + ".tmp", "w") as f:
                json.dump(info, f)
            os.rename(marker + ".tmp", marker)
            time.sleep(3600)
        """

    /// Whether `pid` is a live process (zombies, which only wait to be reaped, count as gone).
    static func isAlive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        return !stat[stat.index(close, offsetBy: 2)...].hasPrefix("Z")
    }

    func testSIGINTDuringAClassifierRequestRemovesTheImageAndKillsTheAdapterGroup() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") else { throw XCTSkip("needs python3") }
        let work = try CLI.tempDir(self, "sigcls")
        let tmp = work.appendingPathComponent("tmp"), images = work.appendingPathComponent("imgs")
        for dir in [tmp, images] { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) }
        try FileManager.default.copyItem(
            at: CLI.bad.appendingPathComponent("ok/grey8.png"),
            to: images.appendingPathComponent("grey8.png"))
        let script = work.appendingPathComponent("adapter.py"), marker = work.appendingPathComponent("marker.json")
        try Self.adapter.write(to: script, atomically: true, encoding: .utf8)
        let spec = work.appendingPathComponent("spec.yaml")
        try """
        inputs: {folder: \(images.path)}
        classifiers: ["cmd:python3 \(script.path) \(marker.path)"]
        edits: [{add: effusion}]
        """.write(to: spec, atomically: true, encoding: .utf8)

        var sawMarker = false
        let r = try CLI.run(
            [
                "probe", "--spec", spec.path, "--out", work.appendingPathComponent("run").path,
                "--model", CLI.sd1.path, "--quiet",
            ], timeout: 120, environment: ["TMPDIR": tmp.path]
        ) { pid in
            let deadline = Date().addingTimeInterval(90)
            while Date() < deadline && !FileManager.default.fileExists(atPath: marker.path) { usleep(50_000) }
            sawMarker = FileManager.default.fileExists(atPath: marker.path)
            kill(pid, SIGINT)
        }
        XCTAssertTrue(sawMarker, "the adapter never got a request: \(r.stderr)")
        XCTAssertEqual(r.status, 130, r.stderr)
        XCTAssertEqual(r.stderrLines, ["cxr-edit: error: interrupted (SIGINT); temporary files removed"])
        let info = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: marker)) as? [String: Any])
        XCTAssertEqual(info["file_mode"] as? Int, 0o600, "the radiograph copy must be private")
        XCTAssertEqual(info["dir_mode"] as? Int, 0o700, "the temporary folder must be private")
        XCTAssertEqual(CLI.listing(tmp), [], "temporary classifier folder left behind")
        let pids = [info["pid"], info["child"]].compactMap { ($0 as? Int).map(Int32.init) }
        XCTAssertEqual(pids.count, 2)
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline && pids.contains(where: Self.isAlive) { usleep(50_000) }
        for pid in pids where Self.isAlive(pid) {
            XCTFail("process \(pid) of the adapter's group still runs")
            kill(pid, SIGKILL)
        }
    }
}
