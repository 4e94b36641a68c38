import Foundation

/// The few NumPy routines diffusers uses to lay out timesteps and sigmas, with NumPy's exact arithmetic
/// (float64, round-half-to-even), so that timesteps come out identical to the reference.
enum NumpyCompat {
    /// `np.linspace(start, stop, num)` (endpoint included): `i * step + start`, last value exactly `stop`.
    static func linspace(_ start: Double, _ stop: Double, _ num: Int) -> [Double] {
        if num <= 0 { return [] }
        if num == 1 { return [start] }
        let step = (stop - start) / Double(num - 1)
        var y = (0..<num).map { Double($0) * step + start }
        y[num - 1] = stop
        return y
    }

    /// `np.arange(start, stop, step)` for floats: length `ceil((stop - start) / step)`, values
    /// `start + i * ((start + step) - start)` as NumPy's fill computes them.
    static func arange(_ start: Double, _ stop: Double, _ step: Double) -> [Double] {
        let lengthD = ((stop - start) / step).rounded(.up)
        guard lengthD.isFinite, lengthD > 0 else { return [] }
        let length = Int(Swift.min(lengthD, 1e7))
        let delta = (start + step) - start
        return (0..<length).map { i in i == 0 ? start : start + Double(i) * delta }
    }

    /// `np.round`: halves go to the even neighbour.
    static func round(_ x: Double) -> Double { x.rounded(.toNearestOrEven) }

    /// `np.interp(x, arange(len(fp)), fp)` in float64.
    static func interp(_ x: Double, _ fp: [Float]) -> Double {
        let n = fp.count
        if n == 0 { return .nan }
        if x.isNaN { return x }
        if x <= 0 { return Double(fp[0]) }
        if x >= Double(n - 1) { return Double(fp[n - 1]) }
        let j = Int(x.rounded(.down))
        if Double(j) == x { return Double(fp[j]) }
        let slope = (Double(fp[j + 1]) - Double(fp[j])) / 1.0
        return slope * (x - Double(j)) + Double(fp[j])
    }

    /// diffusers' `_sigma_to_t`: the fractional training timestep whose log-sigma matches `sigma`
    /// (`logSigmas` are float32 as NumPy keeps them).
    static func sigmaToT(_ sigma: Double, _ logSigmas: [Float]) -> Double {
        let logSigma = Foundation.log(Swift.max(sigma, 1e-10))
        var low = 0
        for (i, ls) in logSigmas.enumerated() where logSigma - Double(ls) >= 0 { low = i }
        low = Swift.min(low, logSigmas.count - 2)
        let lowV = logSigmas[low], highV = logSigmas[low + 1]
        var w = (Double(lowV) - logSigma) / Double(lowV - highV)
        w = Swift.min(Swift.max(w, 0), 1)
        return (1 - w) * Double(low) + w * Double(low + 1)
    }

    /// diffusers' `_convert_to_karras`: rho = 7 spacing between sigmaMax and sigmaMin, in float64.
    static func karras(sigmaMin: Double, sigmaMax: Double, count: Int) -> [Double] {
        let rho = 7.0
        let minInv = Foundation.pow(sigmaMin, 1 / rho)
        let maxInv = Foundation.pow(sigmaMax, 1 / rho)
        return linspace(0, 1, count).map { Foundation.pow(maxInv + $0 * (minInv - maxInv), rho) }
    }

    /// float32 natural log / exp rounded from float64 (PyTorch's and NumPy's float32 kernels agree with this
    /// except for an occasional last-bit difference).
    static func logf(_ x: Float) -> Float { Float(Foundation.log(Double(x))) }
    static func expf(_ x: Float) -> Float { Float(Foundation.exp(Double(x))) }
}
