import CXRCheckpoint
import CXRImaging
import CXRTensor
import Foundation
import XCTest

/// Paths of the classifier fixtures, tools and bundled model, found from this file's location.
enum ClassifierFixtures {
    static let testsDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    static let dir = testsDir.appendingPathComponent("Fixtures/classifiers")
    static let repoRoot = testsDir.deletingLastPathComponent()
    static let tools = repoRoot.appendingPathComponent("Tools/classifiers")
    static let demoModel = repoRoot.appendingPathComponent("Models/cxr-demo-classifier")
    /// ../shared/data beside the repository (absent on most machines); $CXR_EDIT_SHARED_DATA overrides it.
    static let sharedData: URL = {
        if let p = ProcessInfo.processInfo.environment["CXR_EDIT_SHARED_DATA"], !p.isEmpty {
            return URL(fileURLWithPath: p)
        }
        return repoRoot.deletingLastPathComponent().appendingPathComponent("shared/data")
    }()

    static func url(_ name: String) -> URL { dir.appendingPathComponent(name) }

    static func image(_ stem: String) throws -> RasterImage {
        try ImageIO.read(url("images/\(stem).png"))
    }

    static func json(_ name: String) throws -> [String: Any] {
        let obj = try JSONSerialization.jsonObject(with: Data(contentsOf: url(name)))
        guard let d = obj as? [String: Any] else { throw ClassifierTestError("\(name) is not an object") }
        return d
    }

    static func floats(_ any: Any?) -> [Float] {
        ((any as? [Any]) ?? []).map { ($0 as? NSNumber)?.floatValue ?? .nan }
    }

    /// Largest |a - b| / max(1, |b|) (relative for large values, absolute near zero).
    static func maxRelError(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count, "length \(a.count) vs \(b.count)")
        var m: Float = 0
        for i in 0..<a.count { m = max(m, abs(a[i] - b[i]) / max(1, abs(b[i]))) }
        return m
    }

    /// python3 on PATH (the fake adapter needs only the standard library).
    static func python3() throws -> String {
        for p in ["/usr/bin/python3", "/usr/local/bin/python3", "/bin/python3"]
        where FileManager.default.isExecutableFile(atPath: p) { return p }
        throw XCTSkip("python3 not found")
    }
}

struct ClassifierTestError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
