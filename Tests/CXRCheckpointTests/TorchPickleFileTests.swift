import Foundation
import XCTest
@testable import CXRCheckpoint
import CXRTensor

final class TorchPickleFileTests: XCTestCase {
    let reference = ["conv.bias", "conv.weight", "empty", "linear.weight", "norm.weight", "scalar"]

    func checkTinyBin(_ file: String) throws {
        let exp = try Fixtures.expected()
        let f = try TorchPickleFile(url: Fixtures.url(file))
        XCTAssertEqual(
            f.names,
            (reference + [
                "bf16.norm.weight", "half.conv.weight", "linear.weight_t", "num_batches_tracked",
                "param.bias", "shared.a", "shared.b",
            ]).sorted())
        // Same tensors as the safetensors file, bit for bit.
        let st = try SafeTensorsFile(url: Fixtures.url("tiny_f32.safetensors"))
        for n in reference {
            let t = try f.tensor(n)
            XCTAssertEqual(t.shape, exp[n]!.shape, n)
            assertBitwiseEqual(t.data, exp[n]!.f32, n)
            XCTAssertEqual(t, try st.tensor(n), n)
        }
        // fp16 / bf16 storages.
        XCTAssertEqual(f.info("half.conv.weight")?.dtype, .f16)
        assertBitwiseEqual(try f.tensor("half.conv.weight").data, exp["conv.weight"]!.f16, "half")
        XCTAssertEqual(f.info("bf16.norm.weight")?.dtype, .bf16)
        assertBitwiseEqual(try f.tensor("bf16.norm.weight").data, exp["norm.weight"]!.bf16, "bf16")
        // nn.Parameter via _rebuild_parameter.
        assertBitwiseEqual(try f.tensor("param.bias").data, exp["conv.bias"]!.f32, "param")
        // Two views of one storage at different offsets.
        XCTAssertEqual(try f.tensor("shared.a"), Tensor(shape: [6], data: [1, 1.5, 2, 2.5, 3, 3.5]))
        XCTAssertEqual(try f.tensor("shared.b"), Tensor(shape: [2, 5], data: (10..<20).map { Float($0) * 0.5 }))
        XCTAssertEqual(f.info("shared.b")?.isContiguous, true)
        // Transposed view: non-contiguous strides gathered correctly.
        let lw = exp["linear.weight"]!
        let tr = try f.tensor("linear.weight_t")
        XCTAssertEqual(tr.shape, [8, 6])
        XCTAssertEqual(f.info("linear.weight_t")?.isContiguous, false)
        for i in 0..<8 { for j in 0..<6 { XCTAssertEqual(tr.data[i * 6 + j], lw.f32[j * 8 + i]) } }
        // Integer tensors are reported but not converted.
        XCTAssertEqual(f.info("num_batches_tracked")?.dtype, .i64)
        XCTAssertEqual(f.info("num_batches_tracked")?.shape, [])
        try f.withRawBytes("num_batches_tracked") { raw in
            XCTAssertEqual(raw.loadUnaligned(as: Int64.self), 7)
        }
        assertCheckpointError(file, kind: .unsupported, contains: "I64") { _ = try f.tensor("num_batches_tracked") }
        assertCheckpointError(file, kind: .unsupported) { try f.withRawBytes("linear.weight_t") { _ in } }
    }

    func testTinyBinLoadsTheSameTensorsAsSafetensors() throws { try checkTinyBin("tiny.bin") }

    func testZip64ArchiveLoadsIdentically() throws { try checkTinyBin("zip64.bin") }

    func testCkptPicksStateDict() throws {
        let exp = try Fixtures.expected()
        let f = try TorchPickleFile(url: Fixtures.url("tiny.ckpt"))
        XCTAssertEqual(f.names, reference)
        for n in reference { assertBitwiseEqual(try f.tensor(n).data, exp[n]!.f32, n) }
    }

    func testNestedDictsFlattenWithDots() throws {
        let exp = try Fixtures.expected()
        let f = try TorchPickleFile(url: Fixtures.url("nested.pt"))
        XCTAssertEqual(f.names, ["ema.conv.bias", "model.conv.bias"])
        XCTAssertEqual(try f.tensor("model.conv.bias").data, exp["conv.bias"]!.f32)
        XCTAssertEqual(try f.tensor("ema.conv.bias").data, exp["conv.bias"]!.f32.map { $0 * 2 })
    }

    func testHandMadePickleMatchesTorchLayout() throws {
        let f = try TorchPickleFile(url: Fixtures.url("handmade.bin"))
        XCTAssertEqual(try f.tensor("w"), Tensor(shape: [4], data: [1, 2, 3, 4]))
    }

    func testWeightStoreOpensByExtension() throws {
        let s = try WeightStore(url: Fixtures.url("tiny.bin"))
        XCTAssertEqual(s.file(of: "shared.a")?.lastPathComponent, "tiny.bin")
        XCTAssertEqual(try s.tensor("shared.a").data.first, 1)
    }
}
