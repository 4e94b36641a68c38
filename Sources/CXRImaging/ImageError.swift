import Foundation

/// Errors raised while reading, writing or transforming images.
///
/// `description` is always one line that starts with the file name (when there is one) so the CLI
/// can print it verbatim and exit 1, e.g. `in.png: bad CRC in chunk IDAT`.
public struct ImageError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file the problem concerns (last path component only, so messages stay short); may be empty.
    public let file: String
    /// What went wrong, without the file name.
    public let reason: String

    public init(file: String, _ reason: String) {
        self.file = file
        // Keep the message on one line whatever a C library handed us.
        self.reason = reason.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).joined(separator: " ")
    }

    public init(url: URL?, _ reason: String) {
        self.init(file: url?.lastPathComponent ?? "", reason)
    }

    public var description: String { file.isEmpty ? reason : "\(file): \(reason)" }
}

/// Size limits enforced from the file header *before* any pixel memory is allocated, so that a
/// decompression bomb (a tiny file announcing a gigantic image) is refused early.
public struct ImageLimits: Sendable, Equatable {
    public var maxSide: Int
    public var maxPixels: Int
    public var maxFileBytes: Int

    public init(maxSide: Int = 16384, maxPixels: Int = 100_000_000, maxFileBytes: Int = 512 << 20) {
        self.maxSide = maxSide
        self.maxPixels = maxPixels
        self.maxFileBytes = maxFileBytes
    }

    /// 16384 px per side, 100 M pixels, 512 MiB per file.
    public static let `default` = ImageLimits()

    /// Throws when `width`x`height` is empty or exceeds the limits.
    func check(width: Int, height: Int, file: String) throws {
        if width <= 0 || height <= 0 {
            throw ImageError(file: file, "image has zero size (\(width)x\(height))")
        }
        if width > maxSide || height > maxSide {
            throw ImageError(file: file, "image \(width)x\(height) exceeds the limit of \(maxSide) px per side")
        }
        if width * height > maxPixels {
            throw ImageError(file: file, "image \(width)x\(height) exceeds the limit of \(maxPixels) pixels")
        }
    }
}
