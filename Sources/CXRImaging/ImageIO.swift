import CXRFiles
import Foundation
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reading and writing of image files.
public enum ImageIO {
    /// Reads a whole file after checking its size against the limit (before reading it), through
    /// `BoundedFile`: the size and type come from `fstat` of the opened descriptor, so a symbolic link is judged
    /// by its target, and only regular files are read (not FIFOs or devices, which could block or never end).
    static func readFile(_ url: URL, limits: ImageLimits) throws -> Data {
        let name = url.lastPathComponent
        do {
            return try BoundedFile.read(url, limit: limits.maxFileBytes)
        } catch let failure as BoundedFile.Failure {
            switch failure {
            case .cannotOpen: throw ImageError(file: name, "cannot open file (missing or unreadable)")
            case .isDirectory: throw ImageError(file: name, "is a directory, not an image file")
            case .notRegularFile, .tooLarge, .readFailed: throw ImageError(file: name, failure.description)
            }
        }
    }

    /// Reads a PNG, JPEG or DICOM file, recognised by its magic bytes (never by the extension).
    ///
    /// PNG: 1/2/4/8/16-bit grey, grey+alpha, RGB, RGBA, palette (+tRNS), interlaced or not.
    /// JPEG: 8-bit greyscale or YCbCr/RGB, baseline or progressive. Alpha is dropped; the result is
    /// grey (1 channel) or RGB (3 channels) at 8 or 16 bit, exactly the samples Pillow returns.
    /// DICOM ("DICM" at offset 128): greyscale radiographs as displayed (see `DICOMCodec`), 8 or 16 bit grey.
    /// Sizes are checked against `limits` from the header before any pixel memory is allocated.
    public static func read(_ url: URL, limits: ImageLimits = .default) throws -> RasterImage {
        let data = try readFile(url, limits: limits)
        return try decode(data, name: url.lastPathComponent, limits: limits)
    }

    /// Reads an image as `read(_:limits:)` does, with the DICOM VOI transformation `window` (a file's N-th window
    /// or VOI LUT, or a min-max window), and says which one was applied. Choosing a window (anything but
    /// `.automatic`) for a PNG or JPEG file, or one the file does not have, is an error.
    public static func read(_ url: URL, window: DICOMWindow, limits: ImageLimits = .default) throws -> WindowedImage {
        let data = try readFile(url, limits: limits)
        let name = url.lastPathComponent
        if data.withUnsafeBytes({ DICOMCodec.isDICOM($0) }) {
            return try data.withUnsafeBytes {
                try DICOMCodec.decodeWindowed($0, file: name, limits: limits, window: window)
            }
        }
        if window != .automatic {
            throw ImageError(
                file: name,
                "not a DICOM file: only DICOM images have windows to choose from "
                    + "(window \(window) asked for)")
        }
        return WindowedImage(image: try decode(data, name: name, limits: limits), window: nil, windowCount: 0)
    }

    /// Decodes an in-memory PNG, JPEG or DICOM file; `name` is used in error messages.
    public static func decode(_ data: Data, name: String, limits: ImageLimits = .default) throws -> RasterImage {
        guard data.count <= limits.maxFileBytes else {
            throw ImageError(
                file: name, "file of \(data.count) bytes exceeds the limit of \(limits.maxFileBytes) bytes")
        }
        if data.isEmpty { throw ImageError(file: name, "empty file") }
        return try data.withUnsafeBytes { (b: UnsafeRawBufferPointer) -> RasterImage in
            if b.count >= 8 && zip(PNGStructure.signature, b).allSatisfy({ $0 == $1 }) {
                return try PNGCodec.decode(b, file: name, limits: limits)
            }
            if b.count >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF {
                return try JPEGCodec.decode(b, file: name, limits: limits)
            }
            if DICOMCodec.isDICOM(b) {
                return try DICOMCodec.decode(b, file: name, limits: limits)
            }
            if b.count < 8 && zip(PNGStructure.signature, b).allSatisfy({ $0 == $1 }) {
                throw ImageError(file: name, "truncated PNG data")
            }
            throw ImageError(file: name, "not a PNG or JPEG file (nor DICOM)")
        }
    }

