import Foundation
import XCTest
@testable import CXRCheckpoint

final class UnpicklerTests: XCTestCase {
    func run(_ bytes: [UInt8], limits: Unpickler.Limits = .init()) throws -> PickleValue {
        try bytes.withUnsafeBytes { raw in
            var u = Unpickler(raw, source: "test.pkl", limits: limits)
            return try u.load()
        }
    }

    func expectError(
        _ bytes: [UInt8], _ kind: CheckpointError.Kind, _ text: String, limits: Unpickler.Limits = .init(),
        line: UInt = #line
    ) {
        assertCheckpointError("test.pkl", kind: kind, contains: text, line: line) { _ = try run(bytes, limits: limits) }
    }

    func testScalarsDecode() throws {
        // (LONG1 -2, BININT -5, BININT2 513, BINFLOAT 1.5, True, None, 'é') as a tuple.
        var b: [UInt8] = [0x80, 0x02, 0x28, 0x8A, 0x01, 0xFE, 0x4A]
        b += [0xFB, 0xFF, 0xFF, 0xFF, 0x4D, 0x01, 0x02, 0x47]
        b += withUnsafeBytes(of: (1.5).bitPattern.bigEndian) { Array($0) }
        b += [0x88, 0x4E, 0x8C, 0x02, 0xC3, 0xA9, 0x74, 0x2E]
        guard case .tuple(let t) = try run(b) else { return XCTFail("not a tuple") }
        guard t.items.count == 7,
            case .int(-2) = t.items[0], case .int(-5) = t.items[1], case .int(513) = t.items[2],
            case .float(1.5) = t.items[3], case .bool(true) = t.items[4], case .none = t.items[5],
            case .string("é") = t.items[6]
        else { return XCTFail("wrong values: \(t.items)") }
    }

    func testDictAndListBuild() throws {
        // {'a': [1, 2]} via EMPTY_DICT, MARK, ..., SETITEMS and EMPTY_LIST, MARK, APPENDS.
        let b: [UInt8] = [
            0x80, 0x02, 0x7D, 0x28, 0x8C, 0x01, 0x61, 0x5D, 0x28, 0x4B, 0x01, 0x4B, 0x02, 0x65, 0x75, 0x2E,
        ]
        guard case .dict(let d) = try run(b), d.items.count == 1, case .string("a") = d.items[0].key,
            case .list(let l) = d.items[0].value, l.items.count == 2
        else { return XCTFail("wrong structure") }
    }

    func testSharedContainerCannotBeMutated() {
        // l0 = []; memo0; l1 = [l0]; then append to l0 again through the memo -> refused.
        expectError(
            [0x80, 0x02, 0x5D, 0x71, 0x00, 0x5D, 0x68, 0x00, 0x61, 0x68, 0x00, 0x4E, 0x61, 0x2E],
            .malformed, "modified after being shared")
        // A list appended to itself (a cycle).
        expectError([0x80, 0x02, 0x5D, 0x71, 0x00, 0x68, 0x00, 0x61, 0x2E], .malformed, "modified after being shared")
    }

    func testLimits() {
        var lim = Unpickler.Limits()
        lim.maxOpcodes = 10
        expectError([0x80, 0x02] + [UInt8](repeating: 0x4E, count: 20) + [0x2E], .limit, "opcodes", limits: lim)
        lim = .init(); lim.maxStack = 5
        expectError([0x80, 0x02] + [UInt8](repeating: 0x4E, count: 6) + [0x2E], .limit, "stack", limits: lim)
        lim = .init(); lim.maxMemo = 3
        expectError([0x80, 0x02, 0x4E] + (0..<5).flatMap { [0x71, UInt8($0)] } + [0x2E], .limit, "memo", limits: lim)
        expectError([0x80, 0x02] + [UInt8](repeating: 0x28, count: 300) + [0x2E], .limit, "MARK")
        expectError([0x80, 0x02, 0x4E] + [UInt8](repeating: 0x85, count: 100) + [0x2E], .limit, "nested deeper")
    }

    func testMalformedPickles() {
        expectError([0x80, 0x02, 0x52, 0x2E], .malformed, "underflow")
        expectError([0x80, 0x02, 0x4E, 0x4E, 0x2E], .malformed, "STOP")
        expectError([0x80, 0x02, 0x58, 0xFF, 0x00, 0x00, 0x00, 0x61], .malformed, "truncated")
        expectError([0x80, 0x02, 0x4E], .malformed, "truncated")
        expectError([0x80, 0x02, 0x68, 0x05, 0x2E], .malformed, "memo index 5")
        expectError([0x80, 0x02, 0x8C, 0x02, 0xFF, 0xFE, 0x2E], .malformed, "UTF-8")
        expectError([0x80, 0x02, 0x8A, 0x09] + [UInt8](repeating: 0, count: 9) + [0x2E], .unsupported, "64 bits")
        expectError([0x80, 0x09, 0x4E, 0x2E], .unsupported, "protocol 9")
        // Storage type used as a callable.
        expectError(
            [0x80, 0x02, 0x63] + Array("torch\nFloatStorage\n".utf8) + [0x29, 0x52, 0x2E],
            .unsupported, "pickle calls 'torch.FloatStorage'")
    }

