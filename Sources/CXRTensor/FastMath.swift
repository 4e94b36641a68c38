import CVectorKernels

/// Vectorised exp for the hot loops (softmax over attention scores, SiLU after GroupNorm).
///
/// Why: a 512x512 UNet step evaluates ~1.3 billion exponentials in self-attention alone; libm's scalar `expf`
/// (~5 ns each here) made softmax a third of the attention time. This is Cephes' expf range reduction and
/// polynomial, 8 lanes at a time with plain SIMD types (no special instructions needed): max relative error
/// about 2 ulp, far below the 1e-6 relative tolerance of the parity tests.
public enum FastMath {
    @usableFromInline static let log2e: Float = 1.442_695_04
    @usableFromInline static let ln2Hi: Float = 0.693_359_375
    @usableFromInline static let ln2Lo: Float = -2.121_944_40e-4
    /// 1.5 * 2^23: adding it rounds to an integer held in the low mantissa bits.
    @usableFromInline static let roundMagic: Float = 12_582_912

    /// e^x per lane; inputs are clamped to [-87.3, 88.7] (results never overflow; below -87.3 they are
    /// ~1e-38, not exactly 0, which no sum in this engine can notice).
    @inlinable @inline(__always)
    public static func exp(_ xIn: SIMD8<Float>) -> SIMD8<Float> {
        var x = minimum(SIMD8(repeating: 88.7), maximum(SIMD8(repeating: -87.33), xIn))
        let t = x * log2e + roundMagic
        let n = t - roundMagic
        let ni =
            unsafeBitCast(t, to: SIMD8<Int32>.self)
            &- unsafeBitCast(SIMD8<Float>(repeating: roundMagic), to: SIMD8<Int32>.self)
        x = x - n * ln2Hi
        x = x - n * ln2Lo
        let z = x * x
        var p = SIMD8<Float>(repeating: 1.987_569_150_0e-4)
        p = p * x + 1.398_199_950_7e-3
        p = p * x + 8.333_451_907_3e-3
        p = p * x + 4.166_579_589_4e-2
        p = p * x + 1.666_666_545_9e-1
        p = p * x + 5.000_000_120_1e-1
        let y = p * z + x + 1
        let scale = unsafeBitCast((ni &+ 127) &<< 23, to: SIMD8<Float>.self)
        return y * scale
    }

    /// Lane by lane `Float.maximum(a, b)`: `a` where a > b or b is NaN, else `b`. The standard library's
    /// `pointwiseMax` (and `clamped`, built on it) gives the same lanes but runs a generic lane-by-lane loop behind a
    /// function call: 6% of a 256 px edit went to it in `exp`'s clamp and the softmax row maximum.
    @inlinable @inline(__always)
    static func maximum(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
        b.replacing(with: a, where: a .> b .| b .!= b)
    }

    /// Lane by lane `Float.minimum(a, b)`: `a` where a <= b or b is NaN, else `b` (as `pointwiseMin`, vectorised).
    @inlinable @inline(__always)
    static func minimum(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
        b.replacing(with: a, where: a .<= b .| b .!= b)
    }

    /// Scalar version (same polynomial), for loop tails.
    @inlinable @inline(__always)
    public static func exp(_ x: Float) -> Float {
        exp(SIMD8<Float>(repeating: x))[0]
    }

    /// In place: p[i] = p[i] * sigmoid(p[i]) (SiLU); by CVectorKernels' AVX-512 kernel where it runs, which gives
    /// the same bits as `portableSiLUInPlace`.
    public static func siluInPlace(_ p: UnsafeMutablePointer<Float>, count n: Int) {
        if VectorKernels.enabled {
            cxr_silu_inplace(p, n)
        } else {
            portableSiLUInPlace(p, count: n)
        }
    }

