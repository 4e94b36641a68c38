import CXRImaging
import Foundation
import XCTest
@testable import CXRClassifiers

final class ClassifierFactoryTests: XCTestCase {
    func testShellWords() throws {
        XCTAssertEqual(try ShellWords.split("python3  a.py --x 1"), ["python3", "a.py", "--x", "1"])
        XCTAssertEqual(
            try ShellWords.split("'/my dir/run.sh' \"a b\" c\\ d \"q\\\"x\" ''"),
            ["/my dir/run.sh", "a b", "c d", "q\"x", ""])
        XCTAssertEqual(try ShellWords.split("a'b'\"c\""), ["abc"])
        XCTAssertEqual(try ShellWords.split("   "), [])
        XCTAssertThrowsError(try ShellWords.split("python3 'oops"))
        XCTAssertThrowsError(try ShellWords.split("python3 \"oops"))
        XCTAssertThrowsError(try ShellWords.split("trailing\\"))
    }

    func testDenseNetSpec() throws {
        let c = try ClassifierFactory.make(
            spec: "densenet121:densenet_small.safetensors", baseDirectory: ClassifierFixtures.dir)
        XCTAssertTrue(c is DenseNetClassifier)
        XCTAssertEqual(c.name, "densenet121")
        XCTAssertEqual(c.labels.count, 14)  // 4 outputs have NaN operating points
        let abs = try ClassifierFactory.make(spec: "densenet:" + ClassifierFixtures.url("densenet_small_state.pt").path)
        XCTAssertEqual(abs.labels, c.labels)
        XCTAssertThrowsError(
            try ClassifierFactory.make(spec: "densenet121:nope.safetensors", baseDirectory: ClassifierFixtures.dir)
        ) { e in
            XCTAssertTrue("\(e)".contains("nope.safetensors does not exist"), "\(e)")
        }
        XCTAssertThrowsError(try ClassifierFactory.make(spec: "densenet121:")) { e in
            XCTAssertTrue("\(e)".contains("missing path"), "\(e)")
        }
    }

    func testCommandSpec() throws {
        let py = try ClassifierFixtures.python3()
        let script = ClassifierFixtures.tools.appendingPathComponent("fake_adapter.py").path
        let c = try ClassifierFactory.make(spec: "cmd:\(py) '\(script)' ok", timeout: 30)
        XCTAssertEqual(c.name, "cmd:fake_adapter")
        XCTAssertEqual(c.labels, ["Brightness", "Darkness", "Effusion"])
        let img = try RasterImageFactory.grey(200)
        XCTAssertEqual(try c.predict([img])[0]["Brightness"]!, 200.0 / 255.0, accuracy: 1e-9)
        (c as? ExternalCommandClassifier)?.close()
        XCTAssertThrowsError(try ClassifierFactory.make(spec: "cmd:")) { e in
            XCTAssertTrue("\(e)".contains("empty command"), "\(e)")
        }
    }

    func testDemoSpecAndUnknownSpecs() throws {
        guard
            FileManager.default.fileExists(
                atPath: ClassifierFixtures.demoModel.appendingPathComponent("config.json").path)
        else {
            throw XCTSkip("Models/cxr-demo-classifier not present")
        }
        let d = try ClassifierFactory.make(spec: "demo:" + ClassifierFixtures.demoModel.path)
        XCTAssertEqual(d.name, "demo")
        XCTAssertTrue(d.labels.contains("Cardiomegaly"))
        for bad in ["", "resnet:x", "DEMO", "cmd"] {
            XCTAssertThrowsError(try ClassifierFactory.make(spec: bad)) { e in
                XCTAssertTrue("\(e)".hasPrefix("unknown classifier spec"), "\(e)")
            }
        }
    }
}

enum RasterImageFactory {
    static func grey(_ v: UInt16, w: Int = 8, h: Int = 8) throws -> CXRImaging.RasterImage {
        try CXRImaging.RasterImage(
            width: w, height: h, channels: 1, bitDepth: 8, samples: Array(repeating: v, count: w * h))
    }
}
