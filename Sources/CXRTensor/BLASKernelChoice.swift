/// Which OpenBLAS kernel set should run on this CPU, and whether the process must restart to get it.
///
/// OpenBLAS picks its kernels once, when it loads, and some builds pick badly: Debian's 0.3.21 does not know new
/// Intel Xeons (AVX-512, AMX) and falls back to "Prescott" (SSE3), 4x slower. It reads `OPENBLAS_CORETYPE` only at
/// load time, so the remedy is to execute the program again with the variable set. A value the user or the
/// machine set is never replaced: some sites set it on purpose because an older OpenBLAS is wrong on their CPU.
///
/// `decide` is pure (CPU features, OpenBLAS's answer and the environment in; a decision out) so every case is
/// tested without the hardware; the executable applies it (`cxr-edit`'s KernelSelection).
public struct BLASKernelChoice: Equatable, Sendable {
    /// Who chose the kernel set that runs.
    public enum Source: Equatable, Sendable {
        /// OpenBLAS's own detection, kept because it is right (or cannot be improved).
        case openBLAS
        /// `OPENBLAS_CORETYPE` as the environment set it: respected, never overridden.
        case environment(String)
        /// `OPENBLAS_CORETYPE` set by cxr-edit before re-executing itself, replacing OpenBLAS's `detected` core.
        case selected(String, detected: String)
    }

    public enum Action: Equatable, Sendable {
        case keep
        /// Execute the program again with `OPENBLAS_CORETYPE` = the core and `markerVariable` set.
        case reexecute(core: String)
    }

    public var action: Action
    public var source: Source
    /// Why, when it is not simply "OpenBLAS detected this CPU correctly".
    public var note: String?

    public static let coreTypeVariable = "OPENBLAS_CORETYPE"
    /// Set together with `OPENBLAS_CORETYPE` on the re-execution as "<chosen>,<detected>": it tells the new process
    /// that cxr-edit (not the user) chose the value, and guards against a second re-execution.
    public static let markerVariable = "CXR_EDIT_OPENBLAS_CORETYPE"

    public init(action: Action, source: Source, note: String? = nil) {
        self.action = action
        self.source = source
        self.note = note
    }

    /// The decision for a CPU, the core OpenBLAS runs (`openblas_get_corename`), its build configuration
    /// (`openblas_get_config`) and the process environment.
    public static func decide(
        cpu: CPUFeatures, core: String, config: String,
        environment: [String: String]
    ) -> BLASKernelChoice {
        let set = environment[coreTypeVariable].flatMap { $0.isEmpty ? nil : $0 }
        let marker = environment[markerVariable].map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        if let set {
            if let marker, marker.count == 2, marker[0] == set {
                let ignored =
                    core.lowercased() == set.lowercased()
                    ? nil
                    : "OpenBLAS did not take \(coreTypeVariable)=\(set) and runs \(core)"
                return BLASKernelChoice(
                    action: .keep, source: .selected(set, detected: String(marker[1])),
                    note: ignored)
            }
            let ignored =
                core.lowercased() == set.lowercased()
                ? nil
                : "OpenBLAS does not know \(coreTypeVariable)=\(set) and runs \(core)"
            return BLASKernelChoice(action: .keep, source: .environment(set), note: ignored)
        }
        if marker != nil {
            // We re-executed already and the variable did not survive (something cleared it): never loop.
            return BLASKernelChoice(
                action: .keep, source: .openBLAS,
                note: "\(coreTypeVariable) was lost after re-executing; keeping \(core)")
        }
        guard let want = OpenBLASCore.preferred(for: cpu) else {
            return BLASKernelChoice(action: .keep, source: .openBLAS)
        }
        guard let tier = OpenBLASCore.tier(of: core) else {
            // A core name newer than our table: OpenBLAS knows this CPU better than we do.
            return BLASKernelChoice(action: .keep, source: .openBLAS, note: "core \(core) is not in cxr-edit's table")
        }
        if tier >= cpu.bestTier { return BLASKernelChoice(action: .keep, source: .openBLAS) }
        guard config.split(separator: " ").contains("DYNAMIC_ARCH") else {
            return BLASKernelChoice(
                action: .keep, source: .openBLAS,
                note: "this OpenBLAS is built for \(core) only (no DYNAMIC_ARCH); "
                    + "a build for this CPU would run \(cpu.bestTier) kernels")
        }
        return BLASKernelChoice(
            action: .reexecute(core: want), source: .openBLAS,
            note: "OpenBLAS picked \(core) (\(tier)) on a CPU with \(cpu.bestTier)")
    }

    /// Why the kernel set in use is wrong for this machine, or nil when it is right: the value the environment
    /// set must be what runs; otherwise the core's tier must be the CPU's best. `environment` is the one the
    /// program was started with (before any re-execution of its own).
    public static func mismatch(cpu: CPUFeatures, core: String, environment: [String: String]) -> String? {
        if let set = environment[coreTypeVariable], !set.isEmpty, environment[markerVariable] == nil {
            return core.lowercased() == set.lowercased()
                ? nil
                : "\(coreTypeVariable)=\(set) is set but OpenBLAS runs \(core)"
        }
        guard let tier = OpenBLASCore.tier(of: core) else {
            return "OpenBLAS core \(core) is unknown to OpenBLASCore's table (add it with its SGEMM tier)"
        }
        return tier == cpu.bestTier
            ? nil
            : "OpenBLAS runs \(core) (\(tier) kernels) on a CPU whose best is \(cpu.bestTier) (\(cpu.featureList))"
    }

    /// One line for `--version`, `info` and `bench`.
    public func describe(core: String) -> String {
        let tier = OpenBLASCore.tier(of: core).map { " (\($0))" } ?? ""
        var s = "core \(core)\(tier), "
        switch source {
        case .openBLAS: s += "detected by OpenBLAS"
        case .environment(let v): s += "from \(Self.coreTypeVariable)=\(v) set in the environment (respected)"
        case .selected(_, let detected): s += "chosen by cxr-edit (OpenBLAS detected \(detected))"
        }
        if case .reexecute(let want) = action { s += "; \(want) would be better" }
        if let note { s += "; \(note)" }
        return s
    }
}
