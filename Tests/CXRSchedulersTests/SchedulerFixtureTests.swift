import CXRCheckpoint
import CXRFiles
import CXRTensor
import Foundation
import XCTest
@testable import CXRSchedulers

/// Every scheduler and configuration against diffusers: timesteps, init_noise_sigma, full denoising loops,
/// img2img runs (begin index, add_noise) and the inpainting blend, with the stand-in model of the fixtures.
final class SchedulerFixtureTests: XCTestCase {
    /// Largest |a - b| / max(1, |b|) over a trajectory; the tolerance the fixtures must meet.
    static let tolerance: Float = 1e-5

    private func relErr(_ a: Tensor, _ b: Tensor) -> Float {
        XCTAssertEqual(a.count, b.count)
        var m: Float = 0
        for i in 0..<Swift.min(a.count, b.count) {
            let e = abs(a.data[i] - b.data[i]) / Swift.max(1, abs(b.data[i]))
            m = Swift.max(m, e.isNaN ? .infinity : e)
        }
        return m
    }

    /// The scheduler of case `index` of the manifest, its config read by the same JSON reader as a checkpoint's.
    private func makeFromCase(_ c: [String: Any], index: Int, manifest: JSONValue) throws -> any Scheduler {
        guard let kindName = c["kind"] as? String, let kind = SchedulerKind(rawValue: kindName),
            let config = manifest["cases"]?[index]?["config"]
        else { throw FixtureError.bad("bad case") }
        let eta = (c["eta"] as? NSNumber)?.doubleValue ?? 0
        return try makeScheduler(kind: kind, config: SchedulerConfig(config.config(file: "manifest.json")), eta: eta)
    }

    func testAllSchedulersMatchDiffusers() throws {
        let manifest = try Fixtures.manifest()
        let manifestValue = try JSONValue(contentsOf: Fixtures.directory.appendingPathComponent("manifest.json"))
        let st = try TinySafetensors(Fixtures.directory.appendingPathComponent("trajectories.safetensors"))
        guard let cases = manifest["cases"] as? [[String: Any]] else { throw FixtureError.bad("no cases") }
        XCTAssertGreaterThanOrEqual(cases.count, 30)
        var report: [String] = []
        var worstByKind: [String: Float] = [:]
        for (caseIndex, c) in cases.enumerated() {
            let name = c["name"] as? String ?? "?"
            let kind = c["kind"] as? String ?? "?"
            guard let runs = c["runs"] as? [[String: Any]] else { throw FixtureError.bad("no runs") }
            var worst: Float = 0
            var timestepMismatch = 0
            for run in runs {
                var s = try makeFromCase(c, index: caseIndex, manifest: manifestValue)
                let steps = (run["steps"] as? Int) ?? 0
                let wantTs = (run["timesteps"] as? [Double]) ?? []
                guard let key = run["key"] as? String else { throw FixtureError.bad("no key") }
                let want = try st.tensor(key)
                var gen = TorchGenerator(seed: 1234)
                if let strength = (run["strength"] as? NSNumber)?.doubleValue {
                    let r = try s.img2imgTimesteps(steps: steps, strength: strength)
                    XCTAssertEqual(r.startIndex, run["start_index"] as? Int, "\(name) \(key)")
                    if r.timesteps != wantTs { timestepMismatch += 1 }
                    var g5 = TorchGenerator(seed: 5)
                    let x0 = g5.randn([1, 4, 8, 8]).mapValues { 0.5 * $0 }
                    let noise = gen.randn([1, 4, 8, 8])
                    var latents = try s.addNoise(x0, noise: noise, timestep: r.timesteps[0])
                    worst = Swift.max(worst, relErr(latents, row(want, 0)))
                    var blends: [Tensor] = []
                    for (i, t) in r.timesteps.enumerated() {
                        let input = try s.scaleModelInput(latents, timestep: t)
                        latents = try s.step(standInModel(input, t), timestep: t, sample: latents, generator: &gen)
                        if run["blend_key"] != nil, i + 1 < r.timesteps.count {
                            blends.append(try s.addNoise(x0, noise: noise, timestep: r.timesteps[i + 1]))
                        }
                    }
                    if want.shape[0] > 1 { worst = Swift.max(worst, relErr(latents, row(want, 1))) }
                    if let bk = run["blend_key"] as? String {
                        let wb = try st.tensor(bk)
                        XCTAssertEqual(blends.count, wb.shape[0], "\(name) blends")
                        for (i, b) in blends.enumerated() where i < wb.shape[0] {
                            worst = Swift.max(worst, relErr(b, row(wb, i)))
                        }
                    }
                } else {
                    try s.setTimesteps(steps)
                    if s.timesteps != wantTs {
                        timestepMismatch += 1
                        // Karras timesteps go through float32 logs that may differ in the last bit.
                        let close = zip(s.timesteps, wantTs).allSatisfy { abs($0 - $1) <= 1e-4 * Swift.max(1, abs($1)) }
                        XCTAssertTrue(
                            close && s.timesteps.count == wantTs.count && name.hasPrefix("karras"),
                            "\(name) timesteps \(s.timesteps) vs \(wantTs)")
                    }
                    let wantSigma = Float((run["init_noise_sigma"] as? NSNumber)?.doubleValue ?? .nan)
                    XCTAssertEqual(s.initNoiseSigma, wantSigma, accuracy: abs(wantSigma) * 1e-6, name)
                    var g0 = TorchGenerator(seed: 0)
                    let sigma = s.initNoiseSigma
                    var latents = g0.randn([1, 4, 8, 8]).mapValues { $0 * sigma }
                    var outs: [Tensor] = []
                    for t in s.timesteps {
                        let input = try s.scaleModelInput(latents, timestep: t)
                        latents = try s.step(standInModel(input, t), timestep: t, sample: latents, generator: &gen)
                        outs.append(latents)
                    }
                    let compare: [Tensor] = want.shape[0] == outs.count ? outs : [outs[0], outs[outs.count - 1]]
                    XCTAssertEqual(compare.count, want.shape[0], "\(name) steps")
                    for (i, o) in compare.enumerated() where i < want.shape[0] {
                        worst = Swift.max(worst, relErr(o, row(want, i)))
                    }
                }
            }
            XCTAssertLessThanOrEqual(worst, Self.tolerance, "\(name): worst relative error \(worst)")
            worstByKind[kind] = Swift.max(worstByKind[kind] ?? 0, worst)
            report.append("\(name): max rel err \(worst)\(timestepMismatch > 0 ? " (timesteps ~)" : "")")
        }
        print("SCHEDULER-FIXTURES\n" + report.joined(separator: "\n"))
        print(
            "SCHEDULER-WORST "
                + worstByKind.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                .joined(separator: " "))
    }
}
