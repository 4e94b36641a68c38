import Foundation

/// Multi-head scaled-dot-product attention, softmax(Q K^T / sqrt(d)) V, on projections laid out as linear
/// layers produce them: q [B, Lq, H*D], k and v [B, Lk, H*D] -> [B, Lq, H*D].
///
/// Streaming (as flash attention): each worker takes `queryChunk` query rows of one head and walks the keys in
/// blocks of `keyBlock`, keeping only a queryChunk x keyBlock score tile (256 KB at 256 x 256, inside L2) instead
/// of queryChunk x Lk (4 MB at Lk = 4096, which spilled to L3 and made the K = 40 score GEMM bound by memory
/// writes). Per row it keeps the running maximum m and sum l of exp(s - m); when a block raises m, the row's
/// partial output and l are rescaled by exp(m_old - m_new), and the output is divided by l at the end. Heads and
/// query chunks run in parallel on our threads, each tile's GEMMs on its own thread.
public func attention(
    q: Tensor, k: Tensor, v: Tensor, heads: Int, causal: Bool = false,
    queryChunk: Int = AttentionSettings.queryChunk,
    keyBlock: Int = AttentionSettings.keyBlock
) -> Tensor {
    Profiler.measure("attention") {
        let b = q.shape[0], lq = q.shape[1], hd = q.shape[2]
        let lk = k.shape[1]
        precondition(hd % heads == 0 && k.shape[2] == hd && v.shape[2] == hd && v.shape[1] == lk)
        let d = hd / heads
        let scale = 1 / Float(d).squareRoot()
        let chunk = min(queryChunk, lq)
        let block = max(1, min(keyBlock, lk))
        let chunksPerHead = (lq + chunk - 1) / chunk
        let items = b * heads * chunksPerHead
        var out = Tensor(zeros: [b, lq, hd])
        let workers = min(ComputeThreads.count, items)
        // Per worker: the score tile, then the running maximum and sum of each query row.
        let perWorker = chunk * block + 2 * chunk
        var scratch = [Float](repeating: 0, count: workers * perWorker)
        out.data.withUnsafeMutableBufferPointer { op in
            q.data.withUnsafeBufferPointer { qp in
                k.data.withUnsafeBufferPointer { kp in
                    v.data.withUnsafeBufferPointer { vp in
                        scratch.withUnsafeMutableBufferPointer { sp in
                            nonisolated(unsafe) let op = op, qp = qp, kp = kp, vp = vp, sp = sp
                            Parallel.for(workers) { worker in
                                let scores = sp.baseAddress! + worker * perWorker
                                let rowMax = scores + chunk * block, rowSum = rowMax + chunk
                                var item = worker
                                while item < items {
                                    let ci = item % chunksPerHead
                                    let h = (item / chunksPerHead) % heads
                                    let bi = item / (chunksPerHead * heads)
                                    let q0 = ci * chunk, rows = min(chunk, lq - q0)
                                    let qBase = qp.baseAddress! + (bi * lq + q0) * hd + h * d
                                    let oBase = op.baseAddress! + (bi * lq + q0) * hd + h * d
                                    // Causal rows see keys 0...q0+r: blocks past the chunk's last row are skipped.
                                    let keys = causal ? min(lk, q0 + rows) : lk
                                    rowMax.update(repeating: -.infinity, count: rows)
                                    rowSum.update(repeating: 0, count: rows)
                                    var k0 = 0
                                    while k0 < keys {
                                        let n = min(block, keys - k0)
                                        let kBase = kp.baseAddress! + (bi * lk + k0) * hd + h * d
                                        let vBase = vp.baseAddress! + (bi * lk + k0) * hd + h * d
                                        sgemm(
                                            transB: true, m: rows, n: n, k: d, alpha: scale, a: qBase, lda: hd,
                                            b: kBase, ldb: hd, c: scores, ldc: n)
                                        for r in 0..<rows {
                                            let valid = causal ? max(0, min(n, q0 + r + 1 - k0)) : n
                                            let correction = FastMath.softmaxBlock(
                                                scores + r * n, valid: valid,
                                                count: n, runningMax: &rowMax[r],
                                                runningSum: &rowSum[r])
                                            if k0 > 0 && correction != 1 {
                                                let o = oBase + r * hd
                                                for e in 0..<d { o[e] *= correction }
                                            }
                                        }
                                        sgemm(
                                            m: rows, n: d, k: n, a: scores, lda: n, b: vBase, ldb: hd,
                                            beta: k0 == 0 ? 0 : 1, c: oBase, ldc: hd)
                                        k0 += n
                                    }
                                    for r in 0..<rows {
                                        let inv = 1 / rowSum[r], o = oBase + r * hd
                                        for e in 0..<d { o[e] *= inv }
                                    }
                                    item += workers
                                }
                            }
                        }
                    }
                }
            }
        }
        return out
    }
}

/// In-place softmax of row[0..<valid]; row[valid..<count] (masked keys) become 0.
@inline(__always)
func softmaxRow(_ row: UnsafeMutablePointer<Float>, valid: Int, count: Int) {
    var m = -Float.infinity
    for j in 0..<valid { m = max(m, row[j]) }
    var sum: Float = 0
    for j in 0..<valid {
        let e = expf(row[j] - m)
        row[j] = e
        sum += e
    }
    let inv = 1 / sum
    for j in 0..<valid { row[j] *= inv }
    if valid < count { (row + valid).update(repeating: 0, count: count - valid) }
}

/// Softmax over the last dimension.
public func softmax(_ x: Tensor) -> Tensor {
    var y = x
    let d = x.shape.last!
    y.data.withUnsafeMutableBufferPointer { p in
        for r in 0..<(p.count / d) { softmaxRow(p.baseAddress! + r * d, valid: d, count: d) }
    }
    return y
}

/// Tuning of the attention kernel (`CXR_EDIT_ATTN_CHUNK` and `CXR_EDIT_ATTN_KEY_BLOCK` override the query-chunk
/// and key-block sizes for experiments).
public enum AttentionSettings {
    public static let queryChunk: Int = {
        if let s = ProcessInfo.processInfo.environment["CXR_EDIT_ATTN_CHUNK"], let v = Int(s), v > 0 { return v }
        return 256
    }()
    /// 256 keys: a 256 x 256 float score tile is 256 KB, which stays in a 1 MB L2 with the Q and K/V tiles.
    public static let keyBlock: Int = {
        if let s = ProcessInfo.processInfo.environment["CXR_EDIT_ATTN_KEY_BLOCK"], let v = Int(s), v > 0 { return v }
        return 256
    }()
}
