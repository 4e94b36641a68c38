@testable import CXRProbe
@testable import CXRRuns
import Foundation
import XCTest
#if canImport(Glibc)
    import Glibc
#endif

/// Crash safety with a real process: a child (this test binary, re-entered through `testChildEntry`) runs a study;
/// the parent SIGKILLs it half-way, checks the lock held meanwhile, then resumes and finds every row exactly once.
final class ProbeKillTests: XCTestCase {
    static let envSpec = "CXR_PROBE_CHILD_SPEC", envOut = "CXR_PROBE_CHILD_OUT"

    /// The child's work; a no-op (skipped) in a normal test run.
    func testChildEntry() throws {
        let env = ProcessInfo.processInfo.environment
        guard let spec = env[Self.envSpec], let out = env[Self.envOut] else {
            throw XCTSkip("child entry point for ProbeKillTests")
        }
        _ = try ProbeFixtures.runner(spec: URL(fileURLWithPath: spec), out: URL(fileURLWithPath: out)).run()
    }

    func testSIGKILLHalfWayThenResumeGivesEveryRowOnce() throws {
        #if !os(Linux)
            throw XCTSkip("re-entering the test binary is implemented for Linux")
        #endif
        let dir = try ProbeFixtures.tempDir("kill")
        let spec = try ProbeFixtures.writeStudy(in: dir, images: 2, seeds: "\"0..1\"")  // 2 x 2 x 2 x 2 = 16 rows
        let out = dir.appendingPathComponent("run")
        let results = out.appendingPathComponent("results.jsonl")
        let child = try ProbeFixtures.startChild(
            test: "CXRProbeTests.ProbeKillTests/testChildEntry",
            environment: [Self.envSpec: spec.path, Self.envOut: out.path])
        let lines = ProbeFixtures.waitForRows(results, rows: 4, of: child, pollMicroseconds: 20_000)
        XCTAssertTrue(child.isRunning, "the child finished before it could be killed (\(lines) rows)")
        // While it runs, the directory is locked against a second writer.
        XCTAssertThrowsError(try ProbeFixtures.runner(spec: spec, out: out).run()) {
            XCTAssertTrue("\($0)".contains("another cxr-edit process"), "\($0)")
        }
        kill(child.processIdentifier, SIGKILL)
        child.waitUntilExit()
        XCTAssertEqual(child.terminationReason, .uncaughtSignal)
        let before = try ResultsLog<ProbeRow>.readRows(results).count
        XCTAssertGreaterThanOrEqual(before, 4)
        XCTAssertLessThan(before, 16)

        let summary = try ProbeFixtures.runner(spec: spec, out: out).run()
        XCTAssertEqual(summary.alreadyDone + summary.done, 16)
        let rows = try ResultsLog<ProbeRow>.readRows(results)
        let ids = rows.map(\.id)
        XCTAssertEqual(ids.count, 16)
        XCTAssertEqual(Set(ids).count, 16)
        // And the same rows as an uninterrupted run.
        let clean = dir.appendingPathComponent("clean")
        _ = try ProbeFixtures.runner(spec: spec, out: clean).run()
        let cleanRows = try ResultsLog<ProbeRow>.readRows(clean.appendingPathComponent("results.jsonl"))
        XCTAssertEqual(
            ProbeFixtures.comparable(rows.sorted(by: ProbeRow.planOrder)), ProbeFixtures.comparable(cleanRows))
    }
}
