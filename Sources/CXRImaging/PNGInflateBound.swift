import CZlib

/// Bounds the work of inflating a PNG's IDAT stream by the size of the image it describes.
///
/// Why: libpng inflates the whole zlib stream, also what follows the last row ("extra compressed data" is a
/// benign warning to it), so a 32 MB file of a 64x64 image took 81 s — at the 512 MiB file limit about
/// 20 minutes — and was accepted. Before libpng runs, the stream is inflated once into a small scratch buffer and
/// refused as soon as it yields more than the image's filtered size plus a margin. Streams that zlib rejects are
/// left to libpng, which reports them in its own words.
enum PNGInflateBound {
    /// Bytes allowed beyond the image's exact filtered size (encoders produce exactly that; this is slack).
    static let margin = 1 << 20

    /// The filtered size of the image: for each (Adam7) pass, rows x (filter byte + packed row).
    static func filteredBytes(_ h: PNGHeader) -> Int {
        let samples = [0: 1, 2: 3, 3: 1, 4: 2, 6: 4][h.colorType] ?? 4
        let bitsPerPixel = samples * h.bitDepth
        func rows(_ w: Int, _ n: Int) -> Int { n * (1 + (w * bitsPerPixel + 7) / 8) }
        guard h.interlace == 1 else { return rows(h.width, h.height) }
        let passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
        var total = 0
        for (x0, y0, dx, dy) in passes {
            let w = h.width > x0 ? (h.width - x0 + dx - 1) / dx : 0
            let n = h.height > y0 ? (h.height - y0 + dy - 1) / dy : 0
            if w > 0 && n > 0 { total += rows(w, n) }
        }
        return total
    }

    /// Inflates the IDAT chunks in order and throws once the output passes the image's size plus `margin`.
    static func check(_ bytes: UnsafeRawBufferPointer, chunks: [PNGChunk], header: PNGHeader, file: String) throws {
        let limit = filteredBytes(header) + margin
        var stream = z_stream()
        guard inflateInit_(&stream, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return }
        defer { inflateEnd(&stream) }
        let scratchSize = 1 << 16
        let scratch = UnsafeMutablePointer<Bytef>.allocate(capacity: scratchSize)
        defer { scratch.deallocate() }
        guard let base = bytes.bindMemory(to: Bytef.self).baseAddress else { return }
        var produced = 0
        for chunk in chunks where chunk.type == "IDAT" {
            stream.next_in = UnsafeMutablePointer(mutating: base + chunk.dataOffset)
            stream.avail_in = uInt(chunk.length)
            while stream.avail_in > 0 {
                stream.next_out = scratch
                stream.avail_out = uInt(scratchSize)
                let status = inflate(&stream, Z_NO_FLUSH)
                produced += scratchSize - Int(stream.avail_out)
                if produced > limit {
                    throw ImageError(
                        file: file,
                        "the IDAT data inflates to more than \(limit) bytes, more than a "
                            + "\(header.width)x\(header.height) image needs "
                            + "(compressed data beyond the image)")
                }
                if status == Z_STREAM_END { return }
                if status != Z_OK { return }  // corrupt or truncated: libpng reports it
            }
        }
    }
}
