import ArgumentParser
import CXRClassifiers
import CXRFindings
import CXRPipelines
import CXRProbe
import CXRRuns
import Foundation

/// `cxr-edit synthesize`: labelled synthetic datasets (augmentation, class balancing), resumable and shardable.
struct Synthesize: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synthesize",
        abstract:
            "Generate a labelled synthetic chest X-ray dataset (images/, labels.csv, manifest.json, summary.json).",
        discussion: """
            The spec gives prompts with counts, or a target label distribution (with optional laterality, severity and
            demographic mix) from which prompts are composed with the findings vocabulary. The same spec gives the same
            files; rerunning on DIR resumes; --shard I/N runs a slice; `synthesize merge` combines shards. See
            docs/synthesize.md (a walk-through) and docs/probe.md.

            Examples:
              cxr-edit synthesize --spec balance.yaml --out synth/
              cxr-edit synthesize --spec balance.yaml --out synth-$SLURM_ARRAY_TASK_ID --shard $SLURM_ARRAY_TASK_ID/8
              cxr-edit synthesize merge synth/ synth-0 synth-1
            """,
        subcommands: [SynthesizeRun.self, SynthesizeMerge.self],
        defaultSubcommand: SynthesizeRun.self
    )
}

struct SynthesizeRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Generate (or resume) a synthetic dataset.")

    @Option(name: .long, help: ArgumentHelp("The dataset spec (YAML or JSON).", valueName: "S.yaml"))
    var spec: String

    @Option(
        name: .long, help: ArgumentHelp("Dataset directory (created; an existing one is resumed).", valueName: "DIR"))
    var out: String

    @Option(name: .long, help: ArgumentHelp("Run only slice I of N (0 <= I < N).", valueName: "I/N"))
    var shard: String?

    @OptionGroup var modelOptions: ModelOptions

    @OptionGroup(title: "DICOM input (from: images)") var window: WindowOptions

    @Flag(name: .long, help: "Print a machine-readable JSON summary on stdout at the end.")
    var json = false

    @Flag(name: .long, help: "No progress output.")
    var quiet = false

    @Flag(name: .long, help: "Show progress even when stderr is not a terminal.")
    var progress = false

    func run() throws {
        try modelOptions.check()
        let shard = try shard.map { try Shard(parsing: $0) } ?? .all
        let specURL = URL(fileURLWithPath: spec)
        var s = try SynthesizeSpec.load(specURL)
        if window.window != nil && s.from == nil {
            throw CLIError("--window chooses how DICOM from: images are read; \(specURL.path) has no from: folder")
        }
        s.window = window.choice(over: s.window)
        modelOptions.applyThreads()
        let showProgress = !quiet && (progress || isatty(2) != 0)
        let classifiers: [Classifier] = try s.classifiers.enumerated().map { i, c in
            do { return try ClassifierFactory.make(spec: c, baseDirectory: specURL.deletingLastPathComponent()) } catch
            {
                throw CLIError("\(specURL.path): classifiers[\(i)]: \(error)")
            }
        }
        let modelURL = try modelOptions.model.map { URL(fileURLWithPath: $0) } ?? s.model ?? modelOptions.modelURL()
        if showProgress { FileHandle.standardError.write(Data("loading model \(modelURL.path)\n".utf8)) }
        let model = try StableDiffusionModel.load(
            from: modelURL, precision: modelOptions.gemmPrecision(), vaeTiling: modelOptions.vaeTilingMode())
        let defaults = samplingDefaults(model)
        let plan = try SynthesizePlan(
            spec: s, vocabulary: Vocabulary.standard(), steps: s.steps ?? defaults.steps,
            guidance: s.guidance ?? defaults.guidance,
            schedulerName: s.scheduler ?? model.schedulerConfig.className ?? "default",
            modelHash: WeightsHash.hex(of: model), nativeSize: model.nativeImageSize)
        let software = "cxr-edit \(CXREdit.version)"
        let runner = SynthesizeRunner(
            plan: plan, model: model, classifiers: classifiers, directory: URL(fileURLWithPath: out),
            options: ProbeRunOptions(
                shard: shard, progress: showProgress, software: software,
                modelName: modelURL.path))
        let summary = try removingFailedEmptyRun(at: URL(fileURLWithPath: out)) { try runner.run() }
        let dataset = try DatasetFinalizer.finalize(directory: URL(fileURLWithPath: out), software: software)
        if json {
            print(try StableJSON.string(DatasetOutput(summary, imagesPerMinute: summary.perMinute, dataset: dataset)))
        } else {
            print(URL(fileURLWithPath: out).path)
            if !quiet {
                FileHandle.standardError.write(
                    Data(
                        String(
                            format: "synthesize: %d new, %d already done, %d in %@ | %.2f images/min\n",
                            summary.done, summary.alreadyDone, summary.total,
                            shard.count > 1 ? "shard \(shard)" : "the dataset", summary.perMinute
                        ).utf8))
            }
        }
    }
}

struct SynthesizeMerge: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge", abstract: "Combine shard dataset directories into one.")

    @Argument(help: ArgumentHelp("The merged dataset directory.", valueName: "OUT"))
    var output: String

    @Argument(help: ArgumentHelp("Shard dataset directories.", valueName: "SHARD"))
    var shards: [String]

    @Flag(name: .long, help: "Print a machine-readable JSON summary on stdout.")
    var json = false

    func run() throws {
        guard !shards.isEmpty else { throw CLIError("synthesize merge: name at least one shard directory after OUT") }
        let outURL = URL(fileURLWithPath: output)
        let outcome = try removingFailedEmptyRun(at: outURL) {
            try RunMerge.merge(SynthesisRow.self, into: outURL, from: shards.map { URL(fileURLWithPath: $0) })
        }
        let dataset = try DatasetFinalizer.finalize(directory: outURL, software: "cxr-edit \(CXREdit.version)")
        if json {
            print(try StableJSON.string(DatasetOutput(outcome, dataset: dataset)))
        } else {
            print(outURL.path)
            FileHandle.standardError.write(
                Data("merged \(outcome.rows) images (\(outcome.duplicates) duplicates dropped)\n".utf8))
        }
    }
}
