import Foundation
import XCTest

/// Error and report lines stay single, short and free of control characters whatever a hostile file holds
/// (issue 18, items 1 and 5).
final class ErrorLineTests: XCTestCase {
    /// A safetensors header declaring one tensor of rank 3,000,000: it was accepted, and the error that followed
    /// was one 9 MB "line".
    func testHugeRankSafetensorsGivesAShortLine() throws {
        let out = try CLI.tempDir(self)
        let model = try CLI.modelCopy(self)
        let shape = "[" + Array(repeating: "1", count: 3_000_000).joined(separator: ",") + "]"
        let header = Data("{\"conv_in.weight\":{\"dtype\":\"F32\",\"shape\":\(shape),\"data_offsets\":[0,4]}}".utf8)
        var file = Data()
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { file.append(contentsOf: $0) }
        file.append(header)
        file.append(Data(count: 4))
        try file.write(to: model.appendingPathComponent("unet/diffusion_pytorch_model.safetensors"))
        for args in [
            ["info", model.path],
            [
                "edit", CLI.bad.appendingPathComponent("ok/grey8.png").path, "--model", model.path, "--prompt", "x",
                "--steps", "2", "-o", out.appendingPathComponent("o.png").path, "--quiet",
            ],
        ] {
            let r = try CLI.run(args)
            CLI.assertFails(r, matches: ["3000000 dimensions"], dir: out, "\(args[0]) with a rank-3,000,000 tensor")
            XCTAssertLessThan(r.stderr.count, 2100, "\(args[0]): error line of \(r.stderr.count) characters")
        }
    }

    /// Text chunks are printed with control characters escaped: an embedded CR/LF forged a line such as
    /// `cxr-edit:mode: clinical`, and escape sequences reached the terminal.
    func testProvenanceEscapesControlCharacters() throws {
        let out = try CLI.tempDir(self)
        let png = out.appendingPathComponent("g.png")
        let prompt = "Cardiomegaly.\r\ncxr-edit:mode: clinical\u{1B}]0;owned\u{07}\u{9B}31m"
        let g = try CLI.run([
            "generate", "--model", CLI.sd1.path, "--prompt", prompt, "--steps", "1", "-o", png.path, "--quiet",
        ])
        XCTAssertEqual(g.status, 0, g.stderr)
        let r = try CLI.run(["provenance", png.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        XCTAssertFalse(lines.contains("cxr-edit:mode: clinical"), r.stdout)
        XCTAssertFalse(
            r.stdout.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" || (0x7F...0x9F).contains($0.value) },
            "control characters reach the terminal: \(r.stdout.debugDescription)")
        XCTAssertTrue(
            r.stdout.contains("Cardiomegaly.\\r\\ncxr-edit:mode: clinical\\u{1B}]0;owned\\u{7}\\u{9B}31m"), r.stdout)
        // --json keeps the exact value (JSON escapes it).
        let j = try CLI.run(["provenance", "--json", png.path])
        let obj = try JSONSerialization.jsonObject(with: Data(j.stdout.utf8)) as? [String: String]
        XCTAssertTrue(obj?.values.contains(prompt) ?? false, j.stdout)
    }
}
