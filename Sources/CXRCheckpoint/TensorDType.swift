import CXRTensor

/// Element types found in checkpoints. All are recognised (so `info` can report them); only the float types
/// convert to float32 through `tensor(_:)`.
public enum TensorDType: String, Sendable, CaseIterable {
    case f64 = "F64", f32 = "F32", f16 = "F16", bf16 = "BF16"
    case f8e4m3 = "F8_E4M3", f8e5m2 = "F8_E5M2"
    case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8"
    case u64 = "U64", u32 = "U32", u16 = "U16", u8 = "U8"
    case bool = "BOOL"

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .f64, .i64, .u64: return 8
        case .f32, .i32, .u32: return 4
        case .f16, .bf16, .i16, .u16: return 2
        case .f8e4m3, .f8e5m2, .i8, .u8, .bool: return 1
        }
    }

    /// Whether `tensor(_:)` can convert this type to float32.
    public var isConvertible: Bool {
        switch self {
        case .f64, .f32, .f16, .bf16: return true
        default: return false
        }
    }
}

/// Tight conversion loops from stored little-endian bytes to float32 (no per-element allocation; unaligned
/// sources allowed because hostile or hand-written files need not align their data).
enum FloatConversion {
    /// All 65536 binary16 values as float32: a table lookup beats per-element software conversion on x86
    /// without F16C, and is exact by construction.
    static let halfTable: [Float] = (0...0xFFFF).map { HalfConversion.float(fromHalf: UInt16($0)) }

    /// Converts `count` contiguous elements of `dtype` at `src` into `dst` (which holds `count` floats).
    static func convert(_ src: UnsafeRawPointer, dtype: TensorDType, count: Int, into dst: UnsafeMutablePointer<Float>)
    {
        switch dtype {
        case .f32:
            UnsafeMutableRawPointer(dst).copyMemory(from: src, byteCount: count * 4)
        case .f16:
            halfTable.withUnsafeBufferPointer { table in
                let t = table.baseAddress!
                for i in 0..<count {
                    dst[i] = t[Int(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))]
                }
            }
        case .bf16:
            for i in 0..<count {
                let b = src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)
                dst[i] = Float(bitPattern: UInt32(b) << 16)
            }
        case .f64:
            for i in 0..<count {
                dst[i] = Float(src.loadUnaligned(fromByteOffset: 8 * i, as: Double.self))
            }
        default:
            break
        }
    }

    /// One element of a float dtype at byte offset `off` (for strided gathers).
    @inline(__always)
    static func element(_ src: UnsafeRawPointer, dtype: TensorDType, offset off: Int) -> Float {
        switch dtype {
        case .f32: return src.loadUnaligned(fromByteOffset: off, as: Float.self)
        case .f16: return HalfConversion.float(fromHalf: src.loadUnaligned(fromByteOffset: off, as: UInt16.self))
        case .bf16:
            return Float(bitPattern: UInt32(src.loadUnaligned(fromByteOffset: off, as: UInt16.self)) << 16)
        case .f64: return Float(src.loadUnaligned(fromByteOffset: off, as: Double.self))
        default: return 0
        }
    }

    /// Float to bfloat16 bits, rounding to nearest even; NaN stays a quiet NaN (as torch's `.bfloat16()`).
    @inline(__always)
    static func bfloat16(from f: Float) -> UInt16 {
        if f.isNaN { return 0x7FC0 }
        let u = f.bitPattern
        let bias = ((u >> 16) & 1) &+ 0x7FFF
        return UInt16(truncatingIfNeeded: (u &+ bias) >> 16)
    }
}

/// Product of dimensions with overflow detection (hostile shapes must not trap).
func checkedElementCount(_ shape: [Int]) -> Int? {
    var n = 1
    for d in shape {
        guard d >= 0 else { return nil }
        let (m, o) = n.multipliedReportingOverflow(by: d)
        if o { return nil }
        n = m
    }
    return n
}
