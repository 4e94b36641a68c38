import CXRTensor
import Foundation
import XCTest
@testable import CXRSchedulers

/// torch.randn reproduction, checked bit for bit against values PyTorch produced.
final class TorchGeneratorTests: XCTestCase {
    private func fixtures() throws -> ([String: Any], TinySafetensors) {
        let m = try Fixtures.manifest()
        guard let r = m["randn"] as? [String: Any] else { throw FixtureError.bad("no randn section") }
        return (r, try TinySafetensors(Fixtures.directory.appendingPathComponent("randn.safetensors")))
    }

    private func fnv1a64(_ values: [Float]) -> String {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for v in values {
            let b = v.bitPattern
            for k in 0..<4 { h = (h ^ UInt64((b >> (8 * UInt32(k))) & 0xFF)) &* 0x100_0000_01B3 }
        }
        return String(h, radix: 16).leftPadded(to: 16)
    }

    func testSingleCallsAreBitExact() throws {
        let (meta, st) = try fixtures()
        guard let singles = meta["single"] as? [[String: Any]] else { throw FixtureError.bad("no singles") }
        XCTAssertEqual(singles.count, 32)
        for item in singles {
            guard let seedN = item["seed"] as? NSNumber, let shape = item["shape"] as? [Int] else {
                throw FixtureError.bad("bad item")
            }
            var g = TorchGenerator(seed: seedN.uint64Value)
            let got = g.randn(shape)
            XCTAssertEqual(got.shape, shape)
            if let key = item["key"] as? String {
                let want = try st.tensor(key)
                XCTAssertEqual(got.data.map(\.bitPattern), want.data.map(\.bitPattern), "seed \(seedN) shape \(shape)")
            } else {
                XCTAssertEqual(fnv1a64(got.data), item["fnv1a64"] as? String, "seed \(seedN) shape \(shape)")
                let first = (item["first"] as? [Double] ?? []).map { Float($0) }
                XCTAssertEqual(Array(got.data.prefix(first.count)).map(\.bitPattern), first.map(\.bitPattern))
            }
        }
    }

    func testSuccessiveCallsContinueTheStream() throws {
        let (meta, st) = try fixtures()
        guard let seq = meta["sequence"] as? [String: Any], let shapes = seq["shapes"] as? [[Int]],
            let key = seq["key"] as? String, let seed = seq["seed"] as? NSNumber
        else {
            throw FixtureError.bad("no sequence")
        }
        var g = TorchGenerator(seed: seed.uint64Value)
        var got: [Float] = []
        for s in shapes { got += g.randn(s).data }
        let want = try st.tensor(key)
        XCTAssertEqual(got.count, want.count)
        XCTAssertEqual(got.map(\.bitPattern), want.data.map(\.bitPattern))
    }

    func testSeedUsesLow32Bits() {
        var a = TorchGenerator(seed: (1 << 32) + 5)
        var b = TorchGenerator(seed: 5)
        XCTAssertEqual(a.randn([20]).data, b.randn([20]).data)
        var c = TorchGenerator(seed: 6)
        var d = TorchGenerator(seed: 5)
        XCTAssertNotEqual(c.randn([3]).data, d.randn([3]).data)
    }

    func testRandIsUniform24Bit() {
        var g = TorchGenerator(seed: 1)
        let v = g.rand([1000]).data
        XCTAssertTrue(v.allSatisfy { $0 >= 0 && $0 < 1 && ($0 * 16_777_216).rounded() == $0 * 16_777_216 })
        XCTAssertGreaterThan(Set(v).count, 990)
    }
}

extension String {
    func leftPadded(to n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}
