import CXRImaging
import Foundation
import XCTest
#if canImport(Glibc)
    import Glibc
#endif

/// Interrupts, kills and full disks: an output is complete or absent, never partial; no temp file survives an
/// interrupt; every failure is one line.
final class FaultTests: XCTestCase {
    /// A large 16-bit noise image (slow to resize and encode, so signals can land in every phase).
    func bigInput(_ dir: URL, side: Int = 768) throws -> URL {
        var rng = SystemRandomNumberGenerator()
        let samples = (0..<(side * side * 3 / 4)).map { _ in UInt16.random(in: 0...65535, using: &rng) }
        let image = try RasterImage(width: side, height: side * 3 / 4, channels: 1, bitDepth: 16, samples: samples)
        let url = dir.appendingPathComponent("big.png")
        try ImageIO.writePNG(image, to: url)
        return url
    }

    func slowEditArgs(_ input: String, _ output: URL, steps: Int = 1000) -> [String] {
        [
            "edit", input, "--model", CLI.sd1.path, "--prompt", "Left lower lobe consolidation.", "--scheduler",
            "euler",
            "--steps", String(steps), "--strength", "1", "-o", output.path, "--quiet",
        ]
    }

    func testSIGINTDuringEditExits130WithOneLineAndNoFiles() throws {
        let out = try CLI.tempDir(self)
        let r = try CLI.run(
            slowEditArgs(CLI.bad.appendingPathComponent("ok/grey8.png").path, out.appendingPathComponent("o.png"))
        ) { pid in
            usleep(1_500_000)
            kill(pid, SIGINT)
        }
        XCTAssertFalse(r.signaled, "the process should exit, not die: \(r.stderr)")
        XCTAssertEqual(r.status, 130, r.stderr)
        XCTAssertEqual(r.stderrLines, ["cxr-edit: error: interrupted (SIGINT); temporary files removed"])
        XCTAssertEqual(CLI.listing(out), [], "no output and no temp file after SIGINT")
    }

    func testSIGTERMExits143() throws {
        let out = try CLI.tempDir(self)
        let r = try CLI.run(
            slowEditArgs(CLI.bad.appendingPathComponent("ok/grey8.png").path, out.appendingPathComponent("o.png"))
        ) { pid in
            usleep(1_000_000)
            kill(pid, SIGTERM)
        }
        XCTAssertEqual(r.status, 143, r.stderr)
        XCTAssertEqual(r.stderrLines.count, 1, r.stderr)
        XCTAssertEqual(CLI.listing(out), [])
    }

    /// SIGINT at many points of a short edit of a large image (load, resize, denoise, encode, write): each run
    /// either completes with a valid output or exits 130 leaving the folder empty.
    func testSIGINTAtEveryPhaseLeavesCompleteOutputOrNothing() throws {
        let src = try CLI.tempDir(self, "src")
        let input = try bigInput(src).path
        let out = try CLI.tempDir(self)
        let o = out.appendingPathComponent("o.png")
        // How long does one run take?
        let t0 = Date()
        let full = try CLI.run(slowEditArgs(input, o, steps: 2))
        let duration = Date().timeIntervalSince(t0)
        XCTAssertEqual(full.status, 0, full.stderr)
        try FileManager.default.removeItem(at: o)
        var interrupted = 0, completed = 0
        for k in 1...12 {
            let delay = duration * Double(k) / 12.0
            let r = try CLI.run(slowEditArgs(input, o, steps: 2)) { pid in
                usleep(useconds_t(delay * 1_000_000))
                kill(pid, SIGINT)
            }
            XCTAssertFalse(r.signaled, "run \(k): died by signal \(r.status)")
            if r.status == 130 {
                interrupted += 1
                XCTAssertEqual(r.stderrLines.filter { $0.hasPrefix("cxr-edit: error: interrupted") }.count, 1, r.stderr)
                // Interrupted before the write: nothing; after it (edit still computing its report): the complete file.
                let files = CLI.listing(out)
                XCTAssertTrue(files == [] || files == ["o.png"], "run \(k) (SIGINT after \(delay) s): left \(files)")
                if files == ["o.png"] { XCTAssertEqual(try ImageIO.read(o).width, 768, "run \(k): output incomplete") }
            } else {
                completed += 1
                XCTAssertEqual(r.status, 0, r.stderr)
                XCTAssertEqual(CLI.listing(out), ["o.png"], "run \(k)")
                XCTAssertEqual(try ImageIO.read(o).width, 768, "run \(k): output incomplete")
            }
            try? FileManager.default.removeItem(at: o)
        }
        XCTAssertGreaterThan(interrupted, 0)
        print(
            "SIGINT sweep over \(String(format: "%.2f", duration)) s: \(interrupted) interrupted, \(completed) completed"
        )
    }

