import Foundation
import XCTest
@testable import CXRCheckpoint
import CXRTensor

/// Pickled whole models: the state_dict recovered from module records equals torch's `state_dict()`, for
/// files torch wrote in both layouts, and malformed module trees fail with one line each.
final class TorchModuleTreeTests: XCTestCase {
    static let denseNet = "torchxrayvision.models.DenseNet"
    static let linear = "torch.nn.modules.linear.Linear"

    /// The pickled DenseNet serves exactly the tensors of its state_dict (saved separately as safetensors by
    /// make_classifier_fixtures.py), bit for bit, in the zip and the legacy layout alike.
    func testPickledDenseNetServesItsStateDictInBothLayouts() throws {
        let reference = try SafeTensorsFile(url: classifierFixture("densenet_small.safetensors"))
        let labels =
            try XCTUnwrap(
                try JSONSerialization.jsonObject(
                    with: Data(contentsOf: classifierFixture("densenet_small.json"))) as? [String: Any])["labels"]
            as? [String]
        for name in ["densenet_small_model_zip.pt", "densenet_small_model_legacy.pt"] {
            let f = try TorchPickleFile(url: classifierFixture(name))
            XCTAssertEqual(f.moduleClass, Self.denseNet, name)
            XCTAssertEqual(f.names, reference.names, name)
            for n in reference.names {
                XCTAssertEqual(f.info(n)?.dtype, reference.info(n)?.dtype, "\(name) \(n)")
                XCTAssertEqual(f.info(n)?.shape, reference.info(n)?.shape, "\(name) \(n)")
                guard reference.info(n)?.dtype.isConvertible == true else { continue }
                assertBitwiseEqual(try f.tensor(n).data, try reference.tensor(n).data, "\(name) \(n)")
            }
            XCTAssertEqual(f.moduleAttributes["targets"], .strings(try XCTUnwrap(labels)), name)
            XCTAssertEqual(f.moduleAttributes["pathologies"], .strings(try XCTUnwrap(labels)), name)
            // Private fields (hooks, `_non_persistent_buffers_set`) and scalar attributes are not kept.
            XCTAssertEqual(Set(f.moduleAttributes.keys), ["targets", "pathologies"], name)
        }
    }

