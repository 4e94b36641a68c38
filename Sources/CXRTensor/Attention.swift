import COpenBLAS
import Foundation

/// Multi-head scaled-dot-product attention, softmax(Q K^T / sqrt(d)) V, on projections laid out as linear
/// layers produce them: q [B, Lq, H*D], k and v [B, Lk, H*D] -> [B, Lq, H*D].
///
/// Never materialises more than `queryChunk x Lk` scores per worker: at 512x512 a full 4096x4096 score matrix
/// would be 64 MB per head. Heads and query chunks run in parallel on our threads with BLAS single-threaded,
/// since the per-head GEMMs are too small for BLAS threading to pay off.
public func attention(q: Tensor, k: Tensor, v: Tensor, heads: Int, causal: Bool = false,
                      queryChunk: Int = AttentionSettings.queryChunk) -> Tensor {
    Profiler.measure("attention") {
    let b = q.shape[0], lq = q.shape[1], hd = q.shape[2]
    let lk = k.shape[1]
    precondition(hd % heads == 0 && k.shape[2] == hd && v.shape[2] == hd && v.shape[1] == lk)
    let d = hd / heads
    let scale = 1 / Float(d).squareRoot()
    let chunk = min(queryChunk, lq)
    let chunksPerHead = (lq + chunk - 1) / chunk
    let items = b * heads * chunksPerHead
    var out = Tensor(zeros: [b, lq, hd])
    let workers = min(ComputeThreads.count, items)
    var scratch = [Float](repeating: 0, count: workers * chunk * lk)
    openblas_set_num_threads(1)
    defer { ComputeThreads.applyToBLAS() }
    out.data.withUnsafeMutableBufferPointer { op in
        q.data.withUnsafeBufferPointer { qp in
            k.data.withUnsafeBufferPointer { kp in
                v.data.withUnsafeBufferPointer { vp in
                    scratch.withUnsafeMutableBufferPointer { sp in
                        nonisolated(unsafe) let op = op, qp = qp, kp = kp, vp = vp, sp = sp
                        DispatchQueue.concurrentPerform(iterations: workers) { worker in
                            let scores = sp.baseAddress! + worker * chunk * lk
                            var item = worker
                            while item < items {
                                let ci = item % chunksPerHead
                                let h = (item / chunksPerHead) % heads
                                let bi = item / (chunksPerHead * heads)
                                let q0 = ci * chunk, rows = min(chunk, lq - q0)
                                let qBase = qp.baseAddress! + (bi * lq + q0) * hd + h * d
                                let kBase = kp.baseAddress! + bi * lk * hd + h * d
                                let vBase = vp.baseAddress! + bi * lk * hd + h * d
                                sgemm(transB: true, m: rows, n: lk, k: d, alpha: scale, a: qBase, lda: hd,
                                      b: kBase, ldb: hd, c: scores, ldc: lk)
                                for r in 0..<rows {
                                    let row = scores + r * lk
                                    let valid = causal ? min(lk, q0 + r + 1) : lk
                                    FastMath.softmaxRow(row, valid: valid, count: lk)
                                }
                                sgemm(m: rows, n: d, k: lk, a: scores, lda: lk, b: vBase, ldb: hd,
                                      c: op.baseAddress! + (bi * lq + q0) * hd + h * d, ldc: hd)
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

/// Tuning of the attention kernel (`CXR_EDIT_ATTN_CHUNK` overrides the query-chunk size for experiments).
public enum AttentionSettings {
    public static let queryChunk: Int = {
        if let s = ProcessInfo.processInfo.environment["CXR_EDIT_ATTN_CHUNK"], let v = Int(s), v > 0 { return v }
        return 256
    }()
}
