/// The x86 vector instruction sets that decide how fast an fp32 GEMM kernel can be, in increasing order.
///
/// Only what changes SGEMM speed is a tier: AVX512-BF16 and AMX matter to bf16 kernels, not to fp32 ones, so an
/// AVX-512 kernel is the best fp32 kernel on a Sapphire Rapids Xeon as on a Zen 4 EPYC.
public enum InstructionTier: Int, Comparable, Sendable, CustomStringConvertible {
    /// SSE2/SSE3 (every x86-64 CPU).
    case sse
    /// 256-bit AVX without AVX2 (Sandy Bridge, Bulldozer family).
    case avx
    /// AVX2 with FMA3 (Haswell, Zen 1-3).
    case avx2
    /// AVX-512 F/CD/DQ/BW/VL (Skylake-SP and later Xeons, Zen 4 and later).
    case avx512

    public static func < (a: InstructionTier, b: InstructionTier) -> Bool { a.rawValue < b.rawValue }

    public var description: String {
        switch self {
        case .sse: return "sse"
        case .avx: return "avx"
        case .avx2: return "avx2"
        case .avx512: return "avx512"
        }
    }
}
