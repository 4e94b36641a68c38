import CBFloat16
import CVectorKernels

/// Float32 V per band of `winogradPackedBands` (its tiles are counted as if V were float32, as in `winogradBands`).
/// Why smaller than `winogradBands`' 32 MB: the packed operands and the products of a band (6 MB here, 48 MB at
/// 32 MB) then stay in the 32 MiB L3 between the stages: the 512 px bf16 decode took 5.25-5.65 s CPU with 4 MB,
/// 4.83-6.30 with 8 MB, 5.24-6.20 with 16 MB and 6.57-6.90 with 32 MB (alternating runs, shared Zen 5, load 3.6-5.1);
/// the bf16 UNet step at 512 px was unchanged (5.45-5.51 s CPU against 5.40-5.49).
let packedBandBytes = 4 << 20

/// `winogradBands` for bf16 F(2x2, 3x3): the input transform writes its values rounded to bf16 straight into the 16
/// packed B operands of the products, instead of writing V in float32 for each product to read back and pack.
///
/// Why: in a 512 px bf16 VAE decode the F(2x2) input transform was 12% of the time and packing its output 12%; V
/// was written as 32 MB of floats per band, read back, and written again as 16 MB of bf16. The operands are bit for
/// bit those packing V gives (same float32 values, same rounding), so results are unchanged; the float32 V buffer is
/// gone too. Bands are smaller than `winogradBands`' (`packedBandBytes`); in bf16 the products' sums do not depend on
/// the bands, so neither do the results. Needs AVX512-BF16 (and so AVX-512F for the output transform).
func winogradPackedBands(
    _ x: UnsafePointer<Float>, n: Int, c: Int, h: Int, w: Int, o: Int, bias: Tensor?,
    padTop: Int, padLeft: Int, ho: Int, wo: Int, out: UnsafeMutablePointer<Float>, operands: [GEMMOperand]
) {
    let points = 16
    let tw = (wo + 1) / 2, tilesPerImage = ((ho + 1) / 2) * tw, count = n * tilesPerImage
    let pairs = (c + 1) / 2
    nonisolated(unsafe) let dst = out
    // Products' buffers of at least 32 MiB, which glibc maps rather than cuts from the heap (pages a band never
    // touches cost nothing): ScratchPool takes and drops buffers of a few MB in varying sizes, and cut from the heap
    // they left holes that raised a whole 512 px bf16 edit's peak from 3.29 to 3.41 GB.
    let mappedFloats = (32 << 20) / MemoryLayout<Float>.stride

    /// Tiles [p0, p0 + pc): packed input transform, products into `m`, output transform.
    func band(_ p0: Int, _ pc: Int, m: UnsafeMutablePointer<Float>) {
        nonisolated(unsafe) let m = m
        let mStride = o * pc
        let packed = (0..<points).map { _ in BFloat16Matrix(unpackedSide: .b, rows: c, columns: pc) }
        // Parallel over channel pairs: the two channels of a pair share each packed 32-bit word.
        packed.map { Optional($0.storage) }.withUnsafeBufferPointer { storages in
            nonisolated(unsafe) let storages = storages.baseAddress!
            Parallel.for(pairs) { pair in
                let plane0 = x + (2 * pair) * h * w
                let plane1 = 2 * pair + 1 < c ? plane0 + h * w : nil
                forEachTileRun(first: p0, count: pc, tilesPerImage: tilesPerImage, tileColumns: tw) {
                    img, ty, tx, length, offset in
                    let image = img * c * h * w
                    cxr_bf16_winograd_f2_pack_run(
                        plane0 + image, plane1.map { $0 + image }, h, w, 2 * ty - padTop, 2 * tx - padLeft, length,
                        storages, c, pair, offset)
                }
            }
        }
        Parallel.for(points) { xi in
            gemm(.bf16, m: o, n: pc, k: c, a: operands[xi], b: .packed(packed[xi]), c: m + xi * mStride, ldc: pc)
        }
        Parallel.for(o, minChunk: 2) { oi in
            let b = bias?.data[oi] ?? 0
            forEachTileRun(first: p0, count: pc, tilesPerImage: tilesPerImage, tileColumns: tw) {
                img, ty, tx, length, offset in
                cxr_winograd_f2_output_run(
                    m + oi * pc + offset, mStride, length, b, dst + (img * o + oi) * ho * wo, ho, wo, 2 * ty, 2 * tx)
            }
        }
    }

    // Tiles are counted as if V were float32, as in `winogradBands`.
    WinogradBanding.forEachBand(
        count: count, bytesPerTile: points * 4 * max(c, o), largeBandBytes: packedBandBytes,
        floatsPerTile: [points * o], minimumFloats: mappedFloats
    ) { p0, pc, scratch in
        band(p0, pc, m: scratch[0])
    }
}
