import XCTest
@testable import CXRTensor

/// CPU feature decoding and the check of oneDNN's GEMM kernels, on the machines cxr-edit has met and on cases no
/// machine here can show (a lower instruction set than the CPU's best, a user's ONEDNN_MAX_CPU_ISA).
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

    /// Zen 5 (family 26 = 0xF + extended 0xB): AVX-512 with BF16, no AMX. oneDNN 2.6.3 runs avx512_core_bf16 there
    /// (checked on the machine), the AVX-512 tier; its AVX2 kernels, which a machine may pin, are respected.
    func testZen5() {
        let cpu = CPUFeatures(cpuid: zen5Registers, xcr0: 0xE7)
        XCTAssertEqual([cpu.family, cpu.model], [26, 2])
        XCTAssertEqual(cpu.features, avx512.union([.avx512_bf16]))
        XCTAssertEqual(cpu.bestTier, .avx512)
        XCTAssertNil(kernel("avx512_core_bf16").mismatch(cpu: cpu))
        XCTAssertNotNil(kernel("avx2").mismatch(cpu: cpu), "AVX2 kernels on AVX-512, nobody asked for them")
        let pinned = ["ONEDNN_MAX_CPU_ISA": "AVX2"]
        XCTAssertNil(kernel("avx2", pinned).mismatch(cpu: cpu))
        XCTAssertNotNil(kernel("avx512_core_bf16", pinned).mismatch(cpu: cpu), "the limit was not applied")
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
        // Xeon Phi: AVX-512 F/CD without BW/VL is not the tier of oneDNN's avx512_core kernels.
        let phi = CPUFeatures(vendor: "GenuineIntel", features: [.avx, .fma, .avx2, .avx512f, .avx512cd])
        XCTAssertEqual(phi.bestTier, .avx2)
        XCTAssertEqual(CPUFeatures(vendor: "GenuineIntel", features: [.avx]).bestTier, .avx)
        XCTAssertEqual(GEMMKernel.tier(of: "sse41"), .sse)
        XCTAssertEqual(GEMMKernel.tier(of: "AVX2"), .avx2, "oneDNN's variable takes upper case")
        XCTAssertEqual(GEMMKernel.tier(of: "avx2_vnni"), .avx2)
        XCTAssertEqual(GEMMKernel.tier(of: "avx512_mic"), .avx2)
        XCTAssertEqual(GEMMKernel.tier(of: "avx512_core_amx"), .avx512)
        XCTAssertNil(GEMMKernel.tier(of: "avx10_2"))
    }

    // MARK: the kernels oneDNN runs

    func kernel(_ isa: String, _ environment: [String: String] = [:]) -> GEMMKernel {
        GEMMKernel(isa: isa, environment: environment)
    }

    func testBestTierIsRightAndAnythingLowerIsCaught() {
        for (cpu, isa) in [
            (zen4, "avx512_core_bf16"), (skylakeSP, "avx512_core"), (sapphireRapids, "avx512_core_amx"),
            (zen3, "avx2"),
        ] {
            XCTAssertNil(kernel(isa).mismatch(cpu: cpu), isa)
            XCTAssertEqual(kernel(isa).description, "isa \(isa) (\(GEMMKernel.tier(of: isa)!)), detected by oneDNN")
        }
        XCTAssertNotNil(kernel("sse41").mismatch(cpu: sapphireRapids))
        XCTAssertNotNil(kernel("avx2").mismatch(cpu: zen4))
        XCTAssertNotNil(kernel("avx").mismatch(cpu: zen3))
        XCTAssertNotNil(kernel("avx512_core").mismatch(cpu: zen3), "a tier the CPU cannot run is not right either")
        XCTAssertNotNil(kernel("avx10_2").mismatch(cpu: zen4), "a name the table does not know is reported")
        // An SSE-only CPU: oneDNN's SSE4.1 kernels are the best there is.
        XCTAssertNil(kernel("sse41").mismatch(cpu: CPUFeatures(vendor: "GenuineIntel", features: [.sse3])))
    }

    func testEnvironmentLimitIsNeverOverriddenAndMustBeWhatRuns() {
        // A site that limits oneDNN to AVX2 on an AVX-512 CPU on purpose: reported, and what must run.
        let avx2 = kernel("avx2", ["ONEDNN_MAX_CPU_ISA": "AVX2"])
        XCTAssertEqual(avx2.limit, GEMMKernel.Limit(variable: "ONEDNN_MAX_CPU_ISA", value: "AVX2"))
        XCTAssertNil(avx2.mismatch(cpu: zen4))
        XCTAssertEqual(
            avx2.description, "isa avx2 (avx2), from ONEDNN_MAX_CPU_ISA=AVX2 set in the environment (respected)")
        XCTAssertNotNil(kernel("avx512_core", ["ONEDNN_MAX_CPU_ISA": "AVX2"]).mismatch(cpu: zen4))
        XCTAssertNotNil(kernel("sse41", ["ONEDNN_MAX_CPU_ISA": "AVX2"]).mismatch(cpu: zen4))
        // The older name, in lower case (oneDNN takes either); the new name wins where both are set, as in oneDNN.
        XCTAssertNil(kernel("avx", ["DNNL_MAX_CPU_ISA": "avx"]).mismatch(cpu: zen4))
        let both = kernel("avx2", ["ONEDNN_MAX_CPU_ISA": "AVX2", "DNNL_MAX_CPU_ISA": "SSE41"])
        XCTAssertEqual(both.limit?.variable, "ONEDNN_MAX_CPU_ISA")
        XCTAssertNil(both.mismatch(cpu: zen4))
        // A limit above the CPU: its best runs. ALL is no limit. Empty is unset.
        XCTAssertNil(kernel("avx2", ["ONEDNN_MAX_CPU_ISA": "AVX512_CORE_AMX"]).mismatch(cpu: zen3))
        XCTAssertNil(kernel("avx512_core_bf16", ["ONEDNN_MAX_CPU_ISA": "ALL"]).mismatch(cpu: zen4))
        XCTAssertNotNil(kernel("avx2", ["ONEDNN_MAX_CPU_ISA": "ALL"]).mismatch(cpu: zen4))
        XCTAssertNil(kernel("avx512_core_bf16", ["ONEDNN_MAX_CPU_ISA": ""]).limit)
        // A value oneDNN does not know (it then ignores it): reported, and the check fails because what the
        // environment asked for is not what runs.
        let bogus = kernel("avx512_core_bf16", ["ONEDNN_MAX_CPU_ISA": "AVX9"])
        XCTAssertEqual(bogus.limit?.value, "AVX9")
        XCTAssertNotNil(bogus.mismatch(cpu: zen4))
        // OpenBLAS's variable is no limit of oneDNN's.
        XCTAssertNil(kernel("avx512_core_bf16", ["OPENBLAS_CORETYPE": "Haswell"]).limit)
        XCTAssertNil(kernel("avx512_core_bf16", ["OPENBLAS_CORETYPE": "Haswell"]).mismatch(cpu: zen4))
    }

    // MARK: this process

    /// The oneDNN kernels this test process runs give correct products on odd shapes, transposes, padded strides,
    /// alpha/beta and k = 0, and are the right ones for this CPU and environment. (The cxr-edit binary's kernels
    /// are checked by CLITests' KernelSelectionCLITests, with limits set.)
    func testLoadedSGEMMMatchesReference() {
        XCTAssertEqual(GEMMCheck.run(), [], "isa \(OneDNN.effectiveISA)")
        XCTAssertGreaterThanOrEqual(GEMMCheck.cases.count, 30)
        XCTAssertNil(GEMMKernel.current.mismatch(cpu: .current))
        XCTAssertTrue(OneDNN.version.hasPrefix("2.") || OneDNN.version.hasPrefix("3."), OneDNN.version)
    }

    /// Every sgemm runs on its calling thread alone (our threads split the GEMMs): oneDNN's OpenMP is limited to one
    /// thread on each thread that multiplies, and no OpenMP worker thread appears while large products run on two
    /// threads at once. Without the limit, libgomp starts a worker per extra core on the first product of this size
    /// (checked with the same product in C).
    func testSGEMMRunsOnTheCallingThreadOnly() throws {
        #if !os(Linux)
            throw XCTSkip("counts threads in /proc/self/task")
        #endif
        guard OneDNN.runtime == "OpenMP" else { throw XCTSkip("oneDNN built with the \(OneDNN.runtime) runtime") }
        func threads() -> Int { (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task"))?.count ?? 0 }
        let n = 512
        let a = [Float](repeating: 0.5, count: n * n)
        let multiply: @Sendable () -> [Float] = {
            var c = [Float](repeating: 0, count: n * n)
            c.withUnsafeMutableBufferPointer { cp in
                sgemm(m: n, n: n, k: n, a: a, lda: n, b: a, ldb: n, c: cp.baseAddress!, ldc: n)
            }
            return c
        }
        /// What the two threads saw: their OpenMP thread count after multiplying, and their products.
        final class Seen: @unchecked Sendable {
            let lock = NSLock()
            var openMPThreads = [Int?]()
            var products = [[Float]]()
        }
        let seen = Seen()
        let before = threads()
        XCTAssertGreaterThan(before, 0)
        let workers = (0..<2).map { _ in
            Thread {
                let c = multiply()
                seen.lock.withLock {
                    seen.openMPThreads.append(OneDNN.openMPThreadsOfThisThread)
                    seen.products.append(c)
                }
            }
        }
        workers.forEach { $0.start() }
        let c = multiply()
        let during = threads()
        while seen.lock.withLock({ seen.products.count }) < 2 { usleep(1000) }
        XCTAssertEqual(OneDNN.openMPThreadsOfThisThread, 1)
        XCTAssertEqual(seen.openMPThreads, [1, 1])
        XCTAssertLessThanOrEqual(during, before + 2, "only the two threads this test started")
        XCTAssertEqual(c[0], 0.25 * Float(n))
        XCTAssertEqual(seen.products, [c, c])
        usleep(50_000)
        XCTAssertLessThanOrEqual(threads(), before, "no OpenMP worker left behind")
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
    }
}
