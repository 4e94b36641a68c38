import ArgumentParser

/// A `--seed` value: a seed, or -1 for one drawn at random (the convention of stable-diffusion.cpp and
/// AUTOMATIC1111). A drawn seed is printed and recorded in the provenance like a given one, so the image can be made
/// again.
enum SeedChoice: ExpressibleByArgument, Equatable, CustomStringConvertible {
    case fixed(UInt64)
    case random

    init?(argument: String) {
        if argument == "-1" {
            self = .random
        } else if let seed = UInt64(argument) {
            self = .fixed(seed)
        } else {
            return nil
        }
    }

    /// The seed to run with. A random one stays below 2^32 so that it is short to type back in.
    func draw() -> UInt64 {
        switch self {
        case .fixed(let seed): return seed
        case .random: return UInt64.random(in: 0...UInt64(UInt32.max))
        }
    }

    var description: String {
        switch self {
        case .fixed(let seed): return String(seed)
        case .random: return "-1"
        }
    }

    static var defaultValueDescription: String { "0" }
}
