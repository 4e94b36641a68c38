import XCTest
@testable import CXRTensor

/// CPU feature decoding and the choice of OpenBLAS kernels, on the machines cxr-edit has met and on cases no
/// machine here can show (a mis-detecting OpenBLAS, a user's OPENBLAS_CORETYPE, a fixed-target build).
final class KernelSelectionTests: XCTestCase {
    let avx512: Set<CPUFeatures.Feature> = [
        .sse3, .ssse3, .sse4_1, .sse4_2, .avx, .fma, .avx2,
        .avx512f, .avx512dq, .avx512cd, .avx512bw, .avx512vl,
    ]
    var sapphireRapids: CPUFeatures {
        CPUFeatures(
            vendor: "GenuineIntel", family: 6, model: 143,
            features: avx512.union([.avx512_bf16, .amx_tile, .amx_bf16, .amx_int8]))
    }
    var zen4: CPUFeatures {
        CPUFeatures(vendor: "AuthenticAMD", family: 25, model: 17, features: avx512.union([.avx512_bf16]))
    }
    var skylakeSP: CPUFeatures { CPUFeatures(vendor: "GenuineIntel", family: 6, model: 85, features: avx512) }
    var zen3: CPUFeatures {
        CPUFeatures(
            vendor: "AuthenticAMD", family: 25, model: 1,
            features: [.sse3, .ssse3, .sse4_1, .sse4_2, .avx, .fma, .avx2])
    }
    let dynamic = "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY Prescott MAX_THREADS=64"

    // MARK: CPUID decoding

    /// Registers of a Zen 4 EPYC (family 25 model 17) as CPUID returns them.
    func zen4Registers(_ leaf: UInt32, _ sub: UInt32) -> [UInt32]? {
        switch (leaf, sub) {
        case (0, 0): return [0x10, 0x6874_7541, 0x444D_4163, 0x6974_6E65]  // "AuthenticAMD" in EBX, EDX, ECX
        case (1, 0): return [0x00A1_0F11, 0, 0x7EF8_320B, 0x178B_FBFF]
        case (7, 0): return [1, 0xF1BF_97A9, 0x0040_5FCE, 0x1000_0010]
        case (7, 1): return [0x0000_0020, 0, 0, 0]
        case (0x8000_0000, 0): return [0x8000_0028, 0, 0, 0]
        case (0x8000_0002, 0): return [0x2044_4D41, 0x43595045, 0, 0]  // "AMD EPYC"
        case (0x8000_0003, 0), (0x8000_0004, 0): return [0, 0, 0, 0]
        default: return nil
        }
    }

    func testDecodesZen4() {
        let cpu = CPUFeatures(cpuid: zen4Registers, xcr0: 0x2E7)
        XCTAssertEqual(cpu.vendor, "AuthenticAMD")
        XCTAssertEqual(cpu.brand, "AMD EPYC")
        XCTAssertEqual(cpu.family, 25)
        XCTAssertEqual(cpu.model, 17)
        XCTAssertEqual(cpu.features, avx512.union([.avx512_bf16]))
        XCTAssertEqual(cpu.bestTier, .avx512)
    }

    /// Registers of a Zen 5 EPYC (family 26 model 2, no AMX) as CPUID returned them on the machine of the bf16
    /// measurements; XCR0 0xE7 (x87, SSE, AVX, opmask, ZMM state).
    func zen5Registers(_ leaf: UInt32, _ sub: UInt32) -> [UInt32]? {
        switch (leaf, sub) {
        case (0, 0): return [0x1C, 0x6874_7541, 0x444D_4163, 0x6974_6E65]
        case (1, 0): return [0x00B0_0F21, 0x0102_0800, 0xFFFA_3203, 0x178B_FBFF]
        case (7, 0): return [1, 0xF1BF_07AB, 0x0040_5FC6, 0x0000_0110]
        case (7, 1): return [0x0000_0030, 0, 0, 0]
        case (0x8000_0000, 0): return [0x8000_0021, 0, 0, 0]
        case (0x8000_0002, 0): return [0x2044_4D41, 0x43595045, 0, 0]
        case (0x8000_0003, 0), (0x8000_0004, 0): return [0, 0, 0, 0]
        default: return nil
        }
    }

