import CXRImaging
import Foundation

/// Writes images as PNG files in a fresh temporary folder for the duration of a call, then removes them.
///
/// Why: external classifiers receive file paths (the simplest thing every Python image library reads), while
/// the probe holds decoded images in memory.
public enum TemporaryPNGs {
    /// Calls `body` with one absolute PNG path per image (same order; 8/16-bit grey or RGB as the image is);
    /// the folder is deleted afterwards, also when `body` throws.
    public static func with<R>(_ images: [RasterImage], _ body: ([URL]) throws -> R) throws -> R {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("cxr-edit-classify-\(getpid())-\(UUID().uuidString)", isDirectory: true)
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        } catch {
            throw ClassifierError("\(dir.path): cannot create a temporary folder for classifier images")
        }
        defer { try? FileManager.default.removeItem(at: dir) }
        var urls: [URL] = []
        for (i, image) in images.enumerated() {
            let url = dir.appendingPathComponent(String(format: "image-%05d.png", i))
            try ImageIO.writePNG(image, to: url)
            urls.append(url)
        }
        return try body(urls)
    }
}
