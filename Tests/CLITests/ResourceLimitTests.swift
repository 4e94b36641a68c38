import Foundation
import XCTest

/// Limits on what a run may cost, checked before the work (issue 18, items 1-3): the pixel budget and
/// `--max-pixels`, corrupt JPEG data and `--lenient`, the thread count and the address-space limit.
final class ResourceLimitTests: XCTestCase {
    let grey8 = CLI.bad.appendingPathComponent("ok/grey8.png").path  // 64x48 = 3072 pixels

    func edit(_ input: String, _ extra: [String], out: URL, addressSpaceKiB: Int? = nil) throws -> CLI.Result {
        try CLI.run(
            [
                "edit", input, "--model", CLI.sd1.path, "--prompt", "x", "--steps", "2",
                "-o", out.appendingPathComponent("o.png").path, "--quiet",
            ] + extra, addressSpaceKiB: addressSpaceKiB)
    }

    func testMaxPixelsSetsTheBudget() throws {
        let out = try CLI.tempDir(self)
        CLI.assertFails(
            try edit(grey8, ["--max-pixels", "3071"], out: out), matches: ["grey8.png", "3071 pixels"],
            dir: out, "one pixel over the budget")
        let r = try edit(grey8, ["--max-pixels", "3072"], out: out)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(CLI.listing(out), ["o.png"])
        try FileManager.default.removeItem(at: out.appendingPathComponent("o.png"))
        for bad in ["0", "-5", String(16384 * 16384 + 1)] {
            CLI.assertFails(
                try edit(grey8, ["--max-pixels=\(bad)"], out: out), matches: ["--max-pixels"], dir: out, bad)
        }
    }

    func testLenientDecodesCorruptJPEGWithAWarning() throws {
        let out = try CLI.tempDir(self)
        let jpeg = CLI.bad.appendingPathComponent("images/bitflip_sof0_to_sof9.jpg").path
        CLI.assertFails(try edit(jpeg, [], out: out), matches: ["corrupt JPEG"], dir: out, "strict by default")
        let r = try edit(jpeg, ["--lenient"], out: out)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stderrLines.count, 1, r.stderr)
        XCTAssertTrue(r.stderr.hasPrefix("cxr-edit: warning: bitflip_sof0_to_sof9.jpg: corrupt JPEG data"), r.stderr)
        XCTAssertEqual(CLI.listing(out), ["o.png"])
    }

    func testThreadCountIsBounded() throws {
        let out = try CLI.tempDir(self)
        CLI.assertFails(
            try edit(grey8, ["--threads", "1000"], out: out), matches: ["--threads", "1000"], dir: out,
            "--threads 1000")
    }

    /// Under an address-space limit too small for a run, one line before the work instead of a crash inside it
    /// (and, with OpenBLAS before, a buffer retried for ever); under a tight but sufficient one, the thread count is
    /// lowered and the run completes. The limits follow `ComputeThreads`' measured figures (520 MiB for one
    /// thread, 72 MiB for each further one): 300 000 KiB loads the libraries and would reach the work, 500 000 KiB
    /// is just below one thread's need, and 700 000 KiB fits 3 threads of the 8 asked for.
    func testAddressSpaceLimit() throws {
        let out = try CLI.tempDir(self)
        for kib in [300_000, 500_000] {
            let r = try edit(grey8, [], out: out, addressSpaceKiB: kib)
            CLI.assertFails(r, matches: ["address-space limit"], dir: out, "ulimit -v \(kib)")
        }
        let r = try edit(grey8, ["--threads", "8"], out: out, addressSpaceKiB: 700_000)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("lowered to"), r.stderr)
        XCTAssertEqual(CLI.listing(out), ["o.png"])
    }
}
