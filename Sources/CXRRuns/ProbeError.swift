import Foundation

/// A probe or synthesize failure the user can act on. `description` is one line that names the file (spec,
/// run directory, results file) and the problem; the CLI prints it and exits 1.
public struct ProbeError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) {
        self.description = description.split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}
