import CJPEG
import Foundation

/// What the marker scan learned about a JPEG before libjpeg sees it.
struct JPEGStructure {
    var width = 0
    var height = 0
    var components = 0
    var scans = 0
    /// EXIF orientation (1...8; 1 = as stored), applied after decoding like diffusers'
    /// `load_image` (which calls `ImageOps.exif_transpose`).
    var orientation = 1
    /// Frame coding (SOF 0xC9/0xCA) and the table segments seen, to catch a frame type that contradicts the
    /// tables: libjpeg decodes Huffman data under an arithmetic SOF (a one-byte flip SOF0 -> SOF9) into garbage
    /// without a single warning.
    var arithmetic = false
    var huffmanTables = 0
    var arithmeticTables = 0

    /// Scan limit: real progressive files use about 10 scans; thousands of tiny scans are a known
    /// way to make decoders spend minutes on a small file.
    static let maxScans = 500

    /// Walks the marker segments: SOI, segment lengths within bounds, a supported SOF (8-bit
    /// baseline / extended / progressive, Huffman or arithmetic) with non-zero size within the
    /// limits, 1 or 3 components, at least one SOS, and EOI. This turns the fatal conditions libjpeg
    /// would otherwise meet mid-decode (truncation, unsupported process, absurd size, missing frame)
    /// into precise one-line errors.
    static func scan(_ b: UnsafeRawBufferPointer, file: String, limits: ImageLimits) throws -> JPEGStructure {
        guard b.count >= 2, b[0] == 0xFF, b[1] == 0xD8 else { throw ImageError(file: file, "not a JPEG file") }
        var s = JPEGStructure()
        var sawFrame = false
        var pos = 2
        func truncated() -> ImageError { ImageError(file: file, "truncated JPEG data") }
        while true {
            // Find the next marker (0xFF, possibly padded with more 0xFF, then the code).
            guard pos < b.count else { throw truncated() }
            guard b[pos] == 0xFF else {
                throw ImageError(file: file, "corrupt JPEG data: expected a marker at offset \(pos)")
            }
            while pos < b.count && b[pos] == 0xFF { pos += 1 }
            guard pos < b.count else { throw truncated() }
            let marker = b[pos]
            pos += 1
            switch marker {
            case 0xD9:  // EOI
                guard sawFrame, s.scans > 0 else {
                    throw ImageError(file: file, "corrupt JPEG data: no image scan before EOI")
                }
                return s
            case 0xD0...0xD7, 0x01:
                continue
            case 0x00, 0xD8:
                throw ImageError(
                    file: file,
                    "corrupt JPEG data: unexpected marker 0x\(String(marker, radix: 16)) at offset \(pos - 1)")
            default:
                break
            }
            guard b.count - pos >= 2 else { throw truncated() }
            let length = Int(b[pos]) << 8 | Int(b[pos + 1])
            guard length >= 2 else {
                throw ImageError(file: file, "corrupt JPEG data: bad segment length at offset \(pos)")
            }
            guard b.count - pos >= length else { throw truncated() }
            let seg = pos + 2
            let segLen = length - 2
            switch marker {
            case 0xC0, 0xC1, 0xC2, 0xC9, 0xCA:
                guard !sawFrame else { throw ImageError(file: file, "corrupt JPEG data: more than one frame header") }
                guard segLen >= 6 else { throw ImageError(file: file, "corrupt JPEG data: short frame header") }
                let precision = Int(b[seg])
                s.height = Int(b[seg + 1]) << 8 | Int(b[seg + 2])
                s.width = Int(b[seg + 3]) << 8 | Int(b[seg + 4])
                s.components = Int(b[seg + 5])
                guard precision == 8 else {
                    throw ImageError(file: file, "unsupported JPEG sample precision \(precision) bit (only 8-bit)")
                }
                guard s.height > 0 else {
                    throw ImageError(file: file, "unsupported JPEG: height 0 (defined by a DNL marker)")
                }
                try limits.check(width: s.width, height: s.height, file: file)
                guard s.components == 1 || s.components == 3 else {
                    if s.components == 4 {
                        throw ImageError(file: file, "CMYK JPEG is not supported; convert it to greyscale or RGB first")
                    }
                    throw ImageError(file: file, "unsupported JPEG with \(s.components) components")
                }
                guard segLen >= 6 + 3 * s.components else {
                    throw ImageError(file: file, "corrupt JPEG data: short frame header")
                }
                sawFrame = true
                s.arithmetic = marker == 0xC9 || marker == 0xCA
            case 0xC4:
                s.huffmanTables += 1
            case 0xCC:
                s.arithmeticTables += 1
            case 0xE1:
                if let o = exifOrientation(UnsafeRawBufferPointer(rebasing: b[seg..<(seg + segLen)])) {
                    s.orientation = o
                }
            case 0xC3, 0xC5, 0xC6, 0xC7, 0xCB, 0xCD, 0xCE, 0xCF:
                throw ImageError(
                    file: file,
                    "unsupported JPEG process (lossless or hierarchical, SOF 0x\(String(marker, radix: 16)))")
            case 0xDA:  // SOS, followed by entropy-coded data up to the next non-RST marker.
                guard sawFrame else { throw ImageError(file: file, "corrupt JPEG data: scan before frame header") }
                s.scans += 1
                if s.scans == 1, let problem = s.codingMismatch { try limits.corrupt(file: file, problem) }
                guard s.scans <= maxScans else { throw ImageError(file: file, "JPEG has more than \(maxScans) scans") }
                var p = pos + length
                while true {
                    guard p + 1 < b.count else { throw truncated() }
                    if b[p] == 0xFF {
                        let next = b[p + 1]
                        if next == 0x00 || (0xD0...0xD7).contains(next) || next == 0xFF {
                            p += (next == 0xFF ? 1 : 2); continue
                        }
                        break
                    }
                    p += 1
                }
                pos = p
                continue
            default:
                break
            }
            pos += length
        }
    }
}

