@testable import CXRProbe
import CXRSchedulers
import Foundation
import XCTest

/// The run specs take their scheduler names from the registry: exactly the registered names (command-line names
/// and aliases, in any case) are accepted, so a scheduler added to `SchedulerKind` needs no change here.
final class SpecSchedulerTests: XCTestCase {
    /// Names a spec might plausibly carry: every registered one plus near misses and other diffusers schedulers.
    private var candidates: [String] {
        SchedulerKind.allCases.flatMap(\.names)
            + ["unipc", "ddpm", "heun", "dpm2", "euler a", "dpm++", "dpmsolver++", "DDIMScheduler", "default", ""]
    }

    private func probeSpec(scheduler: String, in dir: URL) throws -> ProbeSpec {
        let url = dir.appendingPathComponent("s.yaml")
        try "inputs: imgs\nedits: [{prompt: x}]\nscheduler: \"\(scheduler)\"\n".write(
            to: url, atomically: true,
            encoding: .utf8)
        return try ProbeSpec.load(url)
    }

    private func synthesizeSpec(scheduler: String, in dir: URL) throws -> SynthesizeSpec {
        let url = dir.appendingPathComponent("s.yaml")
        try "prompts: [{prompt: x, count: 1}]\nscheduler: \"\(scheduler)\"\n".write(
            to: url, atomically: true,
            encoding: .utf8)
        return try SynthesizeSpec.load(url)
    }

    func testProbeSpecAcceptsExactlyTheRegisteredNames() throws {
        let dir = try ProbeFixtures.tempDir("spec-scheduler")
        let registered = Set(SchedulerKind.allCases.flatMap(\.names))
        var accepted: Set<String> = []
        for name in candidates {
            do {
                let spec = try probeSpec(scheduler: name, in: dir)
                accepted.insert(name)
                XCTAssertEqual(spec.scheduler, name.lowercased())
            } catch {
                XCTAssertTrue("\(error)".contains("scheduler"), "\(error)")
                XCTAssertTrue("\(error)".contains(SchedulerKind.nameList), "names the choices: \(error)")
            }
        }
        XCTAssertEqual(accepted, registered)
        for kind in SchedulerKind.allCases {
            XCTAssertNoThrow(try probeSpec(scheduler: kind.rawValue.uppercased(), in: dir), "case-insensitive")
        }
    }

    func testSynthesizeSpecAcceptsExactlyTheRegisteredNames() throws {
        let dir = try ProbeFixtures.tempDir("synth-scheduler")
        let registered = Set(SchedulerKind.allCases.flatMap(\.names))
        var accepted: Set<String> = []
        for name in candidates {
            if let spec = try? synthesizeSpec(scheduler: name, in: dir) {
                accepted.insert(name)
                XCTAssertEqual(spec.scheduler, name.lowercased())
            }
        }
        XCTAssertEqual(accepted, registered)
    }
}
