import CXRClassifiers
import CXRImaging
import CXRPipelines
@testable import CXRProbe
@testable import CXRRuns
import Foundation
import XCTest

/// Paths and shared fixtures for the probe tests.
enum ProbeFixtures {
    static let testsDir = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let fixtures = testsDir.appendingPathComponent("Fixtures")
    static let tinyModel = fixtures.appendingPathComponent("models/sd1-tiny")
    static let probeFixtures = fixtures.appendingPathComponent("probe")

    nonisolated(unsafe) private static var cachedModel: StableDiffusionModel?
    static func model() throws -> StableDiffusionModel {
        if let m = cachedModel { return m }
        let m = try StableDiffusionModel.load(from: tinyModel)
        cachedModel = m
        return m
    }

    /// A fresh temporary folder.
    static func tempDir(_ name: String = "probe") throws -> URL {
        let u = FileManager.default.temporaryDirectory.appendingPathComponent("cxr-probe-\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
        return u
    }

    /// Writes `count` small synthetic grey radiograph-like PNGs (smooth gradients plus a bright blob).
    static func writeImages(in dir: URL, count: Int, size: Int = 64) throws {
        for k in 0..<count {
            var s = [UInt16](repeating: 0, count: size * size)
            for y in 0..<size {
                for x in 0..<size {
                    let cx = Double(size) * (0.3 + 0.2 * Double(k)), cy = Double(size) * 0.5
                    let d =
                        ((Double(x) - cx) * (Double(x) - cx) + (Double(y) - cy) * (Double(y) - cy))
                        / Double(size * size)
                    let v = 40 + 120 * Double(y) / Double(size) + 90 * exp(-d * 20)
                    s[y * size + x] = UInt16(min(255, max(0, v)))
                }
            }
            let img = try RasterImage(width: size, height: size, channels: 1, bitDepth: 8, samples: s)
            try ImageIO.writePNG(img, to: dir.appendingPathComponent(String(format: "img%02d.png", k)), overwrite: true)
        }
    }

    /// A right-half mask PNG (white = edit).
    static func writeMask(_ url: URL, size: Int = 64) throws {
        var s = [UInt16](repeating: 0, count: size * size)
        for y in 0..<size { for x in (size / 2)..<size { s[y * size + x] = 255 } }
        try ImageIO.writePNG(
            try RasterImage(width: size, height: size, channels: 1, bitDepth: 8, samples: s), to: url, overwrite: true)
    }

    /// A small study: 2 images x 2 edits (SDEdit prompt, inpainting with a mask) x 2 strengths x 1 seed.
    static func writeStudy(in dir: URL, images: Int = 2, seeds: String = "[3]") throws -> URL {
        let imgDir = dir.appendingPathComponent("images-in")
        try FileManager.default.createDirectory(at: imgDir, withIntermediateDirectories: true)
        try writeImages(in: imgDir, count: images)
        try writeMask(dir.appendingPathComponent("right.png"))
        let spec = """
            # test study
            inputs:
              folder: images-in
            edits:
              - prompt: "Large right pleural effusion."
                target: Effusion
                name: effusion-sdedit
              - prompt: "Cardiomegaly."
                mask: right.png
                target: Cardiomegaly
            strengths: [0.5, 1.0]
            seeds: \(seeds)
            steps: 2
            guidance: 3
            classifiers: [stub]
            """
        let url = dir.appendingPathComponent("study.yaml")
        try spec.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    /// Plan + runner for a spec on the tiny model with the stub classifier.
    static func runner(
        spec url: URL, out: URL, options: ProbeRunOptions = ProbeRunOptions(),
        classifier: Classifier = StubClassifier()
    ) throws -> ProbeRunner {
        let spec = try ProbeSpec.load(url)
        let images = try spec.inputs.list(specFile: url.path)
        let plan = try ProbePlan(
            spec: spec, images: images, steps: spec.steps ?? 2, guidance: spec.guidance ?? 3,
            schedulerName: spec.scheduler ?? "PNDMScheduler", modelHash: "tiny-model-hash")
        return try ProbeRunner(
            plan: plan, model: model(), classifiers: [classifier], resolver: FindingsEditResolver(),
            runDirectory: out, options: options)
    }

    /// Rows without the fields that legitimately differ between runs (timings, paths of the run directory).
    static func comparable<Row: ResultRow>(_ rows: [Row]) -> [String] {
        rows.map { r in
            guard case .object(var c) = try? ExactJSON(encoding: r) else { return "" }
            for k in c.keys where k.hasPrefix("seconds") { c.removeValue(forKey: k) }
            return (try? StableJSON.string(ExactJSON.object(c))) ?? ""
        }
    }
}

extension SynthesisRow {
    /// A row with the given fields and placeholders for the rest (for the dataset statistics).
    static func made(
        prompt: String = "p", file: String = "images/000000.png", labels: [String] = [],
        scores: [String: [String: Double]]? = nil
    ) -> SynthesisRow {
        SynthesisRow(
            id: file, schema: schema, position: 0, file: file, output: file, prompt: prompt,
            negativePrompt: "", findings: [], labels: labels, seed: 0, scores: scores, seconds: 0,
            secondsDenoising: 0)
    }
}

/// A deterministic classifier for tests: probabilities from the image's brightness statistics.
final class StubClassifier: Classifier {
    let name: String
    let labels = ["Cardiomegaly", "Effusion", "Pneumothorax"]
    var calls = 0
    init(name: String = "stub") { self.name = name }
    func predict(_ images: [RasterImage]) throws -> [[String: Double]] {
        calls += images.count
        return images.map { img in
            let p = GrayPlane(img)
            let mean = Double(p.values.reduce(0, +)) / Double(p.values.count)
            let right = p.values.enumerated().filter { $0.offset % p.width >= p.width / 2 }.map { Double($0.element) }
            let rmean = right.reduce(0, +) / Double(max(right.count, 1))
            return ["Cardiomegaly": rmean, "Effusion": mean, "Pneumothorax": min(1, abs(rmean - mean) * 4)]
        }
    }
}

/// A classifier that answers out of range (to test validation).
final class BrokenClassifier: Classifier {
    let name = "broken"
    let labels = ["Effusion"]
    func predict(_ images: [RasterImage]) throws -> [[String: Double]] { images.map { _ in ["Effusion": 1.7] } }
}

/// Crash tests re-run the test binary as a child process on one test method (Linux: /proc/self/exe) and kill it
/// half-way; these are the parts every such test shares.
extension ProbeFixtures {
    /// Starts `test` (e.g. "CXRProbeTests.ProbeKillTests/testChildEntry") in a child with `environment` added.
    static func startChild(test: String, environment: [String: String]) throws -> Process {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        child.arguments = [test]
        child.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        child.standardOutput = FileHandle.nullDevice
        child.standardError = FileHandle.nullDevice
        try child.run()
        return child
    }

    /// Polls `results` until it has `rows` complete lines, the child exits, or two minutes pass; the lines seen.
    static func waitForRows(_ results: URL, rows: Int, of child: Process, pollMicroseconds: useconds_t) -> Int {
        let deadline = Date().addingTimeInterval(120)
        var lines = 0
        while Date() < deadline && child.isRunning {
            lines = ((try? Data(contentsOf: results)) ?? Data()).filter { $0 == 10 }.count
            if lines >= rows { break }
            usleep(pollMicroseconds)
        }
        return lines
    }
}
