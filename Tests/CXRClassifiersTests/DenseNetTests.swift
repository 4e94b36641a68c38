import CXRCheckpoint
import CXRImaging
import CXRTensor
import Foundation
import XCTest
@testable import CXRClassifiers

/// Parity with torchxrayvision (fixtures from Tools/classifiers/make_classifier_fixtures.py, random weights).
final class DenseNetTests: XCTestCase {
    static let stems = ["grey256", "rgb320x280", "grey16_150x170", "grey600x640"]

    func testPreprocessingMatchesTorchXRayVision() throws {
        let inputs = try SafeTensorsFile(url: ClassifierFixtures.url("xrv_inputs.safetensors"))
        for stem in Self.stems {
            let expected = try inputs.tensor(stem)
            let got = try XRVPreprocessing.tensor(from: try ClassifierFixtures.image(stem))
            XCTAssertEqual(got.shape, [1, 224, 224], stem)
            let err = got.maxAbsDifference(expected)
            // Values span [-1024, 1024]; 2e-3 absolute is ~1e-6 relative (float32 rounding of the filters).
            XCTAssertLessThan(err, 2e-3, "\(stem): max abs error \(err)")
            print("xrv preprocessing \(stem): max abs error \(err)")
        }
    }

    private func checkParity(_ clf: DenseNetClassifier, file: String) throws {
        let meta = try ClassifierFixtures.json("densenet_small.json")
        let expected = try XCTUnwrap(meta["expected"] as? [String: [String: Any]])
        let inputs = try SafeTensorsFile(url: ClassifierFixtures.url("xrv_inputs.safetensors"))
        let ops = ((meta["op_threshs"] as? [Any]) ?? []).map { ($0 as? NSNumber)?.floatValue ?? .nan }
        XCTAssertEqual(clf.opThresholds?.count, 18)
        for stem in Self.stems {
            let x = try inputs.tensor(stem).reshaped([1, 1, 224, 224])
            let logits = try clf.model.logits(x).data
            let e = try XCTUnwrap(expected[stem])
            let errLogits = ClassifierFixtures.maxRelError(logits, ClassifierFixtures.floats(e["logits"]))
            XCTAssertLessThan(errLogits, 1e-4, "\(file) \(stem) logits")
            let normed = try clf.outputs(forInput: x)[0]
            let errNorm = ClassifierFixtures.maxRelError(normed, ClassifierFixtures.floats(e["op_norm"]))
            XCTAssertLessThan(errNorm, 1e-4, "\(file) \(stem) op_norm")
            let sig = DenseNetClassifier.probabilities(logits: logits, opThresholds: nil)
            XCTAssertLessThan(ClassifierFixtures.maxRelError(sig, ClassifierFixtures.floats(e["sigmoid"])), 1e-4)
            print("densenet parity \(file) \(stem): logits \(errLogits), op_norm \(errNorm)")
            // NaN operating points give exactly 0.5, as op_norm leaves them.
            for i in 0..<18 where ops[i].isNaN { XCTAssertEqual(normed[i], 0.5) }
        }
    }

    func testReducedDenseNetParitySafetensors() throws {
        let clf = try DenseNetClassifier(weightsURL: ClassifierFixtures.url("densenet_small.safetensors"))
        XCTAssertEqual(
            clf.model.architecture,
            DenseNetArchitecture(
                growthRate: 8, blockConfig: [2, 2, 2, 2],
                numInitFeatures: 16, bnSize: 4))
        let meta = try ClassifierFixtures.json("densenet_small.json")
        XCTAssertEqual(clf.model.architecture.parameterCount, meta["parameters"] as? Int)
        try checkParity(clf, file: "safetensors")
    }

    func testReducedDenseNetParityTorchStateDict() throws {
        let clf = try DenseNetClassifier(weightsURL: ClassifierFixtures.url("densenet_small_state.pt"))
        try checkParity(clf, file: "pt")
    }

