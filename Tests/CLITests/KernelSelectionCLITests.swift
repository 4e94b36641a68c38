import CXRTensor
import Foundation
import XCTest

/// The GEMM kernels the cxr-edit binary runs, as `--version` reports them: oneDNN's kernels for the CPU's best
/// instruction set unless the environment set ONEDNN_MAX_CPU_ISA (then exactly that), and correct products in
/// every case. What runs is read twice: from oneDNN's effective ISA, which `--version` reports, and from the
/// kernels oneDNN actually generated (ONEDNN_JIT_DUMP writes each one to a file named after it).
final class KernelSelectionCLITests: XCTestCase {
    struct Report {
        let isa: String
        let gemmLine: String
        let checkLine: String
        /// The instruction sets of the packing kernels oneDNN generated for its sgemm ("avx512_core", "avx2").
        let generated: Set<String>
    }

    /// oneDNN's name for the packing kernels of each tier's sgemm (`<name>_f32_copy_an_kern` and the like).
    let packingKernelISA: [InstructionTier: String] = [
        .sse: "sse41", .avx: "avx", .avx2: "avx2", .avx512: "avx512_core",
    ]

    func version(_ environment: [String: String?] = [:]) throws -> Report {
        let dump = try CLI.tempDir(self, "jit")
        var env = environment
        env["ONEDNN_JIT_DUMP"] = "1"
        env["DNNL_JIT_DUMP"] = nil
        let r = try CLI.run(["--version"], cwd: dump, environment: env)
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, "0.1.0")
        XCTAssertTrue(lines.contains { $0.hasPrefix("cpu: ") }, r.stdout)
        let gemm = lines.first { $0.hasPrefix("gemm: oneDNN ") } ?? ""
        let isa = gemm.components(separatedBy: " sgemm, isa ").dropFirst().first?.prefix { $0 != " " } ?? ""
        let generated = try FileManager.default.contentsOfDirectory(atPath: dump.path).compactMap { name in
            name.range(of: "_f32_copy_an_kern").map {
                String(name[..<$0.lowerBound].dropFirst("dnnl_dump_cpu_jit_".count))
            }
        }
        return Report(
            isa: String(isa), gemmLine: gemm, checkLine: lines.first { $0.hasPrefix("gemm check: ") } ?? "",
            generated: Set(generated))
    }

    /// Fails where a slower kernel would reach users (AVX2 kernels on an AVX-512 CPU), or where a limit a machine
    /// sets in ONEDNN_MAX_CPU_ISA is not what runs.
    func testBinaryRunsTheBestKernelOrTheOneTheEnvironmentSet() throws {
        let env = ProcessInfo.processInfo.environment
        let report = try version()
        XCTAssertFalse(report.isa.isEmpty, report.gemmLine)
        let kernel = GEMMKernel(isa: report.isa, environment: env)
        XCTAssertNil(kernel.mismatch(cpu: .current), report.gemmLine)
        if let limit = kernel.limit {
            let respected = "\(limit.variable)=\(limit.value) set in the environment (respected)"
            XCTAssertTrue(report.gemmLine.contains(respected), report.gemmLine)
        }
        XCTAssertEqual(report.generated, [packingKernelISA[GEMMKernel.tier(of: report.isa)!]!], report.gemmLine)
        XCTAssertTrue(report.gemmLine.contains("one thread per call"), report.gemmLine)
        XCTAssertTrue(report.checkLine.hasPrefix("gemm check: passed"), report.checkLine)
    }

    /// Every instruction set this CPU can execute, when the environment limits oneDNN to it (by either variable
    /// name): respected, reported, generated, and correct on the check's odd shapes and transposes.
    func testEachLimitTheEnvironmentSetsIsRespectedAndCorrect() throws {
        let cpu = CPUFeatures.current
        let limits: [(String, String)] = [
            ("ONEDNN_MAX_CPU_ISA", "SSE41"), ("DNNL_MAX_CPU_ISA", "avx"), ("ONEDNN_MAX_CPU_ISA", "AVX2"),
            ("ONEDNN_MAX_CPU_ISA", "AVX512_CORE"),
        ].filter { GEMMKernel.tier(of: $0.1)! <= cpu.bestTier }
        XCTAssertFalse(limits.isEmpty)
        for (variable, value) in limits {
            var env: [String: String?] = [:]
            for name in GEMMKernel.limitVariables { env[name] = nil }
            env[variable] = value
            let report = try version(env)
            XCTAssertEqual(report.isa, value.lowercased(), report.gemmLine)
            XCTAssertTrue(report.gemmLine.contains("\(variable)=\(value) set in the environment (respected)"))
            XCTAssertEqual(report.generated, [packingKernelISA[GEMMKernel.tier(of: value)!]!], value)
            XCTAssertTrue(report.checkLine.hasPrefix("gemm check: passed"), "\(value): \(report.checkLine)")
        }
    }

    /// OPENBLAS_CORETYPE, which some machines set for other programs, is left alone and said to be unused.
    func testOpenBLASVariableIsLeftAloneAndReportedUnused() throws {
        let report = try version(["OPENBLAS_CORETYPE": "Haswell", "ONEDNN_MAX_CPU_ISA": nil, "DNNL_MAX_CPU_ISA": nil])
        XCTAssertTrue(report.gemmLine.hasSuffix("OPENBLAS_CORETYPE=Haswell is set but OpenBLAS is not used"))
        XCTAssertNil(GEMMKernel(isa: report.isa, environment: [:]).mismatch(cpu: .current), report.gemmLine)
        let unset = try version(["OPENBLAS_CORETYPE": nil])
        XCTAssertFalse(unset.gemmLine.contains("OPENBLAS"), unset.gemmLine)
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
        XCTAssertTrue(forced.hasPrefix("attention: blas (oneDNN sgemm tiles)"), forced)
        if AttentionKernel.best != .blas {
            XCTAssertTrue(forced.contains("from CXR_EDIT_ATTN_KERNEL"), forced)
        }
    }
}
