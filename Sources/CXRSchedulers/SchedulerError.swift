/// Errors from reading a scheduler configuration or driving a scheduler.
///
/// Each `description` is one line naming the file (or setting) and the problem, so the CLI can print it as is.
public enum SchedulerError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The scheduler_config.json could not be parsed (file, reason).
    case invalidConfig(String, String)
    /// A setting has a value this implementation does not support (key, value).
    case unsupportedSetting(String, String)
    /// The checkpoint asks for a scheduler class that is not implemented.
    case unsupportedClass(String)
    /// The scheduler was used out of order (e.g. `step` before `setTimesteps`), or with an unknown timestep.
    case invalidUse(String)

    public var description: String {
        switch self {
        case let .invalidConfig(file, reason):
            return "\(file): invalid scheduler config: \(reason)"
        case let .unsupportedSetting(key, value):
            return "scheduler_config.json: unsupported setting \(key) = \(value)"
        case let .unsupportedClass(name):
            let supported = SchedulerKind.allCases.map(\.className).joined(separator: ", ")
            return "scheduler_config.json: unsupported scheduler class \(name) (supported: \(supported))"
        case let .invalidUse(reason):
            return "scheduler: \(reason)"
        }
    }
}
