import CXRTensor

/// A network applied to an NCHW tensor tile by tile, the tiles overlapping and their overlaps blended linearly: the
/// scheme of diffusers' `AutoencoderKL.tiled_encode` / `tiled_decode`, reproduced step for step so that a tiled
/// result equals diffusers' with `enable_tiling()`.
///
/// Input tiles of `inputSize` start every `stride` = int(inputSize x (1 - overlap)) rows and columns (the last ones
/// are cut short by the edge). Each output tile is blended into the tile above it and the tile to its left over
/// `blendExtent` = int(outputSize x overlap) rows or columns, then cut to its first `keptSize` = outputSize -
/// blendExtent rows and columns, and the cut tiles are laid side by side.
struct OverlappingTiles {
    /// Tile side in the input (pixels for the encoder, latents for the decoder).
    let inputSize: Int
    /// Nominal tile side in the output.
    let outputSize: Int
    let stride: Int
    let blendExtent: Int
    let keptSize: Int

    /// Nil when the tiles would not advance (a `sample_size` too small for its downscale factor).
    init?(inputSize: Int, outputSize: Int, overlap: Double = 0.25) {
        // Python's int() of a positive float: truncation, as in diffusers.
        let stride = Int(Double(inputSize) * (1 - overlap))
        let blendExtent = Int(Double(outputSize) * overlap)
        guard stride >= 1, outputSize - blendExtent >= 1 else { return nil }
        self.inputSize = inputSize
        self.outputSize = outputSize
        self.stride = stride
        self.blendExtent = blendExtent
        keptSize = outputSize - blendExtent
    }

    /// `transform` applied to `x` [N, C, H, W] in tiles. Only the previous row of output tiles is held for blending.
    func apply(_ x: Tensor, _ transform: (Tensor) -> Tensor) -> Tensor {
        let h = x.dim(2), w = x.dim(3)
        var above: [Tensor] = []
        var kept: [[Tensor]] = []
        for top in Swift.stride(from: 0, to: h, by: stride) {
            var row: [Tensor] = []
            for left in Swift.stride(from: 0, to: w, by: stride) {
                var tile = transform(
                    x.cropped(rows: top..<min(top + inputSize, h), columns: left..<min(left + inputSize, w)))
                // diffusers blends in place, so the neighbours have already been blended with theirs.
                if !above.isEmpty { blendRows(from: above[row.count], into: &tile) }
                if let left = row.last { blendColumns(from: left, into: &tile) }
                row.append(tile)
            }
            kept.append(
                row.map { $0.cropped(rows: 0..<min(keptSize, $0.dim(2)), columns: 0..<min(keptSize, $0.dim(3))) })
            above = row
        }
        return Tensor(tiling: kept)
    }

    /// blend_v: the first rows of `tile` fade in from the last rows of the tile above, weight y / extent for row y.
    func blendRows(from a: Tensor, into b: inout Tensor) {
        let extent = min(a.dim(2), b.dim(2), blendExtent)
        let n = b.dim(0), c = b.dim(1), ah = a.dim(2), bh = b.dim(2), w = b.dim(3)
        precondition(a.dim(0) == n && a.dim(1) == c && a.dim(3) == w, "blendRows: \(a.shape) above \(b.shape)")
        for y in 0..<extent {
            let (keep, take) = weights(y, extent)
            for plane in 0..<(n * c) {
                let ai = (plane * ah + ah - extent + y) * w, bi = (plane * bh + y) * w
                for x in 0..<w { b.data[bi + x] = a.data[ai + x] * keep + b.data[bi + x] * take }
            }
        }
    }

    /// blend_h: the first columns of `tile` fade in from the last columns of the tile to its left.
    func blendColumns(from a: Tensor, into b: inout Tensor) {
        let extent = min(a.dim(3), b.dim(3), blendExtent)
        let n = b.dim(0), c = b.dim(1), h = b.dim(2), aw = a.dim(3), bw = b.dim(3)
        precondition(a.dim(0) == n && a.dim(1) == c && a.dim(2) == h, "blendColumns: \(a.shape) left of \(b.shape)")
        for x in 0..<extent {
            let (keep, take) = weights(x, extent)
            for line in 0..<(n * c * h) {
                let ai = line * aw + aw - extent + x, bi = line * bw + x
                b.data[bi] = a.data[ai] * keep + b.data[bi] * take
            }
        }
    }

    /// The weights of the neighbour and of the tile at offset `i` of `extent`: computed in double as Python does,
    /// then rounded to float as torch does with a Python scalar times a float32 tensor.
    private func weights(_ i: Int, _ extent: Int) -> (keep: Float, take: Float) {
        let t = Double(i) / Double(extent)
        return (Float(1 - t), Float(t))
    }
}

extension Tensor {
    /// Rows and columns of an NCHW tensor.
    func cropped(rows: Range<Int>, columns: Range<Int>) -> Tensor {
        let n = dim(0), c = dim(1), h = dim(2), w = dim(3)
        precondition(rows.upperBound <= h && columns.upperBound <= w, "cropped: \(rows), \(columns) of \(shape)")
        var out = [Float]()
        out.reserveCapacity(n * c * rows.count * columns.count)
        for plane in 0..<(n * c) {
            for y in rows {
                let start = (plane * h + y) * w
                out.append(contentsOf: data[(start + columns.lowerBound)..<(start + columns.upperBound)])
            }
        }
        return Tensor(shape: [n, c, rows.count, columns.count], data: out)
    }

    /// NCHW tiles laid out as a grid, `grid[row][column]`: the tiles of one row share their height, those of one
    /// column their width (torch.cat of each row along the width, then of the rows along the height).
    init(tiling grid: [[Tensor]]) {
        let first = grid[0][0]
        let n = first.dim(0), c = first.dim(1)
        let heights = grid.map { $0[0].dim(2) }, widths = grid[0].map { $0.dim(3) }
        let h = heights.reduce(0, +), w = widths.reduce(0, +)
        var out = Tensor(zeros: [n, c, h, w])
        var top = 0
        for (i, row) in grid.enumerated() {
            var left = 0
            for (j, tile) in row.enumerated() {
                precondition(tile.dim(2) == heights[i] && tile.dim(3) == widths[j], "Tensor(tiling:): ragged grid")
                for plane in 0..<(n * c) {
                    for y in 0..<heights[i] {
                        let from = (plane * heights[i] + y) * widths[j], to = (plane * h + top + y) * w + left
                        out.data.replaceSubrange(to..<(to + widths[j]), with: tile.data[from..<(from + widths[j])])
                    }
                }
                left += widths[j]
            }
            top += heights[i]
        }
        self = out
    }
}
