import CXRCheckpoint
import CXRImaging
import Foundation

/// The identity of a model's weights in provenance and in probe/synthesize fingerprints: SHA-256 over the SHA-256s
/// of its weight files (text encoder, UNet, VAE and the inpainting UNet if the model names one). Each file's hash
/// is cached in ~/.cache/cxr-edit/hashes, so that a 2 GB checkpoint is hashed once, not on every run.
public enum WeightsHash {
    /// The hash of a loaded model's weights.
    public static func hex(of model: StableDiffusionModel) -> String {
        hex(of: model.folder, recommendations: model.recommendations)
    }

    /// The same hash from the folder alone, before (or without) loading the weights.
    public static func hex(of folder: DiffusersFolder, recommendations: ModelRecommendations) -> String {
        var files = [URL]()
        for component in ["text_encoder", "unet", "vae"] + (recommendations.inpaintUNet.map { [$0] } ?? []) {
            if let store = try? folder.weights(component) { files += store.sources.map(\.url) }
        }
        var combined = SHA256()
        for file in files {
            combined.update(Array(fileHash(file).utf8))
        }
        return combined.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// The cache key describes the file the weights are read from: the path with every link resolved and `stat` of
    /// that file (device, inode, size, modification and change times in nanoseconds). Before, size and time came
    /// from the link itself, so weights behind a link changed in place kept their old hash in provenance and
    /// fingerprints.
    static func cacheKey(_ url: URL) -> String {
        let resolved = url.resolvingSymlinksInPath().path
        var st = stat()
        guard stat(resolved, &st) == 0 else { return SHA256.hex(of: Array("unstattable|\(resolved)".utf8)) }
        let times = "\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)|\(st.st_ctim.tv_sec).\(st.st_ctim.tv_nsec)"
        return SHA256.hex(of: Array("\(resolved)|\(st.st_dev)|\(st.st_ino)|\(st.st_size)|\(times)".utf8))
    }

    private static func fileHash(_ url: URL) -> String {
        let key = cacheKey(url)
        let cacheDir = FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/cxr-edit/hashes")
        let cacheFile = cacheDir.appendingPathComponent(key)
        if let cached = try? String(contentsOf: cacheFile, encoding: .utf8), cached.count == 64 { return cached }
        guard let h = try? SHA256.hex(ofFileAt: url) else { return "unreadable" }
        try? FileManager.default.createDirectory(at: cacheDir, withIntermediateDirectories: true)
        try? h.write(to: cacheFile, atomically: true, encoding: .utf8)
        return h
    }
}
