import CAttention
import Foundation

/// Multi-head scaled-dot-product attention, softmax(Q K^T / sqrt(d)) V, on projections laid out as linear
/// layers produce them: q [B, Lq, H*D], k and v [B, Lk, H*D] -> [B, Lq, H*D].
///
/// Both kernels stream (as flash attention): a block of `queryChunk` query rows of one head walks the keys in
/// blocks of `keyBlock`, keeping only a score tile instead of queryChunk x Lk scores. Per row they keep the
/// running maximum m and sum l of exp(s - m); when a block raises m, the row's partial output and l are rescaled
/// by exp(m_old - m_new), and the output is divided by l at the end. Heads and query blocks run in parallel on our
/// threads. `kernel` chooses the implementation (one the CPU lacks falls back to the next: AVX-512 fused, AVX2
/// fused, BLAS); nil chunk and block sizes take the chosen kernel's tuned ones. `precision` bf16 runs the AVX-512
/// fused kernel's bf16 variant where the CPU has AVX512-BF16 (`AttentionKernel.fusedBF16IsSupported`), as
/// PyTorch's bf16 autocast does; elsewhere, and for the other kernels, attention stays float32.
public func attention(
    q: Tensor, k: Tensor, v: Tensor, heads: Int, causal: Bool = false,
    queryChunk: Int? = nil, keyBlock: Int? = nil, kernel: AttentionKernel = AttentionSettings.kernel,
    precision: GEMMPrecision = .fp32
) -> Tensor {
    Profiler.measure("attention") {
        precondition(q.shape[2] % heads == 0 && k.shape[2] == q.shape[2] && v.shape[2] == q.shape[2])
        precondition(v.shape[1] == k.shape[1])
        let kernel = kernel.available
        let chunk = max(1, queryChunk ?? AttentionSettings.queryChunk(for: kernel))
        let block = max(1, keyBlock ?? AttentionSettings.keyBlock(for: kernel))
        switch kernel {
        case .fused where precision == .bf16 && AttentionKernel.fusedBF16IsSupported:
            return fusedAttention(q: q, k: k, v: v, heads: heads, causal: causal, chunk: chunk, block: block, .bf16)
        case .fused, .fusedAVX2:
            return fusedAttention(
                q: q, k: k, v: v, heads: heads, causal: causal, chunk: chunk, block: block,
                kernel == .fusedAVX2 ? .avx2 : .avx512)
        case .blas: return blasAttention(q: q, k: k, v: v, heads: heads, causal: causal, chunk: chunk, block: block)
        }
    }
}

/// The attention kernels.
public enum AttentionKernel: String, Sendable, CaseIterable {
    /// Sources/CAttention on AVX-512: a register-blocked score kernel on K packed once per head, the online softmax
    /// with a 16-lane exp, and the P V product into the output rows, all on one L1-sized tile. Why not sgemm on
    /// the tiles: with a head dimension of 40-160 each tile GEMM is small, a BLAS packs both operands on every call
    /// (measured with OpenBLAS, used before, held to its Haswell AVX2 kernel), and its score tiles left L1.
    case fused
    /// The same fused kernel in AVX2 + FMA (8 lanes, 16 registers), for x86 CPUs without AVX-512 (Zen 1-3, Haswell
    /// to Alder Lake), where the BLAS kernel took about twice PyTorch's time.
    case fusedAVX2 = "fused-avx2"
    /// oneDNN sgemm on each score tile, FastMath's softmax between the two products (any CPU).
    case blas

    /// Whether this CPU and OS can run the AVX-512 fused kernel.
    public static let fusedIsSupported: Bool = cxr_attention_supported() == 1
    /// Whether this CPU and OS can run the AVX2 fused kernel.
    public static let fusedAVX2IsSupported: Bool = cxr_attention_avx2_supported() == 1
    /// Whether this CPU and OS can run the AVX-512 fused kernel's bf16 variant (AVX512-BF16, as the bf16 GEMM).
    public static let fusedBF16IsSupported: Bool = fusedIsSupported && BFloat16GEMM.isSupported

    /// The fastest kernel this CPU runs: AVX-512 fused, else AVX2 fused, else BLAS.
    public static let best: AttentionKernel = fused.available