    /// Encodes `image` as PNG bytes with the given text chunks placed right after IHDR (so before
    /// IDAT, where readers that stop early still find them).
    public static func encodePNG(_ image: RasterImage, text: [(key: String, value: String)] = [], name: String = "")
        throws -> [UInt8]
    {
        var textChunks: [UInt8] = []
        for (k, v) in text { textChunks += try PNGText.encode(key: k, value: v, file: name) }
        var png = try PNGCodec.encode(image, file: name)
        // Signature (8) + IHDR (4 length + 4 type + 13 data + 4 CRC) = 33 bytes.
        guard png.count > 33, png[12..<16].elementsEqual(Array("IHDR".utf8)) else {
            throw ImageError(file: name, "PNG encoding failed: unexpected encoder output")
        }
        png.insert(contentsOf: textChunks, at: 33)
        return png
    }

    /// Writes an 8/16-bit grey or RGB PNG atomically (temp file, fsync, rename) with text chunks:
    /// tEXt for Latin-1 values, uncompressed iTXt (UTF-8) otherwise. Refuses to replace an
    /// existing file unless `overwrite` is true.
    public static func writePNG(
        _ image: RasterImage, to url: URL, text: [(key: String, value: String)] = [],
        overwrite: Bool = false
    ) throws {
        let bytes = try encodePNG(image, text: text, name: url.lastPathComponent)
        try AtomicFile.write(bytes, to: url, overwrite: overwrite)
    }

    /// Whether `url` names a DICOM output (`.dcm`, any case); everything else is written as PNG.
    public static func isDICOMName(_ url: URL) -> Bool { url.pathExtension.lowercased() == "dcm" }

    /// Writes `image` in the format its name asks for, atomically and with the provenance `text`: PNG with text
    /// chunks (`writePNG`), or DICOM for a `.dcm` name. A DICOM output derived from a DICOM `source` keeps the
    /// source's patient, study, size and pixel encoding (docs/dicom.md); without one (or with a PNG/JPEG source)
    /// it is a new Secondary Capture image. `anonymize` de-identifies what is copied from a DICOM source (DICOM
    /// PS3.15 basic profile, subset for radiographs; ignored for PNG). `window` must be the one the image was read
    /// from `source` with (`read(_:window:limits:)`): it maps the edited picture back to stored values.
    public static func write(
        _ image: RasterImage, to url: URL, text: [(key: String, value: String)] = [],
        overwrite: Bool = false, source: URL? = nil, anonymize: Bool = false,
        window: DICOMWindow = .automatic, limits: ImageLimits = .default
    ) throws {
        guard isDICOMName(url) else {
            try writePNG(image, to: url, text: text, overwrite: overwrite)
            return
        }
        var sourceBytes: Data?
        if let source {
            let data = try readFile(source, limits: limits)
            if data.withUnsafeBytes({ DICOMCodec.isDICOM($0) }) { sourceBytes = data }
        }
        let bytes = try DICOMCodec.encode(
            image, source: sourceBytes, text: text, file: url.lastPathComponent,
            anonymize: anonymize, window: window, limits: limits)
        try AtomicFile.write(bytes, to: url, overwrite: overwrite)
    }

    /// The provenance text of a PNG (its text chunks) or of a DICOM file written by cxr-edit (its private block).
    public static func readText(_ url: URL, limits: ImageLimits = .default) throws -> [(key: String, value: String)] {
        let data = try readFile(url, limits: limits)
        if data.withUnsafeBytes({ DICOMCodec.isDICOM($0) }) {
            return try data.withUnsafeBytes {
                try DICOMCodec.provenanceText($0, file: url.lastPathComponent, limits: limits)
            }
        }
        return try readPNGText(url, limits: limits)
    }

    /// Text chunks of a PNG in file order: tEXt (Latin-1) and uncompressed iTXt (UTF-8).
    /// zTXt and compressed iTXt are skipped (no zlib in this target). The chunk structure and
    /// CRCs are verified.
    public static func readPNGText(_ url: URL, limits: ImageLimits = .default) throws -> [(key: String, value: String)]
    {
        let data = try readFile(url, limits: limits)
        let name = url.lastPathComponent
        return try data.withUnsafeBytes { b in
            let chunks = try PNGStructure.chunks(b, file: name)
            var out: [(key: String, value: String)] = []
            for c in chunks where c.type == "tEXt" || c.type == "iTXt" {
                let body = UnsafeRawBufferPointer(rebasing: b[c.dataOffset..<(c.dataOffset + c.length)])
                if let kv = PNGText.decode(type: c.type, data: body) { out.append(kv) }
            }
            return out
        }
    }
}
