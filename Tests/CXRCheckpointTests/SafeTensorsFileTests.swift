import Foundation
import XCTest
@testable import CXRCheckpoint
import CXRTensor

final class SafeTensorsFileTests: XCTestCase {
    let names = ["conv.bias", "conv.weight", "empty", "linear.weight", "norm.weight", "scalar"]

    func testF32MatchesReference() throws {
        let exp = try Fixtures.expected()
        let f = try SafeTensorsFile(url: Fixtures.url("tiny_f32.safetensors"))
        XCTAssertEqual(f.names, names)
        XCTAssertEqual(f.metadata, ["format": "pt"])
        for n in names {
            let e = try XCTUnwrap(exp[n])
            let t = try f.tensor(n)
            XCTAssertEqual(t.shape, e.shape, n)
            assertBitwiseEqual(t.data, e.f32, n)
            let info = try XCTUnwrap(f.info(n))
            XCTAssertEqual(info.dtype, .f32)
            XCTAssertEqual(info.byteRange.count, e.f32.count * 4)
        }
        XCTAssertNil(f.info("nope"))
    }

    func testF16AndBF16ConvertExactly() throws {
        let exp = try Fixtures.expected()
        let h = try SafeTensorsFile(url: Fixtures.url("tiny_f16.safetensors"))
        let b = try SafeTensorsFile(url: Fixtures.url("tiny_bf16.safetensors"))
        XCTAssertEqual(h.info("conv.weight")?.dtype, .f16)
        XCTAssertEqual(b.info("conv.weight")?.dtype, .bf16)
        for n in names {
            let e = try XCTUnwrap(exp[n])
            let th = try h.tensor(n), tb = try b.tensor(n)
            XCTAssertEqual(th.shape, e.shape)
            XCTAssertEqual(tb.shape, e.shape)
            assertBitwiseEqual(th.data, e.f16, "f16 \(n)")
            assertBitwiseEqual(tb.data, e.bf16, "bf16 \(n)")
            // Our own rounding (used by the writer) agrees with torch's.
            assertBitwiseEqual(
                e.f32.map { HalfConversion.float(fromHalf: HalfConversion.half(from: $0)) }, e.f16, "half rounding \(n)"
            )
            assertBitwiseEqual(
                e.f32.map { HalfConversion.float(fromBFloat16: FloatConversion.bfloat16(from: $0)) }, e.bf16,
                "bf16 rounding \(n)")
        }
    }

    func testRawBytesAreTheStoredBits() throws {
        let f = try SafeTensorsFile(url: Fixtures.url("tiny_f16.safetensors"))
        let exp = try Fixtures.expected()
        let bits: [UInt16] = try f.withRawBytes("norm.weight") { raw in
            (0..<(raw.count / 2)).map { raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self) }
        }
        XCTAssertEqual(bits.map { HalfConversion.float(fromHalf: $0) }, exp["norm.weight"]!.f16)
        XCTAssertEqual(bits[1], 0x8000)  // -0.0 kept
    }

    func testMissingTensorIsAnError() throws {
        let f = try SafeTensorsFile(url: Fixtures.url("tiny_f32.safetensors"))
        assertCheckpointError("tiny_f32.safetensors", kind: .missing, contains: "'nope'") { _ = try f.tensor("nope") }
    }

    func testHalfTableIsExactForAllBitPatterns() {
        for b in 0...0xFFFF {
            let want = HalfConversion.float(fromHalf: UInt16(b))
            let got = FloatConversion.halfTable[b]
            if want.isNaN { XCTAssertTrue(got.isNaN); continue }
            XCTAssertEqual(got.bitPattern, want.bitPattern, "half 0x\(String(b, radix: 16))")
        }
    }

    func testUnalignedDataStillConverts() throws {
        // Hand-made file whose header length is odd, so the data section is unaligned.
        let header =
            #"{"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"f":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"d":{"dtype":"F64","shape":[1],"data_offsets":[8,16]}}"#
        var bytes = [UInt8]()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { bytes += $0 }
        bytes += Array(header.utf8)
        XCTAssertEqual(bytes.count % 2, 1)
        withUnsafeBytes(of: HalfConversion.half(from: 1.5).littleEndian) { bytes += $0 }
        withUnsafeBytes(of: HalfConversion.half(from: -2).littleEndian) { bytes += $0 }
        withUnsafeBytes(of: Float(0.25).bitPattern.littleEndian) { bytes += $0 }
        withUnsafeBytes(of: (1.0 / 3.0).bitPattern.littleEndian) { bytes += $0 }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("cxr-unaligned-\(getpid()).safetensors")
        try Data(bytes).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let f = try SafeTensorsFile(url: url)
        XCTAssertEqual(try f.tensor("h").data, [1.5, -2])
        XCTAssertEqual(try f.tensor("f").data, [0.25])
        XCTAssertEqual(try f.tensor("d").data, [Float(1.0 / 3.0)])
    }
}
