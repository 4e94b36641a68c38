import CXRImaging
import Foundation
import XCTest
@testable import CXRClassifiers

/// The JSON-lines adapter against Tools/classifiers/fake_adapter.py (system python3, standard library only).
final class ExternalCommandClassifierTests: XCTestCase {
    private func fake(_ mode: String, timeout: TimeInterval = 20, log: URL? = nil) throws -> ExternalCommandClassifier {
        let py = try ClassifierFixtures.python3()
        return try ExternalCommandClassifier(
            command: [py, ClassifierFixtures.tools.appendingPathComponent("fake_adapter.py").path, mode],
            timeout: timeout, startupTimeout: 20, stderrLog: log)
    }

    private func grey(_ v: UInt16, bitDepth: Int = 8, w: Int = 12, h: Int = 9) throws -> RasterImage {
        try RasterImage(
            width: w, height: h, channels: 1, bitDepth: bitDepth, samples: Array(repeating: v, count: w * h))
    }

    /// Asserts a one-line error that names the command and contains `fragment`.
    private func assertFails(
        _ mode: String, _ fragment: String, timeout: TimeInterval = 20,
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let clf = try fake(mode, timeout: timeout)
        XCTAssertThrowsError(try clf.predict([try grey(100)]), file: file, line: line) { e in
            let d = "\(e)"
            XCTAssertTrue(e is ClassifierError, file: file, line: line)
            XCTAssertTrue(d.hasPrefix("classifier cmd:fake_adapter ("), d, file: file, line: line)
            XCTAssertTrue(d.contains("fake_adapter.py \(mode)"), d, file: file, line: line)
            XCTAssertTrue(d.contains(fragment), d, file: file, line: line)
            XCTAssertFalse(d.contains("\n"), d, file: file, line: line)
            print("[\(mode)] \(d)")
        }
        // The classifier stays failed: the next call gives the same error without a new request.
        XCTAssertThrowsError(try clf.predict([try grey(100)]), file: file, line: line) { e in
            XCTAssertTrue("\(e)".contains(fragment), file: file, line: line)
        }
        clf.close()
    }

    /// An adapter's 1 GB stderr flood was passed through unbounded: lines are cut, the total is capped, one notice.
    func testStderrForwardingIsBounded() throws {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("flood-\(UUID().uuidString).log")
        defer { try? FileManager.default.removeItem(at: log) }
        let tail = try StderrTail(log: log, limit: 10_000)
        tail.add(String(repeating: "x", count: 100_000))
        for i in 0..<1000 { tail.add("line \(i) " + String(repeating: "y", count: 40)) }
        let text = try String(contentsOf: log, encoding: .utf8)
        XCTAssertLessThan(text.utf8.count, 10_200)
        XCTAssertTrue(text.hasPrefix(String(repeating: "x", count: StderrTail.maxLineCharacters) + " …\n"))
        XCTAssertEqual(text.components(separatedBy: "the rest is not shown").count, 2, "one notice")
        XCTAssertTrue(tail.suffix.contains("line 999"), "the last line is still remembered for errors")
        XCTAssertLessThan(tail.suffix.count, 200)
    }