    /// SIGKILL cannot be handled: the temp file may remain, but the output is complete or absent, and the next
    /// write of the same output removes the dead writer's temp file.
    func testSIGKILLNeverLeavesAPartialOutput() throws {
        let src = try CLI.tempDir(self, "src")
        let input = try bigInput(src).path
        let out = try CLI.tempDir(self)
        let o = out.appendingPathComponent("o.png")
        let t0 = Date()
        XCTAssertEqual(try CLI.run(slowEditArgs(input, o, steps: 2)).status, 0)
        let duration = Date().timeIntervalSince(t0)
        try FileManager.default.removeItem(at: o)
        var sawTemp = false
        for k in 1...12 {
            let delay = duration * (0.5 + 0.5 * Double(k) / 12.0)
            let r = try CLI.run(slowEditArgs(input, o, steps: 2)) { pid in
                usleep(useconds_t(delay * 1_000_000))
                kill(pid, SIGKILL)
            }
            let files = CLI.listing(out)
            if files.contains("o.png") {
                XCTAssertEqual(try ImageIO.read(o).height, 576, "run \(k): partial output after SIGKILL")
                XCTAssertNotNil(try Provenance.read(from: o), "run \(k): output without provenance")
                try FileManager.default.removeItem(at: o)
            } else {
                XCTAssertTrue(r.signaled || r.status != 0)
            }
            for f in files where f != "o.png" {
                XCTAssertTrue(f.hasPrefix(".o.png.tmp-"), "unexpected file \(f)")
                sawTemp = true
            }
        }
        // A completed write removes temp files of dead writers.
        XCTAssertEqual(try CLI.run(slowEditArgs(input, o, steps: 2)).status, 0)
        XCTAssertEqual(CLI.listing(out), ["o.png"], "stale temp files survived a successful write")
        print("SIGKILL sweep: stale temp file seen: \(sawTemp)")
    }

    /// Two processes racing for one output without --overwrite: exactly one writes it (link(2) decides), the other
    /// fails with one line; the file is complete and nothing else is left.
    func testConcurrentWritersToOneOutput() throws {
        let out = try CLI.tempDir(self)
        let o = out.appendingPathComponent("race.png")
        for round in 0..<3 {
            let results = Results()
            let group = DispatchGroup()
            for i in 0..<2 {
                group.enter()
                DispatchQueue.global().async {
                    if let r = try? CLI.run([
                        "generate", "--model", CLI.sd1.path, "--prompt", "Cardiomegaly.", "--steps", "3",
                        "--seed", String(i), "-o", o.path, "--quiet",
                    ]) {
                        results.add(r)
                    }
                    group.leave()
                }
            }
            group.wait()
            let rs = results.all
            XCTAssertEqual(rs.count, 2)
            XCTAssertEqual(
                rs.filter { $0.status == 0 }.count, 1,
                "round \(round): exactly one writer must win: \(rs.map(\.stderr))")
            for r in rs where r.status != 0 {
                CLI.assertFails(r, matches: ["race.png", "exists"], "round \(round): loser")
            }
            XCTAssertEqual(CLI.listing(out), ["race.png"])
            XCTAssertEqual(try ImageIO.read(o).width, 64)
            try FileManager.default.removeItem(at: o)
        }
    }

    /// Disk full while writing: a 64 KiB tmpfs filled to the brim (needs root; skipped otherwise).
    func testDiskFullLeavesNoPartialFile() throws {
        let mnt = try CLI.tempDir(self, "tmpfs")
        let mount = Process()
        mount.executableURL = URL(fileURLWithPath: "/bin/mount")
        mount.arguments = ["-t", "tmpfs", "-o", "size=64k", "tmpfs", mnt.path]
        mount.standardError = FileHandle.nullDevice
        guard (try? mount.run()) != nil else { throw XCTSkip("mount not available") }
        mount.waitUntilExit()
        guard mount.terminationStatus == 0 else { throw XCTSkip("cannot mount a tmpfs (not root?)") }
        defer {
            let u = Process()
            u.executableURL = URL(fileURLWithPath: "/bin/umount")
            u.arguments = [mnt.path]
            try? u.run()
            u.waitUntilExit()
        }
        // Fill it.
        let filler = mnt.appendingPathComponent("filler")
        _ = FileManager.default.createFile(atPath: filler.path, contents: nil)
        let h = try FileHandle(forWritingTo: filler)
        let block = Data(repeating: 0xAB, count: 4096)
        while (try? h.write(contentsOf: block)) != nil {}
        try? h.close()
        let r = try CLI.run([
            "edit", CLI.bad.appendingPathComponent("ok/grey16.png").path, "--model", CLI.sd1.path,
            "--prompt", "x", "--steps", "2", "-o", mnt.appendingPathComponent("o.png").path, "--quiet",
        ])
        CLI.assertFails(r, matches: ["o.png", "no space left on device"], dir: mnt, before: ["filler"], "disk full")
    }
}

/// Results collected from concurrent runs.
private final class Results: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [CLI.Result] = []
    func add(_ r: CLI.Result) { lock.lock(); items.append(r); lock.unlock() }
    var all: [CLI.Result] { lock.lock(); defer { lock.unlock() }; return items }
}
