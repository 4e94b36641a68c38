import ArgumentParser
import Foundation

/// The `cxr-edit` command: edit and generate chest X-rays with Stable Diffusion checkpoints on CPU.
struct CXREdit: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "cxr-edit",
        abstract:
            "Edit and generate chest X-rays with text-conditioned latent diffusion (RoentGen / SD 1.x-2.x) on CPU.",
        discussion: """
            Every image cxr-edit writes is synthetic and is marked so in its PNG text chunks \
            (see `cxr-edit provenance`). Not for clinical use.

            Examples:
              cxr-edit edit chest.png --prompt "Large right pleural effusion." --strength 0.5 -o edited.png
              cxr-edit edit chest.png --mask right-lung-mask.png --prompt "Right pneumothorax." -o ptx.png
              cxr-edit generate --prompt "Cardiomegaly." --seed 7 -o synthetic.png
              cxr-edit info /models/roentgen
            """,
        version: version,
        subcommands: [
            Edit.self, Generate.self, ExplainCommand.self, RegionsCommand.self, Info.self, Tokenize.self,
            ProvenanceCommand.self,
            Probe.self, Synthesize.self, Bench.self, InitModel.self,
        ],
        defaultSubcommand: Edit.self
    )
}

@main
enum Main {
    static func main() {
        HeapSettings.apply()
        GEMMFailureExit.install()
        // --version also names the CPU and the GEMM kernels in use (ArgumentParser would print the number only).
        if Array(CommandLine.arguments.dropFirst()) == ["--version"] {
            print(([CXREdit.version] + MachineReport.lines + [MachineReport.gemmCheckLine]).joined(separator: "\n"))
            return
        }
        Signals.install()
        do {
            var command = try CXREdit.parseAsRoot()
            try command.run()
        } catch {
            let code = CXREdit.exitCode(for: error)
            if code == .success {
                // --help / --version
                CXREdit.exit(withError: error)
            } else if code == .validationFailure {
                // Usage errors: ArgumentParser's message with the usage line, exit 2.
                FileHandle.standardError.write(Data((CXREdit.fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            } else if let exit = error as? ExitCode {
                Foundation.exit(exit.rawValue)
            } else {
                // User errors (bad file, bad model, bad value): one line, exit 1.
                FileHandle.standardError.write(Data("cxr-edit: error: \(errorLine(error))\n".utf8))
                Foundation.exit(1)
            }
        }
    }
}
