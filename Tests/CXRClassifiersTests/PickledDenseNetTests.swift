import CXRCheckpoint
import CXRImaging
import CXRTensor
import Foundation
import XCTest
@testable import CXRClassifiers

/// `densenet121:FILE.pt` on torchxrayvision's own file format, a pickled whole model (fixtures from
/// Tools/classifiers/make_xrv_pickle_fixture.py): the same network as its state_dict, and the labels and
/// operating points the model carries.
final class PickledDenseNetTests: XCTestCase {
    /// The pickled model holds densenet_small.safetensors' tensors, `targets` and the `op_threshs` buffer: its
    /// logits and outputs equal those of the safetensors file given the same labels, exactly, in both layouts.
    func testPickledModelsGiveTheStateDictOutputsExactly() throws {
        let meta = try ClassifierFixtures.json("densenet_small.json")
        let names = try XCTUnwrap(meta["labels"] as? [String])
        let reference = try DenseNetClassifier(
            weightsURL: ClassifierFixtures.url("densenet_small.safetensors"),
            labels: names)
        let inputs = try SafeTensorsFile(url: ClassifierFixtures.url("xrv_inputs.safetensors"))
        for file in ["densenet_small_model_zip.pt", "densenet_small_model_legacy.pt"] {
            // No labels passed: they come from the pickle.
            let clf = try DenseNetClassifier(weightsURL: ClassifierFixtures.url(file))
            XCTAssertEqual(clf.model.architecture, reference.model.architecture, file)
            XCTAssertEqual(clf.outputLabels, names, file)
            XCTAssertEqual(clf.labels, Array(names.prefix(14)), file)
            XCTAssertEqual(clf.opThresholds?.map(\.bitPattern), reference.opThresholds?.map(\.bitPattern), file)
            for stem in DenseNetTests.stems {
                let x = try inputs.tensor(stem).reshaped([1, 1, 224, 224])
                XCTAssertEqual(try clf.model.logits(x).data, try reference.model.logits(x).data, "\(file) \(stem)")
                XCTAssertEqual(try clf.outputs(forInput: x), try reference.outputs(forInput: x), "\(file) \(stem)")
            }
            let image = try ClassifierFixtures.image("grey256")
            XCTAssertEqual(try clf.predict([image]), try reference.predict([image]), file)
        }
    }

    /// torchxrayvision's spring-2020 attributes: labels from `pathologies`, operating points from a plain list
    /// (NaN: the output is not reported); `useOperatingPoints: false` and explicit labels still win.
    func testSpring2020ModelUsesPathologiesAndListOperatingPoints() throws {
        let url = ClassifierFixtures.url("densenet_tiny_model_2020.pt")
        let meta = try ClassifierFixtures.json("densenet_tiny_model_2020.json")
        let clf = try DenseNetClassifier(weightsURL: url)
        XCTAssertEqual(clf.outputLabels, try XCTUnwrap(meta["labels"] as? [String]))
        XCTAssertEqual(clf.labels, ["Effusion", "Cardiomegaly", "Pneumothorax", "Mass"])
        let op = try XCTUnwrap(clf.opThresholds)
        XCTAssertEqual(op.count, 5)
        for (i, v) in ClassifierFixtures.floats(meta["op_threshs"]).enumerated() {
            XCTAssertEqual(op[i].isNaN ? -1 : op[i], v.isNaN ? -1 : v, "op_threshs[\(i)]")
        }
        // The operating point of each reported output maps to 0.5: p = t gives exactly 0.5.
        XCTAssertEqual(
            DenseNetClassifier.probabilities(logits: [log(0.25 / 0.75)], opThresholds: [op[0]])[0], 0.5,
            accuracy: 1e-6)
        let p = try clf.predict([try ClassifierFixtures.image("grey256")])[0]
        XCTAssertEqual(Set(p.keys), Set(clf.labels))
        XCTAssert(p.values.allSatisfy { (0...1).contains($0) })

        let plain = try DenseNetClassifier(
            weightsURL: url, labels: ["a", "b", "c", "d", "e"],
            useOperatingPoints: false)
        XCTAssertNil(plain.opThresholds)
        XCTAssertEqual(plain.labels, ["a", "b", "c", "d", "e"])
    }

    /// Which attribute wins, and lists of the wrong length are errors, not a silent misalignment.
    func testAttributePrecedenceAndLengths() throws {
        let tensors = DenseNetTests.randomWeights(
            DenseNetArchitecture(growthRate: 2, blockConfig: [1, 1], numInitFeatures: 4, bnSize: 1, numClasses: 3),
            seed: 1)
        func classifier(_ attributes: [String: TorchModuleAttribute]) throws -> DenseNetClassifier {
            try DenseNetClassifier(weights: WeightReader(tensors: tensors, label: "m.pt", moduleAttributes: attributes))
        }
        let both = try classifier(["targets": .strings(["a", "b", "c"]), "pathologies": .strings(["x", "y", "z"])])
        XCTAssertEqual(both.outputLabels, ["a", "b", "c"])
        XCTAssertEqual(try classifier(["pathologies": .strings(["x", "y", "z"])]).outputLabels, ["x", "y", "z"])
        // A numbers list is not a label list; 3 outputs have no default names.
        XCTAssertEqual(
            try classifier(["targets": .numbers([1, 2, 3])]).outputLabels,
            ["output_0", "output_1", "output_2"])
        XCTAssertEqual(try classifier(["op_threshs": .numbers([0.1, .nan, 0.3])]).labels, ["output_0", "output_2"])
        XCTAssertThrowsError(try classifier(["targets": .strings(["a", "b"])])) { e in
            XCTAssertEqual("\(e)", "m.pt: 2 labels for 3 outputs")
        }
        XCTAssertThrowsError(try classifier(["op_threshs": .numbers([0.1, 0.2])])) { e in
            XCTAssertEqual("\(e)", "m.pt: 2 op_threshs for 3 outputs")
        }
        // An op_threshs tensor (state_dict buffer) wins over the attribute list.
        var withTensor = tensors
        withTensor["op_threshs"] = Tensor(shape: [3], data: [0.5, 0.5, 0.5])
        let t = try DenseNetClassifier(
            weights: WeightReader(
                tensors: withTensor, label: "m.pt",
                moduleAttributes: ["op_threshs": .numbers([0.1, 0.2])]))
        XCTAssertEqual(t.opThresholds, [0.5, 0.5, 0.5])
    }
}
