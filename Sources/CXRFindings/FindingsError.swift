import Foundation

/// A user-facing error of the findings layer: one line that names the input (a finding, a region,
/// a file) and the problem, ready for the CLI to print.
public struct FindingsError: Error, CustomStringConvertible, Equatable, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
