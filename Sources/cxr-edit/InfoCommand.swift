import ArgumentParser
import CXRCheckpoint
import CXRModels
import CXRPipelines
import CXRSchedulers
import CXRTokenizer
import CXRRuns
import Foundation

/// `cxr-edit info MODEL_DIR`: what architecture a diffusers folder holds, read from its configs and weight headers.
struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Describe a diffusers model folder: components, channels, heads, parameter counts, dtypes, scheduler.",
        discussion: "Reads configs and weight-file headers only (fast); errors name the file and the problem.")

    @Argument(help: ArgumentHelp("The model folder.", valueName: "MODEL_DIR"))
    var modelDir: String

    @Flag(
        name: .long,
        help: "Also load every weight and build the networks (slow for big models; proves the folder is usable).")
    var check = false

    @Flag(name: .long, help: "Print JSON instead of text.")
    var json = false

    func run() throws {
        let url = URL(fileURLWithPath: modelDir)
        let folder = try DiffusersFolder(url: url)
        var lines = [
            "model: \(url.path)", "pipeline: \(folder.className ?? "?") (diffusers \(folder.diffusersVersion ?? "?"))",
        ]

        func weightSummary(_ component: String) throws -> (params: Int, dtypes: String, file: String) {
            let store = try folder.weights(component)
            var counts = [String: Int]()
            var params = 0
            for name in store.names {
                guard let info = store.info(name) else { continue }
                params += info.count
                counts["\(info.dtype)", default: 0] += 1
            }
            let files = store.sources.map { $0.url.lastPathComponent }.joined(separator: ", ")
            return (
                params, counts.sorted { $0.key < $1.key }.map { "\($0.key) x\($0.value)" }.joined(separator: ", "),
                files
            )
        }

        let te = try CLIPTextConfig(folder.config("text_encoder"))
        let teW = try weightSummary("text_encoder")
        lines.append(
            "text_encoder: CLIPTextModel hidden \(te.hiddenSize), \(te.layers) layers, \(te.heads) heads, \(te.activation.rawValue), vocab \(te.vocabSize); \(grouped(teW.params)) parameters [\(teW.dtypes)] in \(teW.file)"
        )

        let u = try UNetConfig(folder.config("unet"))
        let uW = try weightSummary("unet")
        let headDims = zip(u.blockOutChannels, u.heads).map { "\($1)x\($0 / $1)" }.joined(separator: ", ")
        lines.append(
            "unet: UNet2DConditionModel in \(u.inChannels)\(u.inChannels == 9 ? " (inpainting)" : "") out \(u.outChannels), channels \(u.blockOutChannels), heads x size [\(headDims)], cross-attention \(u.crossAttentionDim), \(u.useLinearProjection ? "linear" : "conv") projection, sample \(u.sampleSize); \(grouped(uW.params)) parameters [\(uW.dtypes)] in \(uW.file)"
        )

        let v = try VAEConfig(folder.config("vae"))
        let vW = try weightSummary("vae")
        lines.append(
            "vae: AutoencoderKL latent \(v.latentChannels), channels \(v.blockOutChannels), downscale \(v.downscale), scaling \(v.scalingFactor); \(grouped(vW.params)) parameters [\(vW.dtypes)] in \(vW.file)"
        )

        let tok = try CLIPTokenizer(directory: url.appendingPathComponent("tokenizer"))
        lines.append(
            "tokenizer: CLIP BPE, \(tok.vocabSize) tokens, max length \(tok.maxLength), pad id \(tok.padTokenID)")

        let s = try SchedulerConfig(contentsOf: url.appendingPathComponent("scheduler/scheduler_config.json"))
        let prediction = s.predictionType?.rawValue ?? "epsilon", betas = s.betaSchedule?.rawValue ?? "linear"
        let spacing = s.timestepSpacing?.rawValue ?? "default"
        lines.append("scheduler: \(s.className ?? "?") (\(prediction), \(betas), spacing \(spacing))")
        lines.append("native image size: \(u.sampleSize * v.downscale) px")

        // What generate/edit run with when --steps/--guidance are not given.
        let recommendations = try ModelRecommendations(modelFolder: url)
        let defaults = samplingDefaults(recommendations, modelURL: url)
        let fromFile = recommendations.steps != nil || recommendations.guidance != nil
        let origin =
            fromFile
            ? ModelRecommendations.fileName
            : "cxr-edit's fallback; the folder has no \(ModelRecommendations.fileName)"
        lines.append(
            "defaults: \(defaults.steps) steps, guidance \(defaults.guidance) (\(origin))"
                + (recommendations.inpaintUNet.map { "; inpainting UNet \($0)/" } ?? ""))

        // Speed depends on the machine as much as on the model: name the CPU and the GEMM kernels in use.
        lines += MachineReport.lines

        if check {
            _ = try StableDiffusionModel.load(from: url)
            lines.append("check: all weights loaded and every network built")
        }
        if json {
            let report = InfoJSON(
                model: url.path, className: folder.className ?? "?",
                textEncoder: .init(
                    hiddenSize: te.hiddenSize, layers: te.layers, heads: te.heads, parameters: teW.params),
                unet: .init(
                    inChannels: u.inChannels, blockOutChannels: u.blockOutChannels, heads: u.heads,
                    crossAttentionDim: u.crossAttentionDim, parameters: uW.params),
                vae: .init(
                    latentChannels: v.latentChannels, blockOutChannels: v.blockOutChannels,
                    scalingFactor: Double(v.scalingFactor), parameters: vW.params),
                tokenizer: .init(vocabSize: tok.vocabSize, padTokenID: tok.padTokenID), scheduler: s.className ?? "?",
                imageSize: u.sampleSize * v.downscale,
                defaults: .init(
                    steps: defaults.steps, guidance: defaults.guidance,
                    from: fromFile ? ModelRecommendations.fileName : "fallback",
                    inpaintUNet: recommendations.inpaintUNet),
                machine: .current)
            print(try StableJSON.string(report, escapingSlashes: true, pretty: true))
        } else {
            print(lines.joined(separator: "\n"))
        }
    }
}

