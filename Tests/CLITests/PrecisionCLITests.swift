import CXRImaging
import CXRTensor
import Foundation
import XCTest

/// `--precision`: bf16 outputs say so in their provenance, are the same at any thread count (the regeneration
/// command leaves --threads out; RegenerationTests runs it), auto resolves to what ran, and fp32 outputs carry
/// no precision entry (so they stay byte-identical to outputs made before the option existed).
final class PrecisionCLITests: XCTestCase {
    func provenance(_ url: URL) throws -> [String: String] {
        let r = try CLI.run(["provenance", "--json", url.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: String])
    }

    func edit(_ precision: String?, threads: Int, to url: URL) throws {
        let input = CLI.bad.appendingPathComponent("ok/grey8.png")
        var args = [
            "edit", input.path, "--model", CLI.sd1.path, "--prompt", "Large right pleural effusion.",
            "--strength", "0.6", "--steps", "4", "--seed", "7", "--threads", String(threads),
            "-o", url.path, "--quiet",
        ]
        if let precision { args += ["--precision", precision] }
        let r = try CLI.run(args)
        XCTAssertEqual(r.status, 0, r.stderr)
    }

    func testBF16IsRecordedAndTheSameAtAnyThreadCount() throws {
        guard BFloat16GEMM.isSupported else { throw XCTSkip("this CPU has no AVX512-BF16") }
        let out = try CLI.tempDir(self)
        let fp32 = out.appendingPathComponent("fp32.png"), bf16 = out.appendingPathComponent("bf16.png")
        let auto = out.appendingPathComponent("auto.png"), one = out.appendingPathComponent("one.png")
        try edit(nil, threads: 2, to: fp32)
        try edit("bf16", threads: 2, to: bf16)
        try edit("auto", threads: 2, to: auto)
        try edit("bf16", threads: 1, to: one)
        XCTAssertNil(try provenance(fp32)["cxr-edit:x:precision"])
        XCTAssertFalse(try provenance(fp32)["cxr-edit:x:command"]?.contains("--precision") ?? true)
        let p = try provenance(bf16)
        XCTAssertEqual(p["cxr-edit:x:precision"], "bf16")
        XCTAssertEqual(try provenance(auto)["cxr-edit:x:precision"], "bf16", "auto is bf16 on a CPU with bf16")
        XCTAssertTrue(
            try provenance(auto)["cxr-edit:x:command"]?.contains("--precision bf16") ?? false,
            "the command names what ran, not auto")
        let image = try ImageIO.read(bf16).samples
        XCTAssertEqual(try ImageIO.read(auto).samples, image)
        XCTAssertEqual(try ImageIO.read(one).samples, image, "bf16 results depend on the thread count")
    }
}
