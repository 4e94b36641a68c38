/// Single-precision log and sin/cos exactly as PyTorch's `avx_mathfun.h` (Cephes polynomials) computes them in
/// its AVX2 build, used by `torch.randn` for tensors of 16 or more values.
///
/// Why not libm: PyTorch's normal generator does not call libm, so `logf`/`cosf` would differ in the last bits.
/// The compiler that built PyTorch fuses each multiply that feeds an add into one fused multiply-add; every
/// `addingProduct` below stands for such a fused operation and every other operation rounds on its own.
enum CephesFloat {
    private static let twoPi = Float(2.0 * Double.pi)

    /// In-place Box-Muller over 16 uniforms in [0, 1): pairs (j, j+8), as `normal_fill_16_AVX2` (mean 0, std 1).
    @inline(__always)
    static func boxMuller16(_ p: UnsafeMutablePointer<Float>) {
        for j in 0..<8 {
            let u1: Float = 1 - p[j]
            let u2 = p[j + 8]
            let radius = (-2 * log(u1)).squareRoot()
            let (s, c) = sincos(twoPi * u2)
            // fmadd(n, std = 1, mean = 0): turns -0 into +0, everything else unchanged.
            p[j] = radius * c + 0
            p[j + 8] = radius * s + 0
        }
    }

    /// `log256_ps` for one lane; the argument is in (0, 1] here.
    @inline(__always)
    static func log(_ input: Float) -> Float {
        let minNormPos = Float(bitPattern: 0x0080_0000)
        var x = Swift.max(input, minNormPos)
        let bits = x.bitPattern
        var e = Float(Int32(bitPattern: bits >> 23) - 0x7F)
        x = Float(bitPattern: (bits & ~UInt32(0x7F80_0000)) | Float(0.5).bitPattern)
        e = e + 1
        let below = x < Float(0.707106781186547524)
        let tmp: Float = below ? x : 0
        x = x - 1
        e = e - (below ? 1 : 0)
        x = x + tmp

        let z = x * x
        var y = Float(7.0376836292e-2)
        y = Float(-1.1514610310e-1).addingProduct(y, x)
        y = Float(1.1676998740e-1).addingProduct(y, x)
        y = Float(-1.2420140846e-1).addingProduct(y, x)
        y = Float(1.4249322787e-1).addingProduct(y, x)
        y = Float(-1.6668057665e-1).addingProduct(y, x)
        y = Float(2.0000714765e-1).addingProduct(y, x)
        y = Float(-2.4999993993e-1).addingProduct(y, x)
        y = Float(3.3333331174e-1).addingProduct(y, x)
        y = y * x
        y = (e * Float(-2.12194440e-4)).addingProduct(y, z)
        y = y.addingProduct(-z, Float(0.5))
        x = x + y
        x = x.addingProduct(e, Float(0.693359375))
        return x
    }

    /// `sincos256_ps` for one lane: returns (sin, cos).
    @inline(__always)
    static func sincos(_ input: Float) -> (Float, Float) {
        var signSin = input.bitPattern & 0x8000_0000
        var x = Float(bitPattern: input.bitPattern & 0x7FFF_FFFF)
        let scaled = x * Float(1.27323954473516)
        // cvttps2dq: truncation toward zero; out-of-range inputs give INT_MIN like the instruction.
        var j: Int32 = scaled < 2_147_483_648 ? Int32(scaled) : Int32.min
        j = (j &+ 1) & ~1
        let y = Float(j)
        let swapSignSin = UInt32(bitPattern: j & 4) << 29
        let polyMask = (j & 2) == 0
        let signCos = UInt32(bitPattern: ~(j &- 2) & 4) << 29
        signSin ^= swapSignSin

        x = x.addingProduct(y, Float(-0.78515625))
        x = x.addingProduct(y, Float(-2.4187564849853515625e-4))
        x = x.addingProduct(y, Float(-3.77489497744594108e-8))

        let z = x * x
        var yc = Float(-1.388731625493765e-3).addingProduct(Float(2.443315711809948e-5), z)
        yc = Float(4.166664568298827e-2).addingProduct(yc, z)
        yc = yc * z
        yc = (-(z * 0.5)).addingProduct(yc, z)
        yc = yc + 1

        var ys = Float(8.3321608736e-3).addingProduct(Float(-1.9515295891e-4), z)
        ys = Float(-1.6666654611e-1).addingProduct(ys, z)
        ys = ys * z
        ys = x.addingProduct(ys, x)

        // The masked selection of the original, including its additions of +0.
        let ysin2: Float = polyMask ? ys : 0
        let ysin1: Float = polyMask ? 0 : yc
        let s = ysin1 + ysin2
        let c = (yc - ysin1) + (ys - ysin2)
        return (Float(bitPattern: s.bitPattern ^ signSin), Float(bitPattern: c.bitPattern ^ signCos))
    }
}
