import CXRTensor
import Foundation
import XCTest

/// The GEMM kernels the cxr-edit binary runs, as `--version` reports them: the CPU's best instruction set unless
/// the environment set OPENBLAS_CORETYPE (then exactly that), and correct products in every case.
final class KernelSelectionCLITests: XCTestCase {
    struct Report {
        let core: String
        let blasLine: String
        let gemmLine: String
    }

    func version(_ environment: [String: String?] = [:]) throws -> Report {
        let r = try CLI.run(["--version"], environment: environment)
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, "0.1.0")
        XCTAssertTrue(lines.contains { $0.hasPrefix("cpu: ") }, r.stdout)
        let blas = lines.first { $0.hasPrefix("blas: core ") } ?? ""
        let core = blas.dropFirst("blas: core ".count).prefix { $0 != " " && $0 != "," }
        return Report(core: String(core), blasLine: blas, gemmLine: lines.first { $0.hasPrefix("gemm check: ") } ?? "")
    }

    /// Fails where a mis-detected kernel would reach users (an SSE3 kernel on an AVX-512 CPU), or where the value
    /// a machine sets in OPENBLAS_CORETYPE is not what runs.
    func testBinaryRunsTheBestKernelOrTheOneTheEnvironmentSet() throws {
        let env = ProcessInfo.processInfo.environment
        let report = try version()
        XCTAssertFalse(report.core.isEmpty, report.blasLine)
        XCTAssertNil(BLASKernelChoice.mismatch(cpu: .current, core: report.core, environment: env), report.blasLine)
        if let set = env[BLASKernelChoice.coreTypeVariable], !set.isEmpty {
            XCTAssertTrue(report.blasLine.contains("set in the environment (respected)"), report.blasLine)
        }
        XCTAssertTrue(report.gemmLine.hasPrefix("gemm check: passed"), report.gemmLine)
    }

    /// The attention kernel is reported: the best this CPU runs, or the one CXR_EDIT_ATTN_KERNEL asks for.
    func testAttentionKernelIsReported() throws {
        func attentionLine(_ environment: [String: String?]) throws -> String {
            let r = try CLI.run(["--version"], environment: environment)
            XCTAssertEqual(r.status, 0, r.stderr)
            return r.stdout.split(separator: "\n").map(String.init).first { $0.hasPrefix("attention: ") } ?? ""
        }
        let best = try attentionLine(["CXR_EDIT_ATTN_KERNEL": nil])
        XCTAssertTrue(best.hasPrefix("attention: \(AttentionKernel.best.rawValue) ("), best)
        XCTAssertTrue(best.hasSuffix("the best this CPU runs"), best)
        let forced = try attentionLine(["CXR_EDIT_ATTN_KERNEL": "blas"])
        XCTAssertTrue(forced.hasPrefix("attention: blas (OpenBLAS tiles)"), forced)
        if AttentionKernel.best != .blas {
            XCTAssertTrue(forced.contains("from CXR_EDIT_ATTN_KERNEL"), forced)
        }
    }

    /// Every kernel set this CPU can execute, when asked for: respected, reported, and correct on the check's
    /// odd shapes and transposes.
    func testEachKernelSetTheEnvironmentAsksForIsRespectedAndCorrect() throws {
        let cpu = CPUFeatures.current
        let cores = ["Prescott", "Sandybridge", "Haswell", "SkylakeX", "Cooperlake"].filter {
            OpenBLASCore.tier(of: $0)! <= cpu.bestTier && ($0 != "Cooperlake" || cpu.has(.avx512_bf16))
        }
        for core in cores {
            let report = try version([BLASKernelChoice.coreTypeVariable: core, BLASKernelChoice.markerVariable: nil])
            XCTAssertEqual(report.core, core, report.blasLine)
            XCTAssertTrue(
                report.blasLine.contains("OPENBLAS_CORETYPE=\(core) set in the environment (respected)"),
                report.blasLine)
            XCTAssertTrue(report.gemmLine.hasPrefix("gemm check: passed"), "\(core): \(report.gemmLine)")
        }
    }

    /// A mis-detecting OpenBLAS, simulated with a preloaded `openblas_get_corename` that answers "Prescott" until
    /// OPENBLAS_CORETYPE is set: cxr-edit re-executes itself once with the CPU's best core, and leaves a value the
    /// environment set alone.
    func testMisdetectionIsCorrectedByOneReexecution() throws {
        let cpu = CPUFeatures.current
        guard let best = OpenBLASCore.preferred(for: cpu) else { throw XCTSkip("SSE-only CPU: nothing to correct") }
        #if !os(Linux)
            throw XCTSkip("re-execution goes through /proc/self/exe")
        #endif
        let shim = try preloadShim()
        let base: [String: String?] = [
            "LD_PRELOAD": shim.path, BLASKernelChoice.coreTypeVariable: nil,
            BLASKernelChoice.markerVariable: nil,
        ]
        let fixed = try version(base)
        XCTAssertEqual(fixed.core, best, fixed.blasLine)
        XCTAssertTrue(fixed.blasLine.contains("chosen by cxr-edit (OpenBLAS detected Prescott)"), fixed.blasLine)
        XCTAssertTrue(fixed.gemmLine.hasPrefix("gemm check: passed"), fixed.gemmLine)

        var pinned = base
        pinned[BLASKernelChoice.coreTypeVariable] = "Haswell"
        let kept = try version(pinned)
        XCTAssertEqual(kept.core, "Haswell", kept.blasLine)
        XCTAssertTrue(kept.blasLine.contains("set in the environment (respected)"), kept.blasLine)

        // A real run (not only --version) through the re-execution: exit status and output as usual.
        let out = try CLI.tempDir(self)
        let png = out.appendingPathComponent("g.png")
        let r = try CLI.run(
            [
                "generate", "--model", CLI.sd1.path, "--prompt", "x", "--steps", "2", "-o", png.path,
                "--quiet",
            ], environment: base)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: png.path))
    }

    /// Builds the preload library with the C compiler of the toolchain (skips where there is none).
    func preloadShim() throws -> URL {
        let dir = try CLI.tempDir(self, "shim")
        let source = dir.appendingPathComponent("corename.c"), lib = dir.appendingPathComponent("libcorename.so")
        try """
        #define _GNU_SOURCE
        #include <dlfcn.h>
        #include <stdlib.h>
        char *openblas_get_corename(void) {
            if (!getenv("OPENBLAS_CORETYPE")) return "Prescott";
            char *(*real)(void) = (char *(*)(void))dlsym(RTLD_NEXT, "openblas_get_corename");
            return real();
        }
        """.write(to: source, atomically: true, encoding: .utf8)
        let compilers = ["/usr/bin/cc", "/usr/bin/clang", "/usr/bin/gcc"]
        for compiler in compilers where FileManager.default.isExecutableFile(atPath: compiler) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: compiler)
            p.arguments = ["-shared", "-fPIC", "-o", lib.path, source.path, "-ldl"]
            try p.run()
            p.waitUntilExit()
            if p.terminationStatus == 0 { return lib }
        }
        throw XCTSkip("no C compiler to build the preload shim")
    }
}