    /// Whether this CPU can run the kernel.
    public var isSupported: Bool {
        switch self {
        case .fused: return Self.fusedIsSupported
        case .fusedAVX2: return Self.fusedAVX2IsSupported
        case .blas: return true
        }
    }

    /// The kernel that runs when this one is asked for: itself where the CPU has it, else the next slower one, so
    /// `fused` on an AVX2-only CPU still gets a fused kernel.
    public var available: AttentionKernel {
        if isSupported { return self }
        return self == .fused ? AttentionKernel.fusedAVX2.available : .blas
    }
}

/// The variants of the fused kernel: fp32 on AVX-512 or AVX2, bf16 products on AVX512-BF16.
private enum FusedVariant { case avx512, avx2, bf16 }

/// The fused kernel: K packed per head (panels of 16 keys, so a score needs no transpose; bf16 also packs V, in
/// key pairs), then query blocks claimed one at a time by the threads. The variants share this distribution of
/// the work and the fp32 ones the packing and the scratch layout.
private func fusedAttention(
    q: Tensor, k: Tensor, v: Tensor, heads: Int, causal: Bool, chunk: Int, block: Int, _ variant: FusedVariant
) -> Tensor {
    let b = q.shape[0], lq = q.shape[1], hd = q.shape[2], lk = k.shape[1]
    let d = hd / heads
    var out = Tensor(zeros: [b, lq, hd])
    if lq == 0 || d == 0 { return out }
    let scale = 1 / Float(d).squareRoot()
    let chunk = min(chunk, lq)
    let chunksPerHead = (lq + chunk - 1) / chunk
    let items = b * heads * chunksPerHead
    let workers = min(ComputeThreads.count, items)
    let bf16 = variant == .bf16
    // Per head: fp32 keys, or bf16 keys then bf16 values (counts in their own elements).
    let keyCount = bf16 ? cxr_attention_bf16_packed_keys_count(lk, d) : cxr_attention_packed_keys_count(lk, d)
    let valueCount = bf16 ? cxr_attention_bf16_packed_values_count(lk, d) : 0
    let headBytes = bf16 ? (keyCount + valueCount) * 2 : keyCount * 4
    let scratchCount =
        bf16 ? cxr_attention_bf16_scratch_count(chunk, block, d) : cxr_attention_scratch_count(chunk, block, d)
    // Allocated as floats (malloc's alignment; the kernels load unaligned). Measured: the same bytes through a
    // 64-byte aligned allocation raised a whole 512 px bf16 edit's peak RSS from 3.29 to 3.47 GB (glibc placed the
    // later blocks of the heap differently).
    let packed = UnsafeMutableRawPointer(
        UnsafeMutablePointer<Float>.allocate(capacity: max(1, (b * heads * headBytes + 3) / 4)))
    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: workers * scratchCount)
    let next = UnsafeMutablePointer<Int>.allocate(capacity: 1)
    next.initialize(to: 0)
    defer {
        packed.deallocate()
        scratch.deallocate()
        next.deallocate()
    }
    nonisolated(unsafe) let packedHeads = packed, scratchBase = scratch, counter = next
    out.data.withUnsafeMutableBufferPointer { op in
        q.data.withUnsafeBufferPointer { qp in
            k.data.withUnsafeBufferPointer { kp in
                v.data.withUnsafeBufferPointer { vp in
                    nonisolated(unsafe) let op = op, qp = qp, kp = kp, vp = vp
                    Parallel.for(b * heads) { i in
                        let bi = i / heads, h = i % heads
                        let offset = bi * lk * hd + h * d, head = packedHeads + i * headBytes
                        if bf16 {
                            let keys = head.assumingMemoryBound(to: UInt16.self)
                            cxr_attention_bf16_pack_keys(kp.baseAddress! + offset, hd, lk, d, keys)
                            cxr_attention_bf16_pack_values(vp.baseAddress! + offset, hd, lk, d, keys + keyCount)
                        } else {
                            cxr_attention_pack_keys(
                                kp.baseAddress! + offset, hd, lk, d, head.assumingMemoryBound(to: Float.self))
                        }
                    }
                    // Items are head-major, so the threads work on the same head's keys at the same time (shared
                    // in L3); claimed one by one, since on a shared machine one thread may get far less CPU.
                    Parallel.for(workers) { worker in
                        let tile = scratchBase + worker * scratchCount
                        while true {
                            let item = cxr_attention_claim(counter)
                            if item >= items { break }
                            let head = item / chunksPerHead, ci = item % chunksPerHead
                            let bi = head / heads, h = head % heads
                            let q0 = ci * chunk, rows = min(chunk, lq - q0)
                            let rowOffset = (bi * lq + q0) * hd + h * d
                            let headOffset = bi * lk * hd + h * d
                            let qRows = qp.baseAddress! + rowOffset, packedHead = packedHeads + head * headBytes
                            let values = vp.baseAddress! + headOffset, outRows = op.baseAddress! + rowOffset
                            let mask: Int32 = causal ? 1 : 0
                            switch variant {
                            case .avx512:
                                cxr_attention_rows(
                                    qRows, hd, packedHead.assumingMemoryBound(to: Float.self), values, hd, lk, d,
                                    scale, rows, mask, q0, block, outRows, hd, tile)
                            case .avx2:
                                cxr_attention_rows_avx2(
                                    qRows, hd, packedHead.assumingMemoryBound(to: Float.self), values, hd, lk, d,
                                    scale, rows, mask, q0, block, outRows, hd, tile)
                            case .bf16:
                                let keys = packedHead.assumingMemoryBound(to: UInt16.self)
                                cxr_attention_rows_bf16(
                                    qRows, hd, keys, keys + keyCount, lk, d, scale, rows, mask, q0, block, outRows,
                                    hd, tile)
                            }
                        }
                    }
                }
            }
        }
    }
    return out
}

