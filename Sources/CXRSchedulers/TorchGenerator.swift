import CXRTensor
import Foundation

/// A bit-exact re-implementation of PyTorch's CPU random generator
/// (`torch.Generator("cpu").manual_seed(seed)`) and of `torch.randn(shape, generator: g)` for float32.
///
/// Why: a seed given to cxr-edit must produce exactly the latents and the scheduler noise that diffusers
/// produces for the same seed, so that results can be compared with the reference element by element.
///
/// What is reproduced (PyTorch 2.x on an x86-64 CPU with AVX2, the path PyTorch takes on such machines):
/// - mt19937 seeded with the low 32 bits of the seed (PyTorch truncates 64-bit seeds this way).
/// - `randn` of n >= 16 values: n float uniforms `(u32 & 0xFFFFFF) / 2^24` are drawn first, then converted in
///   place 16 at a time by Box-Muller over the pairs (j, j+8) with the Cephes single-precision log/sincos
///   polynomials PyTorch compiles (fused multiply-adds included); when n is not a multiple of 16 the last 16
///   values are drawn again and recomputed.
/// - `randn` of n < 16 values: the double-precision Box-Muller of `at::normal_distribution<double>`, which
///   caches its second value in the generator; the cache survives between calls, exactly as in PyTorch.
public struct TorchGenerator: Sendable {
    private var engine: MersenneTwister
    /// PyTorch's `next_double_normal_sample_` cache (filled by the n < 16 path).
    private var cachedNormal: Double?

    /// The seed as given (PyTorch's `initial_seed()`); only its low 32 bits feed the engine.
    public let seed: UInt64

    /// Equivalent to `torch.Generator("cpu").manual_seed(seed)`.
    public init(seed: UInt64) {
        self.seed = seed
        self.engine = MersenneTwister(seed: UInt32(truncatingIfNeeded: seed))
        self.cachedNormal = nil
    }

    /// Equivalent to `torch.randn(shape, generator=g, dtype=torch.float32)`; advances the generator.
    public mutating func randn(_ shape: [Int]) -> Tensor {
        let n = shape.reduce(1) { $0 * Swift.max($1, 0) }
        return Tensor(shape: shape, data: randnValues(n))
    }

    /// `n` standard-normal float32 values, continuing the stream exactly as `torch.randn(n)` would.
    public mutating func randnValues(_ n: Int) -> [Float] {
        if n <= 0 { return [] }
        if n >= 16 { return normalFill(n) }
        var out = [Float](repeating: 0, count: n)
        for i in 0..<n { out[i] = Float(scalarNormal()) }
        return out
    }

    /// Equivalent to `torch.rand(shape, generator=g, dtype=torch.float32)`: uniforms in [0, 1) with 24 bits.
    public mutating func rand(_ shape: [Int]) -> Tensor {
        let n = shape.reduce(1) { $0 * Swift.max($1, 0) }
        var out = [Float](repeating: 0, count: n)
        for i in 0..<n { out[i] = uniformFloat() }
        return Tensor(shape: shape, data: out)
    }

    // MARK: - Uniforms

    /// `at::uniform_real_distribution<float>(0, 1)`: the low 24 bits of one 32-bit draw, times 2^-24.
    @inline(__always)
    private mutating func uniformFloat() -> Float {
        Float(engine.next() & 0xFF_FFFF) * (1.0 / 16_777_216.0)
    }

    /// `at::uniform_real_distribution<double>(0, 1)`: the low 53 bits of two draws (first one high), times 2^-53.
    @inline(__always)
    private mutating func uniformDouble() -> Double {
        let hi = UInt64(engine.next())
        let lo = UInt64(engine.next())
        let v = ((hi << 32) | lo) & ((1 << 53) - 1)
        return Double(v) * (1.0 / 9_007_199_254_740_992.0)
    }

    // MARK: - n < 16: scalar double Box-Muller with a cached second value

    private mutating func scalarNormal() -> Double {
        if let cached = cachedNormal {
            cachedNormal = nil
            return cached
        }
        let u1 = uniformDouble()
        let u2 = uniformDouble()
        let r = (-2.0 * Foundation.log1p(-u2)).squareRoot()
        let theta = 2.0 * Double.pi * u1
        cachedNormal = r * Foundation.sin(theta)
        return r * Foundation.cos(theta)
    }

    // MARK: - n >= 16: vectorised Box-Muller in blocks of 16

    private mutating func normalFill(_ n: Int) -> [Float] {
        var data = [Float](repeating: 0, count: n)
        for i in 0..<n { data[i] = uniformFloat() }
        data.withUnsafeMutableBufferPointer { buf in
            var i = 0
            while i + 16 <= n {
                CephesFloat.boxMuller16(buf.baseAddress! + i)
                i += 16
            }
        }
        if n % 16 != 0 {
            for i in (n - 16)..<n { data[i] = uniformFloat() }
            data.withUnsafeMutableBufferPointer { buf in
                CephesFloat.boxMuller16(buf.baseAddress! + (n - 16))
            }
        }
        return data
    }
}

/// The 32-bit Mersenne Twister (mt19937) with the standard Knuth seeding, as `at::mt19937` implements it.
struct MersenneTwister: Sendable {
    private static let n = 624
    private static let m = 397
    private var state: [UInt32]
    private var index: Int

    init(seed: UInt32) {
        var s = [UInt32](repeating: 0, count: Self.n)
        s[0] = seed
        for i in 1..<Self.n {
            s[i] = 1_812_433_253 &* (s[i - 1] ^ (s[i - 1] >> 30)) &+ UInt32(i)
        }
        state = s
        index = Self.n
    }

    @inline(__always)
    mutating func next() -> UInt32 {
        if index >= Self.n { twist() }
        var y = state[index]
        index += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C_5680
        y ^= (y << 15) & 0xEFC6_0000
        y ^= y >> 18
        return y
    }

    private mutating func twist() {
        let n = Self.n, m = Self.m
        for i in 0..<n {
            let y = (state[i] & 0x8000_0000) | (state[(i + 1) % n] & 0x7FFF_FFFF)
            var v = y >> 1
            if y & 1 != 0 { v ^= 0x9908_B0DF }
            state[i] = state[(i + m) % n] ^ v
        }
        index = 0
    }
}
