import ArgumentParser
import CXRClassifiers
import CXRFindings
import CXRImaging
import CXRPipelines
import CXRProbe
import CXRRuns
import CXRTensor
import Foundation

/// `cxr-edit probe`: counterfactual stress tests of chest X-ray classifiers (run / merge / report).
struct Probe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract:
            "Counterfactual stress tests of chest X-ray classifiers: edit images, score before and after, report shortcuts.",
        discussion: """
            Runs every image x edit x strength x seed of a run spec (YAML/JSON, see docs/probe.md and
            docs/examples/probe.yaml), scores original and counterfactual with every classifier, and appends one JSON
            line per result to RUN_DIR/results.jsonl. Rerunning on the same RUN_DIR resumes; --shard I/N runs a
            disjoint slice for job arrays; `probe merge` combines shard directories; `probe report` writes the HTML report.

            Examples:
              cxr-edit probe --spec docs/examples/probe.yaml --out run/
              cxr-edit probe --spec study.yaml --out run-$SLURM_ARRAY_TASK_ID --shard $SLURM_ARRAY_TASK_ID/8
              cxr-edit probe merge run/ run-0 run-1 run-2
              cxr-edit probe report run/
            """,
        subcommands: [ProbeRun.self, ProbeMerge.self, ProbeReportCommand.self],
        defaultSubcommand: ProbeRun.self
    )
}

struct ProbeRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run (or resume) a probe study into a run directory.")

    @Option(name: .long, help: ArgumentHelp("The run spec (YAML or JSON).", valueName: "S.yaml"))
    var spec: String

    @Option(
        name: .long, help: ArgumentHelp("Run directory (created; an existing one is resumed).", valueName: "RUN_DIR"))
    var out: String

    @Option(
        name: .long,
        help: ArgumentHelp("Run only slice I of N (0 <= I < N), e.g. $SLURM_ARRAY_TASK_ID/8.", valueName: "I/N"))
    var shard: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Score with this classifier instead of the spec's (repeatable): demo, densenet121:PATH, cmd:COMMAND.",
            valueName: "SPEC"))
    var classifier: [String] = []

    @OptionGroup var modelOptions: ModelOptions

    @OptionGroup(title: "DICOM input") var window: WindowOptions

    @Flag(name: .long, help: "Print a machine-readable JSON summary on stdout at the end.")
    var json = false

    @Flag(
        name: .customLong("dry-run"),
        help:
            "Check everything the run would read (spec, images, region fits, masks, run directory) and print the plan: counterfactuals and null edits left, denoising steps, estimated time. Writes nothing."
    )
    var dryRun = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Only the first N input images (as inputs.limit in the spec; a later run without it goes on with the rest).",
            valueName: "N"))
    var limit: Int?

    @Flag(name: .long, help: "No progress output.")
    var quiet = false

    @Flag(name: .long, help: "Show progress even when stderr is not a terminal.")
    var progress = false

    func run() throws {
        try modelOptions.check()
        if let limit, limit < 1 { throw CLIError("--limit must be at least 1, got \(limit)") }
        let shard = try shard.map { try Shard(parsing: $0) } ?? .all
        let specURL = URL(fileURLWithPath: spec)
        var probeSpec = try ProbeSpec.load(specURL)
        if let limit { probeSpec.inputs.limit = min(probeSpec.inputs.limit ?? limit, limit) }
        probeSpec.window = window.choice(over: probeSpec.window)
        if !classifier.isEmpty {
            guard Set(classifier).count == classifier.count else {
                throw CLIError("--classifier: a classifier is given twice")
            }
            probeSpec.classifiers = classifier
        }
        let resolver = try FindingsEditResolver(for: probeSpec)
        try resolver.validate(probeSpec.edits, specFile: specURL.path)
        let images = try probeSpec.inputs.list(specFile: specURL.path)
        modelOptions.applyThreads()
        let showProgress = !quiet && (progress || isatty(2) != 0)
        let note: (String) -> Void = { if showProgress { FileHandle.standardError.write(Data("\($0)\n".utf8)) } }

        let classifiers: [Classifier] = try probeSpec.classifiers.enumerated().map { i, c in
            // Paths in the spec are relative to the spec; paths given with --classifier to the working directory.
            let base = classifier.isEmpty ? specURL.deletingLastPathComponent() : nil
            do { return try ClassifierFactory.make(spec: c, baseDirectory: base) } catch {
                throw CLIError(
                    classifier.isEmpty ? "\(specURL.path): classifiers[\(i)]: \(error)" : "--classifier \(c): \(error)")
            }
        }
        let modelURL =
            try modelOptions.model.map { URL(fileURLWithPath: $0) } ?? probeSpec.model ?? modelOptions.modelURL()
        note("loading model \(modelURL.path)")
        let model = try StableDiffusionModel.load(
            from: modelURL, precision: modelOptions.gemmPrecision(), vaeTiling: modelOptions.vaeTilingMode())
        let defaults = samplingDefaults(model)
        let plan = try ProbePlan(
            spec: probeSpec, images: images, steps: probeSpec.steps ?? defaults.steps,
            guidance: probeSpec.guidance ?? defaults.guidance,
            schedulerName: probeSpec.scheduler ?? model.schedulerConfig.className ?? "default",
            modelHash: WeightsHash.hex(of: model))
        note(
            "probe: \(images.count) images x \(probeSpec.edits.count) edits x \(probeSpec.strengths.count) strengths x \(probeSpec.seeds.count) seeds = \(plan.count) counterfactuals\(shard.count > 1 ? " (shard \(shard))" : "")"
        )
        if dryRun {
            try printDryRun(plan: plan, model: model, resolver: resolver, shard: shard)
            return
        }
        let runner = try ProbeRunner(
            plan: plan, model: model, classifiers: classifiers, resolver: resolver,
            runDirectory: URL(fileURLWithPath: out),
            options: ProbeRunOptions(
                shard: shard, progress: showProgress,
                software: "cxr-edit \(CXREdit.version)", modelName: modelURL.path))
        let summary = try removingFailedEmptyRun(at: URL(fileURLWithPath: out)) { try runner.run() }
        if json {
            print(try StableJSON.string(summary))
        } else {
            print(URL(fileURLWithPath: out).path)
            if !quiet {
                FileHandle.standardError.write(
                    Data(
                        String(
                            format:
                                "probe: %d new, %d already done, %d in %@ | %.2f counterfactuals/min | %.0f%% of the time outside the denoising loop\n",
                            summary.done, summary.alreadyDone, summary.total,
                            shard.count > 1 ? "shard \(shard)" : "the study",
                            summary.perMinute, summary.shareOutsideDenoising * 100
                        ).utf8))
            }
        }
    }
}