/// The BLAS kernel: each worker takes query chunks of one head, each key block's score tile (256 KB at 256 x 256,
/// inside L2, instead of 4 MB at Lk = 4096, which spilled to L3 and made the K = 40 score GEMM bound by memory
/// writes) from one sgemm, FastMath's streaming softmax on it, and the P V product from a second sgemm.
private func blasAttention(q: Tensor, k: Tensor, v: Tensor, heads: Int, causal: Bool, chunk: Int, block: Int)
    -> Tensor
{
    let b = q.shape[0], lq = q.shape[1], hd = q.shape[2]
    let lk = k.shape[1]
    let d = hd / heads
    let scale = 1 / Float(d).squareRoot()
    let chunk = min(chunk, lq)
    let block = min(block, lk)
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

/// Tuning of the attention kernels (`CXR_EDIT_ATTN_CHUNK` and `CXR_EDIT_ATTN_KEY_BLOCK` override the query-chunk
/// and key-block sizes, `CXR_EDIT_ATTN_KERNEL=blas`, `fused` or `fused-avx2` the kernel, for experiments: `fused-avx2`
/// runs the AVX2 variant on an AVX-512 CPU too, so it can be tested and timed there).
public enum AttentionSettings {
    /// The fastest fused kernel the CPU has, else BLAS.
    public static let kernel: AttentionKernel = {
        if let s = ProcessInfo.processInfo.environment["CXR_EDIT_ATTN_KERNEL"], let k = AttentionKernel(rawValue: s) {
            return k
        }
        return AttentionKernel.best
    }()

    static let queryChunkOverride = positiveInteger("CXR_EDIT_ATTN_CHUNK")
    static let keyBlockOverride = positiveInteger("CXR_EDIT_ATTN_KEY_BLOCK")

    /// Query rows per work item. Fused: 48 rows (a multiple of the 6- and 8-row register tiles) keep the score
    /// tile and the partial output rows in L1/L2 and still give the threads hundreds of items.
    public static func queryChunk(for kernel: AttentionKernel) -> Int {
        queryChunkOverride ?? (kernel == .blas ? 256 : 48)
    }

    /// Keys per block: 256. BLAS: a 256 x 256 float score tile is 256 KB, which stays in a 1 MB L2 with the Q and
    /// K/V tiles. Fused: a 48 x 272 tile (52 KB, in L2); 128 keys (an L1-sized tile) took 3-5% more CPU time at
    /// d = 40-160 on Zen 5, since each row's block ends in two horizontal reductions, 512 about the same.
    public static func keyBlock(for kernel: AttentionKernel) -> Int {
        keyBlockOverride ?? 256
    }

    private static func positiveInteger(_ name: String) -> Int? {
        if let s = ProcessInfo.processInfo.environment[name], let v = Int(s), v > 0 { return v }
        return nil
    }
}
