import CXRImaging
import CXRProbe
import CXRRuns
import Foundation
import XCTest

/// `probe --dry-run` counts what the run then makes: counterfactuals, shared null edits and denoising steps, and it
/// reads the run directory without writing it.
final class ProbeSurveyTests: XCTestCase {
    private func plan(_ url: URL) throws -> ProbePlan {
        let spec = try ProbeSpec.load(url)
        return try ProbePlan(
            spec: spec, images: try spec.inputs.list(specFile: url.path), steps: spec.steps ?? 2,
            guidance: spec.guidance ?? 3, schedulerName: spec.scheduler ?? "PNDMScheduler",
            modelHash: "tiny-model-hash")
    }

    /// Distinct null edits the run's rows point at.
    private func nullIDs(_ run: URL) throws -> Set<String> {
        Set(
            try ResultsLog<ProbeRow>.readRows(run.appendingPathComponent("results.jsonl")).map {
                $0.null.id
            })
    }

    func testSurveyCountsWhatTheRunMakesAndWritesNothing() throws {
        let dir = try ProbeFixtures.tempDir("survey")
        let spec = try ProbeFixtures.writeStudy(in: dir)  // 2 images x 2 edits x strengths 0.5, 1.0 x 1 seed, 2 steps
        let out = dir.appendingPathComponent("run")
        let before = try ProbeSurvey.survey(plan: plan(spec), resolver: FindingsEditResolver(), runDirectory: out)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "a dry run must not create the run directory")
        XCTAssertEqual(before.total, 8)
        XCTAssertEqual(before.alreadyDone, 0)
        XCTAssertEqual(before.counterfactuals, 8)
        XCTAssertEqual(before.images, 2)
        // Every counterfactual here has its own null edit (strengths and masks differ); strength 0.5 of 2 steps
        // runs 1 step, 1.0 runs 2: per image (1 + 2) x 2 edits, doubled for the nulls.
        XCTAssertEqual(before.nullEdits, 8)
        XCTAssertEqual(before.denoisingSteps, 2 * (1 + 2) * 2 * 2)

        _ = try ProbeFixtures.runner(spec: spec, out: out, options: ProbeRunOptions(stopAfter: 3)).run()
        let results = out.appendingPathComponent("results.jsonl")
        let bytes = try Data(contentsOf: results)
        let middle = try ProbeSurvey.survey(plan: plan(spec), resolver: FindingsEditResolver(), runDirectory: out)
        XCTAssertEqual(try Data(contentsOf: results), bytes, "a dry run must not touch the results")
        XCTAssertEqual(middle.alreadyDone, 3)
        XCTAssertEqual(middle.counterfactuals, 5)
        _ = try ProbeFixtures.runner(spec: spec, out: out).run()
        XCTAssertEqual(try nullIDs(out).count, before.nullEdits, "the run made a different number of null edits")
        let after = try ProbeSurvey.survey(plan: plan(spec), resolver: FindingsEditResolver(), runDirectory: out)
        XCTAssertEqual(after.alreadyDone, 8)
        XCTAssertEqual(after.counterfactuals + after.nullEdits + after.denoisingSteps + after.images, 0)
    }

    func testNullEditsSharedBetweenEditsAreCountedOnce() throws {
        let dir = try ProbeFixtures.tempDir("survey-shared")
        let inputs = dir.appendingPathComponent("images-in")
        try FileManager.default.createDirectory(at: inputs, withIntermediateDirectories: true)
        try ProbeFixtures.writeImages(in: inputs, count: 2)
        // Two whole-image prompts: their null edit (the base prompt, same strength and seed) is one and the same.
        let spec = dir.appendingPathComponent("shared.yaml")
        try """
        inputs:
          folder: images-in
        edits:
          - prompt: "Large right pleural effusion."
            target: Effusion
          - prompt: "Cardiomegaly."
            target: Cardiomegaly
        strengths: [0.5]
        seeds: [1]
        steps: 2
        guidance: 3
        classifiers: [stub]
        """.write(to: spec, atomically: true, encoding: .utf8)
        let survey = try ProbeSurvey.survey(
            plan: plan(spec), resolver: FindingsEditResolver(),
            runDirectory: dir.appendingPathComponent("run"))
        XCTAssertEqual(survey.counterfactuals, 4)
        XCTAssertEqual(survey.nullEdits, 2)
        let out = dir.appendingPathComponent("run")
        _ = try ProbeFixtures.runner(spec: spec, out: out).run()
        XCTAssertEqual(try nullIDs(out).count, 2)
    }

    func testSurveyRefusesWhatTheRunRefuses() throws {
        let dir = try ProbeFixtures.tempDir("survey-refuse")
        let spec = try ProbeFixtures.writeStudy(in: dir)
        let out = dir.appendingPathComponent("run")
        _ = try ProbeFixtures.runner(spec: spec, out: out, options: ProbeRunOptions(stopAfter: 1)).run()
        var text = try String(contentsOf: spec, encoding: .utf8)
        text = text.replacingOccurrences(of: "guidance: 3", with: "guidance: 5")
        try text.write(to: spec, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(
            try ProbeSurvey.survey(plan: plan(spec), resolver: FindingsEditResolver(), runDirectory: out)
        ) {
            XCTAssertTrue("\($0)".contains("different settings"), "\($0)")
        }
        // An unreadable image is found before any work, with the run's message.
        let other = dir.appendingPathComponent("other")
        try Data("not a png".utf8).write(to: dir.appendingPathComponent("images-in/zz-broken.png"))
        XCTAssertThrowsError(
            try ProbeSurvey.survey(plan: plan(spec), resolver: FindingsEditResolver(), runDirectory: other)
        ) {
            XCTAssertTrue("\($0)".contains("zz-broken.png"), "\($0)")
        }
    }
}
