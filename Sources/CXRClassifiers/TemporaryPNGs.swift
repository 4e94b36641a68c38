import CXRImaging
import Foundation
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes images as PNG files in a fresh temporary folder for the duration of a call, then removes them.
///
/// Why: external classifiers receive file paths (the simplest thing every Python image library reads), while
/// the probe holds decoded images in memory. The images are radiographs: the folder is created 0700 and the
/// files 0600 (never readable by other users, whatever the umask), and both are registered with
/// `TempFileRegistry` so that SIGINT/SIGTERM removes them too.
public enum TemporaryPNGs {
    /// Calls `body` with one absolute PNG path per image (same order; 8/16-bit grey or RGB as the image is);
    /// the folder is deleted afterwards, also when `body` throws.
    public static func with<R>(_ images: [RasterImage], _ body: ([URL]) throws -> R) throws -> R {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("cxr-edit-classify-\(getpid())-\(UUID().uuidString)", isDirectory: true)
        // Registered before it exists: a signal between mkdir and the first file still removes it.
        let dirToken = TempFileRegistry.register(dir.path)
        defer { TempFileRegistry.unregister(dirToken) }
        guard mkdir(dir.path, 0o700) == 0 else {
            throw ClassifierError("\(dir.path): cannot create a temporary folder for classifier images")
        }
        var written: [(url: URL, token: Int?)] = []
        defer {
            for file in written {
                unlink(file.url.path)
                TempFileRegistry.unregister(file.token)
            }
            rmdir(dir.path)
        }
        for (i, image) in images.enumerated() {
            let url = dir.appendingPathComponent(String(format: "image-%05d.png", i))
            written.append((url, TempFileRegistry.register(url.path)))
            try writePrivate(ImageIO.encodePNG(image, name: url.lastPathComponent), to: url)
        }
        return try body(written.map(\.url))
    }

    /// Creates `url` with mode 0600 (exclusively: it must not exist) and writes `bytes`.
    static func writePrivate(_ bytes: [UInt8], to url: URL) throws {
        let fd = open(url.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ClassifierError("\(url.path): cannot create a temporary image for the classifier") }
        defer { close(fd) }
        try bytes.withUnsafeBytes { buf in
            var off = 0
            while off < buf.count, let base = buf.baseAddress {
                let n = write(fd, base + off, buf.count - off)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else {
                    throw ClassifierError("\(url.path): cannot write a temporary image for the classifier")
                }
                off += n
            }
        }
    }
}
