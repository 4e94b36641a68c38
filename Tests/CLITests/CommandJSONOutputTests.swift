import Foundation
import XCTest

/// `--json` outputs of commands, pinned by the bytes the command wrote while it built them as dictionaries
/// (Tests/Fixtures/cli): scripts that read them, or compare them, see the same text after they are typed.
final class CommandJSONOutputTests: XCTestCase {
    func testExplainListJSON() throws {
        let r = try CLI.run(["explain", "--list", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, try String(contentsOf: CLI.fixtures.appendingPathComponent("cli/explain-list.json"),
                                            encoding: .utf8))
    }

    /// Seeds above Int64's range are written exactly; the output paths (slashes escaped) and the seconds, which
    /// differ from run to run, are replaced by `OUT` and `SECONDS` on both sides.
    func testGenerateJSON() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("cxr-generate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let r = try CLI.run(["generate", "--model", CLI.sd1.path, "--prompt", #"Large "right" effusion / test"#,
                             "--steps", "2", "--seed", "18446744073709551615", "--count", "2",
                             "-o", out.appendingPathComponent("a.png").path, "--json", "--quiet"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let escapedOut = out.path.replacingOccurrences(of: "/", with: #"\/"#)
        let stdout = r.stdout.replacingOccurrences(of: escapedOut, with: "OUT")
            .replacingOccurrences(of: #""seconds":[0-9.eE+-]+"#, with: #""seconds":SECONDS"#,
                                  options: .regularExpression)
        XCTAssertEqual(stdout, try String(contentsOf: CLI.fixtures.appendingPathComponent("cli/generate.json"),
                                          encoding: .utf8))
    }
}