extension JPEGStructure {
    /// Why the frame's entropy coding contradicts the tables defined so far, or nil when they agree.
    var codingMismatch: String? {
        if arithmetic && huffmanTables > 0 && arithmeticTables == 0 {
            return "arithmetic-coded frame (SOF9/SOF10) with Huffman tables and no arithmetic ones "
                + "(a damaged SOF marker?)"
        }
        if !arithmetic && arithmeticTables > 0 && huffmanTables == 0 {
            return "Huffman-coded frame with arithmetic-coding tables and no Huffman ones (a damaged SOF marker?)"
        }
        return nil
    }
}

extension ImageLimits {
    /// Corrupt data a decoder can paper over: an error, or with `lenient` a warning and decoding goes on.
    func corrupt(file: String, _ problem: String) throws {
        let message = ImageError(file: file, "corrupt JPEG data: \(problem)")
        guard lenient else { throw message }
        ImageLimits.warningHandler(message)
    }
}

/// The Orientation tag (0x0112) of IFD0 in an APP1 "Exif" segment; nil if absent or malformed.
func exifOrientation(_ d: UnsafeRawBufferPointer) -> Int? {
    guard d.count >= 14, d[0] == 0x45, d[1] == 0x78, d[2] == 0x69, d[3] == 0x66, d[4] == 0, d[5] == 0 else {
        return nil
    }
    let t = 6  // TIFF header start
    let little: Bool
    if d[t] == 0x49 && d[t + 1] == 0x49 {
        little = true
    } else if d[t] == 0x4D && d[t + 1] == 0x4D {
        little = false
    } else {
        return nil
    }
    func u16(_ o: Int) -> Int? {
        guard o >= 0, o + 2 <= d.count else { return nil }
        return little ? Int(d[o]) | Int(d[o + 1]) << 8 : Int(d[o]) << 8 | Int(d[o + 1])
    }
    func u32(_ o: Int) -> Int? {
        guard let a = u16(o), let b = u16(o + 2) else { return nil }
        return little ? a | b << 16 : a << 16 | b
    }
    guard let ifd = u32(t + 4), let count = u16(t + ifd) else { return nil }
    for i in 0..<min(count, 512) {
        let e = t + ifd + 2 + 12 * i
        guard let tag = u16(e) else { return nil }
        if tag == 0x0112 {
            guard let type = u16(e + 2), type == 3, let v = u16(e + 8), (1...8).contains(v) else { return nil }
            return v
        }
    }
    return nil
}

