/// Why a tokenizer could not be built. Every case names the file involved so that the CLI can print one line
/// (`description`) and exit, without a stack trace or a crash on malformed checkpoint files.
public enum TokenizerError: Error, CustomStringConvertible, Sendable, Equatable {
    /// A required file is absent or unreadable.
    case missingFile(path: String)
    /// A file exists but its content is not what a CLIP tokenizer needs.
    case invalidFile(path: String, reason: String)
    /// Arguments given in code (not from a file) are inconsistent.
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .missingFile(let path):
            return "\(path): tokenizer file missing or unreadable"
        case .invalidFile(let path, let reason):
            return "\(path): \(Self.oneLine(reason))"
        case .invalidArgument(let reason):
            return "tokenizer: \(Self.oneLine(reason))"
        }
    }

    /// Keeps messages on a single line even when they quote file content.
    static func oneLine(_ s: String) -> String {
        String(s.map { $0.isNewline ? " " : $0 })
    }
}