    /// Zen 5 (family 26 = 0xF + extended 0xB): Debian's OpenBLAS 0.3.21 detects it as Cooperlake by itself (checked
    /// on the machine with OPENBLAS_CORETYPE unset), which is its best tier, so nothing is re-executed; a
    /// mis-detection would be corrected to Cooperlake, and the Haswell that this workplace sets is respected.
    func testZen5() {
        let cpu = CPUFeatures(cpuid: zen5Registers, xcr0: 0xE7)
        XCTAssertEqual([cpu.family, cpu.model], [26, 2])
        XCTAssertEqual(cpu.features, avx512.union([.avx512_bf16]))
        XCTAssertEqual(cpu.bestTier, .avx512)
        XCTAssertEqual(decide(cpu, "Cooperlake"), BLASKernelChoice(action: .keep, source: .openBLAS))
        XCTAssertNil(BLASKernelChoice.mismatch(cpu: cpu, core: "Cooperlake", environment: [:]))
        XCTAssertEqual(decide(cpu, "Prescott").action, .reexecute(core: "Cooperlake"))
        XCTAssertEqual(decide(cpu, "Zen").action, .reexecute(core: "Cooperlake"), "Zen's AVX2 kernels on AVX-512")
        let pinned = ["OPENBLAS_CORETYPE": "Haswell"]
        XCTAssertEqual(decide(cpu, "Haswell", pinned), BLASKernelChoice(action: .keep, source: .environment("Haswell")))
        XCTAssertNil(BLASKernelChoice.mismatch(cpu: cpu, core: "Haswell", environment: pinned))
        XCTAssertNotNil(BLASKernelChoice.mismatch(cpu: cpu, core: "Haswell", environment: [:]))
    }

    func testRegisterStateTheOSDoesNotSaveIsNotUsable() {
        // YMM saved, ZMM not (an OS or hypervisor without AVX-512 state): the AVX-512 bits do not count.
        let noZMM = CPUFeatures(cpuid: zen4Registers, xcr0: 0x7)
        XCTAssertEqual(noZMM.bestTier, .avx2)
        XCTAssertFalse(noZMM.has(.avx512f))
        XCTAssertFalse(noZMM.has(.avx512_bf16))
        // No XSAVE at all: SSE only.
        XCTAssertEqual(CPUFeatures(cpuid: zen4Registers, xcr0: 0).bestTier, .sse)
    }

    func testNoCPUIDMeansNoFeatures() {
        let cpu = CPUFeatures(cpuid: { _, _ in nil }, xcr0: 0)
        XCTAssertEqual(cpu.vendor, "")
        XCTAssertTrue(cpu.features.isEmpty)
        XCTAssertEqual(cpu.bestTier, .sse)
    }

    func testTiers() {
        XCTAssertEqual(sapphireRapids.bestTier, .avx512)
        XCTAssertEqual(zen3.bestTier, .avx2)
        // Xeon Phi: AVX-512 F/CD without BW/VL is not the tier SkylakeX kernels need.
        let phi = CPUFeatures(vendor: "GenuineIntel", features: [.avx, .fma, .avx2, .avx512f, .avx512cd])
        XCTAssertEqual(phi.bestTier, .avx2)
        XCTAssertEqual(CPUFeatures(vendor: "GenuineIntel", features: [.avx]).bestTier, .avx)
        XCTAssertEqual(OpenBLASCore.tier(of: "Prescott"), .sse)
        XCTAssertEqual(OpenBLASCore.tier(of: "ZEN"), .avx2)
        XCTAssertEqual(OpenBLASCore.tier(of: "cooperlake"), .avx512)
        XCTAssertNil(OpenBLASCore.tier(of: "Zen7"))
        XCTAssertEqual(OpenBLASCore.preferred(for: sapphireRapids), "Cooperlake")
        XCTAssertEqual(OpenBLASCore.preferred(for: skylakeSP), "SkylakeX")
        XCTAssertEqual(OpenBLASCore.preferred(for: zen3), "Haswell")
    }

    // MARK: the decision

    func decide(_ cpu: CPUFeatures, _ core: String, _ environment: [String: String] = [:]) -> BLASKernelChoice {
        BLASKernelChoice.decide(cpu: cpu, core: core, config: dynamic, environment: environment)
    }

    func testMisdetectedXeonIsReexecutedWithCooperlake() {
        // Debian's 0.3.21 on an AMX Xeon: "Prescott", 4.2x slower than its AVX-512 kernels.
        let c = BLASKernelChoice.decide(cpu: sapphireRapids, core: "Prescott", config: dynamic, environment: [:])
        XCTAssertEqual(c.action, .reexecute(core: "Cooperlake"))
        XCTAssertEqual(c.source, .openBLAS)
        XCTAssertEqual(decide(skylakeSP, "Haswell").action, .reexecute(core: "SkylakeX"))
        XCTAssertEqual(decide(zen3, "Prescott").action, .reexecute(core: "Haswell"))
    }

