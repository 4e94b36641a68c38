import CXRImaging
import CXRTensor
import Foundation
import XCTest
@testable import CXRClassifiers

/// The bundled demo classifier against PyTorch (fixture from Tools/classifiers/make_classifier_fixtures.py).
final class DemoClassifierTests: XCTestCase {
    private func model() throws -> DemoClassifier {
        guard
            FileManager.default.fileExists(
                atPath: ClassifierFixtures.demoModel.appendingPathComponent("config.json").path)
        else {
            throw XCTSkip("Models/cxr-demo-classifier not present")
        }
        return try DemoClassifier(directory: ClassifierFixtures.demoModel)
    }

    private func check(_ clf: DemoClassifier, image: RasterImage, expected e: [String: Any], tag: String) throws {
        let x = try DemoClassifier.preprocess(image, size: clf.inputSize)
        let sum = x.data.reduce(0.0) { $0 + Double($1) }
        let absSum = x.data.reduce(0.0) { $0 + Double(abs($1)) }
        let n = Double(x.count)
        XCTAssertEqual(sum / n, (e["input_sum"] as! Double) / n, accuracy: 1e-5, tag)
        XCTAssertEqual(absSum / n, (e["input_abs_sum"] as! Double) / n, accuracy: 1e-5, tag)
        let corner = ClassifierFixtures.floats(e["input_corner"])
        let size = clf.inputSize
        let mine = (0..<2).flatMap { r in (0..<4).map { x.data[r * size + $0] } }
        XCTAssertLessThan(ClassifierFixtures.maxRelError(mine, corner), 1e-4, tag)
        let want = ClassifierFixtures.floats(e["probabilities"])
        let got = try clf.predict([image])[0]
        let row = clf.labels.map { Float(got[$0] ?? .nan) }
        let err = ClassifierFixtures.maxRelError(row, want)
        print("demo parity \(tag): max abs error \(err)")
        XCTAssertLessThan(err, 1e-4, tag)
        XCTAssert(got.values.allSatisfy { $0 >= 0 && $0 <= 1 })
    }

    func testParityWithPyTorchOnSyntheticImages() throws {
        let clf = try model()
        let fx = try ClassifierFixtures.json("demo_expected.json")
        XCTAssertEqual(fx["labels"] as? [String], clf.labels)
        let synth = try XCTUnwrap(fx["synthetic"] as? [String: [String: Any]])
        XCTAssertEqual(synth.count, 3)
        for (stem, e) in synth.sorted(by: { $0.key < $1.key }) {
            try check(clf, image: try ClassifierFixtures.image(stem), expected: e, tag: stem)
        }
    }

    func testParityOnNIHImagesWhenSharedDataIsPresent() throws {
        let clf = try model()
        let fx = try ClassifierFixtures.json("demo_expected.json")
        let nih = try XCTUnwrap(fx["nih"] as? [String: [String: Any]])
        let dir = ClassifierFixtures.sharedData.appendingPathComponent("nih-labelled/images")
        guard FileManager.default.fileExists(atPath: dir.path), !nih.isEmpty else {
            throw XCTSkip("../shared/data/nih-labelled not present")
        }
        for (file, e) in nih.sorted(by: { $0.key < $1.key }) {
            try check(clf, image: try ImageIO.read(dir.appendingPathComponent(file)), expected: e, tag: file)
        }
    }

    func testBatchEqualsSingleAndLabelsAreTorchXRayVisionNames() throws {
        let clf = try model()
        XCTAssertEqual(clf.name, "demo")
        for n in ["Abnormal", "Cardiomegaly", "Effusion", "Pneumothorax", "Male", "AP view"] {
            XCTAssertTrue(clf.labels.contains(n), n)
        }
        let a = try ClassifierFixtures.image("grey256"), b = try ClassifierFixtures.image("rgb320x280")
        let both = try clf.predict([a, b])
        let single = try clf.predict([b])
        for l in clf.labels { XCTAssertEqual(both[1][l]!, single[0][l]!, accuracy: 1e-6) }
        XCTAssertNotEqual(both[0], both[1])
        XCTAssertEqual(try clf.predict([]).count, 0)
        let start = Date()
        let many = try clf.predict(Array(repeating: a, count: 16))
        print("demo classifier: \(Date().timeIntervalSince(start) / 16 * 1000) ms per 256x256 image (this build)")
        XCTAssertEqual(many.count, 16)
    }

    func testLocateSearchOrder() throws {
        _ = try model()
        let env = ["CXR_EDIT_CLASSIFIER": ClassifierFixtures.demoModel.path]
        XCTAssertEqual(
            DemoClassifier.locate(environment: env, executable: "/nonexistent/bin/x", currentDirectory: "/")?.path,
            ClassifierFixtures.demoModel.path)
        // Beside an executable a few folders below the repository root.
        let exe = ClassifierFixtures.repoRoot.appendingPathComponent(".build/debug/cxr-edit").path
        XCTAssertEqual(
            DemoClassifier.locate(environment: [:], executable: exe, currentDirectory: "/")?.standardizedFileURL.path,
            ClassifierFixtures.demoModel.standardizedFileURL.path)
        // The current folder.
        XCTAssertEqual(
            DemoClassifier.locate(
                environment: [:], executable: "/nonexistent/x", currentDirectory: ClassifierFixtures.repoRoot.path)?
                .standardizedFileURL.path, ClassifierFixtures.demoModel.standardizedFileURL.path)
        // An env var pointing nowhere falls through to the other places; nothing anywhere gives nil.
        XCTAssertNil(
            DemoClassifier.locate(
                environment: ["CXR_EDIT_CLASSIFIER": "/nonexistent"], executable: "/nonexistent/x",
                currentDirectory: "/nonexistent"))
    }

    func testBrokenModelFolderGivesOneLineError() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("demo-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        XCTAssertThrowsError(try DemoClassifier(directory: dir)) { e in
            XCTAssertTrue("\(e)".contains("config.json"), "\(e)")
            XCTAssertFalse("\(e)".contains("\n"))
        }
        try Data(
            #"{"architecture": "cxr-demo-cnn", "labels": ["A"], "input": {"size": 64}, "layers": [{"out_channels": 4, "stride": 2}]}"#
                .utf8
        )
        .write(to: dir.appendingPathComponent("config.json"))
        XCTAssertThrowsError(try DemoClassifier(directory: dir)) { e in
            XCTAssertTrue("\(e)".contains("model.safetensors"), "\(e)")
        }
    }
}
