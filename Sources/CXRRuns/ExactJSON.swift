import Foundation

/// Reads a JSON object with every number exactly as written: JSONSerialization's reader rounds about half of all
/// 17-digit doubles to a neighbour, so rows read back (and merged, and reported) changed in their last digits.
/// Integers come back as integer NSNumbers and booleans as boolean ones, as JSONSerialization gives them.
enum ExactJSON: Decodable {
    case null, bool(Bool), int(Int), double(Double), string(String), array([ExactJSON]), object([String: ExactJSON])

    init(from decoder: Decoder) throws {
        if let c = try? decoder.container(keyedBy: Key.self) {
            var o = [String: ExactJSON]()
            for k in c.allKeys { o[k.stringValue] = try c.decode(ExactJSON.self, forKey: k) }
            self = .object(o)
        } else if var c = try? decoder.unkeyedContainer() {
            var a = [ExactJSON]()
            while !c.isAtEnd { a.append(try c.decode(ExactJSON.self)) }
            self = .array(a)
        } else {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() { self = .null }
            else if let b = try? c.decode(Bool.self) { self = .bool(b) }
            else if let i = try? c.decode(Int.self) { self = .int(i) }
            else if let d = try? c.decode(Double.self) { self = .double(d) }
            else { self = .string(try c.decode(String.self)) }
        }
    }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    var foundation: Any {
        switch self {
        case .null: return NSNull()
        case .bool(let b): return NSNumber(value: b)
        case .int(let i): return NSNumber(value: i)
        case .double(let d): return NSNumber(value: d)
        case .string(let s): return s
        case .array(let a): return a.map(\.foundation)
        case .object(let o): return o.mapValues(\.foundation)
        }
    }

    static func object(_ data: Data) -> [String: Any]? {
        (try? JSONDecoder().decode(ExactJSON.self, from: data))?.foundation as? [String: Any]
    }
}