    func testEveryNonAllowListedGlobalIsRefused() {
        for g in [
            "os\nsystem", "builtins\neval", "__builtin__\nexec", "posix\nsystem", "subprocess\nPopen",
            "torch\nload", "torch._utils\n_rebuild_device_tensor_from_numpy", "numpy.core.multiarray\n_reconstruct",
            "collections\ndefaultdict", "torch.nn.modules.rnn\nLSTM", "torchxrayvision.models\nResNet",
            "copyreg\n_reconstructor", "torch.nn.backends.thnn\nTHNNFunctionBackend",
        ] {
            let b: [UInt8] = [0x80, 0x02, 0x63] + Array((g + "\n").utf8) + [0x2E]
            let name = g.replacingOccurrences(of: "\n", with: ".")
            expectError(b, .refused, "refusing pickle global '\(name)'")
        }
    }

    /// An allow-listed module class becomes a record of its name and BUILD state; nothing of it runs.
    func testModuleClassBecomesAnInertRecord() throws {
        // ReLU() then BUILD {'inplace': True}.
        let b: [UInt8] =
            [0x80, 0x02] + PickleTestValue.global("torch.nn.modules.activation.ReLU") + [0x29, 0x81, 0x7D]
            + PickleTestValue.str("inplace").opcodes + [0x88, 0x73, 0x62, 0x2E]
        guard case .object(let o) = try run(b), case .dict(let d)? = o.state, d.items.count == 1,
            case .string("inplace") = d.items[0].key, case .bool(true) = d.items[0].value
        else {
            return XCTFail("wrong record")
        }
        XCTAssertEqual(o.className, "torch.nn.modules.activation.ReLU")
        // A set (protocol 2: __builtin__.set) is kept as the list of its members; the old backend marker as an
        // empty record.
        let set: [UInt8] =
            [0x80, 0x02, 0x63] + Array("__builtin__\nset\n".utf8)
            + [0x5D, 0x8C, 0x01, 0x61, 0x61, 0x85, 0x52, 0x2E]
        guard case .list(let l) = try run(set), l.items.count == 1, case .string("a") = l.items[0] else {
            return XCTFail("set not kept as a list")
        }
        let backend = PickleTestValue.global("torch.nn.backends.thnn._get_thnn_function_backend") + [0x29, 0x52]
        guard case .object(let r) = try run([0x80, 0x02] + backend + [0x2E]), r.state == nil else {
            return XCTFail("backend marker not an empty record")
        }
    }

    /// Module classes are only instantiated bare; calling them, passing arguments, rebuilding or reaching a
    /// shared record is refused.
    func testModuleRecordsCannotBeCalledOrRebuilt() {
        let linear = PickleTestValue.global("torch.nn.modules.linear.Linear")
        expectError(
            [0x80, 0x02] + linear + [0x29, 0x52, 0x2E], .unsupported,
            "pickle calls 'torch.nn.modules.linear.Linear'")
        expectError([0x80, 0x02] + linear + [0x4B, 0x03, 0x85, 0x81, 0x2E], .unsupported, "constructor arguments")
        let od = PickleTestValue.global("collections.OrderedDict")
        expectError([0x80, 0x02] + od + [0x29, 0x81, 0x2E], .unsupported, "not a module class")
        expectError([0x80, 0x02, 0x4E, 0x29, 0x81, 0x2E], .malformed, "NEWOBJ on a None")
        // BUILD twice.
        expectError([0x80, 0x02] + linear + [0x29, 0x81, 0x7D, 0x62, 0x7D, 0x62, 0x2E], .malformed, "second BUILD")
        // Memoized, placed in a list, then built through the memo: the list would see a changed object.
        expectError(
            [0x80, 0x02] + linear + [
                0x29, 0x81, 0x71, 0x00, 0x5D, 0x68, 0x00, 0x61, 0x30, 0x68, 0x00, 0x7D, 0x62,
                0x2E,
            ], .malformed, "built after being shared")
        // A record nested past the depth limit through its state.
        var lim = Unpickler.Limits()
        lim.maxDepth = 3
        expectError(
            [0x80, 0x02] + linear + [0x29, 0x81, 0x5D, 0x5D, 0x5D, 0x61, 0x61, 0x62, 0x2E], .limit,
            "nested deeper", limits: lim)
        // Bad arguments to the emulated set and backend marker.
        expectError(
            [0x80, 0x02, 0x63] + Array("builtins\nset\n".utf8) + [0x4B, 0x01, 0x85, 0x52, 0x2E], .malformed,
            "unexpected set arguments")
        expectError(
            [0x80, 0x02] + PickleTestValue.global("torch.nn.backends.thnn._get_thnn_function_backend")
                + [0x4B, 0x01, 0x85, 0x52, 0x2E], .malformed, "_get_thnn_function_backend arguments")
    }
}
