/// What is wrong with an input file: the error of the JSON reader and of the checkpoint layer (`CheckpointError`
/// there), one type so that a bad key in `unet/config.json` and a bad safetensors header are caught alike.
///
/// Every failure names the file it concerns so the CLI can print `description` as a single line and exit;
/// `kind` lets callers (and tests) tell a refused pickle from a malformed header without parsing text.
public struct InputFileError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Broad class of the failure.
    public enum Kind: String, Sendable {
        /// The file could not be opened, mapped or written.
        case io
        /// The bytes do not follow the format (bad header, truncated, inconsistent offsets, bad JSON).
        case malformed
        /// Valid format, but something this reader deliberately does not handle (dtype, compression, opcode).
        case unsupported
        /// A pickle asked for a global outside the allow-list; nothing was executed.
        case refused
        /// A resource limit (size, depth, count) was exceeded.
        case limit
        /// A requested tensor, key, component or file does not exist.
        case missing
    }

    public let kind: Kind
    /// The file (or folder/component) concerned, as a path.
    public let file: String
    /// What went wrong, without the file name.
    public let message: String

    public init(_ kind: Kind, file: String, _ message: String) {
        self.kind = kind
        self.file = file
        self.message = message
    }

    /// `FILE: message`, guaranteed to be one line (control characters replaced).
    public var description: String {
        let line = InputFileError.oneLine("\(file): \(message)")
        return line.count > InputFileError.maxLength ? String(line.prefix(InputFileError.maxLength)) + "…" : line
    }

    /// Longest message printed: a hostile file can make any echoed detail megabytes long.
    public static let maxLength = 1000

    /// Replaces line breaks and other control characters so hostile names cannot break the one-line contract.
    public static func oneLine(_ s: String) -> String {
        var out = String.UnicodeScalarView()
        for u in s.unicodeScalars {
            if u.value < 0x20 || u.value == 0x7F || u == "\u{2028}" || u == "\u{2029}" || u == "\u{85}" {
                out.append(" ")
            } else {
                out.append(u)
            }
        }
        return String(out)
    }

    /// A shape or list for messages, shortened when long (a hostile header may declare a million dimensions).
    public static func shortList(_ values: [Int], max: Int = 8) -> String {
        guard values.count > max else { return "\(values)" }
        return "[" + values.prefix(max).map(String.init).joined(separator: ", ") + ", … (\(values.count) entries)]"
    }

    /// A name from the file, quoted and shortened for messages (hostile files may hold megabyte-long names).
    public static func quote(_ s: String, max: Int = 120) -> String {
        let cut = s.count > max ? String(s.prefix(max)) + "…" : s
        return "'" + oneLine(cut) + "'"
    }
}