    /// torchxrayvision's 2020 layout: no `_non_persistent_buffers_set`, a `_backend` record on every module (torch
    /// < 1.5), `op_threshs` a plain list (NaN kept) rather than a buffer.
    func testSpring2020LayoutReadsListAttributes() throws {
        let f = try TorchPickleFile(url: classifierFixture("densenet_tiny_model_2020.pt"))
        let meta = try XCTUnwrap(
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: classifierFixture("densenet_tiny_model_2020.json"))) as? [String: Any])
        let tensors = try XCTUnwrap(meta["tensors"] as? [String: [NSNumber]])
        XCTAssertEqual(Set(f.names.filter { f.info($0)?.dtype.isConvertible == true }), Set(tensors.keys))
        for (n, values) in tensors { assertBitwiseEqual(try f.tensor(n).data, values.map { $0.floatValue }, n) }
        XCTAssertEqual(f.moduleAttributes["pathologies"], .strings(try XCTUnwrap(meta["labels"] as? [String])))
        XCTAssertNil(f.moduleAttributes["targets"])
        guard case .numbers(let op)? = f.moduleAttributes["op_threshs"] else { return XCTFail("no op_threshs list") }
        XCTAssertEqual(op.count, 5)
        XCTAssertEqual(op[0], 0.25)
        XCTAssertTrue(op[1].isNaN)
    }

    /// Saved by torchxrayvision itself (make_classifier_fixtures.py): loads, and its `op_threshs` buffer, None,
    /// is left out as `state_dict()` leaves it out.
    func testModelSavedByTorchXRayVisionLoads() throws {
        let f = try TorchPickleFile(url: classifierFixture("densenet_small_module.pt"))
        XCTAssertEqual(f.moduleClass, Self.denseNet)
        XCTAssertFalse(f.names.contains("op_threshs"))
        XCTAssertEqual(f.info("classifier.weight")?.shape, [18, 4])
        XCTAssertEqual(f.info("features.denseblock4.denselayer1.conv2.weight")?.shape, [2, 2, 3, 3])
        XCTAssertTrue(f.moduleAttributes.isEmpty)
    }

    func testModuleTreeWalkMatchesStateDictRules() throws {
        typealias P = PickleTestValue
        let lin = P.module(Self.linear, parameters: [("weight", .tensor(key: "0", numel: 4)), ("bias", .none)])
        let t = P.tensor(key: "0", numel: 4)
        let root = P.module(
            Self.denseNet, buffers: [("b", t), ("tmp", t)],
            modules: [("classifier", lin), ("gone", .none)],
            extra: [
                ("_non_persistent_buffers_set", .list([.str("tmp")])), ("op_threshs", t),
                ("targets", .list([.str("A"), .str("B")])),
                ("scale", .list([.int(2), .float(0.5)])), ("weights", .str("name")),
            ])
        let f = try open(LegacyTestFile(object: root), "tree.pt")
        // None parameters and submodules and non-persistent buffers are absent; a root tensor attribute is served.
        XCTAssertEqual(f.names, ["b", "classifier.weight", "op_threshs"])
        XCTAssertEqual(f.moduleAttributes, ["targets": .strings(["A", "B"]), "scale": .numbers([2, 0.5])])
        // Inside a dict (a training checkpoint {"model": model}), a module contributes under its key.
        let wrapped = try open(LegacyTestFile(object: .dict([("model", lin), ("epoch", .int(3))])), "wrapped.pt")
        XCTAssertEqual(wrapped.names, ["model.weight"])
        XCTAssertNil(wrapped.moduleClass)
    }

    func testMalformedModuleTreesAreOneLineErrors() {
        typealias P = PickleTestValue
        // (file, pickled object, whether it uses storage "0", error kind, message)
        let cases: [(String, P, Bool, CheckpointError.Kind, String)] = [
            (
                "param-str.pt", P.module(Self.linear, parameters: [("weight", .str("x"))]), false, .unsupported,
                "parameter 'weight' is a str, not a tensor"
            ),
            (
                "buffer-list.pt", P.module(Self.linear, buffers: [("b", .list([]))]), false, .unsupported,
                "buffer 'b' is a list"
            ),
            (
                "no-modules.pt",
                .object(Self.linear, state: .dict([("_parameters", .dict([])), ("_buffers", .dict([]))])),
                false, .malformed, "has no _modules dict"
            ),
            (
                "child-dict.pt", P.module(Self.denseNet, modules: [("features", .dict([]))]), false, .unsupported,
                "submodule 'features' is a dict, not a module"
            ),
            (
                "child-backend.pt",
                P.module(
                    Self.denseNet,
                    modules: [
                        ("x", .raw(P.global("torch.nn.backends.thnn._get_thnn_function_backend") + [0x29, 0x52]))
                    ]),
                false, .unsupported, "not a module"
            ),
            ("no-build.pt", .object(Self.denseNet, state: nil), false, .unsupported, "has nothing as its state"),
            ("list-state.pt", .object(Self.denseNet, state: .list([])), false, .unsupported, "has a list as its state"),
            (
                "dotted.pt", P.module(Self.linear, parameters: [("a.b", .tensor(key: "0", numel: 4))]), true,
                .malformed,
                "invalid _parameters key"
            ),
        ]
        for (name, value, storage, kind, text) in cases {
            assertCheckpointError(name, kind: kind, contains: text) {
                _ = try open(LegacyTestFile(object: value, storage: storage), name)
            }
        }
        // Two paths to one name (a parameter and a root tensor attribute).
        let clash = P.module(
            Self.denseNet, buffers: [("op_threshs", .tensor(key: "0", numel: 4))],
            extra: [("op_threshs", .tensor(key: "0", numel: 4))])
        assertCheckpointError("clash.pt", kind: .malformed, contains: "two tensors") {
            _ = try open(LegacyTestFile(object: clash), "clash.pt")
        }
    }

    /// A module class the allow-list lacks is refused at its name, before anything is built.
    func testOtherModuleClassesAreRefused() {
        for cls in [
            "torchxrayvision.models.ResNet", "torchvision.models.densenet.DenseNet",
            "torch.nn.modules.module.Module", "torch.nn.modules.rnn.LSTM",
        ] {
            let value = PickleTestValue.module(Self.denseNet, modules: [("m", .module(cls))])
            assertCheckpointError("refused.pt", kind: .refused, contains: "refusing pickle global '\(cls)'") {
                _ = try open(LegacyTestFile(object: value, storage: false), "refused.pt")
            }
        }
    }

    private func open(_ file: LegacyTestFile, _ name: String) throws -> TorchPickleFile {
        let url = try file.write(name)
        defer { try? FileManager.default.removeItem(at: url) }
        return try TorchPickleFile(url: url)
    }
}
