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
}
