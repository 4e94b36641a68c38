/// The values the restricted unpickler (`Unpickler`) builds: plain data, tensor and storage references, and
/// inert records of allow-listed classes. None of them can hold or run code.

/// A storage reference produced by torch's persistent id `('storage', torch.XStorage, key, location, numel)`.
struct PickleStorage: Equatable {
    let dtype: TensorDType
    let key: String
    let numel: Int
}

/// The arguments of `torch._utils._rebuild_tensor_v2`: a strided view of a storage.
struct PickleTensor: Equatable {
    let storage: PickleStorage
    let offset: Int
    let shape: [Int]
    let strides: [Int]
}

final class PickleTuple {
    let items: [PickleValue]
    let depth: Int
    init(_ items: [PickleValue], depth: Int) { self.items = items; self.depth = depth }
}

/// Lists and dicts are mutable and shared through the memo, hence reference types. Once embedded in another
/// container they are frozen (no further mutation), which keeps nesting depth exact and rules out cycles.
final class PickleList {
    var items: [PickleValue] = []
    var depth = 1
    var frozen = false
}

final class PickleDict {
    var items: [(key: PickleValue, value: PickleValue)] = []
    var depth = 1
    var frozen = false
}

/// An instance of an allow-listed class (an `nn.Module`, torch's old THNN backend marker), made without running
/// any of its code: the class name and, once BUILD has run, the state the pickle gave it (for modules,
/// `__dict__`). Frozen like containers once embedded, so a BUILD can never reach a shared record.
final class PickleObject {
    let className: String
    var state: PickleValue?
    var depth = 1
    var frozen = false
    init(className: String) { self.className = className }
}

enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple(PickleTuple)
    case list(PickleList)
    case dict(PickleDict)
    /// An allow-listed global, as "module.name".
    case global(String)
    case storage(PickleStorage)
    case tensor(PickleTensor)
    case object(PickleObject)

    var depth: Int {
        switch self {
        case .tuple(let t): return t.depth
        case .list(let l): return l.depth
        case .dict(let d): return d.depth
        case .object(let o): return o.depth
        default: return 0
        }
    }

    var typeName: String {
        switch self {
        case .none: return "None"
        case .bool: return "bool"
        case .int: return "int"
        case .float: return "float"
        case .string: return "str"
        case .bytes: return "bytes"
        case .tuple: return "tuple"
        case .list: return "list"
        case .dict: return "dict"
        case .global(let g): return g
        case .storage: return "storage"
        case .tensor: return "tensor"
        case .object(let o): return o.className + " object"
        }
    }
}
