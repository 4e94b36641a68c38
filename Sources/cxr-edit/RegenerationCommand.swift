import Foundation

/// The `cxr-edit edit` command line that makes an output again, byte for byte: every option that changes a pixel,
/// with the values actually used (model folder, steps, guidance and strength resolved from their defaults; files as
/// absolute paths), and nothing that only concerns the run (output path, --json, --threads, --null-edit).
/// Stored in the output's provenance (`cxr-edit:x:command`); `cxr-edit provenance --command FILE` prints it.
struct RegenerationCommand {
    let arguments: [String]

    /// `input` and `seed` are the one image and seed of this output (a batch edit has several of each).
    init(
        edit e: Edit, input: URL, seed: UInt64, modelURL: URL, steps: Int, guidance: Double, strength: Double
    ) {
        func path(_ p: String) -> String { URL(fileURLWithPath: p).standardizedFileURL.path }
        var a = ["cxr-edit", "edit", path(input.path), "--model", modelURL.standardizedFileURL.path]
        if let w = e.window.window { a += ["--window", w.description] }
        let f = e.findings
        for v in f.add { a += ["--add", v] }
        for v in f.remove { a += ["--remove", v] }
        for v in f.severity { a += ["--severity", v] }
        for v in f.side { a += ["--side", v] }
        if let p = e.sampling.prompt { a += ["--prompt", p] }
        if !e.sampling.negativePrompt.isEmpty { a += ["--negative-prompt", e.sampling.negativePrompt] }
        for v in FindingOptions.names(f.region) { a += ["--region", v] }
        if f.global { a.append("--global") }
        if f.dilate > 0 { a += ["--dilate", String(f.dilate)] }
        for v in f.keep { a += ["--keep", path(v)] }
        for v in FindingOptions.names(f.keepRegion) { a += ["--keep-region", v] }
        if f.force { a.append("--force") }
        if let m = e.mask { a += ["--mask", path(m)] }
        a += [
            "--strength", "\(strength)", "--seed", String(seed), "--steps", String(steps),
            "--guidance", "\(guidance)",
        ]
        if let s = e.sampling.scheduler { a += ["--scheduler", s.lowercased()] }
        if e.sampling.eta != 0 { a += ["--eta", "\(e.sampling.eta)"] }
        if let n = e.sampling.noise { a += ["--noise", path(n)] }
        if e.invert {
            a.append("--invert")
            if !e.sourcePrompt.isEmpty { a += ["--source-prompt", e.sourcePrompt] }
        }
        a += ["--detail", e.detail.rawValue, "--margin", String(e.margin)]
        if let u = e.unet { a += ["--unet", u.rawValue] }
        // The precision that ran (auto resolved): bf16 changes pixels, and auto may resolve otherwise elsewhere.
        if (try? e.modelOptions.gemmPrecision()) == .bf16 { a += ["--precision", "bf16"] }
        // Forced tiling on or off changes the pixels of images larger than one tile.
        if let tiling = try? e.modelOptions.vaeTilingMode(), tiling != .auto { a += ["--vae-tiling", tiling.rawValue] }
        if e.noPasteBack { a.append("--no-paste-back") }
        if e.rgb { a.append("--rgb") }
        arguments = a
    }

    /// The command as one POSIX shell line.
    var text: String { arguments.map(Self.quoted).joined(separator: " ") }

    /// A word as the shell reads it back: bare when it is only safe characters, else in single quotes.
    static func quoted(_ word: String) -> String {
        let safe = CharacterSet(
            charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=+:,@%")
        if !word.isEmpty && word.unicodeScalars.allSatisfy({ safe.contains($0) }) { return word }
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