extension ProbeRun {
    /// --dry-run: the survey of the work left, and an estimate of its time from a timed denoising step, VAE decode
    /// (one per edit) and encode + decode (one per image: its latents and the round trip the detail transfer uses).
    func printDryRun(plan: ProbePlan, model: StableDiffusionModel, resolver: EditResolving, shard: Shard) throws {
        let survey = try ProbeSurvey.survey(
            plan: plan, resolver: resolver, runDirectory: URL(fileURLWithPath: out),
            shard: shard)
        let size = model.nativeImageSize, latent = size / model.vae.config.downscale
        let ids = [model.tokenizer.encode("").ids, model.tokenizer.encode(EditSpec.defaultBasePrompt).ids]
        let context = try model.textEncoder(ids)
        let unet = try model.unet
        let sample = Tensor(
            shape: [2, unet.config.inChannels, latent, latent],
            data: [Float](repeating: 0.1, count: 2 * unet.config.inChannels * latent * latent))
        // The faster of two timed runs after a warm-up (first-call allocations), for the UNet and for the VAE.
        func fastest(_ body: () -> Void) -> Double {
            body()
            return (0..<2).map { _ in
                let t = Date()
                body()
                return Date().timeIntervalSince(t)
            }.min() ?? 0
        }
        let perStep = fastest { _ = unet(sample, timesteps: [500], context: context) }
        let image = Tensor(
            shape: [1, model.vae.config.inChannels, size, size],
            data: [Float](repeating: 0, count: model.vae.config.inChannels * size * size))
        var latents = model.vae.encode(image).mean
        let perImage = fastest { latents = model.vae.encode(image).mean } + fastest { _ = model.vae.decode(latents) }
        let perEdit = fastest { _ = model.vae.decode(latents) }
        let eta = survey.estimatedSeconds(perStep: perStep, perEdit: perEdit, perImage: perImage)
        if json {
            let estimate = ProbeSurvey.Estimate(
                survey: survey, estimatedSeconds: eta, secondsPerDenoisingStep: perStep,
                shard: shard)
            print(try StableJSON.string(estimate))
            return
        }
        let scope = shard.count > 1 ? "shard \(shard)" : "the study"
        print(
            "probe --dry-run: \(survey.total) counterfactuals in \(scope), \(survey.alreadyDone) already done in \(out)"
        )
        print(
            "to make: \(survey.counterfactuals) counterfactuals + \(survey.nullEdits) null edits on \(survey.images) images, "
                + "\(survey.denoisingSteps) denoising steps")
        print(
            String(
                format:
                    "estimated time: %@ on this machine (%.3f s per denoising step, %.2f s per image and %.2f s per edit for the VAE; classifiers not included)",
                Self.duration(eta), perStep, perImage, perEdit))
        for w in survey.fitWarnings { print("warning: \(w)") }
    }

