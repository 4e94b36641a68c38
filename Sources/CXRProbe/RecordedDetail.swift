import CXRPipelines

/// A probe's detail setting as rows, settings, ids and null-edit keys record it: `true` / `false` for transfer / off,
/// as before the null difference existed (so older run directories read, and their ids and fingerprints stay
/// valid), and `"difference"` for `DetailMode.difference`.
public struct RecordedDetail: Codable, Sendable, Equatable {
    public var mode: DetailMode

    public init(_ mode: DetailMode) { self.mode = mode }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let on = try? c.decode(Bool.self) {
            mode = on ? .transfer : .off
        } else {
            let name = try c.decode(String.self)
            guard let m = DetailMode(rawValue: name) else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "unknown detail setting '\(name)'")
            }
            mode = m
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch mode {
        case .transfer: try c.encode(true)
        case .off: try c.encode(false)
        case .difference: try c.encode(mode.rawValue)
        }
    }
}
