import Foundation
import XCTest
@testable import CXRCheckpoint
import CXRTensor

/// Every hostile or broken file must fail with a one-line CheckpointError naming the file, never a crash.
final class BadInputTests: XCTestCase {
    func bad(_ name: String) -> URL { Fixtures.url("bad").appendingPathComponent(name) }

    func testBadSafetensorsAreRejected() throws {
        let cases: [(String, CheckpointError.Kind, String)] = [
            ("header_len_past_end.safetensors", .malformed, "past the end"),
            ("header_len_huge.safetensors", .limit, "limit"),
            ("truncated.safetensors", .malformed, "truncated"),
            ("truncated_header.safetensors", .malformed, "past the end"),
            ("empty.safetensors", .malformed, "too short"),
            ("short.safetensors", .malformed, "too short"),
            ("overlap.safetensors", .malformed, "overlap"),
            ("offsets_out_of_range.safetensors", .malformed, "data section"),
            ("dtype_shape_mismatch.safetensors", .malformed, "span 12 bytes"),
            ("begin_after_end.safetensors", .malformed, "begin > end"),
            ("negative_shape.safetensors", .malformed, "shape"),
            ("fractional_offset.safetensors", .malformed, "data_offsets"),
            ("unknown_dtype.safetensors", .unsupported, "F128"),
            ("metadata_not_strings.safetensors", .malformed, "__metadata__"),
            ("duplicate_names.safetensors", .malformed, "duplicate key 'a'"),
            ("non_utf8_header.safetensors", .malformed, "UTF-8"),
            ("header_not_object.safetensors", .malformed, "not an object"),
            ("header_bad_json.safetensors", .malformed, "invalid JSON"),
            ("header_deep.safetensors", .limit, "deeper"),
        ]
        for (name, kind, text) in cases {
            assertCheckpointError(name, kind: kind, contains: text) { _ = try SafeTensorsFile(url: bad(name)) }
            // Through the generic entry point too.
            assertCheckpointError(name) { _ = try WeightStore(url: bad(name)) }
        }
    }

    func testEvilPicklesAreRefusedWithoutExecution() throws {
        let cases: [(String, String)] = [
            ("evil_os_system.bin", "'os.system'"),
            ("evil_builtins_eval.bin", "'builtins.eval'"),
            ("evil_posix_system.bin", "'posix.system'"),
            ("evil_in_state_dict.bin", "'subprocess.check_output'"),
        ]
        for (name, global) in cases {
            let e = assertCheckpointError(name, kind: .refused, contains: "refusing pickle global \(global)") {
                _ = try TorchPickleFile(url: bad(name))
            }
            let suffix = "only tensor state_dicts and torchxrayvision DenseNet models are allowed"
            XCTAssertEqual(e?.description.hasSuffix(suffix), true)
        }
    }

    func testBrokenTorchFilesAreRejected() throws {
        let cases: [(String, CheckpointError.Kind, String)] = [
            ("unsupported_opcode.bin", .unsupported, "opcode 0x69"),
            ("deep_nesting.bin", .limit, "nested deeper"),
            ("missing_storage.bin", .malformed, "not in the checkpoint"),
            ("storage_too_short.bin", .malformed, "holds 16 bytes"),
            ("stride_out_of_range.bin", .malformed, "reaches past"),
            ("deflated.bin", .unsupported, "compressed"),
            ("truncated.bin", .malformed, "ZIP"),
            ("random.bin", .malformed, "ZIP"),
            ("random_pk.bin", .malformed, "ZIP"),
        ]
        for (name, kind, text) in cases {
            assertCheckpointError(name, kind: kind, contains: text) { _ = try TorchPickleFile(url: bad(name)) }
        }
    }

    func testSafetensorsFileIsNotATorchFile() {
        assertCheckpointError("tiny_f32.safetensors", kind: .malformed) {
            _ = try TorchPickleFile(url: Fixtures.url("tiny_f32.safetensors"))
        }
        assertCheckpointError("tiny.bin") { _ = try SafeTensorsFile(url: Fixtures.url("tiny.bin")) }
    }

    func testMissingFileAndFolder() {
        assertCheckpointError("no-such-file.safetensors", kind: .io) {
            _ = try SafeTensorsFile(url: Fixtures.url("no-such-file.safetensors"))
        }
        assertCheckpointError("checkpoint", kind: .io) { _ = try SafeTensorsFile(url: Fixtures.dir) }
    }

    func testErrorDescriptionStaysOneLineForHostileNames() {
        let e = CheckpointError(
            .missing, file: "a\nb.bin", "no tensor named \(CheckpointError.quote("x\r\ny\u{2028}z"))")
        XCTAssertFalse(e.description.contains("\n"))
        XCTAssertFalse(e.description.contains("\r"))
        XCTAssertFalse(e.description.contains("\u{2028}"))
        XCTAssertTrue(e.description.hasPrefix("a b.bin: "))
        XCTAssertTrue(CheckpointError.quote(String(repeating: "n", count: 1000)).count < 130)
    }
}
