import CXRTensor
import Foundation
import XCTest
@testable import CXRSchedulers

final class SchedulerConfigTests: XCTestCase {
    let sd15 = """
        {"_class_name": "PNDMScheduler", "_diffusers_version": "0.6.0", "beta_end": 0.012,
         "beta_schedule": "scaled_linear", "beta_start": 0.00085, "num_train_timesteps": 1000,
         "set_alpha_to_one": false, "skip_prk_steps": true, "steps_offset": 1, "trained_betas": null,
         "clip_sample": false, "some_future_key": [1, 2]}
        """

    func testParsesCheckpointConfig() throws {
        let c = try SchedulerConfig(json: Data(sd15.utf8))
        XCTAssertEqual(c.className, "PNDMScheduler")
        XCTAssertEqual(c.betaStart, 0.00085)
        XCTAssertEqual(c.betaSchedule, .scaledLinear)
        XCTAssertEqual(c.numTrainTimesteps, 1000)
        XCTAssertEqual(c.stepsOffset, 1)
        XCTAssertEqual(c.setAlphaToOne, false)
        XCTAssertEqual(c.skipPrkSteps, true)
        XCTAssertEqual(c.clipSample, false)
        XCTAssertNil(c.timestepSpacing)
        XCTAssertTrue(c.unsupported.isEmpty)
    }

    func testOwnClassAndSwitchingClass() throws {
        let c = try SchedulerConfig(json: Data(sd15.utf8))
        var own = try makeScheduler(kind: nil, config: c)
        XCTAssertEqual(own.kind, .pndm)
        try own.setTimesteps(20)
        XCTAssertEqual(Array(own.timesteps.prefix(4)), [951, 901, 901, 851])
        // Switching class: timestep_spacing is not in the file, so Euler's own default (linspace) applies.
        var euler = try makeScheduler(kind: .euler, config: c)
        try euler.setTimesteps(10)
        XCTAssertEqual(euler.timesteps.first, 999)
        // DDIM: steps_offset from the file, leading spacing (DDIM's default).
        var ddim = try makeScheduler(kind: .ddim, config: c)
        try ddim.setTimesteps(10)
        XCTAssertEqual(ddim.timesteps, [901, 801, 701, 601, 501, 401, 301, 201, 101, 1])
    }

    func testClassNames() throws {
        for k in SchedulerKind.allCases { XCTAssertEqual(SchedulerKind(className: k.className), k) }
        XCTAssertEqual(SchedulerKind(rawValue: "dpm++2m"), .dpmpp2m)
        XCTAssertEqual(SchedulerKind(rawValue: "euler-a"), .eulerAncestral)
        let c = try SchedulerConfig(json: Data(#"{"_class_name": "UniPCMultistepScheduler"}"#.utf8))
        XCTAssertThrowsError(try makeScheduler(kind: nil, config: c)) { e in
            XCTAssertEqual(e as? SchedulerError, .unsupportedClass("UniPCMultistepScheduler"))
            XCTAssertFalse("\(e)".contains("\n"))
        }
        XCTAssertNoThrow(try makeScheduler(kind: .ddim, config: c))
    }

    func testRejectsUnsupportedAndBadValues() throws {
        let karrasOff = try SchedulerConfig(json: Data(#"{"rescale_betas_zero_snr": true}"#.utf8))
        XCTAssertThrowsError(try makeScheduler(kind: .ddim, config: karrasOff))
        XCTAssertThrowsError(try SchedulerConfig(json: Data("[1]".utf8)))
        XCTAssertThrowsError(try SchedulerConfig(json: Data("{\"beta_start\": \"x\"}".utf8)))
        XCTAssertThrowsError(try SchedulerConfig(json: Data("{\"clip_sample\": 1}".utf8)))
        XCTAssertThrowsError(try SchedulerConfig(json: Data("{\"num_train_timesteps\": 1.5}".utf8)))
        // An unknown value is refused while the file is read, naming the file, the key and the accepted values.
        XCTAssertThrowsError(
            try SchedulerConfig(
                json: Data(#"{"beta_schedule": "sigmoid"}"#.utf8),
                file: "scheduler/scheduler_config.json")
        ) { e in
            XCTAssertEqual(
                "\(e)",
                "scheduler/scheduler_config.json: key 'beta_schedule' has unknown value 'sigmoid' "
                    + "(linear, scaled_linear, squaredcos_cap_v2)")
        }
        XCTAssertThrowsError(try SchedulerConfig(json: Data(#"{"prediction_type": "x"}"#.utf8))) { e in
            XCTAssertTrue("\(e)".contains("prediction_type"), "\(e)")
            XCTAssertTrue("\(e)".contains("epsilon, v_prediction, sample"), "\(e)")
        }
        XCTAssertThrowsError(try SchedulerConfig(json: Data(#"{"timestep_spacing": "even"}"#.utf8)))
        // A known prediction type the chosen class does not implement fails when that class is built.
        let badPrediction = try SchedulerConfig(json: Data(#"{"prediction_type": "sample"}"#.utf8))
        XCTAssertThrowsError(try makeScheduler(kind: .pndm, config: badPrediction))
        var s = try makeScheduler(kind: .euler, config: SchedulerConfig())
        XCTAssertThrowsError(try s.setTimesteps(0))
        XCTAssertThrowsError(try s.setTimesteps(1001))
        var g = TorchGenerator(seed: 0)
        XCTAssertThrowsError(try s.step(Tensor(zeros: [1]), timestep: 999, sample: Tensor(zeros: [1]), generator: &g))
        try s.setTimesteps(10)
        XCTAssertThrowsError(try s.step(Tensor(zeros: [1]), timestep: 998.5, sample: Tensor(zeros: [1]), generator: &g))
        XCTAssertThrowsError(try s.step(Tensor(zeros: [2]), timestep: 999, sample: Tensor(zeros: [1]), generator: &g))
    }

    func testGaussKronrodIsExactForCubics() {
        // Integrals of x^k over [a, b] for k <= 3 (LMS coefficients are such polynomials).
        let a = 0.3, b = 14.6
        for k in 0...5 {
            let got = GaussKronrod21.integrate({ Foundation.pow($0, Double(k)) }, a, b)
            let want = (Foundation.pow(b, Double(k + 1)) - Foundation.pow(a, Double(k + 1))) / Double(k + 1)
            XCTAssertEqual(got, want, accuracy: abs(want) * 1e-14)
        }
    }

    func testImg2imgTimesteps() throws {
        let c = try SchedulerConfig(json: Data(sd15.utf8))
        var pndm = try makeScheduler(kind: nil, config: c)
        let r = try pndm.img2imgTimesteps(steps: 20, strength: 0.5)
        XCTAssertEqual(r.startIndex, 10)
        XCTAssertEqual(r.timesteps.count, 11)
        var euler = try makeScheduler(kind: .euler, config: c)
        let e = try euler.img2imgTimesteps(steps: 25, strength: 0.3)  // int(7.5) = 7
        XCTAssertEqual(e.startIndex, 18)
        XCTAssertEqual(e.timesteps.count, 7)
        XCTAssertThrowsError(try euler.img2imgTimesteps(steps: 10, strength: 1.5))
    }
}
