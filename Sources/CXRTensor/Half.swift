/// Conversions from the 16-bit float formats that checkpoints store (IEEE binary16 and bfloat16).
public enum HalfConversion {
    /// IEEE 754 binary16 bits to Float (exact; handles subnormals, infinities, NaN).
    @inline(__always)
    public static func float(fromHalf h: UInt16) -> Float {
        Float(Float16(bitPattern: h))
    }

    /// bfloat16 bits to Float (exact: the upper 16 bits of a float32).
    @inline(__always)
    public static func float(fromBFloat16 b: UInt16) -> Float {
        Float(bitPattern: UInt32(b) << 16)
    }

    /// Float to IEEE binary16 bits, rounding to nearest even (as torch's `.half()`).
    @inline(__always)
    public static func half(from f: Float) -> UInt16 {
        Float16(f).bitPattern
    }
}
