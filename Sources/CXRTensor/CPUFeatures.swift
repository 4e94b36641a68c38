import Foundation
import CCPUID

/// What this processor can execute, read with CPUID and checked against the register state the operating system
/// saves: a feature whose registers the OS does not preserve (XCR0) is not usable and is left out.
public struct CPUFeatures: Equatable, Sendable {
    /// The instruction-set extensions cxr-edit cares about (names as Linux's /proc/cpuinfo spells them).
    public enum Feature: String, CaseIterable, Sendable {
        case sse3, ssse3, sse4_1, sse4_2, avx, fma, avx2
        case avx512f, avx512dq, avx512cd, avx512bw, avx512vl, avx512_bf16
        case amx_tile, amx_bf16, amx_int8
    }

    /// "GenuineIntel", "AuthenticAMD", or empty where CPUID is unavailable.
    public var vendor: String
    /// The marketing name (CPUID 0x80000002-4), e.g. "AMD EPYC 9R14 96-Core Processor".
    public var brand: String
    /// Display family and model (base + extended fields, as the Linux kernel computes them).
    public var family: Int
    public var model: Int
    public var features: Set<Feature>

    public init(vendor: String, brand: String = "", family: Int = 0, model: Int = 0, features: Set<Feature>) {
        self.vendor = vendor
        self.brand = brand
        self.family = family
        self.model = model
        self.features = features
    }

    /// Decodes the CPUID leaves. `cpuid(leaf, subleaf)` returns EAX, EBX, ECX, EDX, or nil for a leaf the CPU
    /// does not have; `xcr0` is the OS-enabled register state (0 without XSAVE). Pure, so tests can feed it the
    /// registers of CPUs they do not run on.
    public init(cpuid: (UInt32, UInt32) -> [UInt32]?, xcr0: UInt64) {
        var vendor = "", brand = "", family = 0, model = 0
        var found = Set<Feature>()
        if let l0 = cpuid(0, 0) {
            vendor = Self.ascii([l0[1], l0[3], l0[2]])
            let maxLeaf = l0[0]
            if maxLeaf >= 1, let l1 = cpuid(1, 0) {
                let baseFamily = Int(l1[0] >> 8 & 0xF), baseModel = Int(l1[0] >> 4 & 0xF)
                family = baseFamily == 0xF ? baseFamily + Int(l1[0] >> 20 & 0xFF) : baseFamily
                model = baseFamily == 0x6 || baseFamily == 0xF ? Int(l1[0] >> 16 & 0xF) << 4 | baseModel : baseModel
                let ecx = l1[2]
                let flags: [(UInt32, Feature)] = [
                    (0, .sse3), (9, .ssse3), (19, .sse4_1), (20, .sse4_2), (12, .fma),
                    (28, .avx),
                ]
                for (bit, f) in flags where ecx >> bit & 1 == 1 { found.insert(f) }
            }
            if maxLeaf >= 7, let l7 = cpuid(7, 0) {
                let ebx = l7[1], edx = l7[3]
                let flags: [(UInt32, Feature)] = [
                    (5, .avx2), (16, .avx512f), (17, .avx512dq), (28, .avx512cd),
                    (30, .avx512bw), (31, .avx512vl),
                ]
                for (bit, f) in flags where ebx >> bit & 1 == 1 { found.insert(f) }
                let amx: [(UInt32, Feature)] = [(24, .amx_tile), (22, .amx_bf16), (25, .amx_int8)]
                for (bit, f) in amx where edx >> bit & 1 == 1 { found.insert(f) }
                if l7[0] >= 1, let l71 = cpuid(7, 1), l71[0] >> 5 & 1 == 1 { found.insert(.avx512_bf16) }
            }
        }
        if let ext = cpuid(0x8000_0000, 0), ext[0] >= 0x8000_0004 {
            let regs = (UInt32(0x8000_0002)...0x8000_0004).flatMap { cpuid($0, 0) ?? [0, 0, 0, 0] }
            brand = Self.ascii(regs).trimmingCharacters(in: .whitespaces)
        }
        // The OS must save the YMM (bits 1-2), ZMM (5-7) and tile (17-18) state, or using them corrupts registers
        // across context switches: without that state the features are not usable here.
        if xcr0 & 0x6 != 0x6 { found.subtract([.avx, .fma, .avx2]) }
        if xcr0 & 0xE6 != 0xE6 { found.subtract([.avx512f, .avx512dq, .avx512cd, .avx512bw, .avx512vl, .avx512_bf16]) }
        if xcr0 & 0x6_0000 != 0x6_0000 { found.subtract([.amx_tile, .amx_bf16, .amx_int8]) }
        self.init(vendor: vendor, brand: brand, family: family, model: model, features: found)
    }

    /// This machine's processor.
    public static let current = CPUFeatures(
        cpuid: { leaf, subleaf in
            var regs: [UInt32] = [0, 0, 0, 0]
            return cxr_cpuid(leaf, subleaf, &regs) == 1 ? regs : nil
        }, xcr0: cxr_xgetbv0())

    public func has(_ f: Feature) -> Bool { features.contains(f) }

    /// The best tier an fp32 GEMM kernel can use here. AVX-512 needs the subsets oneDNN's avx512_core kernels
    /// assume (F, CD, DQ, BW, VL; Xeon Phi has F without BW/VL and is not that tier).
    public var bestTier: InstructionTier {
        if [.avx512f, .avx512cd, .avx512dq, .avx512bw, .avx512vl].allSatisfy(has) { return .avx512 }
        if has(.avx2) && has(.fma) { return .avx2 }
        if has(.avx) { return .avx }
        return .sse
    }

    /// The features present, in a fixed order, space-separated ("sse3 ... avx512_bf16").
    public var featureList: String {
        Feature.allCases.filter(has).map(\.rawValue).joined(separator: " ")
    }

    /// Register bytes in order, as CPUID returns strings (NULs dropped).
    private static func ascii(_ regs: [UInt32]) -> String {
        var bytes = [UInt8]()
        for r in regs { for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: r >> (8 * UInt32(i)))) } }
        return String(decoding: bytes.filter { $0 != 0 }, as: UTF8.self)
    }
}
