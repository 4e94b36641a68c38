import CXRImaging
import CXRPipelines
import CXRRuns
import CXRSchedulers
import Foundation

/// One counterfactual of a study: image x edit x strength x seed, at its position in the canonical order
/// (image-major, so each image is read, encoded and scored once per process).
public struct ProbeJob: Sendable, Equatable {
    public let position: Int
    public let imageIndex: Int
    public let editIndex: Int
    public let strength: Double
    public let seed: UInt64
}

/// The full, ordered job list of a spec over its images, and the settings every job shares.
public struct ProbePlan: Sendable {
    public let spec: ProbeSpec
    public let images: [InputImage]
    public let steps: Int
    public let guidance: Double
    /// Scheduler name as recorded (the spec's, else the checkpoint's class name).
    public let schedulerName: String
    public let modelHash: String

    public static let maxJobs = 10_000_000

    public init(
        spec: ProbeSpec, images: [InputImage], steps: Int, guidance: Double, schedulerName: String, modelHash: String
    ) throws {
        self.spec = spec; self.images = images; self.steps = steps; self.guidance = guidance
        self.schedulerName = schedulerName; self.modelHash = modelHash
        try Self.refuseDuplicates(spec: spec, images: images)
        let perImage = spec.edits.count * spec.strengths.count * spec.seeds.count
        guard perImage > 0, images.count <= Self.maxJobs / perImage else {
            throw ProbeError(
                "\(spec.file.path): \(images.count) images x \(spec.edits.count) edits x \(spec.strengths.count) strengths x \(spec.seeds.count) seeds exceeds \(Self.maxJobs) counterfactuals"
            )
        }
    }

    /// Two equal jobs get the same id, so a run with a repeated seed, strength or input never has as many
    /// distinct rows as jobs and stayed `complete: false` for ever: repeats are refused before anything runs
    /// (edits are distinct by name already).
    static func refuseDuplicates(spec: ProbeSpec, images: [InputImage]) throws {
        func firstRepeat<T: Hashable>(_ values: [T]) -> T? {
            var seen = Set<T>()
            return values.first { !seen.insert($0).inserted }
        }
        let file = spec.file.path
        if let s = firstRepeat(spec.seeds) { throw ProbeError("\(file): seeds: \(s) appears twice") }
        if let t = firstRepeat(spec.strengths) { throw ProbeError("\(file): strengths: \(t) appears twice") }
        if let u = firstRepeat(images.map { $0.url.standardizedFileURL.resolvingSymlinksInPath().path }) {
            throw ProbeError("\(file): inputs: \(u) is listed twice")
        }
        if let n = firstRepeat(images.map(\.name)) {
            throw ProbeError("\(file): inputs: two images are named \(n) (results are keyed by name)")
        }
    }

    public var count: Int { images.count * spec.edits.count * spec.strengths.count * spec.seeds.count }

    public func job(at position: Int) -> ProbeJob {
        let ns = spec.seeds.count, nt = spec.strengths.count, ne = spec.edits.count
        var p = position
        let s = p % ns; p /= ns
        let t = p % nt; p /= nt
        let e = p % ne; p /= ne
        return ProbeJob(
            position: position, imageIndex: p, editIndex: e, strength: spec.strengths[t], seed: spec.seeds[s])
    }

    /// Every setting that changes results, except the inputs and the per-job values: two run directories can be
    /// merged only when these agree.
    var settings: ProbeSettings {
        ProbeSettings(
            schema: ProbeRunner.schema, steps: steps, guidance: guidance, scheduler: schedulerName,
            eta: spec.eta, invert: spec.invert, margin: spec.margin, detail: RecordedDetail(spec.detail),
            unet: spec.unet ?? "auto", force: spec.force, classifiers: spec.classifiers,
            threshold: spec.threshold, modelSHA256: modelHash, window: spec.window.recorded)
    }

    /// run.json's `settings`: the shared settings, the edits, strengths and seeds.
    var fingerprintSettings: MergedObject<ProbeSettings, ProbeSettings.Lists> {
        MergedObject(settings, .init(edits: spec.edits.map(\.record), strengths: spec.strengths, seeds: spec.seeds))
    }

    public var fingerprint: String {
        SHA256.hex(of: (try? StableJSON.encode(fingerprintSettings)) ?? [])
    }

    /// The stable id of a job: SHA-256 (first 32 hex digits) of the image's content hash and name, the edit,
    /// strength, seed, sampler settings, model hash and classifiers. Reruns, shards and merges agree on it.
    public func id(for job: ProbeJob, imageSHA256: String) -> String {
        let key = MergedObject(
            settings,
            ProbeSettings.Job(
                imageSHA256: imageSHA256, image: images[job.imageIndex].name,
                edit: spec.edits[job.editIndex].record,
                strength: job.strength, seed: job.seed))
        return String(SHA256.hex(of: (try? StableJSON.encode(key)) ?? []).prefix(32))
    }

    /// The library request of a job: what `cxr-edit edit` would make of the same settings. The run and its dry run
    /// (`ProbeSurvey`) build requests here, so both count the same null edits.
    public func request(for job: ProbeJob, resolved: ResolvedEdit, raster: RasterImage, sha: String) -> EditRequest {
        EditRequest(
            image: raster, prompt: resolved.prompt, negativePrompt: resolved.negativePrompt,
            editMask: resolved.editMask, keepMask: resolved.keepMask, strength: job.strength, seed: job.seed,
            steps: steps, guidance: guidance, scheduler: spec.scheduler.flatMap { SchedulerKind(name: $0) },
            eta: spec.eta, invert: spec.invert,
            // An inverted edit starts from its null edit's prompts, as `cxr-edit edit --invert` does.
            sourcePrompt: spec.invert ? resolved.nullPrompt : "",
            sourceNegativePrompt: spec.invert ? resolved.nullNegativePrompt : "", detail: spec.detail,
            nullPrompt: resolved.nullPrompt, nullNegativePrompt: resolved.nullNegativePrompt, margin: spec.margin,
            unet: spec.unet.flatMap(UNetChoice.init(rawValue:)), imageKey: sha)
    }
}