    /// SiLU in place in Swift, 8 lanes at a time (any CPU).
    @inlinable
    public static func portableSiLUInPlace(_ p: UnsafeMutablePointer<Float>, count n: Int) {
        var i = 0
        let raw = UnsafeMutableRawPointer(p)
        while i + 8 <= n {
            let v = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            let e = exp(-v)
            raw.storeBytes(of: v / (1 + e), toByteOffset: i * 4, as: SIMD8<Float>.self)
            i += 8
        }
        while i < n {
            p[i] = p[i] / (1 + exp(-p[i]))
            i += 1
        }
    }

    /// The largest of row[0..<valid] (-infinity when valid is 0).
    @inlinable @inline(__always)
    static func rowMax(_ row: UnsafeMutablePointer<Float>, valid: Int) -> Float {
        let raw = UnsafeMutableRawPointer(row)
        var i = 0
        var m8 = SIMD8<Float>(repeating: -.infinity)
        while i + 8 <= valid {
            m8 = maximum(m8, raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self))
            i += 8
        }
        var m = m8.max()
        while i < valid { m = Swift.max(m, row[i]); i += 1 }
        return m
    }

    /// Replaces row[0..<valid] by e^(row[j] - shift) and returns their sum; row[valid..<count] become 0.
    @inlinable @inline(__always)
    static func exponentiate(_ row: UnsafeMutablePointer<Float>, valid: Int, count: Int, shift: Float)
        -> Float
    {
        let raw = UnsafeMutableRawPointer(row)
        let mv = SIMD8<Float>(repeating: shift)
        var s8 = SIMD8<Float>()
        var i = 0
        while i + 8 <= valid {
            let e = exp(raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) - mv)
            raw.storeBytes(of: e, toByteOffset: i * 4, as: SIMD8<Float>.self)
            s8 += e
            i += 8
        }
        var sum = s8.sum()
        while i < valid {
            let e = exp(row[i] - shift)
            row[i] = e
            sum += e
            i += 1
        }
        if valid < count { (row + valid).update(repeating: 0, count: count - valid) }
        return sum
    }

    /// In place softmax of row[0..<valid]; row[valid..<count] become 0.
    @inlinable
    public static func softmaxRow(_ row: UnsafeMutablePointer<Float>, valid: Int, count: Int) {
        let raw = UnsafeMutableRawPointer(row)
        let sum = exponentiate(row, valid: valid, count: count, shift: rowMax(row, valid: valid))
        let inv = 1 / sum
        let iv = SIMD8<Float>(repeating: inv)
        var i = 0
        while i + 8 <= valid {
            raw.storeBytes(
                of: raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) * iv,
                toByteOffset: i * 4, as: SIMD8<Float>.self)
            i += 8
        }
        while i < valid { row[i] *= inv; i += 1 }
    }

    /// One key block of a streaming softmax row: with `runningMax` m and `runningSum` l over the blocks so far,
    /// sets m' = max(m, max(row[0..<valid])), writes row[j] = e^(row[j] - m') (row[valid..<count] = 0), updates
    /// l = l * e^(m - m') + Σ row[j], and returns e^(m - m'), the factor the row's partial output must be scaled
    /// by (1 when the maximum did not change, 0 before the first valid key).
    @inlinable
    public static func softmaxBlock(
        _ row: UnsafeMutablePointer<Float>, valid: Int, count: Int,
        runningMax: inout Float, runningSum: inout Float
    ) -> Float {
        let newMax = Swift.max(runningMax, rowMax(row, valid: valid))
        // No valid key yet (a causal row's later block): nothing to add, nothing to rescale.
        if newMax == -.infinity {
            row.update(repeating: 0, count: count)
            return 1
        }
        let correction: Float = runningMax == newMax ? 1 : runningMax == -.infinity ? 0 : exp(runningMax - newMax)
        let sum = exponentiate(row, valid: valid, count: count, shift: newMax)
        runningSum = runningSum * correction + sum
        runningMax = newMax
        return correction
    }
}
