import Foundation

/// The instruction set of the kernels oneDNN runs for every fp32 GEMM, and whether it is the right one here.
///
/// oneDNN generates its kernels when first used, for the best instruction set it detects, up to a limit the
/// environment may set in `ONEDNN_MAX_CPU_ISA` (or the older `DNNL_MAX_CPU_ISA`; oneDNN reads the former first).
/// cxr-edit never sets or overrides that limit: a site may lower it on purpose (reproducible numbers across a
/// mixed fleet, a CPU whose AVX-512 clocks down). A 4x slower kernel reaching users unnoticed is what `mismatch`
/// catches: pure (CPU features, oneDNN's answer and the environment in), so every case is tested without the
/// hardware.
public struct GEMMKernel: Equatable, Sendable {
    /// The instruction set oneDNN runs, as it names it ("avx512_core_bf16"; `OneDNN.effectiveISA`).
    public var isa: String
    /// The limit the environment set, if any.
    public var limit: Limit?

    /// An `ONEDNN_MAX_CPU_ISA` (or `DNNL_MAX_CPU_ISA`) value and the variable that set it.
    public struct Limit: Equatable, Sendable {
        public var variable: String
        public var value: String
    }

    /// The variables oneDNN reads its limit from, in the order it reads them (the first one set wins).
    public static let limitVariables = ["ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA"]

    /// oneDNN 2.x's instruction sets (`dnnl_cpu_isa_t`, lower-cased as its variable accepts them) and the fp32 GEMM
    /// tier of each: the VNNI, BF16 and AMX sets add integer and bf16 instructions only, so their sgemm is the
    /// AVX-512 (or AVX2) one. Xeon Phi's AVX-512 (avx512_mic) lacks BW/VL, which `CPUFeatures.bestTier` counts as
    /// the AVX2 tier, so it is that tier here too.
    static let tiers: [String: InstructionTier] = [
        "sse41": .sse, "avx": .avx, "avx2": .avx2, "avx2_vnni": .avx2, "avx512_mic": .avx2,
        "avx512_mic_4ops": .avx2, "avx512_core": .avx512, "avx512_core_vnni": .avx512,
        "avx512_core_bf16": .avx512, "avx512_core_amx": .avx512,
    ]

    /// The tier of an instruction set's sgemm, or nil for a name this table does not know (a newer oneDNN).
    public static func tier(of isa: String) -> InstructionTier? { tiers[isa.lowercased()] }

    /// The kernel for oneDNN's instruction set `isa` under `environment` (the process's, for this run).
    public init(isa: String, environment: [String: String]) {
        self.isa = isa
        let set = Self.limitVariables.first { environment[$0].map { !$0.isEmpty } ?? false }
        limit = set.map { Limit(variable: $0, value: environment[$0]!) }
    }

    /// What this process runs.
    public static var current: GEMMKernel {
        GEMMKernel(isa: OneDNN.effectiveISA, environment: ProcessInfo.processInfo.environment)
    }

    /// Why the kernel is wrong for this CPU, or nil when it is right: under a limit the environment set, the
    /// tier of that limit (or the CPU's best, if lower); otherwise the CPU's best tier.
    public func mismatch(cpu: CPUFeatures) -> String? {
        guard let tier = Self.tier(of: isa) else {
            return "oneDNN's instruction set \(isa) is unknown to GEMMKernel's table (add it with its sgemm tier)"
        }
        if let limit, limit.value.lowercased() != "all" {
            guard let limitTier = Self.tier(of: limit.value) else {
                return "\(limit.variable)=\(limit.value) is not an instruction set oneDNN knows; it runs \(isa)"
            }
            let want = min(limitTier, cpu.bestTier)
            return tier == want ? nil : "\(limit.variable)=\(limit.value) is set but oneDNN runs \(isa) (\(tier))"
        }
        return tier == cpu.bestTier
            ? nil : "oneDNN runs \(isa) (\(tier) kernels) on a CPU whose best is \(cpu.bestTier) (\(cpu.featureList))"
    }

    /// "isa avx512_core_bf16 (avx512), detected by oneDNN" or "... from ONEDNN_MAX_CPU_ISA=AVX2 set in the
    /// environment (respected)": for `--version`, `info` and `bench`.
    public var description: String {
        let tier = Self.tier(of: isa).map { " (\($0))" } ?? ""
        let source = limit.map { "from \($0.variable)=\($0.value) set in the environment (respected)" }
        return "isa \(isa)\(tier), \(source ?? "detected by oneDNN")"
    }
}
