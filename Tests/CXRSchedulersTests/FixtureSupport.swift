import CXRTensor
import Foundation
import XCTest

/// Locates Tests/Fixtures/schedulers relative to this file.
enum Fixtures {
    static var directory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures").appendingPathComponent("schedulers")
    }

    static func manifest() throws -> [String: Any] {
        let data = try Data(contentsOf: directory.appendingPathComponent("manifest.json"))
        guard let m = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw FixtureError.bad("manifest.json is not an object")
        }
        return m
    }
}

enum FixtureError: Error { case bad(String) }

/// A minimal reader for the float32 safetensors files written by Tools/make_scheduler_fixtures.py
/// (8-byte little-endian header length, JSON header, raw little-endian data).
struct TinySafetensors {
    let tensors: [String: Tensor]

    init(_ url: URL) throws {
        let data = try Data(contentsOf: url)
        guard data.count >= 8 else { throw FixtureError.bad("short file") }
        let n = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | (UInt64($1.element) << (8 * UInt64($1.offset))) }
        guard n < UInt64(data.count - 8) else { throw FixtureError.bad("bad header length") }
        let headerEnd = 8 + Int(n)
        guard let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<headerEnd)) as? [String: Any]
        else { throw FixtureError.bad("bad header") }
        var out: [String: Tensor] = [:]
        for (name, value) in header where name != "__metadata__" {
            guard let info = value as? [String: Any], let dtype = info["dtype"] as? String, dtype == "F32",
                let shape = info["shape"] as? [Int], let offsets = info["data_offsets"] as? [Int], offsets.count == 2
            else { throw FixtureError.bad("bad entry \(name)") }
            let start = headerEnd + offsets[0], end = headerEnd + offsets[1]
            guard start <= end, end <= data.count, (end - start) == 4 * shape.reduce(1, *) else {
                throw FixtureError.bad("bad offsets for \(name)")
            }
            var values = [Float](repeating: 0, count: (end - start) / 4)
            data.subdata(in: start..<end).withUnsafeBytes { raw in
                for i in 0..<values.count {
                    values[i] = Float(
                        bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                }
            }
            out[name] = Tensor(shape: shape, data: values)
        }
        tensors = out
    }

    func tensor(_ name: String) throws -> Tensor {
        guard let t = tensors[name] else { throw FixtureError.bad("missing tensor \(name)") }
        return t
    }
}

/// The stand-in model of the fixtures: sample * (0.2 + t/2000) + (0.05 - t/20000), all float32.
func standInModel(_ sample: Tensor, _ t: Double) -> Tensor {
    let tt = Float(t)
    let c = Float(0.2) + tt / 2000
    let d = Float(0.05) - tt / 20000
    return Tensor(shape: sample.shape, data: sample.data.map { $0 * c + d })
}

/// Row `i` of a stacked [k, 1, 4, 8, 8] fixture tensor, as [1, 4, 8, 8].
func row(_ t: Tensor, _ i: Int) -> Tensor {
    let per = t.count / t.shape[0]
    return Tensor(shape: Array(t.shape.dropFirst()), data: Array(t.data[(i * per)..<((i + 1) * per)]))
}
