import Foundation

/// Errors raised while reading, writing or transforming images.
///
/// `description` is always one line that starts with the file name (when there is one) so the CLI
/// can print it verbatim and exit 1, e.g. `in.png: bad CRC in chunk IDAT`.
///
/// Problems whose remedy is a setting of the caller (replace the file, allow more pixels) carry their values in
/// `problem`, so the command line can name its flags (`--overwrite`, `--max-pixels`) while `reason` names none.
public struct ImageError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A problem a caller can remedy with one of its settings, with the offending values.
    public enum Problem: Equatable, Sendable {
        /// The output file exists and replacing it was not asked for.
        case fileExists
        /// The image has more pixels than `ImageLimits.maxPixels` (`limit`) allows.
        case tooManyPixels(width: Int, height: Int, limit: Int)
    }

    /// The file the problem concerns (last path component only, so messages stay short); may be empty.
    public let file: String
    /// What went wrong, without the file name.
    public let reason: String
    /// The typed problem, when the error is one a caller may phrase itself; nil for all others.
    public let problem: Problem?

    public init(file: String, _ reason: String) {
        self.file = file
        // Keep the message on one line whatever a C library handed us.
        self.reason = reason.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).joined(separator: " ")
        problem = nil
    }

    public init(file: String, _ problem: Problem) {
        self.file = file
        reason = problem.description
        self.problem = problem
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
    /// The pixel budget. Its default comes from the memory an edit needs: about 110 bytes per pixel at the
    /// input's size (decoded samples, grey and fitted copies, float masks, feathered paste-back, the quality
    /// report), so 24 M pixels cost about 2.6 GB — inside a 4 GB address space with the model loaded. The
    /// largest digital radiographs (43 cm at 0.1 mm, ~4300x4300 = 18.5 M) fit; `--max-pixels` raises it.
    public var maxPixels: Int
    public var maxFileBytes: Int
    /// Corrupt-data warnings of the JPEG decoder (libjpeg papered over damage) become warnings instead of errors.
    public var lenient: Bool

    public init(
        maxSide: Int = 16384, maxPixels: Int = 24_000_000, maxFileBytes: Int = 512 << 20,
        lenient: Bool = false
    ) {
        self.maxSide = maxSide
        self.maxPixels = maxPixels
        self.maxFileBytes = maxFileBytes
        self.lenient = lenient
    }

    /// The largest pixel budget `--max-pixels` may ask for (16384 x 16384).
    public static let maxPixelBudget = 16384 * 16384

    /// The limits every reader uses unless given others: 16384 px per side, 24 M pixels, 512 MiB per file,
    /// strict. The command line adjusts it once at start-up (`--max-pixels`, `--lenient`), before any reading.
    nonisolated(unsafe) public static var `default` = ImageLimits()

    /// Where lenient decoding reports what it let through: the error a strict read would have thrown (the CLI
    /// prints it as a `cxr-edit: warning:` line that names the flag which let it through).
    nonisolated(unsafe) public static var warningHandler: @Sendable (ImageError) -> Void = { _ in }

    /// Throws when `width`x`height` is empty or exceeds the limits.
    func check(width: Int, height: Int, file: String) throws {
        if width <= 0 || height <= 0 {
            throw ImageError(file: file, "image has zero size (\(width)x\(height))")
        }
        if width > maxSide || height > maxSide {
            throw ImageError(file: file, "image \(width)x\(height) exceeds the limit of \(maxSide) px per side")
        }
        if width * height > maxPixels {
            throw ImageError(file: file, .tooManyPixels(width: width, height: height, limit: maxPixels))
        }
    }
}

extension ImageError.Problem: CustomStringConvertible {
    /// The problem in the imaging layer's own words (no command-line flags).
    public var description: String {
        switch self {
        case .fileExists:
            return "file exists"
        case .tooManyPixels(let width, let height, let limit):
            return "image \(width)x\(height) exceeds the limit of \(limit) pixels (about 110 bytes of memory per pixel "
                + "to edit)"
        }
    }
}
