import Foundation

/// `--seeds 0..3`, `--seeds 0,2,5` or both mixed (`0..3,10`): the seeds a batch edits every image with, in the
/// order given. A range is inclusive at both ends, as people say "seeds 0 to 3".
struct SeedList: Equatable {
    /// The most seeds one batch may name: a typo like `0..1000000000` should stop at once, not after a day.
    static let maxCount = 100_000

    let seeds: [UInt64]

    init(_ seeds: [UInt64]) { self.seeds = seeds }

    /// Parses the text, throwing a message that says what is wrong (as an `ExpressibleByArgument` type it could
    /// only be refused as "invalid value").
    init(parsing text: String) throws {
        var out: [UInt64] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let item = part.trimmingCharacters(in: .whitespaces)
            if let dots = item.range(of: "..") {
                guard let low = UInt64(item[..<dots.lowerBound]), let high = UInt64(item[dots.upperBound...]) else {
                    throw CLIError("--seeds: '\(item)' is not a range of seeds like 0..3")
                }
                guard low <= high else { throw CLIError("--seeds: the range \(item) runs backwards") }
                guard high - low < UInt64(Self.maxCount) else {
                    throw CLIError("--seeds: \(item) names more than \(Self.maxCount) seeds")
                }
                out += Array(low...high)
            } else {
                guard let seed = UInt64(item) else {
                    throw CLIError("--seeds: '\(item)' is not a seed (a whole number from 0, or a range like 0..3)")
                }
                out.append(seed)
            }
            guard out.count <= Self.maxCount else { throw CLIError("--seeds names more than \(Self.maxCount) seeds") }
        }
        var seen = Set<UInt64>()
        for seed in out where !seen.insert(seed).inserted {
            throw CLIError("--seeds names seed \(seed) twice (its outputs would overwrite each other)")
        }
        seeds = out
    }
}