    func testCorrectDetectionIsKept() {
        for (cpu, core) in [
            (zen4, "Cooperlake"), (skylakeSP, "SkylakeX"), (sapphireRapids, "SapphireRapids"),
            (sapphireRapids, "SkylakeX"), (zen3, "Zen"), (zen3, "Haswell"),
        ] {
            let c = BLASKernelChoice.decide(cpu: cpu, core: core, config: dynamic, environment: [:])
            XCTAssertEqual(c, BLASKernelChoice(action: .keep, source: .openBLAS), "\(core)")
            XCTAssertNil(BLASKernelChoice.mismatch(cpu: cpu, core: core, environment: [:]), core)
        }
    }

    func testEnvironmentValueIsNeverOverridden() {
        // A site that pins Haswell on an AVX-512 CPU on purpose: kept, reported, and what must run.
        let env = ["OPENBLAS_CORETYPE": "Haswell"]
        let c = BLASKernelChoice.decide(cpu: zen4, core: "Haswell", config: dynamic, environment: env)
        XCTAssertEqual(c, BLASKernelChoice(action: .keep, source: .environment("Haswell")))
        XCTAssertNil(BLASKernelChoice.mismatch(cpu: zen4, core: "Haswell", environment: env))
        // Even a slow value is the user's: respected, never re-executed.
        let slow = BLASKernelChoice.decide(
            cpu: sapphireRapids, core: "Prescott", config: dynamic,
            environment: ["OPENBLAS_CORETYPE": "prescott"])
        XCTAssertEqual(slow, BLASKernelChoice(action: .keep, source: .environment("prescott")))
        // A value OpenBLAS does not know (it then detects by itself): kept and reported; the check fails because
        // what the user asked for is not what runs.
        let bogus = BLASKernelChoice.decide(
            cpu: zen4, core: "Cooperlake", config: dynamic,
            environment: ["OPENBLAS_CORETYPE": "Zen9"])
        XCTAssertEqual(bogus.action, .keep)
        XCTAssertEqual(bogus.source, .environment("Zen9"))
        XCTAssertNotNil(bogus.note)
        XCTAssertNotNil(
            BLASKernelChoice.mismatch(
                cpu: zen4, core: "Cooperlake",
                environment: ["OPENBLAS_CORETYPE": "Zen9"]))
        // Empty is no value: OpenBLAS ignores it, so the CPU decides.
        XCTAssertEqual(decide(zen3, "Prescott", ["OPENBLAS_CORETYPE": ""]).action, .reexecute(core: "Haswell"))
    }

    func testReexecutedProcessKeepsItsChoiceAndNeverLoops() {
        let env = ["OPENBLAS_CORETYPE": "Cooperlake", "CXR_EDIT_OPENBLAS_CORETYPE": "Cooperlake,Prescott"]
        let c = BLASKernelChoice.decide(cpu: sapphireRapids, core: "Cooperlake", config: dynamic, environment: env)
        XCTAssertEqual(c, BLASKernelChoice(action: .keep, source: .selected("Cooperlake", detected: "Prescott")))
        XCTAssertTrue(c.describe(core: "Cooperlake").contains("chosen by cxr-edit (OpenBLAS detected Prescott)"))
        XCTAssertNil(BLASKernelChoice.mismatch(cpu: sapphireRapids, core: "Cooperlake", environment: env))
        // An OpenBLAS that ignored our value: still no second re-execution, and the check names the problem.
        let ignored = BLASKernelChoice.decide(cpu: sapphireRapids, core: "Prescott", config: dynamic, environment: env)
        XCTAssertEqual(ignored.action, .keep)
        XCTAssertNotNil(ignored.note)
        XCTAssertNotNil(BLASKernelChoice.mismatch(cpu: sapphireRapids, core: "Prescott", environment: env))
        // The marker without the variable (something cleared it): no loop either.
        let lost = BLASKernelChoice.decide(
            cpu: sapphireRapids, core: "Prescott", config: dynamic,
            environment: ["CXR_EDIT_OPENBLAS_CORETYPE": "Cooperlake,Prescott"])
        XCTAssertEqual(lost.action, .keep)
        // A user value that happens to differ from a stale marker is the user's.
        let user = BLASKernelChoice.decide(
            cpu: zen4, core: "Haswell", config: dynamic,
            environment: [
                "OPENBLAS_CORETYPE": "Haswell",
                "CXR_EDIT_OPENBLAS_CORETYPE": "Cooperlake,Prescott",
            ])
        XCTAssertEqual(user.source, .environment("Haswell"))
    }

