import CXRTensor
import Foundation
import XCTest
@testable import CXRSchedulers

/// The registry is the one place a scheduler is added: every registered kind must load from a diffusers-style
/// config naming its class, answer to its names, and run a step, without any other list to update.
final class SchedulerRegistryTests: XCTestCase {
    /// A diffusers `scheduler_config.json` as a checkpoint ships it, for `className`.
    private func diffusersConfig(className: String) -> String {
        """
        {"_class_name": "\(className)", "_diffusers_version": "0.27.0", "beta_end": 0.012,
         "beta_schedule": "scaled_linear", "beta_start": 0.00085, "num_train_timesteps": 1000,
         "prediction_type": "epsilon", "timestep_spacing": "leading", "steps_offset": 1, "trained_betas": null}
        """
    }

    func testEveryKindLoadsFromItsDiffusersConfig() throws {
        XCTAssertFalse(SchedulerKind.allCases.isEmpty)
        for kind in SchedulerKind.allCases {
            let config = try SchedulerConfig(
                json: Data(diffusersConfig(className: kind.className).utf8),
                file: "scheduler/scheduler_config.json")
            XCTAssertEqual(config.predictionType, .epsilon)
            XCTAssertEqual(config.timestepSpacing, .leading)
            var scheduler = try makeScheduler(kind: nil, config: config)
            XCTAssertEqual(scheduler.kind, kind, "\(kind.className) builds the kind it is registered under")
            XCTAssertEqual(
                ObjectIdentifier(type(of: scheduler)), ObjectIdentifier(kind.implementation),
                "\(kind)")
            XCTAssertEqual(SchedulerKind(className: kind.className), kind)
            try scheduler.setTimesteps(10)
            XCTAssertFalse(scheduler.timesteps.isEmpty, "\(kind)")
            let t = scheduler.timesteps[0]
            let sample = Tensor(shape: [1, 4, 2, 2], data: (0..<16).map { Float($0) / 16 })
            var generator = TorchGenerator(seed: 0)
            let input = try scheduler.scaleModelInput(sample, timestep: t)
            let next = try scheduler.step(input, timestep: t, sample: sample, generator: &generator)
            XCTAssertEqual(next.shape, sample.shape, "\(kind)")
            XCTAssertTrue(next.data.allSatisfy(\.isFinite), "\(kind)")
        }
    }

    func testNamesAreUniqueAndResolveToTheirKind() {
        let all = SchedulerKind.allCases.flatMap(\.names)
        XCTAssertEqual(Set(all).count, all.count, "no name belongs to two kinds")
        XCTAssertEqual(Set(SchedulerKind.allCases.map(\.className)).count, SchedulerKind.allCases.count)
        for kind in SchedulerKind.allCases {
            XCTAssertEqual(kind.names.first, kind.rawValue)
            for name in kind.names {
                XCTAssertEqual(SchedulerKind(name: name), kind)
                XCTAssertEqual(SchedulerKind(name: name.uppercased()), kind, "names are case-insensitive")
            }
        }
        XCTAssertNil(SchedulerKind(name: "unipc"))
        XCTAssertEqual(SchedulerKind.nameList, "ddim, pndm, euler, euler-a, dpm++2m, lms")
    }

    func testUnsupportedClassListsTheRegistry() {
        let message = SchedulerError.unsupportedClass("UniPCMultistepScheduler").description
        XCTAssertEqual(
            message,
            "scheduler_config.json: unsupported scheduler class UniPCMultistepScheduler (supported: "
                + "DDIMScheduler, PNDMScheduler, EulerDiscreteScheduler, EulerAncestralDiscreteScheduler, "
                + "DPMSolverMultistepScheduler, LMSDiscreteScheduler)")
    }
}
