/// OpenBLAS's kernel sets ("cores", the names `OPENBLAS_CORETYPE` takes and `openblas_get_corename` returns) and
/// the instruction set each one's SGEMM kernel is written for.
public enum OpenBLASCore {
    /// Lower-cased core name -> tier of its SGEMM kernel (OpenBLAS compares names case-insensitively). From
    /// OpenBLAS's driver/others/dynamic.c and kernel/x86_64/KERNEL.*: Zen runs the Haswell kernels; Excavator and
    /// Steamroller run Piledriver's AVX/FMA kernels; Cooperlake and SapphireRapids share SkylakeX's SGEMM and add
    /// bf16 kernels.
    static let tiers: [String: InstructionTier] = {
        var map = [String: InstructionTier]()
        for name in [
            "katmai", "coppermine", "northwood", "prescott", "banias", "atom", "core2", "penryn", "dunnington",
            "nehalem", "athlon", "opteron", "opteron_sse3", "barcelona", "nano", "bobcat",
        ] { map[name] = .sse }
        for name in ["sandybridge", "bulldozer", "piledriver", "steamroller", "excavator"] { map[name] = .avx }
        for name in ["haswell", "zen"] { map[name] = .avx2 }
        for name in ["skylakex", "cooperlake", "sapphirerapids"] { map[name] = .avx512 }
        return map
    }()

    /// The tier of a core's SGEMM kernel, or nil for a name this table does not know (a newer OpenBLAS).
    public static func tier(of core: String) -> InstructionTier? { tiers[core.lowercased()] }

    /// The core to ask for on this CPU: the oldest name that gives its best tier, so every OpenBLAS since 0.3.10
    /// knows it. Cooperlake where AVX512-BF16 exists (AMX CPUs have it too) so bf16 kernels are right as well.
    /// nil for an SSE-only CPU, where every kernel OpenBLAS could pick is of the same tier.
    public static func preferred(for cpu: CPUFeatures) -> String? {
        switch cpu.bestTier {
        case .avx512: return cpu.has(.avx512_bf16) ? "Cooperlake" : "SkylakeX"
        case .avx2: return "Haswell"
        case .avx: return "Sandybridge"
        case .sse: return nil
        }
    }
}
