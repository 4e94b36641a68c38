import CXRCheckpoint
import CXRModels
import CXRTensor
import Foundation
import XCTest

/// A bf16 run packs each weight once and then drops the fp16 pages it read from the checkpoint mapping (else it
/// would hold every weight twice); the values stay readable, and memory that is not a read-only file mapping is
/// never released (dropping anonymous pages would zero them).
final class WeightPageReleaseTests: XCTestCase {
    /// Resident kB of this process's mappings of `path` (/proc/self/smaps).
    func residentKB(of path: String) throws -> Int {
        // Read to the end (procfs files report a size of 0, which whole-file readers take at its word).
        let handle = try XCTUnwrap(FileHandle(forReadingAtPath: "/proc/self/smaps"))
        defer { try? handle.close() }
        let smaps = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
        var inFile = false, total = 0
        for line in smaps.split(separator: "\n") {
            if let first = line.first, first.isHexDigit, line.contains("-") {
                inFile = line.hasSuffix(path)
            } else if inFile, line.hasPrefix("Rss:") {
                total += Int(line.split(separator: " ")[1]) ?? 0
            }
        }
        return total
    }

    func values(_ n: Int, seed: Int) -> [Float] {
        (0..<n).map { Float(($0 * 7919 + seed) % 2001) / 1000 - 1 }
    }

    func testPackedWeightsReleaseTheirMappedPagesAndStayReadable() throws {
        guard BFloat16GEMM.isSupported else { throw XCTSkip("this CPU has no AVX512-BF16") }
        #if !os(Linux)
            throw XCTSkip("reads /proc/self/smaps")
        #endif
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pages-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("w.safetensors")
        let w = Tensor(shape: [256, 1024], data: values(256 * 1024, seed: 1))
        try SafeTensorsWriter.write([(name: "w", tensor: w, dtype: .f16)], metadata: [:], to: url)
        let weights = CheckpointWeights(try SafeTensorsFile(url: url))
        let weight = try weights.weight("w", expectedShape: [256, 1024])
        let stored = weight.tensor  // reads every page of the mapping
        XCTAssertGreaterThanOrEqual(try residentKB(of: url.path), 500, "the fp16 values (512 KB) are mapped in")

        let x = Tensor(shape: [5, 1024], data: values(5 * 1024, seed: 2))
        let y = linear(x, weight: weight, bias: nil, precision: .bf16)
        XCTAssertLessThanOrEqual(try residentKB(of: url.path), 16, "packed: only the header's and edge pages stay")
        XCTAssertEqual(weight.tensor, stored, "released pages read back from the file")
        XCTAssertEqual(linear(x, weight: weight, bias: nil, precision: .bf16), y)
        XCTAssertLessThan(y.maxAbsDifference(linear(x, weight: weight, bias: nil)), 0.05 * max(1, y.maxAbs))
    }

    /// A view into memory some other object owns (not a read-only file mapping) keeps its values.
    func testOtherMemoryIsNeverReleased() throws {
        guard BFloat16GEMM.isSupported else { throw XCTSkip("this CPU has no AVX512-BF16") }
        final class Owner {
            let bits: UnsafeMutablePointer<UInt16>
            init(_ v: [Float]) {
                // Page-aligned, several pages: what a wrong release would zero.
                let raw = UnsafeMutableRawPointer.allocate(byteCount: v.count * 2, alignment: 1 << 16)
                bits = raw.bindMemory(to: UInt16.self, capacity: v.count)
                for (i, f) in v.enumerated() { bits[i] = Float16(f).bitPattern }
            }
            deinit { bits.deallocate() }
        }
        let v = values(64 * 1024, seed: 3)
        let owner = Owner(v)
        let weight = Weight(shape: [64, 1024], viewing: owner.bits, format: .f16, owner: owner)
        let stored = weight.tensor
        let x = Tensor(shape: [3, 1024], data: values(3 * 1024, seed: 4))
        _ = linear(x, weight: weight, bias: nil, precision: .bf16)
        XCTAssertEqual(weight.tensor, stored)
    }
}