    func testEndToEndPredictUsesLabelsAndOperatingPoints() throws {
        let meta = try ClassifierFixtures.json("densenet_small.json")
        let names = try XCTUnwrap(meta["labels"] as? [String])
        // The fixture's 18 outputs: 14 named with operating points, 4 unnamed with NaN thresholds.
        let clf = try DenseNetClassifier(
            weightsURL: ClassifierFixtures.url("densenet_small.safetensors"), labels: names)
        XCTAssertEqual(clf.labels, Array(names.prefix(14)))
        let expected = try XCTUnwrap(meta["expected"] as? [String: [String: Any]])
        let images = try ["grey256", "rgb320x280"].map { try ClassifierFixtures.image($0) }
        let preds = try clf.predict(images)
        XCTAssertEqual(preds.count, 2)
        for (k, stem) in ["grey256", "rgb320x280"].enumerated() {
            XCTAssertEqual(Set(preds[k].keys), Set(clf.labels))
            let want = ClassifierFixtures.floats(expected[stem]?["op_norm"])
            for (i, n) in names.prefix(14).enumerated() {
                let p = try XCTUnwrap(preds[k][n])
                XCTAssert((0...1).contains(p))
                XCTAssertEqual(p, Double(want[i]), accuracy: 2e-4, "\(stem) \(n)")
            }
        }
        // Without operating points: plain sigmoid, all 18 default names minus the empty ones.
        let plain = try DenseNetClassifier(
            weightsURL: ClassifierFixtures.url("densenet_small.safetensors"),
            useOperatingPoints: false)
        XCTAssertNil(plain.opThresholds)
        XCTAssertEqual(plain.labels, DenseNetClassifier.defaultLabels)
    }

    /// A model saved by torchxrayvision itself (`torch.save(model)`, weights=None) loads directly: its shape from
    /// the tensors, torchxrayvision's default names, no operating points (its `op_threshs` buffer is None).
    func testModelSavedByTorchXRayVisionLoadsDirectly() throws {
        let clf = try DenseNetClassifier(weightsURL: ClassifierFixtures.url("densenet_small_module.pt"))
        XCTAssertEqual(
            clf.model.architecture,
            DenseNetArchitecture(
                growthRate: 2, blockConfig: [1, 1, 1, 1],
                numInitFeatures: 4, bnSize: 1))
        XCTAssertEqual(clf.labels, DenseNetClassifier.defaultLabels)
        XCTAssertNil(clf.opThresholds)
    }

    /// Pickles of anything else stay refused, with the pointer to the converter.
    func testOtherPicklesAreRefusedWithConversionHint() throws {
        let evil = ClassifierFixtures.dir.deletingLastPathComponent()
            .appendingPathComponent("checkpoint/bad/evil_os_system.bin")
        XCTAssertThrowsError(try DenseNetClassifier(weightsURL: evil)) { e in
            let d = "\(e)"
            XCTAssertTrue(d.contains("evil_os_system.bin: refusing pickle global 'os.system'"), d)
            XCTAssertTrue(d.contains("xrv_to_safetensors.py"), d)
            XCTAssertFalse(d.contains("\n"))
        }
    }