    func testFixedTargetBuildAndUnknownCoresAreLeftAlone() {
        let fixed = BLASKernelChoice.decide(
            cpu: zen4, core: "Haswell",
            config: "OpenBLAS 0.3.21 NO_LAPACKE Haswell MAX_THREADS=64",
            environment: [:])
        XCTAssertEqual(fixed.action, .keep)
        XCTAssertNotNil(fixed.note)
        XCTAssertNotNil(
            BLASKernelChoice.mismatch(cpu: zen4, core: "Haswell", environment: [:]),
            "a fixed AVX2 build on an AVX-512 CPU is still the wrong kernel for the check")
        let future = BLASKernelChoice.decide(cpu: zen4, core: "Zen5", config: dynamic, environment: [:])
        XCTAssertEqual(future.action, .keep)
        // An SSE-only CPU has nothing better to ask for.
        let old = CPUFeatures(vendor: "GenuineIntel", features: [.sse3])
        XCTAssertEqual(decide(old, "Prescott").action, .keep)
        XCTAssertNil(BLASKernelChoice.mismatch(cpu: old, core: "Prescott", environment: [:]))
    }

    func testMismatchCatchesAnSSE3KernelOnAnAVX512CPU() {
        XCTAssertNotNil(BLASKernelChoice.mismatch(cpu: sapphireRapids, core: "Prescott", environment: [:]))
        XCTAssertNotNil(BLASKernelChoice.mismatch(cpu: zen4, core: "Haswell", environment: [:]))
        XCTAssertNotNil(BLASKernelChoice.mismatch(cpu: zen3, core: "Prescott", environment: [:]))
    }

    // MARK: this process

    /// The OpenBLAS kernels this test process runs give correct products on odd shapes, transposes, padded
    /// strides, alpha/beta and k = 0. (The cxr-edit binary's kernels, after its own selection, are checked by
    /// CLITests' KernelSelectionCLITests.)
    func testLoadedSGEMMMatchesReference() {
        XCTAssertEqual(GEMMCheck.run(), [], "core \(OpenBLASLibrary.coreName)")
        XCTAssertGreaterThanOrEqual(GEMMCheck.cases.count, 30)
    }

    func testTheCheckCatchesWrongProducts() {
        // The reference must be able to fail: a kernel that drops the last term of each dot product, one that
        // ignores beta, and one that writes into the row padding.
        func broken(_ kind: Int) -> GEMMCheck.Multiply {
            return { c, a, lda, b, ldb, out, ldc in
                for i in 0..<c.m {
                    for j in 0..<(kind == 2 ? ldc : c.n) {
                        var sum: Float = 0
                        for p in 0..<(kind == 0 ? max(0, c.k - 1) : c.k) where j < c.n {
                            sum +=
                                (c.transA ? a[p * lda + i] : a[i * lda + p])
                                * (c.transB ? b[j * ldb + p] : b[p * ldb + j])
                        }
                        out[i * ldc + j] = c.alpha * sum + (kind == 1 || c.beta == 0 ? 0 : c.beta * out[i * ldc + j])
                    }
                }
            }
        }
        let cases = GEMMCheck.cases.filter { $0.k > 1 && $0.m * $0.n * $0.k < 100_000 }
        XCTAssertEqual(GEMMCheck.run(cases, multiply: broken(3)), [], "the plain loop is a correct GEMM")
        XCTAssertEqual(GEMMCheck.run(cases, multiply: broken(0)).count, cases.count, "dropped term")
        XCTAssertEqual(
            GEMMCheck.run(cases, multiply: broken(1)).count, cases.filter { $0.beta != 0 }.count,
            "beta ignored")
        XCTAssertEqual(GEMMCheck.run(cases, multiply: broken(2)).count, cases.count, "padding overwritten")
        XCTAssertFalse(OpenBLASLibrary.coreName.isEmpty)
        XCTAssertTrue(OpenBLASLibrary.config.hasPrefix("OpenBLAS"), OpenBLASLibrary.config)
    }
}