    func testHappyPathScoresEveryImageInOrder() throws {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("fake-\(UUID().uuidString).log")
        defer { try? FileManager.default.removeItem(at: log) }
        let clf = try fake("ok", log: log)
        XCTAssertEqual(clf.name, "cmd:fake_adapter")
        XCTAssertEqual(clf.labels, ["Brightness", "Darkness", "Effusion"])
        let rgb = try RasterImage(
            width: 4, height: 3, channels: 3, bitDepth: 8, samples: Array(repeating: 51, count: 36))
        let imgs = [try grey(0), try grey(255), try grey(32768, bitDepth: 16), rgb]
        let p = try clf.predict(imgs)
        XCTAssertEqual(p.count, 4)
        let want = [0.0, 1.0, 32768.0 / 65535.0, 0.2]
        for (i, w) in want.enumerated() {
            XCTAssertEqual(p[i]["Brightness"]!, w, accuracy: 1e-9)
            XCTAssertEqual(p[i]["Darkness"]!, 1 - w, accuracy: 1e-9)
            XCTAssertEqual(p[i]["Effusion"], 0.25)
        }
        // A second request on the same process, and files scored in place.
        let again = try clf.predict([try grey(102)])
        XCTAssertEqual(again[0]["Brightness"]!, 0.4, accuracy: 1e-9)
        XCTAssertEqual(try clf.predict([]).count, 0)
        clf.close()
        clf.close()
        let logged = try String(contentsOf: log, encoding: .utf8)
        XCTAssertTrue(logged.contains("fake_adapter: scored 4 images"), logged)
        XCTAssertTrue(logged.contains("fake_adapter: scored 1 images"), logged)
        XCTAssertThrowsError(try clf.predict([try grey(1)]))
        // Temporary PNGs are gone after the call.
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: FileManager.default.temporaryDirectory.path)
            .filter { $0.hasPrefix("cxr-edit-classify-\(getpid())-") }
        XCTAssertEqual(leftovers, [])
    }

    func testCrashNamesExitStatusAndLastStderrLine() throws {
        try assertFails(
            "crash", "exited with status 3 while answering request 1; last stderr line: 'fake_adapter: simulated crash'"
        )
    }

    func testHangIsKilledAfterTimeout() throws {
        let start = Date()
        try assertFails("hang", "no answer to request 1 within 1.5 s; process killed", timeout: 1.5)
        XCTAssertLessThan(Date().timeIntervalSince(start), 15)
    }

    func testGarbageOnStdout() throws {
        try assertFails("garbage", "printed non-JSON on stdout: 'Traceback (most recent call last): not JSON'")
    }

    func testWrongIdOutOfRangeMissingLabelAndReportedError() throws {
        try assertFails("wrong-id", "answered id 2 to request 1")
        try assertFails(
            "out-of-range", "label 'Effusion' = 1.5 in prediction 0 of request 1 is not a probability in [0, 1]")
        try assertFails("missing-label", "prediction 0 of request 1 lacks label 'Darkness'")
        try assertFails("error", "reported an error for request 1: model exploded")
    }

    func testStartupFailures() throws {
        let py = try ClassifierFixtures.python3()
        let script = ClassifierFixtures.tools.appendingPathComponent("fake_adapter.py").path
        XCTAssertThrowsError(
            try ExternalCommandClassifier(command: [py, script, "crash-on-start"], startupTimeout: 20)
        ) { e in
            XCTAssertTrue(
                "\(e)".contains(
                    "exited with status 2 before its hello line; last stderr line: 'fake_adapter: cannot load model weights'"
                ), "\(e)")
        }
        XCTAssertThrowsError(try ExternalCommandClassifier(command: [py, script, "no-hello"], startupTimeout: 20)) {
            e in
            XCTAssertTrue(
                "\(e)".contains("printed non-JSON on stdout instead of its hello line: 'loading model...'"), "\(e)")
        }
        XCTAssertThrowsError(
            try ExternalCommandClassifier(
                command: ["/nonexistent/adapter-xyz"], name: "cmd:missing", startupTimeout: 20)
        ) { e in
            XCTAssertTrue(
                "\(e)".hasPrefix(
                    "classifier cmd:missing (/nonexistent/adapter-xyz): exited with status 127 before its hello line"),
                "\(e)")
        }
        XCTAssertThrowsError(try ExternalCommandClassifier(command: [])) { e in
            XCTAssertEqual("\(e)", "classifier command is empty")
        }
    }

    /// The shipped torchxrayvision adapter agrees with the native DenseNet on the same weights. Needs a python with
    /// torch + torchxrayvision: set CXR_EDIT_XRV_PYTHON (e.g. /work/venv/bin/python); skipped otherwise.
    func testTorchXRayVisionAdapterMatchesNativeDenseNet() throws {
        guard let py = ProcessInfo.processInfo.environment["CXR_EDIT_XRV_PYTHON"], !py.isEmpty else {
            throw XCTSkip("set CXR_EDIT_XRV_PYTHON to a python with torchxrayvision")
        }
        let weights = ClassifierFixtures.url("densenet_small_state.pt")
        let ext = try ExternalCommandClassifier(
            command: [
                py, ClassifierFixtures.tools.appendingPathComponent("xrv_adapter.py").path,
                "--pt", weights.path,
            ], timeout: 120, startupTimeout: 300)
        defer { ext.close() }
        let native = try DenseNetClassifier(weightsURL: weights)
        XCTAssertEqual(ext.labels, native.labels)
        let images = try DenseNetTests.stems.map { try ClassifierFixtures.image($0) }
        let a = try ext.predict(images), b = try native.predict(images)
        var worst = 0.0
        for i in 0..<images.count { for l in native.labels { worst = max(worst, abs(a[i][l]! - b[i][l]!)) } }
        print("xrv_adapter vs native DenseNet: max abs difference \(worst)")
        XCTAssertLessThan(worst, 1e-4)
    }

    func testTemporaryPNGsRoundTripAndCleanUp() throws {
        let img = try grey(77, w: 5, h: 4)
        var seen: [URL] = []
        let n = try TemporaryPNGs.with([img, img]) { urls -> Int in
            seen = urls
            XCTAssertEqual(urls.count, 2)
            XCTAssertEqual(try ImageIO.read(urls[1]), img)
            XCTAssertTrue(urls[0].path.hasPrefix("/"))
            return urls.count
        }
        XCTAssertEqual(n, 2)
        XCTAssertFalse(FileManager.default.fileExists(atPath: seen[0].deletingLastPathComponent().path))
    }
}
