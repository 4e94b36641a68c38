import Foundation
import XCTest
@testable import CXRCheckpoint
import CXRTensor

final class SafeTensorsWriterTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent(
            "cxr-writer-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    func testRoundTripAllDTypes() throws {
        let exp = try Fixtures.expected()
        let src = try SafeTensorsFile(url: Fixtures.url("tiny_f32.safetensors"))
        for (stored, key) in [
            (SafeTensorsWriter.StoredDType.f32, \Fixtures.Expected.f32), (.f16, \.f16), (.bf16, \.bf16),
        ] {
            let url = dir.appendingPathComponent("out_\(stored.rawValue).safetensors")
            let items = try src.names.map { (name: $0, tensor: try src.tensor($0), dtype: stored) }
            try SafeTensorsWriter.write(items, metadata: ["format": "pt", "by": "cxr-edit"], to: url)
            let back = try SafeTensorsFile(url: url)
            XCTAssertEqual(back.names, src.names)
            XCTAssertEqual(back.metadata, ["format": "pt", "by": "cxr-edit"])
            for n in src.names {
                let t = try back.tensor(n)
                XCTAssertEqual(t.shape, exp[n]!.shape)
                // Written with our rounding, read back: identical to torch's rounding of the same values.
                assertBitwiseEqual(t.data, exp[n]![keyPath: key], "\(stored) \(n)")
                XCTAssertEqual(back.info(n)?.dtype.rawValue, stored.rawValue.uppercased())
            }
            // Header length is a multiple of 8, as the reference writer pads it.
            let raw = try Data(contentsOf: url)
            let n = raw.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
            XCTAssertEqual(n % 8, 0)
        }
        // The F16 file we write is byte-identical to the one the Python library wrote for the same tensors
        // and metadata (same sorted layout, same rounding).
        let ours = dir.appendingPathComponent("f16.safetensors")
        try SafeTensorsWriter.write(
            try src.names.map { (name: $0, tensor: try src.tensor($0), dtype: .f16) },
            metadata: ["format": "pt"], to: ours)
        let a = try SafeTensorsFile(url: ours), b = try SafeTensorsFile(url: Fixtures.url("tiny_f16.safetensors"))
        for n in a.names {
            let x = try a.withRawBytes(n) { Array($0) }, y = try b.withRawBytes(n) { Array($0) }
            XCTAssertEqual(x, y, n)
        }
    }

    func testAtomicWriteLeavesNoTemporaryOnFailure() throws {
        let url = dir.appendingPathComponent("dup.safetensors")
        let t = Tensor(shape: [2], data: [1, 2])
        assertCheckpointError("dup.safetensors", kind: .malformed, contains: "duplicate") {
            try SafeTensorsWriter.write([("a", t, .f32), ("a", t, .f16)], metadata: [:], to: url)
        }
        var bad = t
        bad.shape = [3]
        assertCheckpointError("dup.safetensors", kind: .malformed, contains: "does not match") {
            try SafeTensorsWriter.write([("a", bad, .f32)], metadata: [:], to: url)
        }
        // Directory that does not exist: nothing is created.
        let missing = dir.appendingPathComponent("nope/x.safetensors")
        assertCheckpointError("x.safetensors", kind: .io) {
            try SafeTensorsWriter.write([("a", t, .f32)], metadata: [:], to: missing)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [])

        // Overwriting an existing file replaces it completely and leaves no temporary behind.
        try SafeTensorsWriter.write([("a", Tensor(shape: [3], data: [1, 2, 3]), .f32)], metadata: [:], to: url)
        try SafeTensorsWriter.write([("b", t, .bf16)], metadata: [:], to: url)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["dup.safetensors"])
        let f = try SafeTensorsFile(url: url)
        XCTAssertEqual(f.names, ["b"])
        XCTAssertEqual(try f.tensor("b").data, [1, 2])
        XCTAssertTrue(f.metadata.isEmpty)
    }

    func testBFloat16RoundingEdgeCases() {
        XCTAssertEqual(FloatConversion.bfloat16(from: .nan), 0x7FC0)
        XCTAssertEqual(FloatConversion.bfloat16(from: .infinity), 0x7F80)
        XCTAssertEqual(FloatConversion.bfloat16(from: -0.0), 0x8000)
        // Halfway cases round to even.
        XCTAssertEqual(FloatConversion.bfloat16(from: Float(bitPattern: 0x3F80_8000)), 0x3F80)
        XCTAssertEqual(FloatConversion.bfloat16(from: Float(bitPattern: 0x3F81_8000)), 0x3F82)
        XCTAssertEqual(FloatConversion.bfloat16(from: Float(bitPattern: 0x3F80_8001)), 0x3F81)
        // Largest finite float rounds to infinity, as in torch.
        XCTAssertEqual(FloatConversion.bfloat16(from: .greatestFiniteMagnitude), 0x7F80)
    }
}
