import CXRTokenizer
import Foundation

/// A model folder's tokenizer, built on a thread of its own while the caller reads its input and the model builds
/// its networks: parsing vocab.json and merges.txt into tables takes about 20 ms (the largest start-up cost of a
/// bundled-model edit), on a core that is idle then.
///
/// `StableDiffusionModel.load` takes it, and builds the tokenizer itself, as it would without one, when the preload
/// failed or is of another folder: errors are the load's own.
public final class TokenizerPreload: @unchecked Sendable {
    /// The tokenizer folder being read.
    let directory: URL
    private let finished = DispatchSemaphore(value: 0)
    private var built: CLIPTokenizer?

    /// Starts building the tokenizer of the model folder `modelFolder`.
    public init(modelFolder: URL) {
        directory = modelFolder.appendingPathComponent("tokenizer")
        Thread.detachNewThread { [self] in
            built = try? CLIPTokenizer(directory: directory)
            finished.signal()
        }
    }

    /// The tokenizer of `directory` once built, or nil when it is another folder's or could not be built.
    func tokenizer(of directory: URL) -> CLIPTokenizer? {
        guard directory.standardizedFileURL == self.directory.standardizedFileURL else { return nil }
        finished.wait()
        finished.signal()  // later calls do not wait
        return built
    }
}
