import CXRCheckpoint
import CXRFindings
import CXRImaging
import CXRPipelines
import CXRRuns
import CXRTensor
import Foundation

/// `cxr-edit edit` over several inputs and seeds into --out-dir: every image x seed through the library's
/// `ImageEditor`, with one model load for the whole batch.
///
/// Resumable like the probe: an output that exists and records this request (input SHA-256, options, seed, model
/// weights; `ExistingOutput`) is skipped, so a rerun after an interruption makes only what is missing, and a rerun
/// of a finished batch loads no model at all. Everything that can be wrong with the inputs and outputs is found
/// before the first edit: a batch that stops on image 900 of 1,000 costs hours.
struct BatchEdit {
    let edit: Edit
    let resolved: ResolvedFindings
    let prompt: String
    let seeds: [UInt64]
    let outDir: URL

    /// One input edited with one seed, and which of its files are still to make.
    struct Job {
        let input: URL
        let seed: UInt64
        let output: URL
        /// The null edit's file (--null-edits), else nil.
        let null: URL?
        var edit: ExistingOutput = .absent
        var nullState: ExistingOutput = .absent

        var needsEdit: Bool { edit != .matching }
        var needsNull: Bool { null != nil && nullState != .matching }
        var isDone: Bool { !needsEdit && !needsNull }
    }

    func run() throws {
        let clock = Date()
        let inputs = try BatchInputs(arguments: edit.inputs)
        try checkOutputFolder(inputs)
        var jobs = try plan(inputs)

        let modelURL = try edit.modelOptions.modelURL()
        let recommendations = try ModelRecommendations(modelFolder: modelURL)
        let folder = try DiffusersFolder(url: modelURL)
        let defaults = samplingDefaults(recommendations, modelURL: modelURL)
        let noise = try edit.sampling.noise.map { try InitialNoise.read(contentsOf: URL(fileURLWithPath: $0)) }
        let hash = WeightsHash.hex(of: folder, recommendations: recommendations)
        let settings = Settings(
            modelURL: modelURL, steps: edit.sampling.steps ?? defaults.steps,
            guidance: edit.sampling.guidance ?? defaults.guidance, noise: noise,
            stamp: OutputStamp(modelPath: modelURL.path, modelHash: hash))

        // Every input read and placed, and every existing output compared, before any edit.
        var hashes: [String: String] = [:]
        for (input, indices) in grouped(jobs) {
            let prepared = try prepare(input)
            hashes[input.path] = prepared.hash
            for i in indices {
                let (request, nullRequest) = try requests(for: jobs[i], prepared, settings)
                let anonymized = ImageIO.isDICOMName(jobs[i].output) ? edit.anonymize : nil
                jobs[i].edit = ExistingOutput.check(
                    jobs[i].output, expected: expected(request, settings, null: false),
                    deidentified: anonymized)
                if let nullURL = jobs[i].null, let nullRequest {
                    jobs[i].nullState = ExistingOutput.check(
                        nullURL,
                        expected: expected(
                            nullRequest, settings,
                            null: true),
                        deidentified: anonymized)
                }
                for (url, state) in [(jobs[i].output, jobs[i].edit), (jobs[i].null, jobs[i].nullState)] {
                    if let url, case .differing(let why) = state, !edit.output.overwrite {
                        throw CLIError(
                            "\(url.path): exists from another request: \(why.commandLineDescription); "
                                + "pass --overwrite to replace it, or choose another --out-dir")
                    }
                }
            }
        }

        let pending = jobs.filter { !$0.isDone }
        var made: [Int: Double] = [:]
        if !pending.isEmpty {
            made = try runPending(jobs, hashes: hashes, settings: settings)
        }
        report(jobs, seconds: made, images: inputs.files.count, elapsed: Date().timeIntervalSince(clock))
    }

    /// What every request of the batch shares once the model folder is known.
    struct Settings {
        let modelURL: URL
        let steps: Int
        let guidance: Double
        let noise: Tensor?
        let stamp: OutputStamp
    }

