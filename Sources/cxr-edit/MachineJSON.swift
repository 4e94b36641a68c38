import CXRTensor

/// The CPU and the GEMM kernels in use, as `info --json` and `bench --json` report them under `machine`.
struct MachineJSON: Encodable {
    /// The OpenBLAS core running the GEMMs and who chose it (`openblas`, `environment` or `cxr-edit`, which also
    /// names the core OpenBLAS `detected`).
    struct BLAS: Encodable {
        var core: String
        var config: String
        var source: String
        var detected: String?
    }

    var cpu: String
    var cpuVendor: String
    var cpuFamily: Int
    var cpuModel: Int
    var cpuFeatures: String
    var cpuBestTier: String
    var blas: BLAS
    var bf16GEMM: Bool

    /// This machine, with the kernels `KernelSelection` applied.
    static var current: MachineJSON {
        let cpu = CPUFeatures.current
        var blas = BLAS(core: OpenBLASLibrary.coreName, config: OpenBLASLibrary.config, source: "openblas")
        switch KernelSelection.choice.source {
        case .openBLAS: blas.source = "openblas"
        case .environment: blas.source = "environment"
        case .selected(_, let detected):
            blas.source = "cxr-edit"
            blas.detected = detected
        }
        return MachineJSON(
            cpu: cpu.brand, cpuVendor: cpu.vendor, cpuFamily: cpu.family, cpuModel: cpu.model,
            cpuFeatures: cpu.featureList, cpuBestTier: "\(cpu.bestTier)", blas: blas,
            bf16GEMM: BFloat16GEMM.isSupported)
    }

    enum CodingKeys: String, CodingKey {
        case cpu, cpuVendor = "cpu_vendor", cpuFamily = "cpu_family", cpuModel = "cpu_model"
        case cpuFeatures = "cpu_features", cpuBestTier = "cpu_best_tier", blas, bf16GEMM = "bf16_gemm"
    }
}
