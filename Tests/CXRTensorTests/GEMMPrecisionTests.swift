import XCTest
@testable import CXRTensor

/// What `--precision` gives on CPUs with and without bf16 instructions.
final class GEMMPrecisionTests: XCTestCase {
    func testRequestsResolve() {
        XCTAssertEqual(GEMMPrecision.resolve(.fp32, bf16Available: true), .fp32, "fp32 is never changed")
        XCTAssertEqual(GEMMPrecision.resolve(.fp32, bf16Available: false), .fp32)
        XCTAssertEqual(GEMMPrecision.resolve(.auto, bf16Available: true), .bf16)
        XCTAssertEqual(GEMMPrecision.resolve(.auto, bf16Available: false), .fp32, "auto never emulates bf16")
        XCTAssertEqual(GEMMPrecision.resolve(.bf16, bf16Available: true), .bf16)
        XCTAssertNil(GEMMPrecision.resolve(.bf16, bf16Available: false), "bf16 without the instructions is refused")
    }

    /// The kernel's own CPUID check agrees with CPUFeatures (AVX512-BF16 plus the AVX-512 subsets it uses).
    func testKernelAvailabilityMatchesCPUFeatures() {
        let cpu = CPUFeatures.current
        XCTAssertEqual(BFloat16GEMM.isSupported, cpu.has(.avx512_bf16) && cpu.bestTier == .avx512, cpu.featureList)
    }
}