extension RasterImage {
    /// Applies an EXIF orientation (values as in the TIFF spec; the same mapping as Pillow's
    /// `ImageOps.exif_transpose`): 2 mirror, 3 rotate 180, 4 flip, 5 transpose, 6 rotate 90
    /// clockwise, 7 transverse, 8 rotate 90 counter-clockwise.
    public func oriented(exif orientation: Int) -> RasterImage {
        guard (2...8).contains(orientation) else { return self }
        let W = width, H = height, c = channels
        let swap = orientation >= 5
        let ow = swap ? H : W, oh = swap ? W : H
        var out = [UInt16](repeating: 0, count: samples.count)
        for y in 0..<oh {
            for x in 0..<ow {
                let sx: Int, sy: Int
                switch orientation {
                case 2: (sx, sy) = (W - 1 - x, y)
                case 3: (sx, sy) = (W - 1 - x, H - 1 - y)
                case 4: (sx, sy) = (x, H - 1 - y)
                case 5: (sx, sy) = (y, x)
                case 6: (sx, sy) = (y, H - 1 - x)
                case 7: (sx, sy) = (W - 1 - y, H - 1 - x)
                default: (sx, sy) = (W - 1 - y, x)
                }
                for ch in 0..<c { out[(y * ow + x) * c + ch] = samples[(sy * W + sx) * c + ch] }
            }
        }
        return RasterImage(unchecked: ow, oh, c, bitDepth, out)
    }
}

/// State shared with the libjpeg worker thread; raw pointers only (see `GuardedThread`).
private struct JPEGJob {
    var cinfo: UnsafeMutablePointer<jpeg_decompress_struct>
    var jerr: UnsafeMutablePointer<jpeg_error_mgr>
    var message = CMessage()
    var warning = CMessage()
    var scratch = CMessage()
    var warnings = 0
    var unsupported = false
    var completed = false
    var input: UnsafeRawPointer? = nil
    var inputCount = 0
    var expectedWidth = 0
    var expectedHeight = 0
    var width = 0
    var height = 0
    var channels = 0
    var output: UnsafeMutablePointer<UInt8>? = nil
}

private func jpegJob(_ cinfo: j_common_ptr?) -> UnsafeMutablePointer<JPEGJob>? {
    guard let cinfo, let raw = cinfo.pointee.client_data else { return nil }
    return raw.assumingMemoryBound(to: JPEGJob.self)
}

/// Fatal libjpeg error: record the message and end the worker thread (never returns to libjpeg).
private let jpegErrorExit: @convention(c) (j_common_ptr?) -> Void = { cinfo in
    if let cinfo, let job = jpegJob(cinfo), let fmt = cinfo.pointee.err.pointee.format_message {
        fmt(cinfo, job.pointee.message.buffer)
    }
    GuardedThread.bail()
}

/// Warnings (level -1) are libjpeg's way of reporting corrupt data it papered over (e.g. grey fill
/// after a premature end). We count them and fail the decode afterwards; only the harmless
/// "extraneous bytes before marker" warning is tolerated. Trace messages (level >= 0) are ignored.
private let jpegEmit: @convention(c) (j_common_ptr?, Int32) -> Void = { cinfo, level in
    guard level < 0, let cinfo, let job = jpegJob(cinfo), let fmt = cinfo.pointee.err.pointee.format_message else {
        return
    }
    cinfo.pointee.err.pointee.num_warnings += 1
    fmt(cinfo, job.pointee.scratch.buffer)
    if strstr(job.pointee.scratch.buffer, "extraneous bytes") != nil { return }
    if job.pointee.warnings == 0 { job.pointee.warning.set(job.pointee.scratch.buffer) }
    job.pointee.warnings += 1
}

