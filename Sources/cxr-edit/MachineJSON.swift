import CXRTensor

/// The CPU and the GEMM kernels in use, as `info --json` and `bench --json` report them under `machine`.
struct MachineJSON: Encodable {
    /// The library running the fp32 GEMMs (oneDNN), the instruction set of its kernels (and that set's tier), and
    /// who chose it: `onednn` (its own detection) or `environment`, which then also names the `limit` variable and
    /// value.
    struct GEMM: Encodable {
        var library: String
        var isa: String
        var tier: String?
        var source: String
        var limit: String?
    }

    var cpu: String
    var cpuVendor: String
    var cpuFamily: Int
    var cpuModel: Int
    var cpuFeatures: String
    var cpuBestTier: String
    var gemm: GEMM
    var bf16GEMM: Bool

    /// This machine and the kernels it runs.
    static var current: MachineJSON {
        let cpu = CPUFeatures.current, kernel = GEMMKernel.current
        let gemm = GEMM(
            library: "oneDNN \(OneDNN.version)", isa: kernel.isa, tier: GEMMKernel.tier(of: kernel.isa).map { "\($0)" },
            source: kernel.limit == nil ? "onednn" : "environment",
            limit: kernel.limit.map { "\($0.variable)=\($0.value)" })
        return MachineJSON(
            cpu: cpu.brand, cpuVendor: cpu.vendor, cpuFamily: cpu.family, cpuModel: cpu.model,
            cpuFeatures: cpu.featureList, cpuBestTier: "\(cpu.bestTier)", gemm: gemm,
            bf16GEMM: BFloat16GEMM.isSupported)
    }

    enum CodingKeys: String, CodingKey {
        case cpu, cpuVendor = "cpu_vendor", cpuFamily = "cpu_family", cpuModel = "cpu_model"
        case cpuFeatures = "cpu_features", cpuBestTier = "cpu_best_tier", gemm, bf16GEMM = "bf16_gemm"
    }
}
