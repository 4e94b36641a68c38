import Foundation
import XCTest
@testable import CXRCheckpoint
import CXRTensor

/// The legacy (pre-1.6) torch.save layout: hand-made files with one field broken at a time, each rejected with
/// one clear line, and the real thing (torch's `_use_new_zipfile_serialization=False`) read like its zip twin.
final class TorchLegacyLayoutTests: XCTestCase {
    func open(_ file: LegacyTestFile, _ name: String) throws -> TorchPickleFile {
        let url = try file.write(name)
        defer { try? FileManager.default.removeItem(at: url) }
        return try TorchPickleFile(url: url)
    }

    func expectError(
        _ file: LegacyTestFile, _ name: String, _ kind: CheckpointError.Kind, _ text: String,
        line: UInt = #line
    ) {
        assertCheckpointError(name, kind: kind, contains: text, line: line) { _ = try open(file, name) }
    }

    func testHandMadeLegacyFileLoads() throws {
        let f = try open(LegacyTestFile(), "ok.pt")
        XCTAssertEqual(f.names, ["w"])
        XCTAssertEqual(try f.tensor("w"), Tensor(shape: [4], data: [1, 2, 3, 4]))
        XCTAssertNil(f.moduleClass)
        // Protocol 4 writes a FRAME before the magic number; the layout is otherwise the same.
        var framed = LegacyTestFile()
        framed.magic = [0x80, 0x04, 0x95, 13, 0, 0, 0, 0, 0, 0, 0] + LegacyTestFile.magic.dropFirst(2)
        XCTAssertEqual(try open(framed, "framed.pt").tensor("w").data, [1, 2, 3, 4])
        // Storages listed but used by no tensor are skipped over, as torch does.
        var extra = LegacyTestFile(
            object: .dict([
                ("w", .tensor(key: "0", numel: 4)),
                ("v", .tensor(key: "1", numel: 2)),
            ]))
        extra.keys = PickleTestValue.list([.str("1"), .str("0")]).pickle
        extra.storages = [(2, [7, 8]), (4, [1, 2, 3, 4])]
        let e = try open(extra, "extra.pt")
        XCTAssertEqual(try e.tensor("v").data, [7, 8])
        XCTAssertEqual(try e.tensor("w").data, [1, 2, 3, 4])
    }

    func testEachBrokenFieldIsOneClearError() {
        var f = LegacyTestFile()
        f.magic[5] ^= 0xFF
        expectError(f, "magic.pt", .malformed, "magic number missing")
        f = LegacyTestFile()
        f.version = PickleTestValue.int(1000).pickle
        expectError(f, "version.pt", .unsupported, "format version")
        f = LegacyTestFile()
        f.systemInfo = PickleTestValue.dict([("little_endian", .raw([0x89]))]).pickle
        expectError(f, "bigendian.pt", .unsupported, "big-endian")
        f = LegacyTestFile()
        f.keys = PickleTestValue.dict([]).pickle
        expectError(f, "keys-not-list.pt", .malformed, "not a list")
        f = LegacyTestFile()
        f.keys = PickleTestValue.list([.str("9")]).pickle
        expectError(f, "unknown-key.pt", .malformed, "never uses")
        f = LegacyTestFile()
        f.keys = PickleTestValue.list([.int(0)]).pickle
        expectError(f, "int-key.pt", .malformed, "holds a int")
        f = LegacyTestFile()
        f.keys = PickleTestValue.list([.str("0"), .str("0")]).pickle
        f.storages += f.storages
        expectError(f, "twice.pt", .malformed, "listed twice")
        f = LegacyTestFile()
        f.storages = [(5, [1, 2, 3, 4, 5])]
        expectError(f, "count.pt", .malformed, "holds 5 elements; the pickle declares 4")
        f = LegacyTestFile()
        f.storages = [(4, [1, 2, 3])]
        expectError(f, "short.pt", .malformed, "truncated")
        f = LegacyTestFile()
        f.keys = PickleTestValue.list([]).pickle
        f.storages = []
        expectError(f, "unlisted.pt", .malformed, "not in the checkpoint")
        f = LegacyTestFile(object: .dict([("w", .tensor(key: "0", numel: 4, view: true))]))
        expectError(f, "view.pt", .unsupported, "view of another storage")
        // One key declared with two sizes.
        f = LegacyTestFile(object: .dict([("w", .tensor(key: "0", numel: 4)), ("v", .tensor(key: "0", numel: 2))]))
        expectError(f, "redeclared.pt", .malformed, "declared twice")
        // A hostile count: 2^62 elements must not overflow into a small size.
        f = LegacyTestFile(object: .dict([("w", .tensor(key: "0", numel: 1 << 62))]))
        f.storages = [(1 << 62, [1])]
        expectError(f, "huge.pt", .malformed, "truncated")
    }

    func testStorageCountIsBounded() throws {
        // Each persistent id may name a new storage key: the unpickler caps how many it keeps.
        let items: [(String, PickleTestValue)] = (0..<5).map { ("t\($0)", .tensor(key: "\($0)", numel: 1)) }
        let pickle = PickleTestValue.dict(items).pickle
        var limits = Unpickler.Limits()
        limits.maxStorages = 3
        assertCheckpointError("storages.pkl", kind: .limit, contains: "more than 3 storages") {
            _ = try pickle.withUnsafeBytes { raw in
                var u = Unpickler(raw, source: "storages.pkl", limits: limits)
                return try u.load()
            }
        }
    }

    /// Every strict prefix of a real legacy file fails cleanly (the storages run to its last byte).
    func testEveryTruncationOfARealLegacyFileIsRejected() throws {
        for fixture in ["densenet_tiny_model_2020.pt", "densenet_small_model_legacy.pt"] {
            let original = [UInt8](try Data(contentsOf: classifierFixture(fixture)))
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("cxr-trunc-\(getpid())-\(fixture)")
            defer { try? FileManager.default.removeItem(at: url) }
            // About 300 cuts spread over the file, plus every cut in the header pickles and the last storage.
            var lengths = Set(stride(from: 0, to: original.count, by: max(97, original.count / 300)))
            lengths.formUnion(0..<min(160, original.count))
            lengths.formUnion(max(0, original.count - 100)..<original.count)
            for n in lengths.sorted() {
                try Data(original.prefix(n)).write(to: url)
                assertCheckpointError(url.lastPathComponent) { _ = try TorchPickleFile(url: url) }
            }
        }
    }
}

/// A file of Tests/Fixtures/classifiers (the pickled-model fixtures of make_xrv_pickle_fixture.py).
func classifierFixture(_ name: String) -> URL {
    Fixtures.dir.deletingLastPathComponent().appendingPathComponent("classifiers").appendingPathComponent(name)
}
