/// A restricted unpickler for PyTorch checkpoints: tensor state_dicts and pickled whole torchxrayvision
/// DenseNets. It interprets only the opcodes such pickles use and only the globals of `PickleAllowList`;
/// nothing is ever called or executed (module instances become inert `PickleObject` records), so a malicious
/// checkpoint can at worst be rejected. Resource use is bounded (opcodes, stack, marks, memo, nesting,
/// storages) with clear errors.

struct Unpickler {
    struct Limits {
        var maxOpcodes = 100_000_000
        var maxStack = 1_000_000
        var maxMarks = 256
        var maxMemo = 5_000_000
        var maxDepth = 64
        var maxRank = 32
        var maxStorages = 1_000_000
    }

    private let data: UnsafeRawBufferPointer
    private let source: String
    private let limits: Limits
    private var pos = 0
    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]
    /// Every storage named by a persistent id, by key (the legacy layout locates storages through these).
    private(set) var storages: [String: PickleStorage] = [:]

    /// Reads the pickle that starts at byte `start` of `data` (legacy checkpoints hold several back to back).
    init(_ data: UnsafeRawBufferPointer, source: String, limits: Limits = Limits(), start: Int = 0) {
        self.data = data
        self.source = source
        self.limits = limits
        self.pos = start
    }

    /// Where the next pickle begins once `load` has returned (the byte after STOP).
    var position: Int { pos }

    private func bad(_ m: String) -> CheckpointError {
        CheckpointError(.malformed, file: source, "invalid pickle at byte \(pos): \(m)")
    }

    private func limit(_ m: String) -> CheckpointError {
        CheckpointError(.limit, file: source, "pickle exceeds a safety limit: \(m)")
    }

    // MARK: Byte reading

    private mutating func take(_ n: Int) throws -> UnsafeRawBufferPointer {
        guard n >= 0, n <= data.count - pos else { throw bad("truncated (needs \(n) more bytes)") }
        let r = UnsafeRawBufferPointer(rebasing: data[pos..<(pos + n)])
        pos += n
        return r
    }

    private mutating func u8() throws -> Int { Int(try take(1)[0]) }
    private mutating func u16() throws -> Int { Int(try take(2).loadUnaligned(as: UInt16.self).littleEndian) }
    private mutating func u32() throws -> Int { Int(try take(4).loadUnaligned(as: UInt32.self).littleEndian) }
    private mutating func i32() throws -> Int { Int(Int32(littleEndian: try take(4).loadUnaligned(as: Int32.self))) }
    private mutating func u64() throws -> Int {
        let v = UInt64(littleEndian: try take(8).loadUnaligned(as: UInt64.self))
        guard v <= UInt64(Int.max) else { throw bad("length out of range") }
        return Int(v)
    }

    private mutating func line() throws -> String {
        var end = pos
        while end < data.count, data[end] != 0x0A {
            end += 1
            if end - pos > 1024 { throw bad("GLOBAL name too long") }
        }
        guard end < data.count else { throw bad("truncated GLOBAL") }
        let s = String(decoding: UnsafeRawBufferPointer(rebasing: data[pos..<end]), as: UTF8.self)
        pos = end + 1
        return s
    }

    private mutating func text(_ n: Int) throws -> String {
        let b = try take(n)
        guard let s = String(validating: b, as: UTF8.self) else { throw bad("string is not valid UTF-8") }
        return s
    }

    // MARK: Stack helpers

    private mutating func push(_ v: PickleValue) throws {
        guard stack.count < limits.maxStack else { throw limit("stack deeper than \(limits.maxStack)") }
        stack.append(v)
    }

    private mutating func pop() throws -> PickleValue {
        guard stack.count > (marks.last ?? 0), let v = stack.popLast() else { throw bad("stack underflow") }
        return v
    }

    /// The top value, which must lie above the innermost MARK (as in Python's unpickler).
    private func top(_ op: String) throws -> PickleValue {
        guard stack.count > (marks.last ?? 0), let v = stack.last else { throw bad("\(op) on an empty stack") }
        return v
    }

    private mutating func popMark() throws -> [PickleValue] {
        guard let m = marks.popLast() else { throw bad("no MARK") }
        guard m <= stack.count else { throw bad("stack underflow") }
        let items = Array(stack[m...])
        stack.removeSubrange(m...)
        return items
    }

    /// Registers `v` as a child of a new or growing container: freezes shared containers, returns its depth.
    private func embed(_ v: PickleValue) -> Int {
        switch v {
        case .list(let l): l.frozen = true
        case .dict(let d): d.frozen = true
        case .object(let o): o.frozen = true
        default: break
        }
        return v.depth
    }

    private func makeTuple(_ items: [PickleValue]) throws -> PickleValue {
        var d = 0
        for v in items { d = max(d, embed(v)) }
        guard d + 1 <= limits.maxDepth else { throw limit("values nested deeper than \(limits.maxDepth)") }
        return .tuple(PickleTuple(items, depth: d + 1))
    }

    private func append(_ items: [PickleValue], to target: PickleValue) throws {
        guard case .list(let l) = target else { throw bad("APPEND to a \(target.typeName)") }
        var d = l.depth - 1
        for v in items { d = max(d, embed(v)) }
        guard !l.frozen else { throw bad("list modified after being shared") }
        guard d + 1 <= limits.maxDepth else { throw limit("values nested deeper than \(limits.maxDepth)") }
        l.depth = d + 1
        l.items.append(contentsOf: items)
    }

    private func setItems(_ items: [PickleValue], in target: PickleValue) throws {
        guard case .dict(let dict) = target else { throw bad("SETITEM on a \(target.typeName)") }
        guard items.count % 2 == 0 else { throw bad("odd number of items for SETITEMS") }
        var d = dict.depth - 1
        for v in items { d = max(d, embed(v)) }
        guard !dict.frozen else { throw bad("dict modified after being shared") }
        guard d + 1 <= limits.maxDepth else { throw limit("values nested deeper than \(limits.maxDepth)") }
        dict.depth = d + 1
        var i = 0
        while i < items.count {
            dict.items.append((items[i], items[i + 1]))
            i += 2
        }
    }

    private mutating func memoPut(_ index: Int) throws {
        let top = try top("PUT")
        if memo[index] == nil, memo.count >= limits.maxMemo { throw limit("memo larger than \(limits.maxMemo)") }
        memo[index] = top
    }

    private func memoGet(_ index: Int) throws -> PickleValue {
        guard let v = memo[index] else { throw bad("GET of unknown memo index \(index)") }
        return v
    }

    private func global(_ module: String, _ name: String) throws -> PickleValue {
        let full = module + "." + name
        if PickleAllowList.allows(full) { return .global(full) }
        throw CheckpointError(
            .refused, file: source,
            "refusing pickle global \(CheckpointError.quote(full)): only "
                + "tensor state_dicts and torchxrayvision DenseNet models are allowed")
    }

    // MARK: Main loop

    /// Runs the pickle to STOP and returns the top value.
    mutating func load() throws -> PickleValue {
        var opcodes = 0
        while true {
            opcodes += 1
            guard opcodes <= limits.maxOpcodes else { throw limit("more than \(limits.maxOpcodes) opcodes") }
            let at = pos
            let op = try u8()
            switch op {
            case 0x80:  // PROTO
                let v = try u8()
                guard v <= 5 else {
                    throw CheckpointError(.unsupported, file: source, "pickle protocol \(v) is not supported")
                }
            case 0x95:  // FRAME (length is advisory)
                _ = try u64()
            case 0x2E:  // STOP
                guard marks.isEmpty, stack.count == 1, let v = stack.first else {
                    throw bad("STOP with \(stack.count) values on the stack")
                }
                return v
            case 0x28:  // MARK
                guard marks.count < limits.maxMarks else { throw limit("more than \(limits.maxMarks) nested MARKs") }
                marks.append(stack.count)
            case 0x30:  // POP
                _ = try pop()
            case 0x31:  // POP_MARK
                _ = try popMark()
            case 0x32:  // DUP
                try push(try top("DUP"))
            case 0x7D: try push(.dict(PickleDict()))  // EMPTY_DICT
            case 0x5D: try push(.list(PickleList()))  // EMPTY_LIST
            case 0x29: try push(.tuple(PickleTuple([], depth: 1)))  // EMPTY_TUPLE
            case 0x74: try push(try makeTuple(try popMark()))  // TUPLE
            case 0x85: let a = try pop(); try push(try makeTuple([a]))  // TUPLE1
            case 0x86: let b = try pop(); let a = try pop(); try push(try makeTuple([a, b]))  // TUPLE2
            case 0x87:  // TUPLE3
                let c = try pop(); let b = try pop(); let a = try pop(); try push(try makeTuple([a, b, c]))
            case 0x6C:  // LIST
                let items = try popMark()
                let l = PickleValue.list(PickleList())
                try append(items, to: l)
                try push(l)
            case 0x64:  // DICT
                let items = try popMark()
                let d = PickleValue.dict(PickleDict())
                try setItems(items, in: d)
                try push(d)
            case 0x4A: try push(.int(try i32()))  // BININT
            case 0x4B: try push(.int(try u8()))  // BININT1
            case 0x4D: try push(.int(try u16()))  // BININT2
            case 0x8A:  // LONG1
                let n = try u8()
                guard n <= 8 else {
                    throw CheckpointError(.unsupported, file: source, "pickle integer wider than 64 bits")
                }
                let b = try take(n)
                var v: UInt64 = 0
                for i in 0..<n { v |= UInt64(b[i]) << (8 * UInt64(i)) }
                if n > 0, n < 8, b[n - 1] & 0x80 != 0 { v |= ~0 << (8 * UInt64(n)) }  // sign-extend
                try push(.int(Int(Int64(bitPattern: v))))
            case 0x58: try push(.string(try text(try u32())))  // BINUNICODE
            case 0x8C: try push(.string(try text(try u8())))  // SHORT_BINUNICODE
            case 0x8D: try push(.string(try text(try u64())))  // BINUNICODE8
            case 0x54:  // BINSTRING
                let n = try i32()
                guard n >= 0 else { throw bad("negative BINSTRING length") }
                try push(.string(try text(n)))
            case 0x55: try push(.string(try text(try u8())))  // SHORT_BINSTRING
            case 0x42: try push(.bytes(Array(try take(try u32()))))  // BINBYTES
            case 0x43: try push(.bytes(Array(try take(try u8()))))  // SHORT_BINBYTES
            case 0x4E: try push(.none)  // NONE
            case 0x88: try push(.bool(true))  // NEWTRUE
            case 0x89: try push(.bool(false))  // NEWFALSE
            case 0x47:  // BINFLOAT (big-endian)
                let bits = UInt64(bigEndian: try take(8).loadUnaligned(as: UInt64.self))
                try push(.float(Double(bitPattern: bits)))
            case 0x71: try memoPut(try u8())  // BINPUT
            case 0x72: try memoPut(try u32())  // LONG_BINPUT
            case 0x94: try memoPut(memo.count)  // MEMOIZE
            case 0x68: try push(try memoGet(try u8()))  // BINGET
            case 0x6A: try push(try memoGet(try u32()))  // LONG_BINGET
            case 0x73:  // SETITEM
                let v = try pop(); let k = try pop()
                let target = try top("SETITEM")
                try setItems([k, v], in: target)
            case 0x75:  // SETITEMS
                let items = try popMark()
                let target = try top("SETITEMS")
                try setItems(items, in: target)
            case 0x61:  // APPEND
                let v = try pop()
                let target = try top("APPEND")
                try append([v], to: target)
            case 0x65:  // APPENDS
                let items = try popMark()
                let target = try top("APPENDS")
                try append(items, to: target)
            case 0x63:  // GLOBAL
                let module = try line()
                let name = try line()
                try push(try global(module, name))
            case 0x93:  // STACK_GLOBAL
                let n = try pop(); let m = try pop()
                guard case .string(let module) = m, case .string(let name) = n else {
                    throw bad("STACK_GLOBAL needs two strings")
                }
                try push(try global(module, name))
            case 0x52:  // REDUCE
                let args = try pop(); let fn = try pop()
                try push(try reduce(fn, args))
            case 0x62:  // BUILD
                let state = try pop()
                let target = try top("BUILD")
                try build(target, with: state)
            case 0x81:  // NEWOBJ
                let args = try pop(); let cls = try pop()
                try push(try instantiate(cls, args))
            case 0x51:  // BINPERSID
                let pid = try pop()
                try push(try persistentLoad(pid))
            default:
                pos = at
                throw CheckpointError(
                    .unsupported, file: source,
                    "unsupported pickle opcode 0x\(String(op, radix: 16)) at byte \(at): only tensor "
                        + "state_dicts and torchxrayvision DenseNet models are allowed")
            }
        }
    }

    /// `cls()` for an allow-listed module class, without running anything: an empty record for BUILD to fill.
    private func instantiate(_ cls: PickleValue, _ args: PickleValue) throws -> PickleValue {
        guard case .global(let name) = cls else { throw bad("NEWOBJ on a \(cls.typeName)") }
        guard PickleAllowList.moduleClasses.contains(name) else {
            throw CheckpointError(
                .unsupported, file: source,
                "pickle instantiates \(CheckpointError.quote(name)), "
                    + "which is not a module class")
        }
        guard case .tuple(let t) = args, t.items.isEmpty else {
            throw CheckpointError(
                .unsupported, file: source,
                "pickle instantiates \(CheckpointError.quote(name)) "
                    + "with constructor arguments, which is not supported")
        }
        return .object(PickleObject(className: name))
    }

    /// BUILD: a module record takes its `__dict__` once; OrderedDict state (e.g. `_metadata`) carries no
    /// tensors and is accepted and ignored.
    private func build(_ target: PickleValue, with state: PickleValue) throws {
        switch target {
        case .dict:
            _ = embed(state)
        case .object(let o):
            guard o.state == nil else { throw bad("second BUILD on a \(target.typeName)") }
            guard !o.frozen else { throw bad("\(target.typeName) built after being shared") }
            let d = embed(state)
            guard d + 1 <= limits.maxDepth else { throw limit("values nested deeper than \(limits.maxDepth)") }
            o.depth = d + 1
            o.state = state
        default:
            throw CheckpointError(.unsupported, file: source, "pickle BUILD on a \(target.typeName) is not supported")
        }
    }

    /// torch's persistent ids: `('storage', type, key, location, numel)` in zip checkpoints, the same with a
    /// sixth item (a storage view, None unless the file predates torch 1.0) in legacy ones, and legacy's
    /// `('module', class, source file, source)` for each module class, which stands for the class itself.
    private mutating func persistentLoad(_ pid: PickleValue) throws -> PickleValue {
        guard case .tuple(let t) = pid, let kind = t.items.first else { throw bad("persistent id is not a tuple") }
        if case .string("module") = kind, t.items.count == 4, case .global(let cls) = t.items[1],
            PickleAllowList.moduleClasses.contains(cls)
        {
            return t.items[1]
        }
        guard t.items.count == 5 || t.items.count == 6,
            case .string("storage") = kind, case .global(let type) = t.items[1],
            case .string(let key) = t.items[2], case .int(let numel) = t.items[4], numel >= 0
        else {
            throw bad("unexpected persistent id (expected ('storage', type, key, location, numel))")
        }
        guard let dtype = PickleAllowList.storageTypes[type] else {
            throw bad("persistent id names \(CheckpointError.quote(type)), not a storage type")
        }
        if t.items.count == 6 {
            guard case .none = t.items[5] else {
                throw CheckpointError(
                    .unsupported, file: source,
                    "storage \(CheckpointError.quote(key)) is a view "
                        + "of another storage (torch < 1.0), which is not supported")
            }
        }
        let storage = PickleStorage(dtype: dtype, key: key, numel: numel)
        if let seen = storages[key] {
            guard seen == storage else {
                throw bad("storage \(CheckpointError.quote(key)) declared twice, differently")
            }
        } else {
            guard storages.count < limits.maxStorages else { throw limit("more than \(limits.maxStorages) storages") }
            storages[key] = storage
        }
        return .storage(storage)
    }

    private func ints(_ v: PickleValue, _ what: String) throws -> [Int] {
        guard case .tuple(let t) = v else { throw bad("tensor \(what) is a \(v.typeName), not a tuple") }
        guard t.items.count <= limits.maxRank else { throw limit("tensor rank above \(limits.maxRank)") }
        return try t.items.map {
            guard case .int(let i) = $0, i >= 0 else {
                throw bad("tensor \(what) holds a non-integer or negative value")
            }
            return i
        }
    }

    private func reduce(_ fn: PickleValue, _ args: PickleValue) throws -> PickleValue {
        guard case .global(let name) = fn else { throw bad("REDUCE on a \(fn.typeName)") }
        guard case .tuple(let t) = args else { throw bad("REDUCE arguments are a \(args.typeName), not a tuple") }
        let a = t.items
        switch name {
        case "collections.OrderedDict":
            guard a.isEmpty else {
                throw CheckpointError(
                    .unsupported, file: source, "OrderedDict with constructor arguments is not supported")
            }
            return .dict(PickleDict())
        case "torch._utils._rebuild_tensor_v2":
            guard a.count >= 4, case .storage(let s) = a[0], case .int(let offset) = a[1], offset >= 0 else {
                throw bad("unexpected _rebuild_tensor_v2 arguments")
            }
            let shape = try ints(a[2], "size"), strides = try ints(a[3], "stride")
            guard shape.count == strides.count else { throw bad("tensor size and stride ranks differ") }
            return .tensor(PickleTensor(storage: s, offset: offset, shape: shape, strides: strides))
        case "torch._utils._rebuild_parameter":
            guard a.count >= 1, case .tensor = a[0] else { throw bad("unexpected _rebuild_parameter arguments") }
            return a[0]
        case "__builtin__.set", "builtins.set":
            // A module's `_non_persistent_buffers_set`: kept as the list of its members.
            if a.isEmpty { return .list(PickleList()) }
            guard a.count == 1, case .list = a[0] else { throw bad("unexpected set arguments") }
            return a[0]
        case "torch.nn.backends.thnn._get_thnn_function_backend":
            guard a.isEmpty else { throw bad("unexpected _get_thnn_function_backend arguments") }
            return .object(PickleObject(className: name))
        default:
            throw CheckpointError(
                .unsupported, file: source, "pickle calls \(CheckpointError.quote(name)), which is not supported")
        }
    }
}