/// `cxr-edit tokenize --model DIR "text"`: the 77 token ids the text encoder sees.
struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the token ids of a prompt (and warn when it is truncated).")

    @OptionGroup var modelOptions: ModelOptions

    @Argument(help: "The prompt text.")
    var text: String

    @Flag(
        name: .long,
        help: ArgumentHelp(
            "Print each token the text encoder sees, one per line: its id and its "
                + "string (as transformers' convert_ids_to_tokens), up to the end token."))
    var tokens = false

    func run() throws {
        let url = try modelOptions.modelURL()
        let tok = try CLIPTokenizer(directory: url.appendingPathComponent("tokenizer"))
        let t = tok.encode(text)
        if tokens {
            // Padding after the end token carries nothing the prompt said; the ids line shows it.
            let end = t.ids.firstIndex(of: tok.eosTokenID).map { $0 + 1 } ?? t.ids.count
            for id in t.ids.prefix(end) { print("\(id)\t\(escapedForTerminal(tok.token(for: id) ?? "?"))") }
        } else {
            print(t.ids.map(String.init).joined(separator: " "))
        }
        if t.truncated {
            FileHandle.standardError.write(
                Data(
                    "cxr-edit: warning: the prompt has \(t.tokenCount) tokens; only the first \(tok.maxLength) (with start and end tokens) are used\(t.droppedText.map { "; dropped: \"\($0)\"" } ?? "")\n"
                        .utf8))
        }
    }
}

/// 1234567 -> "1,234,567".
func grouped(_ n: Int) -> String {
    let s = String(n)
    var out = ""
    for (i, ch) in s.enumerated() {
        if i > 0 && (s.count - i) % 3 == 0 { out.append(",") }
        out.append(ch)
    }
    return out
}
