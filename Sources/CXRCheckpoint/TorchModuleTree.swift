/// The state_dict of a pickled whole `nn.Module`, recovered from the inert records `Unpickler` builds.
///
/// torch stores a module as its `__dict__`: parameters in `_parameters`, buffers in `_buffers` (minus those
/// named in `_non_persistent_buffers_set`), submodules in `_modules`. Walking them with dotted prefixes gives
/// exactly the names `module.state_dict()` would, without running any of the module's code.
enum TorchModuleTree {
    /// Collects the tensors of `module` (and its submodules) as `prefix.name`. `work` bounds the walk (the
    /// unpickler already rules out cycles: a record cannot be built after it is shared).
    static func collect(
        _ module: PickleObject, prefix: String, into out: inout [(String, PickleTensor)],
        work: inout Int, path: String
    ) throws {
        let fields = try attributes(of: module, path: path)
        let skipped = Set(stringList(fields["_non_persistent_buffers_set"]) ?? [])
        for group in ["_parameters", "_buffers"] {
            for (name, value) in try entries(fields, group, of: module, prefix: prefix, path: path)
            where !(group == "_buffers" && skipped.contains(name)) {
                try count(&work, path: path)
                switch value {
                case .tensor(let t): out.append((join(prefix, name), t))
                case .none: break  // a registered buffer or parameter set to None is not in the state_dict
                default:
                    throw CheckpointError(
                        .unsupported, file: path,
                        "\(String(group.dropFirst().dropLast())) "
                            + "\(CheckpointError.quote(join(prefix, name))) is a \(value.typeName), "
                            + "not a tensor")
                }
            }
        }
        for (name, value) in try entries(fields, "_modules", of: module, prefix: prefix, path: path) {
            try count(&work, path: path)
            switch value {
            case .object(let child) where PickleAllowList.moduleClasses.contains(child.className):
                try collect(child, prefix: join(prefix, name), into: &out, work: &work, path: path)
            case .none: break
            default:
                let q = CheckpointError.quote(join(prefix, name))
                throw CheckpointError(.unsupported, file: path, "submodule \(q) is a \(value.typeName), not a module")
            }
        }
    }

    /// The root module's plain attributes of the kinds in `TorchModuleAttribute`, and its tensor attributes
    /// (not in the state_dict; torchxrayvision's 2020 releases kept `op_threshs` so). Private and hook fields
    /// (a leading underscore) and `training` are skipped.
    static func plainAttributes(of module: PickleObject, path: String) throws
        -> (values: [String: TorchModuleAttribute], tensors: [(String, PickleTensor)])
    {
        var values = [String: TorchModuleAttribute]()
        var tensors = [(String, PickleTensor)]()
        for (name, value) in try attributes(of: module, path: path) where !name.hasPrefix("_") && name != "training" {
            if case .tensor(let t) = value {
                tensors.append((name, t))
            } else if let strings = stringList(value) {
                values[name] = .strings(strings)
            } else if let numbers = numberList(value) {
                values[name] = .numbers(numbers)
            }
        }
        return (values, tensors.sorted { $0.0 < $1.0 })
    }

    /// A module's `__dict__` as name -> value (later entries win, as in a Python dict).
    private static func attributes(of module: PickleObject, path: String) throws -> [String: PickleValue] {
        guard case .dict(let d)? = module.state else {
            let got = module.state.map { "a \($0.typeName)" } ?? "nothing"
            throw CheckpointError(
                .unsupported, file: path,
                "pickled \(CheckpointError.quote(module.className)) "
                    + "has \(got) as its state, not an attribute dict")
        }
        var out = [String: PickleValue]()
        for (k, v) in d.items {
            guard case .string(let name) = k else {
                throw CheckpointError(
                    .malformed, file: path,
                    "pickled \(CheckpointError.quote(module.className)) "
                        + "has a \(k.typeName) attribute name")
            }
            out[name] = v
        }
        return out
    }

    /// The string-keyed entries of `_parameters`, `_buffers` or `_modules` (a dict or OrderedDict).
    private static func entries(
        _ fields: [String: PickleValue], _ group: String, of module: PickleObject,
        prefix: String, path: String
    ) throws -> [(String, PickleValue)] {
        let owner = prefix.isEmpty ? module.className : prefix
        guard case .dict(let d)? = fields[group] else {
            throw CheckpointError(
                .malformed, file: path,
                "pickled module \(CheckpointError.quote(owner)) has no "
                    + "\(group) dict")
        }
        return try d.items.map { k, v in
            guard case .string(let name) = k, !name.isEmpty, !name.contains(".") else {
                throw CheckpointError(
                    .malformed, file: path,
                    "pickled module \(CheckpointError.quote(owner)) has "
                        + "an invalid \(group) key")
            }
            return (name, v)
        }
    }

    private static func stringList(_ v: PickleValue?) -> [String]? {
        let items: [PickleValue]
        switch v {
        case .list(let l)?: items = l.items
        case .tuple(let t)?: items = t.items
        default: return nil
        }
        var out = [String]()
        for item in items {
            guard case .string(let s) = item else { return nil }
            out.append(s)
        }
        return out
    }

    private static func numberList(_ v: PickleValue) -> [Double]? {
        let items: [PickleValue]
        switch v {
        case .list(let l): items = l.items
        case .tuple(let t): items = t.items
        default: return nil
        }
        var out = [Double]()
        for item in items {
            switch item {
            case .float(let x): out.append(x)
            case .int(let i): out.append(Double(i))
            default: return nil
            }
        }
        return out
    }

    private static func join(_ prefix: String, _ name: String) -> String {
        prefix.isEmpty ? name : prefix + "." + name
    }

    private static func count(_ work: inout Int, path: String) throws {
        work += 1
        guard work <= TorchPickleFile.maxWalk else {
            throw CheckpointError(.limit, file: path, "checkpoint holds more than \(TorchPickleFile.maxWalk) values")
        }
    }
}