    static func duration(_ s: Double) -> String {
        if s < 90 { return String(format: "%.0f s", s) }
        if s < 5400 { return String(format: "%.0f min", s / 60) }
        return String(format: "%.1f h", s / 3600)
    }
}

struct ProbeMerge: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Combine shard run directories into one (rows deduplicated by id, in plan order; images copied).")

    @Argument(help: ArgumentHelp("The merged run directory (created; its own rows are kept).", valueName: "OUT"))
    var output: String

    @Argument(help: ArgumentHelp("Shard run directories.", valueName: "SHARD"))
    var shards: [String]

    @Flag(name: .long, help: "Print a machine-readable JSON summary on stdout.")
    var json = false

    func run() throws {
        guard !shards.isEmpty else { throw CLIError("probe merge: name at least one shard directory after OUT") }
        let outURL = URL(fileURLWithPath: output)
        let outcome = try removingFailedEmptyRun(at: outURL) {
            try RunMerge.merge(ProbeRow.self, into: outURL, from: shards.map { URL(fileURLWithPath: $0) })
        }
        if json {
            print(try StableJSON.string(outcome))
        } else {
            print(URL(fileURLWithPath: output).path)
            FileHandle.standardError.write(
                Data(
                    "merged \(outcome.rows) rows (\(outcome.duplicates) duplicates dropped, \(outcome.copiedFiles) images copied)\n"
                        .utf8))
        }
    }
}

struct ProbeReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write summary.json, results.csv and a self-contained report.html for a run directory.")

    @Argument(help: ArgumentHelp("The run directory.", valueName: "RUN_DIR"))
    var runDirectory: String

    @Option(name: .long, help: "Gallery examples at each end (largest and smallest effects).")
    var gallery: Int = 4

    @Flag(name: .long, help: "Print the written paths as JSON.")
    var json = false

    func run() throws {
        guard gallery >= 0 && gallery <= 100 else {
            throw CLIError("--gallery must be between 0 and 100, got \(gallery)")
        }
        // A synthesize dataset has the same results.jsonl/run.json layout; reporting on it overwrote its
        // summary.json with a probe summary. Its labels.csv and manifest.json give it away.
        let dir = URL(fileURLWithPath: runDirectory)
        if ["labels.csv", "manifest.json"].allSatisfy({
            FileManager.default.fileExists(atPath: dir.appendingPathComponent($0).path)
        }) {
            throw CLIError(
                "\(dir.path): is a synthesize dataset (labels.csv, manifest.json), not a probe run; nothing written")
        }
        let files = try ProbeReport.write(runDirectory: URL(fileURLWithPath: runDirectory), galleryCount: gallery)
        if json {
            print(try StableJSON.string(files))
        } else {
            for f in [files.summary, files.csv, files.html] { print(f.path) }
        }
    }
}