    func testWrongShapesAndMissingTensorsAreOneLineErrors() throws {
        let a = DenseNetArchitecture(growthRate: 4, blockConfig: [1, 1], numInitFeatures: 8, bnSize: 2)
        var tensors = Self.randomWeights(a, seed: 3)
        tensors["features.denseblock1.denselayer1.norm2.weight"] = Tensor(zeros: [5])
        XCTAssertThrowsError(try DenseNetModel(weights: WeightReader(tensors: tensors, label: "w.safetensors"))) { e in
            XCTAssertEqual(
                "\(e)",
                "w.safetensors: tensor 'features.denseblock1.denselayer1.norm2.weight' has shape [5], expected [8]")
        }
        tensors = Self.randomWeights(a, seed: 3)
        tensors["features.norm5.running_var"] = nil
        XCTAssertThrowsError(try DenseNetModel(weights: WeightReader(tensors: tensors, label: "w.safetensors"))) { e in
            XCTAssertEqual("\(e)", "w.safetensors: missing tensor 'features.norm5.running_var'")
        }
        XCTAssertThrowsError(
            try DenseNetModel(weights: WeightReader(tensors: ["x": Tensor(zeros: [1])], label: "x.pt"))
        ) { e in
            XCTAssertTrue("\(e)".hasPrefix("x.pt: not a DenseNet state_dict"))
        }
        let model = try DenseNetModel(weights: WeightReader(tensors: Self.randomWeights(a, seed: 3)))
        XCTAssertThrowsError(try model.logits(Tensor(zeros: [1, 3, 64, 64])))
        XCTAssertThrowsError(try model.logits(Tensor(zeros: [1, 1, 16, 16])))
    }

    /// The full DenseNet-121 of torchxrayvision: names, shapes and parameter count from the architecture, and a
    /// forward pass on random weights (no fixture: 7M parameters would be 28 MB).
    func testFullDenseNet121ShapesAndParameterCount() throws {
        let a = DenseNetArchitecture.densenet121
        let meta = try ClassifierFixtures.json("densenet_small.json")
        XCTAssertEqual(a.parameterCount, 6_966_034)
        XCTAssertEqual(a.parameterCount, meta["densenet121_parameters"] as? Int)  // counted by torch
        let shapes = a.parameterShapes()
        XCTAssertEqual(shapes.count, 120 + 121 * 4 + 2)  // convs, BatchNorms (4 tensors each), classifier
        XCTAssertEqual(shapes.last?.shape, [18])
        XCTAssertEqual(shapes.first { $0.name == "features.norm5.weight" }?.shape, [1024])
        XCTAssertEqual(shapes.first { $0.name == "features.transition3.conv.weight" }?.shape, [512, 1024, 1, 1])
        XCTAssertEqual(
            shapes.first { $0.name == "features.denseblock4.denselayer16.conv2.weight" }?.shape, [32, 128, 3, 3])
        let w = WeightReader(tensors: Self.randomWeights(a, seed: 7))
        let model = try DenseNetModel(weights: w)
        XCTAssertEqual(model.architecture, a)
        let clf = try DenseNetClassifier(weights: w)
        let img = try ClassifierFixtures.image("grey256")
        let start = Date()
        let p = try clf.predict([img])
        print("DenseNet-121 forward (debug build): \(Date().timeIntervalSince(start)) s")
        XCTAssertEqual(p[0].count, 18)
        XCTAssert(p[0].values.allSatisfy { $0 >= 0 && $0 <= 1 && $0.isFinite })
    }

    /// Deterministic random weights for an architecture (BN variances positive).
    static func randomWeights(_ a: DenseNetArchitecture, seed: UInt64) -> [String: Tensor] {
        var state = seed &* 0x9E3779B97F4A7C15 | 1
        func next() -> Float {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Float(state % 1_000_000) / 1_000_000
        }
        var out: [String: Tensor] = [:]
        for (name, shape) in a.parameterShapes() {
            let n = shape.reduce(1, *)
            let fanIn = shape.count == 4 ? shape[1] * shape[2] * shape[3] : (shape.count == 2 ? shape[1] : 1)
            let scale = (2 / Float(fanIn)).squareRoot() * 1.7
            let data: [Float] = (0..<n).map { _ in
                if name.hasSuffix("running_var") { return 0.5 + next() }
                if name.hasSuffix("norm0.weight") || name.contains("norm") && name.hasSuffix(".weight") {
                    return 0.5 + next()
                }
                if name.hasSuffix("running_mean") || name.hasSuffix(".bias") { return 0.2 * (next() - 0.5) }
                return scale * (next() - 0.5)
            }
            out[name] = Tensor(shape: shape, data: data)
        }
        return out
    }
}
