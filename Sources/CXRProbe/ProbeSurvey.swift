import CXRImaging
import CXRPipelines
import CXRRuns
import CXRSchedulers
import Foundation

/// What a probe run would do, found without running the model (`probe --dry-run`): the counterfactuals of a shard
/// left to make, the null edits they need, and the denoising steps that cost the time.
///
/// It walks the jobs as the run does, with the same ids, image reads, region fits and mask files, so a study that
/// would stop at its 37th image after an hour stops here in seconds with the same message, and the counts agree
/// with what the run then makes (null edits are keyed as the run keys them, so shared ones are counted once).
public struct ProbeSurvey {
    /// Counterfactuals in this shard.
    public var total = 0
    /// Already in the run directory's results.
    public var alreadyDone = 0
    /// Left to make.
    public var counterfactuals = 0
    /// Distinct null edits the counterfactuals left to make need.
    public var nullEdits = 0
    /// Denoising steps (UNet evaluations, a batch of two under guidance) of those edits and null edits.
    public var denoisingSteps = 0
    /// Images with work left (each is read, encoded and scored once).
    public var images = 0
    /// Weak atlas fits edited anyway (`force`), one line each.
    public var fitWarnings: [String] = []

    /// Surveys `plan` for `shard`, reading `runDirectory` if it exists (never writing it).
    public static func survey(
        plan: ProbePlan, resolver: EditResolving, runDirectory: URL,
        shard: Shard = .all
    ) throws -> ProbeSurvey {
        var finished = Set<String>()
        var rows: [ProbeRow] = []
        let results = runDirectory.appendingPathComponent("results.jsonl")
        if try RunInfo<ProbeRunDetails>.check(runDirectory, fingerprint: plan.fingerprint),
            FileManager.default.fileExists(atPath: results.path)
        {
            rows = try ResultsLog<ProbeRow>.readRows(results)
            finished = Set(rows.map(\.id))
        }
        let recorded = RecordedInputs(rows: rows)
        var out = ProbeSurvey()
        var current: (index: Int, sha: String, raster: RasterImage?, resolved: [Int: ResolvedEdit], nulls: Set<String>)?
        for position in stride(from: shard.index, to: plan.count, by: shard.count) {
            out.total += 1
            let job = plan.job(at: position)
            let input = plan.images[job.imageIndex]
            if current?.index != job.imageIndex {
                current = (job.imageIndex, try recorded.currentSHA256(of: input), nil, [:], [])
            }
            guard var c = current else { continue }
            if finished.contains(plan.id(for: job, imageSHA256: c.sha)) {
                out.alreadyDone += 1
                continue
            }
            if c.raster == nil {
                c.raster = try ImageIO.read(input.url, window: plan.spec.window).image
                out.images += 1
            }
            guard let raster = c.raster else { continue }
            let edit = plan.spec.edits[job.editIndex]
            let resolved: ResolvedEdit
            if let r = c.resolved[job.editIndex] {
                resolved = r
            } else {
                do { resolved = try resolver.resolve(edit, image: raster, imageKey: c.sha) } catch {
                    throw ProbeError("\(input.url.path): edit '\(edit.name)': \(error)")
                }
                c.resolved[job.editIndex] = resolved
                if let w = resolved.fitWarning { out.fitWarnings.append("\(input.name): \(edit.name): \(w)") }
            }
            let request = plan.request(for: job, resolved: resolved, raster: raster, sha: c.sha)
            let steps = Self.denoisingSteps(of: request)
            out.counterfactuals += 1
            out.denoisingSteps += steps
            let nullKey = ProbeRunner.nullKey(try request.nullEdit())
            if c.nulls.insert(nullKey).inserted {
                out.nullEdits += 1
                out.denoisingSteps += steps
            }
            current = c
        }
        return out
    }

    /// UNet evaluations of one edit: the part of the schedule its strength re-runs (as the schedulers count it),
    /// twice with inversion (the image is first run forward through the same steps).
    static func denoisingSteps(of r: EditRequest) -> Int {
        let n = img2imgStepCount(steps: r.steps, strength: r.strength)
        return r.invert ? 2 * n : n
    }

    /// Estimated seconds for the work left, from the time of one denoising step, of the VAE work of one edit (its
    /// decode) and of one image (its encode and the round trip); an estimate for planning, not a measurement.
    public func estimatedSeconds(perStep: Double, perEdit: Double, perImage: Double) -> Double {
        Double(denoisingSteps) * perStep + Double(counterfactuals + nullEdits) * perEdit + Double(images) * perImage
    }
}

/// `probe --dry-run --json`: the counts.
extension ProbeSurvey: Encodable {
    enum CodingKeys: String, CodingKey {
        case total, alreadyDone = "already_done", counterfactuals, nullEdits = "null_edits"
        case denoisingSteps = "denoising_steps", images, fitWarnings = "fit_warnings"
    }

    /// `probe --dry-run --json`: the survey of a shard and the estimate of its time.
    public struct Estimate: Encodable {
        public var survey: ProbeSurvey
        public var estimatedSeconds: Double
        /// The timed denoising step the estimate is made of.
        public var secondsPerDenoisingStep: Double
        public var shard: Shard

        public init(survey: ProbeSurvey, estimatedSeconds: Double, secondsPerDenoisingStep: Double, shard: Shard) {
            self.survey = survey; self.estimatedSeconds = estimatedSeconds
            self.secondsPerDenoisingStep = secondsPerDenoisingStep; self.shard = shard
        }

        enum CodingKeys: String, CodingKey {
            case estimatedSeconds = "estimated_seconds", secondsPerDenoisingStep = "seconds_per_denoising_step", shard
        }

        /// One object: the survey's keys beside the estimate's.
        public func encode(to encoder: Encoder) throws {
            try survey.encode(to: encoder)
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(estimatedSeconds, forKey: .estimatedSeconds)
            try c.encode(secondsPerDenoisingStep, forKey: .secondsPerDenoisingStep)
            try c.encode(shard.description, forKey: .shard)
        }
    }
}
