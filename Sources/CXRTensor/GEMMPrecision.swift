/// The arithmetic of a model's big GEMMs: float32 throughout, or bfloat16 operands with float32 accumulation.
///
/// Why bf16: on CPUs with AVX512-BF16 (or AMX) one VDPBF16PS does twice the multiply-adds of an fp32 FMA and
/// moves half the bytes, at the cost of rounding each operand to 8 significant bits (the sums stay float32).
/// fp32 stays the default because the parity tests against diffusers are defined in it.
public enum GEMMPrecision: String, Sendable, CaseIterable {
    case fp32, bf16

    /// What a user may ask for: a precision, or `auto` (bf16 where the CPU has bf16 instructions, else fp32).
    public enum Request: String, Sendable, CaseIterable {
        case fp32, bf16, auto
    }

    /// Whether this process can run bf16 GEMMs (the kernel needs AVX512-BF16 with the OS saving ZMM state).
    public static var bf16Available: Bool { BFloat16GEMM.isSupported }

    /// The precision a request gives on a CPU, or nil when it asks for bf16 on a CPU without bf16 instructions
    /// (an emulation would be slower than fp32 and give no speed-up, only the rounding).
    /// AMX CPUs also have AVX512-BF16, which is what the kernel runs, so `auto` needs only that feature.
    public static func resolve(_ request: Request, bf16Available: Bool = bf16Available) -> GEMMPrecision? {
        switch request {
        case .fp32: return .fp32
        case .bf16: return bf16Available ? .bf16 : nil
        case .auto: return bf16Available ? .bf16 : .fp32
        }
    }
}