private let jpegReadBody: @convention(c) (UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? = { raw in
    guard let raw else { return nil }
    let job = raw.assumingMemoryBound(to: JPEGJob.self)
    let cinfo = job.pointee.cinfo
    let jerr = job.pointee.jerr
    cinfo.pointee.err = jpeg_std_error(jerr)
    jerr.pointee.error_exit = jpegErrorExit
    jerr.pointee.emit_message = jpegEmit
    cinfo.pointee.client_data = raw
    jpeg_CreateDecompress(cinfo, JPEG_LIB_VERSION, MemoryLayout<jpeg_decompress_struct>.size)
    guard let input = job.pointee.input else { return nil }
    jpeg_mem_src(cinfo, input.assumingMemoryBound(to: UInt8.self), UInt(job.pointee.inputCount))
    guard jpeg_read_header(cinfo, 1) == JPEG_HEADER_OK else { return nil }
    let space = cinfo.pointee.jpeg_color_space
    if space == JCS_GRAYSCALE {
        cinfo.pointee.out_color_space = JCS_GRAYSCALE
    } else if space == JCS_YCbCr || space == JCS_RGB {
        cinfo.pointee.out_color_space = JCS_RGB
    } else {
        job.pointee.unsupported = true
        return nil
    }
    guard Int(cinfo.pointee.image_width) == job.pointee.expectedWidth,
        Int(cinfo.pointee.image_height) == job.pointee.expectedHeight
    else { return nil }
    guard jpeg_start_decompress(cinfo) != 0 else { return nil }
    let w = Int(cinfo.pointee.output_width), h = Int(cinfo.pointee.output_height)
    let c = Int(cinfo.pointee.output_components)
    guard w == job.pointee.expectedWidth, h == job.pointee.expectedHeight, c == 1 || c == 3,
        let buffer = malloc(w * h * c)?.assumingMemoryBound(to: UInt8.self)
    else { return nil }
    job.pointee.output = buffer
    var row: UnsafeMutablePointer<UInt8>? = nil
    while Int(cinfo.pointee.output_scanline) < h {
        row = buffer + Int(cinfo.pointee.output_scanline) * w * c
        let got = withUnsafeMutablePointer(to: &row) { jpeg_read_scanlines(cinfo, $0, 1) }
        if got != 1 { return nil }  // suspension cannot happen with a memory source; be safe
    }
    _ = jpeg_finish_decompress(cinfo)
    jpeg_destroy_decompress(cinfo)
    job.pointee.width = w
    job.pointee.height = h
    job.pointee.channels = c
    job.pointee.completed = true
    return nil
}

enum JPEGCodec {
    /// Decodes a baseline or progressive, greyscale or YCbCr/RGB JPEG with libjpeg(-turbo) using
    /// its defaults (islow IDCT, fancy upsampling) — the same settings Pillow uses — and applies the
    /// EXIF orientation as diffusers' `load_image` does.
    static func decode(_ bytes: UnsafeRawBufferPointer, file: String, limits: ImageLimits) throws -> RasterImage {
        let s = try JPEGStructure.scan(bytes, file: file, limits: limits)
        guard let base = bytes.baseAddress else { throw ImageError(file: file, "empty file") }
        let cinfo = UnsafeMutablePointer<jpeg_decompress_struct>.allocate(capacity: 1)
        cinfo.initialize(to: jpeg_decompress_struct())
        let jerr = UnsafeMutablePointer<jpeg_error_mgr>.allocate(capacity: 1)
        jerr.initialize(to: jpeg_error_mgr())
        let job = UnsafeMutablePointer<JPEGJob>.allocate(capacity: 1)
        job.initialize(to: JPEGJob(cinfo: cinfo, jerr: jerr))
        job.pointee.input = base
        job.pointee.inputCount = bytes.count
        job.pointee.expectedWidth = s.width
        job.pointee.expectedHeight = s.height
        defer {
            free(job.pointee.output)
            job.pointee.message.deallocate()
            job.pointee.warning.deallocate()
            job.pointee.scratch.deallocate()
            job.deinitialize(count: 1)
            job.deallocate()
            cinfo.deallocate()
            jerr.deallocate()
        }
        let started = GuardedThread.run(UnsafeMutableRawPointer(job), jpegReadBody)
        guard started, job.pointee.completed, let out = job.pointee.output else {
            // jpeg_destroy is safe on a struct never created (mem == NULL) and after an error exit.
            jpeg_destroy_decompress(cinfo)
            if job.pointee.unsupported {
                throw ImageError(
                    file: file, "unsupported JPEG colour space (CMYK/YCCK); convert it to greyscale or RGB first")
            }
            if !job.pointee.message.isEmpty {
                throw ImageError(file: file, "corrupt JPEG data: \(job.pointee.message.string)")
            }
            if !job.pointee.warning.isEmpty {
                throw ImageError(file: file, "corrupt JPEG data (\(job.pointee.warning.string))")
            }
            throw ImageError(file: file, "corrupt JPEG data")
        }
        if job.pointee.warnings > 0 {
            var w = job.pointee.warning.string
            if w.hasPrefix("Corrupt JPEG data: ") { w.removeFirst("Corrupt JPEG data: ".count) }
            if w.contains("Premature end") && !limits.lenient {
                throw ImageError(file: file, "truncated JPEG data (\(w))")
            }
            try limits.corrupt(file: file, w)
        }
        let n = job.pointee.width * job.pointee.height * job.pointee.channels
        let samples = (0..<n).map { UInt16(out[$0]) }
        return RasterImage(unchecked: job.pointee.width, job.pointee.height, job.pointee.channels, 8, samples)
            .oriented(exif: s.orientation)
    }
}
