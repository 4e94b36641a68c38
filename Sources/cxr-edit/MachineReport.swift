import CXRTensor
import Foundation

/// The CPU and the GEMM kernels in use, as `--version`, `info` and `bench` print them: speed depends on both, and
/// a report without them cannot be compared across machines.
enum MachineReport {
    static var cpuLine: String {
        let cpu = CPUFeatures.current
        let name = cpu.brand.isEmpty ? cpu.vendor : cpu.brand
        return "cpu: \(name) (\(cpu.vendor) family \(cpu.family) model \(cpu.model)); features: \(cpu.featureList); "
            + "best sgemm tier: \(cpu.bestTier)"
    }

    /// "gemm: oneDNN 2.6.3 sgemm, isa ..., one thread per call (OpenMP runtime)". A machine that pins OpenBLAS's
    /// kernels (`OPENBLAS_CORETYPE`) is told that OpenBLAS is not used, so nobody reads its figures as OpenBLAS's.
    static var gemmLine: String {
        let openBLAS = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"].map {
            "; OPENBLAS_CORETYPE=\($0) is set but OpenBLAS is not used"
        }
        return "gemm: oneDNN \(OneDNN.version) sgemm, \(GEMMKernel.current.description); one thread per call "
            + "(\(OneDNN.runtime) runtime)\(openBLAS ?? "")"
    }

    /// "gemm check: passed ..." or the failing cases (the check takes a few milliseconds).
    static var gemmCheckLine: String {
        let failures = GEMMCheck.run()
        return failures.isEmpty
            ? "gemm check: passed (\(GEMMCheck.cases.count) cases against a float64 reference)"
            : "gemm check: FAILED \(failures.count) of \(GEMMCheck.cases.count): \(failures.joined(separator: "; "))"
    }

    /// Whether `--precision bf16` can run here, and with which kernel.
    static var bf16Line: String {
        BFloat16GEMM.isSupported
            ? "bf16 gemm: available (AVX512-BF16 kernel, fp32 sums; --precision bf16 or auto)"
            : "bf16 gemm: not available (no AVX512-BF16); --precision auto runs fp32"
    }

    /// The attention kernel that runs, and whether the environment chose it (`CXR_EDIT_ATTN_KERNEL`): attention is a
    /// third to a half of a UNet step, and its kernels differ about twofold between ISAs.
    static var attentionLine: String {
        let runs = AttentionSettings.kernel.available, best = AttentionKernel.best
        let names: [AttentionKernel: String] = [
            .fused: "fused AVX-512", .fusedAVX2: "fused AVX2+FMA", .blas: "oneDNN sgemm tiles",
        ]
        let chosen =
            runs == best
            ? "the best this CPU runs" : "from CXR_EDIT_ATTN_KERNEL; the best here is \(best.rawValue)"
        return "attention: \(runs.rawValue) (\(names[runs] ?? runs.rawValue)), \(chosen)"
    }

    static var lines: [String] { [cpuLine, gemmLine, bf16Line, attentionLine] }
}
