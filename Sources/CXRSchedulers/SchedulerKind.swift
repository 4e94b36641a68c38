/// The schedulers cxr-edit implements, by their command-line names: the one registration a new scheduler adds.
///
/// Adding a scheduler means its own file (a `RegisteredScheduler`) plus a case here and its line in
/// `implementation`; the CLI's `--scheduler`, the run specs' `scheduler:` and the `_class_name` lookup all read
/// this list, so no other list of names exists to keep in step.
public enum SchedulerKind: String, CaseIterable, Sendable {
    case ddim
    case pndm
    case euler
    case eulerAncestral = "euler-a"
    case dpmpp2m = "dpm++2m"
    case lms

    /// The type that implements this kind.
    public var implementation: any RegisteredScheduler.Type {
        switch self {
        case .ddim: return DDIMScheduler.self
        case .pndm: return PNDMScheduler.self
        case .euler: return EulerDiscreteScheduler.self
        case .eulerAncestral: return EulerAncestralDiscreteScheduler.self
        case .dpmpp2m: return DPMSolverMultistepScheduler.self
        case .lms: return LMSDiscreteScheduler.self
        }
    }

    /// The diffusers class name (`_class_name` in scheduler_config.json).
    public var className: String { implementation.className }

    /// Every name this kind is chosen by, lowercase: the command-line name first, then the aliases.
    public var names: [String] { [rawValue] + implementation.aliases }

    /// The kind for a diffusers class name, or nil when it is not implemented.
    public init?(className: String) {
        guard let k = SchedulerKind.allCases.first(where: { $0.className == className }) else { return nil }
        self = k
    }

    /// The kind for a name as a user writes it (any case, command-line name or alias), or nil when none has it.
    public init?(name: String) {
        let lowered = name.lowercased()
        guard let k = SchedulerKind.allCases.first(where: { $0.names.contains(lowered) }) else { return nil }
        self = k
    }

    /// "ddim, pndm, ...": the command-line names, for help texts and errors.
    public static var nameList: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

/// Builds a scheduler as diffusers' `Kind.from_config(config)` would: settings present in `config` win, the
/// others take the chosen class's own defaults. `kind` nil means the checkpoint's own class (`_class_name`).
/// `eta` is DDIM's noise weight (the pipeline's `eta`, 0 = deterministic); other schedulers ignore it.
public func makeScheduler(kind: SchedulerKind?, config: SchedulerConfig, eta: Double = 0) throws -> any Scheduler {
    let chosen: SchedulerKind
    if let kind {
        chosen = kind
    } else {
        guard let name = config.className else {
            throw SchedulerError.invalidConfig("scheduler_config.json", "no _class_name and no scheduler chosen")
        }
        guard let k = SchedulerKind(className: name) else { throw SchedulerError.unsupportedClass(name) }
        chosen = k
    }
    return try chosen.implementation.init(config: config, eta: eta)
}