    /// Makes what is missing: the model loaded once, images in order (each read once for all its seeds, so the
    /// editor encodes it once). Returns the seconds each job took, by job index.
    private func runPending(_ jobs: [Job], hashes: [String: String], settings: Settings) throws -> [Int: Double] {
        if !FileManager.default.fileExists(atPath: outDir.path) {
            try FileManager.default.createDirectory(at: outDir, withIntermediateDirectories: false)
        }
        edit.modelOptions.applyThreads()
        let note = ProgressReporter(edit.output, label: "edit")
        note.note("loading model \(settings.modelURL.path)")
        let model = try edit.loadModel(settings.modelURL, prompt: prompt)
        let editor = ImageEditor(model: model)
        let units = jobs.reduce(0) { $0 + ($1.needsEdit ? 1 : 0) + ($1.needsNull ? 1 : 0) }
        var progress = BatchProgress(total: units, reporter: note)
        var seconds: [Int: Double] = [:]
        for (input, indices) in grouped(jobs) where indices.contains(where: { !jobs[$0].isDone }) {
            let prepared = try prepare(input)
            guard prepared.hash == hashes[input.path] else {
                throw CLIError("\(input.path): the file changed while the batch ran; run it again")
            }
            for i in indices where !jobs[i].isDone {
                let job = jobs[i]
                let start = Date()
                let (request, nullRequest) = try requests(for: job, prepared, settings)
                let label = "\(input.lastPathComponent) seed \(job.seed)"
                if job.needsEdit {
                    let reporter = ProgressReporter(edit.output, label: progress.label("edit", label))
                    let outcome = try edit.run(editor, request, reporter: reporter)
                    try edit.write(
                        outcome, of: request, to: job.output, stamp: settings.stamp, source: input,
                        overwrite: job.edit != .absent)
                    progress.finished(seconds: outcome.seconds)
                }
                if job.needsNull, let nullURL = job.null, let nullRequest {
                    let reporter = ProgressReporter(edit.output, label: progress.label("null edit", label))
                    let outcome = try edit.run(editor, nullRequest, reporter: reporter)
                    try edit.write(
                        outcome, of: nullRequest, to: nullURL, stamp: settings.stamp, source: input,
                        overwrite: job.nullState != .absent, asNullEdit: true)
                    progress.finished(seconds: outcome.seconds)
                }
                seconds[i] = Date().timeIntervalSince(start)
            }
            editor.forgetImages()
        }
        return seconds
    }

    /// The edit's request and, with --null-edits, its null edit's.
    private func requests(
        for job: Job, _ prepared: PreparedInput,
        _ s: Settings
    ) throws -> (EditRequest, EditRequest?) {
        let request = try edit.makeRequest(
            prepared, seed: job.seed, resolved: resolved, prompt: prompt,
            modelURL: s.modelURL, steps: s.steps, guidance: s.guidance, noise: s.noise)
        let null = try job.null.map { _ in try edit.makeNullRequest(request, outputName: job.output.lastPathComponent) }
        return (request, null)
    }

    /// The provenance entries an output of `request` records whatever the run finds (the repainted area's hash and
    /// the UNet are the editor's and follow from these).
    private func expected(_ request: EditRequest, _ s: Settings, null: Bool) -> Provenance {
        Provenance(
            software: s.stamp.software, mode: null ? "null-edit" : nil, model: s.stamp.modelPath,
            modelHash: s.stamp.modelHash, prompt: request.prompt, negativePrompt: request.negativePrompt,
            seed: request.seed, steps: request.steps, strength: request.strength, guidance: request.guidance,
            extra: request.provenanceExtras)
    }

    /// Reads one input, naming it in any error (a batch's error must say which of its files is at fault).
    private func prepare(_ input: URL) throws -> PreparedInput {
        do { return try edit.prepareInput(input, resolved: resolved) } catch {
            let line = errorLine(error)
            throw line.contains(input.lastPathComponent) ? error : CLIError("\(input.path): \(line)")
        }
    }

