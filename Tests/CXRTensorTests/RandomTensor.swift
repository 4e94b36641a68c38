import CXRTensor

/// Deterministic pseudo-random values in [-scale, scale) in the given shape: a 64-bit linear congruential generator
/// (Knuth's MMIX constants), so every kernel test draws the same inputs on every machine and run.
func randomTensor(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
    var s = seed &* 6364136223846793005 &+ 1442695040888963407
    let data = (0..<shape.reduce(1, *)).map { _ -> Float in
        s = s &* 6364136223846793005 &+ 1442695040888963407
        return scale * (Float(Int64(bitPattern: s >> 11) % 2_000_000) / 1_000_000 - 1)
    }
    return Tensor(shape: shape, data: data)
}
