@testable import CXRProbe
@testable import CXRRuns
import CXRImaging
import Foundation
import XCTest

/// The resumable-run machinery shared by probe and synthesize: results log, lock, shards, ids.
final class RunMachineryTests: XCTestCase {
    func testLogAppendsReopensAndTruncatesATornLine() throws {
        let dir = try ProbeFixtures.tempDir("log")
        let url = dir.appendingPathComponent("results.jsonl")
        do {
            let log = try ResultsLog<LoggedRow>(url: url)
            try log.append(LoggedRow(id: "a", x: 1))
            try log.append(LoggedRow(id: "b", x: 2))
        }
        // A crash mid-write leaves an unterminated line.
        let h = try FileHandle(forWritingTo: url)
        h.seekToEndOfFile(); h.write(Data(#"{"id": "c", "x"#.utf8)); h.closeFile()
        let log = try ResultsLog<LoggedRow>(url: url)
        XCTAssertEqual(log.finishedIDs, ["a", "b"])
        XCTAssertEqual(log.truncatedBytes, 14)
        try log.append(LoggedRow(id: "c", x: 3))
        let text = try String(contentsOf: url, encoding: .utf8)
        let lines = ["a", "b", "c"].enumerated().map { #"{"id":"\#($1)","schema":"cxr-edit.test/1","x":\#($0 + 1)}"# }
        XCTAssertEqual(text, lines.map { $0 + "\n" }.joined())
        XCTAssertEqual(try ResultsLog<LoggedRow>.readRows(url).count, 3)
    }

    func testCorruptCompleteLineIsAnError() throws {
        let url = try ProbeFixtures.tempDir("log").appendingPathComponent("results.jsonl")
        try "{\"id\":\"a\",\"schema\":\"cxr-edit.test/1\",\"x\":1}\nnot json\n{\"id\":\"b\"}\n"
            .write(to: url, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ResultsLog<LoggedRow>(url: url)) { XCTAssertTrue("\($0)".contains("line 2")) }
    }

    func testLockIsExclusive() throws {
        let dir = try ProbeFixtures.tempDir("lock")
        var first: RunLock? = try RunLock(directory: dir)
        XCTAssertThrowsError(try RunLock(directory: dir)) {
            XCTAssertTrue("\($0)".contains("another cxr-edit process"))
        }
        XCTAssertNotNil(first)
        first = nil
        XCTAssertNoThrow(try RunLock(directory: dir))
    }

    func testShardsAreDisjointAndCover() throws {
        XCTAssertThrowsError(try Shard(parsing: "2/2"))
        XCTAssertThrowsError(try Shard(parsing: "1"))
        XCTAssertThrowsError(try Shard(parsing: "-1/3"))
        let shards = try (0..<3).map { try Shard(parsing: "\($0)/3") }
        for p in 0..<100 { XCTAssertEqual(shards.filter { $0.contains(p) }.count, 1) }
    }

    func testIdsAreStableAndSensitive() throws {
        let dir = try ProbeFixtures.tempDir("ids")
        let url = try ProbeFixtures.writeStudy(in: dir, seeds: "[1, 2]")
        func plan(hash: String = "h") throws -> ProbePlan {
            let s = try ProbeSpec.load(url)
            return try ProbePlan(
                spec: s, images: try s.inputs.list(specFile: url.path), steps: 2, guidance: 3,
                schedulerName: "ddim", modelHash: hash)
        }
        let p1 = try plan(), p2 = try plan()
        XCTAssertEqual(p1.count, 2 * 2 * 2 * 2)
        let ids1 = (0..<p1.count).map { p1.id(for: p1.job(at: $0), imageSHA256: "sha") }
        let ids2 = (0..<p2.count).map { p2.id(for: p2.job(at: $0), imageSHA256: "sha") }
        XCTAssertEqual(ids1, ids2)
        XCTAssertEqual(Set(ids1).count, ids1.count, "unique per job")
        XCTAssertEqual(ids1[0], "\(ids1[0])".prefix(32).description)
        let other = try plan(hash: "other")
        XCTAssertNotEqual(other.id(for: other.job(at: 0), imageSHA256: "sha"), ids1[0])
        XCTAssertNotEqual(p1.id(for: p1.job(at: 0), imageSHA256: "sha2"), ids1[0])
        XCTAssertEqual(p1.fingerprint, p2.fingerprint)
        XCTAssertNotEqual(other.fingerprint, p1.fingerprint)
        // Canonical order: image-major, seed fastest.
        XCTAssertEqual(p1.job(at: 1).seed, 2)
        XCTAssertEqual(p1.job(at: 2).strength, 1.0)
        XCTAssertEqual(p1.job(at: 8).imageIndex, 1)
    }

    func testMetricsOnKnownInputs() throws {
        let n = 32
        let a = try GrayPlane(width: n, height: n, values: (0..<(n * n)).map { Float($0 % n) / Float(n) })
        var bv = a.values
        for i in 0..<bv.count { bv[i] += 0.1 }
        let b = try GrayPlane(width: n, height: n, values: bv)
        XCTAssertEqual(try ImageQuality.psnr(a, b)!, 20, accuracy: 1e-4)  // MSE 0.01
        XCTAssertEqual(try ImageQuality.psnr(a, a), .infinity)
        XCTAssertEqual(try ImageQuality.ssim(a, a)!, 1, accuracy: 1e-9)
        // Change only the right half; outside a right-half region nothing changed.
        var cv = a.values
        for y in 0..<n { for x in (n / 2)..<n { cv[y * n + x] = 1 - cv[y * n + x] } }
        let c = try GrayPlane(width: n, height: n, values: cv)
        let right = try Mask(width: n, height: n, values: (0..<(n * n)).map { $0 % n >= n / 2 ? 1 : 0 })
        XCTAssertEqual(try ImageQuality.mse(a, c, outside: right), 0)
        XCTAssertEqual(try ImageQuality.psnr(a, c, outside: right), .infinity)
        // Only windows wholly outside the region count: an untouched outside scores exactly 1.
        XCTAssertEqual(try ImageQuality.ssim(a, c, outside: right)!, 1, accuracy: 1e-9)
        XCTAssertLessThan(try ImageQuality.ssim(a, c)!, 0.9)
        let all = try Mask(width: n, height: n, values: Array(repeating: 1, count: n * n))
        XCTAssertNil(try ImageQuality.psnr(a, c, outside: all))
        // MS-SSIM: 1 for identical images, lower for different ones, symmetric.
        let big = 192
        var rng = SplitMix64(seed: 1)
        let x = try GrayPlane(
            width: big, height: big, values: (0..<(big * big)).map { _ in Float(rng.next() % 1000) / 1000 })
        let y = try GrayPlane(width: big, height: big, values: x.values.map { min(1, $0 * 0.5 + 0.3) })
        XCTAssertEqual(try ImageQuality.msssim(x, x), 1, accuracy: 1e-9)
        let m = try ImageQuality.msssim(x, y)
        XCTAssertLessThan(m, 0.99)
        XCTAssertGreaterThan(m, 0)
        XCTAssertEqual(try ImageQuality.msssim(y, x), m, accuracy: 1e-9)
        XCTAssertThrowsError(try ImageQuality.psnr(a, x))
    }

    func testBootstrapIsSeededAndCoversTheMean() {
        let v = (0..<50).map { Double($0 % 7) / 7 }
        let e1 = Bootstrap.mean(v)!, e2 = Bootstrap.mean(v)!
        XCTAssertEqual(e1, e2)
        XCTAssertLessThan(e1.low, e1.mean)
        XCTAssertGreaterThan(e1.high, e1.mean)
        XCTAssertNil(Bootstrap.mean([]))
        XCTAssertEqual(Bootstrap.mean([0.3])!.low, 0.3)
    }

    /// Two images with 40 rows each: resampling rows pretends there are 80 independent values; resampling images
    /// knows there are two, so its interval is far wider (and a single image has none).
    func testClusterBootstrapResamplesImages() throws {
        let rows = (0..<80).map { i -> (cluster: String, value: Double) in
            (i < 40 ? "a" : "b", (i < 40 ? 0.1 : 0.5) + Double(i % 5) * 0.001)
        }
        let byRow = try XCTUnwrap(Bootstrap.mean(rows.map(\.value)))
        let byImage = try XCTUnwrap(Bootstrap.clusterMean(rows))
        XCTAssertEqual(byImage.mean, byRow.mean, accuracy: 1e-12)
        XCTAssertEqual(byImage.clusters, 2)
        XCTAssertEqual(byImage.n, 80)
        XCTAssertGreaterThan(byImage.high - byImage.low, 3 * (byRow.high - byRow.low))
        XCTAssertEqual(try XCTUnwrap(Bootstrap.clusterMean(rows)), byImage, "seeded")
        let one = try XCTUnwrap(Bootstrap.clusterMean(Array(rows.prefix(40))))
        XCTAssertEqual(one.low, one.high)
        XCTAssertNil(Bootstrap.clusterMean([]))
    }
}

/// A row with nothing but what the run machinery needs, and one number.
struct LoggedRow: ResultRow, Equatable {
    static let schema = "cxr-edit.test/1"
    var id: String
    var schema = LoggedRow.schema
    var x: Double
    var position: Int { 0 }
    var outputFiles: [String] { [] }

    enum CodingKeys: String, CodingKey { case id, schema, x }
}

final class ExactRowReadingTests: XCTestCase {
    /// 0.30000000000000004 and 0.1234567890123456 are among the doubles JSONSerialization's reader rounds to a
    /// neighbour; a row must read back with the value it was written with.
    func testRowsReadBackWithTheirExactNumbers() throws {
        let dir = try ProbeFixtures.tempDir("exact")
        let url = dir.appendingPathComponent("results.jsonl")
        let log = try ResultsLog<LoggedRow>(url: url)
        let values = [0.30000000000000004, 0.1234567890123456, 1e-7 / 3]
        for (i, x) in values.enumerated() { try log.append(LoggedRow(id: "\(i)", x: x)) }
        XCTAssertEqual(try ResultsLog<LoggedRow>.readRows(url).map(\.x), values)
        XCTAssertEqual(try ResultsLog<LoggedRow>(url: url).rows.map(\.x), values)
    }

    /// Rows of another layout (written by another version) are refused with the file, the line and both schemas
    /// named; so is a row missing a key of its schema.
    func testRowsOfAnotherSchemaOrShapeAreOneClearError() throws {
        let url = try ProbeFixtures.tempDir("schema").appendingPathComponent("results.jsonl")
        try "{\"id\":\"a\",\"schema\":\"cxr-edit.test/1\",\"x\":1}\n{\"id\":\"b\",\"schema\":\"cxr-edit.test/0\"}\n"
            .write(to: url, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ResultsLog<LoggedRow>.readRows(url)) {
            let message = "\($0)"
            for part in [url.path, "line 2", "cxr-edit.test/0", "reads cxr-edit.test/1"] {
                XCTAssertTrue(message.contains(part), message)
            }
        }
        try "{\"id\":\"a\",\"schema\":\"cxr-edit.test/1\",\"y\":1}\n".write(to: url, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ResultsLog<LoggedRow>(url: url)) {
            XCTAssertTrue("\($0)".contains("line 1") && "\($0)".contains("no 'x'"), "\($0)")
        }
    }
}