    /// The jobs in order (images, then seeds), with names that must not collide: two inputs with one stem (a/x.png
    /// and b/x.png, or x.png and x.jpg) would write the same files.
    private func plan(_ inputs: BatchInputs) throws -> [Job] {
        var owner: [String: URL] = [:]
        var jobs: [Job] = []
        for input in inputs.files {
            for seed in seeds {
                let names =
                    [BatchInputs.outputName(for: input, seed: seed)]
                    + (edit.nullEdits ? [BatchInputs.outputName(for: input, seed: seed, null: true)] : [])
                for name in names {
                    if let other = owner[name], other != input {
                        throw CLIError(
                            "\(other.path) and \(input.path) would both write \(name) in "
                                + "\(outDir.path); rename one or edit them into separate --out-dir folders")
                    }
                    owner[name] = input
                }
                jobs.append(
                    Job(
                        input: input, seed: seed, output: outDir.appendingPathComponent(names[0]),
                        null: names.count > 1 ? outDir.appendingPathComponent(names[1]) : nil))
            }
        }
        return jobs
    }

    /// Job indices by input, in input order.
    private func grouped(_ jobs: [Job]) -> [(URL, [Int])] {
        var out: [(URL, [Int])] = []
        for (i, job) in jobs.enumerated() {
            if let last = out.last, last.0 == job.input {
                out[out.count - 1].1.append(i)
            } else {
                out.append((job.input, [i]))
            }
        }
        return out
    }

    /// --out-dir must be a writable folder, or one that can be made in a writable folder; and not an input folder,
    /// whose outputs the next run would read as inputs.
    private func checkOutputFolder(_ inputs: BatchInputs) throws {
        if inputs.folders.contains(where: { $0.path == outDir.standardizedFileURL.path }) {
            throw CLIError(
                "\(outDir.path): --out-dir is an input folder; the next run would read its outputs as "
                    + "inputs (choose another folder)")
        }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: outDir.path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw CLIError("\(outDir.path): --out-dir is a file, not a folder") }
            try checkWritableFolder(outDir)
            return
        }
        let parent = outDir.standardizedFileURL.deletingLastPathComponent()
        guard FileManager.default.fileExists(atPath: parent.path, isDirectory: &isDirectory), isDirectory.boolValue
        else {
            throw CLIError("\(outDir.path): --out-dir cannot be made: \(parent.path) is not a folder")
        }
        try checkWritableFolder(parent)
    }

    /// Paths on stdout (every output of the batch, made now or before, so that the list can be piped on), or one
    /// JSON object with --json; the summary line on stderr.
    private func report(_ jobs: [Job], seconds: [Int: Double], images: Int, elapsed: Double) {
        let options = edit.output
        let new = seconds.count, done = jobs.count - new
        let shape = "\(images) image\(images == 1 ? "" : "s") x \(seeds.count) seed\(seeds.count == 1 ? "" : "s")"
        if options.json {
            let outputs = jobs.enumerated().map { i, job in
                BatchEditReport.Output(
                    input: job.input.path, seed: job.seed, output: job.output.path,
                    status: seconds[i] == nil ? "skipped" : "written", nullEdit: job.null?.path,
                    seconds: seconds[i])
            }
            let batch = BatchEditReport(
                outputs: outputs, written: new, skipped: done, total: jobs.count,
                images: images, seeds: seeds, outDir: outDir.path, seconds: elapsed)
            if let line = try? StableJSON.string(batch, escapingSlashes: true) { print(line) }
        } else {
            for job in jobs {
                print(job.output.path)
                if let null = job.null { print(null.path) }
            }
        }
        guard !options.quiet else { return }
        let line: String
        if new == 0 {
            line = "edit: nothing to do: all \(jobs.count) outputs in \(outDir.path) exist and match (\(shape))"
        } else {
            let files = seconds.keys.reduce(0) { $0 + (jobs[$1].needsEdit ? 1 : 0) + (jobs[$1].needsNull ? 1 : 0) }
            let perEdit = seconds.values.reduce(0, +) / Double(max(files, 1))
            line = String(
                format: "edit: %d new, %d already done, %d in the batch (%@) | %.1f s per output | "
                    + "%.0f s in all | %@", new, done, jobs.count, shape, perEdit, elapsed, outDir.path)
        }
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
