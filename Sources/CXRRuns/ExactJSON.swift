import Foundation

/// A JSON value with every number exactly as written: JSONSerialization's reader rounds about half of all 17-digit
/// doubles to a neighbour, so rows read back (and merged, and reported) changed in their last digits. Integers are
/// kept apart from doubles because seeds above 2^53 must survive a merge, which a `Double` tree would round; those
/// above Int64's range (a `UInt64` seed) are `unsigned`, as JSONSerialization writes them exactly.
///
/// What run files hold that only the plan types know the layout of (run.json's `settings`), and the tree
/// `StableJSON` hands to its writer.
public enum ExactJSON: Codable, Sendable, Equatable {
    case null, bool(Bool), int(Int), unsigned(UInt64), double(Double), string(String), array([ExactJSON])
    case object([String: ExactJSON])

    public init(from decoder: Decoder) throws {
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
            if c.decodeNil() {
                self = .null
            } else if let b = try? c.decode(Bool.self) {
                self = .bool(b)
            } else if let i = try? c.decode(Int.self) {
                self = .int(i)
            } else if let u = try? c.decode(UInt64.self) {
                self = .unsigned(u)
            } else if let d = try? c.decode(Double.self) {
                self = .double(d)
            } else {
                self = .string(try c.decode(String.self))
            }
        }
    }

    /// The tree `value`'s JSON encoding reads back to; throws for values JSON cannot hold (NaN, infinity).
    public init<Value: Encodable>(encoding value: Value) throws {
        self = try JSONDecoder().decode(ExactJSON.self, from: JSONEncoder().encode(value))
    }

    public func encode(to encoder: Encoder) throws {
        switch self {
        case .array(let a):
            var c = encoder.unkeyedContainer()
            for v in a { try c.encode(v) }
        case .object(let o):
            var c = encoder.container(keyedBy: Key.self)
            for (k, v) in o { try c.encode(v, forKey: Key(stringValue: k)) }
        default:
            var c = encoder.singleValueContainer()
            switch self {
            case .null: try c.encodeNil()
            case .bool(let b): try c.encode(b)
            case .int(let i): try c.encode(i)
            case .unsigned(let u): try c.encode(u)
            case .double(let d): try c.encode(d)
            case .string(let s): try c.encode(s)
            case .array, .object: break
            }
        }
    }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    // MARK: Access (nil when the value is not of that type)

    /// The value for `key` when this is an object containing it.
    public subscript(key: String) -> ExactJSON? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    /// Element `index` when this is an array and the index is in range.
    public subscript(index: Int) -> ExactJSON? {
        if case .array(let a) = self, a.indices.contains(index) { return a[index] }
        return nil
    }

    public var int: Int? { if case .int(let i) = self { return i } else { return nil } }
    public var string: String? { if case .string(let s) = self { return s } else { return nil } }

    /// The objects JSONSerialization writes (integers and booleans as the NSNumbers its reader gives them).
    var foundation: Any {
        switch self {
        case .null: return NSNull()
        case .bool(let b): return NSNumber(value: b)
        case .int(let i): return NSNumber(value: i)
        case .unsigned(let u): return NSNumber(value: u)
        case .double(let d): return NSNumber(value: d)
        case .string(let s): return s
        case .array(let a): return a.map(\.foundation)
        case .object(let o): return o.mapValues(\.foundation)
        }
    }
}
