import CXRTensor
import Foundation

/// A weight provider that makes up every parameter on request (shape from the network's own config) and
/// remembers it for writing: matrices and kernels N(0, 1/fan_in), norm scales 1, biases 0, embeddings N(0, 0.02²)
/// (the scales keep activations O(1) through the network, so the benchmark computes on ordinary numbers).
public final class RandomWeights: WeightProvider {
    /// The parameters made so far, in the order the network asked for them.
    public private(set) var entries: [(name: String, tensor: Tensor)] = []
    public let seed: UInt64

    public init(seed: UInt64) { self.seed = seed }

    public var parameterNames: [String] { [] }
    public var parameterCount: Int { entries.reduce(0) { $0 + $1.tensor.count } }

    public func parameter(_ name: String) throws -> Tensor { throw ModelError.missingWeight(name) }

    public func parameter(_ name: String, expectedShape shape: [Int]) throws -> Tensor {
        let t = make(name, shape)
        entries.append((name, t))
        return t
    }

    public func weight(_ name: String, expectedShape shape: [Int]) throws -> Weight {
        Weight(try parameter(name, expectedShape: shape))
    }

    private func make(_ name: String, _ shape: [Int]) -> Tensor {
        let n = shape.reduce(1, *)
        if shape.count == 1 {
            return Tensor(repeating: name.hasSuffix(".weight") ? 1 : 0, shape: shape)
        }
        let std: Float = name.contains("embedding") ? 0.02 : 1 / Float(shape.dropFirst().reduce(1, *)).squareRoot()
        let stream = seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(entries.count + 1) &* 0xD1B5_4A32_D192_ED03
        var data = [Float](repeating: 0, count: n)
        data.withUnsafeMutableBufferPointer { p in
            nonisolated(unsafe) let p = p
            // Fixed-size blocks, each from its own counter: the values do not depend on the thread count.
            let block = 1 << 16
            Parallel.for((n + block - 1) / block) { b in
                let lo = b * block, hi = min(n, lo + block)
                var i = lo
                while i < hi {
                    let (z0, z1) = GaussianPair.make(stream, UInt64(i))
                    p[i] = z0 * std
                    if i + 1 < hi { p[i + 1] = z1 * std }
                    i += 2
                }
            }
        }
        return Tensor(shape: shape, data: data)
    }
}

/// Two standard normal values from a counter (splitmix64 hash, Box-Muller): fast and reproducible.
private enum GaussianPair {
    @inline(__always)
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    @inline(__always)
    static func make(_ stream: UInt64, _ i: UInt64) -> (Float, Float) {
        let r = mix(stream ^ (i &* 0x2545_F491_4F6C_DD1D))
        let u1 = (Float(r >> 40) + 0.5) * (1 / Float(1 << 24))
        let u2 = Float((r >> 16) & 0xFF_FFFF) * (1 / Float(1 << 24))
        let rad = (-2 * logf(u1)).squareRoot()
        let a = 2 * Float.pi * u2
        return (rad * cosf(a), rad * sinf(a))
    }
}
