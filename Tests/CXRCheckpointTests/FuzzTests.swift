import Foundation
import XCTest
@testable import CXRCheckpoint
import CXRTensor

/// Deterministic mutation fuzzing: corrupted and truncated copies of valid files must either load or fail with
/// a CheckpointError; a crash (trap, out-of-bounds) fails the whole test run.
final class FuzzTests: XCTestCase {
    struct SplitMix {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }

    func fuzz(
        _ fixture: String, iterations: Int, at fixtureURL: URL? = nil,
        open: (URL) throws -> any TensorSource
    ) throws {
        let original = [UInt8](try Data(contentsOf: fixtureURL ?? Fixtures.url(fixture)))
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("cxr-fuzz-\(getpid())-\(fixture)")
        defer { try? FileManager.default.removeItem(at: url) }
        var rng = SplitMix(state: 42)
        var loaded = 0, rejected = 0
        for it in 0..<iterations {
            var b = original
            switch it % 3 {
            case 0:  // truncate
                b = Array(b.prefix(rng.below(b.count)))
            case 1:  // a few random bytes
                for _ in 0..<(1 + rng.below(4)) { b[rng.below(b.count)] = UInt8(rng.below(256)) }
            default:  // a field-sized run of 0xFF or 0x00 (lengths, offsets)
                let at = rng.below(b.count)
                let v: UInt8 = rng.below(2) == 0 ? 0xFF : 0x00
                for k in at..<min(b.count, at + 1 + rng.below(8)) { b[k] = v }
            }
            try Data(b).write(to: url)
            do {
                let src = try open(url)
                for n in src.names where src.info(n)?.dtype.isConvertible == true {
                    let t = try src.tensor(n)
                    XCTAssertEqual(t.count, t.shape.reduce(1, *))
                }
                loaded += 1
            } catch let e as CheckpointError {
                XCTAssertFalse(e.description.contains("\n"))
                XCTAssertTrue(e.description.contains(url.lastPathComponent), e.description)
                rejected += 1
            }
        }
        XCTAssertGreaterThan(rejected, iterations / 4, "\(fixture): too few corruptions detected")
        XCTAssertEqual(loaded + rejected, iterations)
    }

    func testFuzzSafetensors() throws {
        try fuzz("tiny_f16.safetensors", iterations: 600) { try SafeTensorsFile(url: $0) }
    }

    func testFuzzTorchZip() throws {
        try fuzz("tiny.bin", iterations: 600) { try TorchPickleFile(url: $0) }
        try fuzz("zip64.bin", iterations: 300) { try TorchPickleFile(url: $0) }
    }

    /// Pickled whole models: module records, persistent ids and (legacy) the storage walk after the pickles.
    func testFuzzPickledModels() throws {
        for name in ["densenet_tiny_model_2020.pt", "densenet_small_module.pt"] {
            try fuzz(name, iterations: 450, at: classifierFixture(name)) { try TorchPickleFile(url: $0) }
        }
    }
}
