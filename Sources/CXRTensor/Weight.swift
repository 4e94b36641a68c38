import CVectorKernels
import Foundation

/// A model parameter as the checkpoint stores it: float32, or IEEE fp16 / bfloat16 kept at 2 bytes per value
/// and widened to float32 right before the GEMM that uses it.
///
/// Why: an SD 1.5 UNet is 860M parameters, 3.4 GB as float32 but 1.7 GB as fp16; widening one layer at a time
/// into a reused scratch buffer costs well under 1% of the GEMM it feeds (each weight value is used for
/// thousands of multiply-adds per step), and the widened values are exactly the stored ones, so results are
/// bit-identical to converting everything at load time.
public struct Weight: @unchecked Sendable {
    /// Element type of the stored values.
    public enum Format: String, Sendable { case f32, f16, bf16 }

    public let shape: [Int]
    public let format: Format
    /// float32 values (format f32).
    let floats: [Float]
    /// 16-bit values (f16 / bf16): a buffer we own or a read-only view into a memory-mapped checkpoint.
    let halves: HalfStorage?
    /// Copies made from the values for faster arithmetic (bf16 packed operands), shared by copies of this value.
    private(set) var derived = DerivedValues()

    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }

    /// Bytes held in memory for the values.
    public var byteCount: Int { format == .f32 ? count * 4 : count * 2 }

    /// A float32 weight (no conversion on use).
    public init(_ t: Tensor) {
        shape = t.shape
        format = .f32
        floats = t.data
        halves = nil
    }

    /// A 16-bit weight from its raw bits (copied).
    public init(shape: [Int], bits: [UInt16], format: Format) {
        precondition(format != .f32 && shape.reduce(1, *) == bits.count, "Weight: \(shape) vs \(bits.count) values")
        self.shape = shape
        self.format = format
        floats = []
        halves = HalfStorage(copying: bits)
    }

    /// A 16-bit weight viewing `count` values at `base`, valid as long as `owner` lives (e.g. the object that
    /// holds a read-only file mapping). No copy: the values stay in the page cache, shared with the file.
    public init(shape: [Int], viewing base: UnsafePointer<UInt16>, format: Format, owner: AnyObject) {
        precondition(format != .f32)
        self.shape = shape
        self.format = format
        floats = []
        halves = HalfStorage(viewing: base, count: shape.reduce(1, *), owner: owner)
    }

    /// The same values under another shape with the same element count.
    public func reshaped(_ newShape: [Int]) -> Weight {
        precondition(newShape.reduce(1, *) == count, "Weight.reshaped: \(shape) -> \(newShape)")
        var w = Weight(shape: newShape, format: format, floats: floats, halves: halves)
        w.derived = DerivedValues(keeps: derived.keeps)
        return w
    }

    /// The same values, with their derived copies (bf16 packed operands) made afresh on every use instead of kept:
    /// for a network that uses each weight once or twice per run, where keeping them would only hold memory.
    /// Results are the same either way.
    public func derivingOnEveryUse() -> Weight {
        var w = self
        w.derived = DerivedValues(keeps: false)
        return w
    }

    /// Whether derived copies are kept with the weight (see `derivingOnEveryUse()`).
    public var keepsDerivedValues: Bool { derived.keeps }

    private init(shape: [Int], format: Format, floats: [Float], halves: HalfStorage?) {
        self.shape = shape; self.format = format; self.floats = floats; self.halves = halves
    }

    /// The values as a float32 tensor (a copy for 16-bit formats).
    public var tensor: Tensor {
        if format == .f32 { return Tensor(shape: shape, data: floats) }
        let n = count
        let data = [Float](unsafeUninitializedCapacity: n) { buf, done in
            if n > 0 { widen(into: buf.baseAddress!, from: 0, count: n) }
            done = n
        }
        return Tensor(shape: shape, data: data)
    }

    /// Releases the stored 16-bit values' pages from memory when they view a read-only file mapping, after a
    /// derived copy (bf16 packed) has replaced them for every use: without this a bf16 run would hold each
    /// weight twice (the mapped fp16 pages and the packed bf16), 1.7 GB more for an SD 1.5 UNet. The values stay
    /// readable (the pages are read back from the file on access).
    func releaseStoredPages() { halves?.releaseResidentPages() }

    /// Widens values [from, from+count) into `dst`.
    public func widen(into dst: UnsafeMutablePointer<Float>, from: Int, count n: Int) {
        switch format {
        case .f32:
            floats.withUnsafeBufferPointer { dst.update(from: $0.baseAddress! + from, count: n) }
        case .f16:
            HalfWidening.halfToFloat(halves!.base + from, dst, count: n)
        case .bf16:
            HalfWidening.bfloat16ToFloat(halves!.base + from, dst, count: n)
        }
    }

    /// Calls `body` with all values as float32: the stored array itself for f32, otherwise the widened values, kept
    /// with the weight while they fit `DerivedFloats.budget` and else widened into a scratch buffer (reused across
    /// calls). The pointer is valid only inside `body`.
    public func withFloats<R>(_ body: (UnsafePointer<Float>) throws -> R) rethrows -> R {
        if format == .f32 {
            return try floats.withUnsafeBufferPointer { try body($0.baseAddress!) }
        }
        if let widened = derived.floats("f32", count: count, fill: widenAll) { return try body(widened.base) }
        return try withFloatsOnce(body)
    }

    /// `withFloats` without keeping a widened copy (16-bit values are widened into a scratch buffer), for values about
    /// to be turned into what is kept instead (a bf16 packed copy, made while `derived` is locked).
    func withFloatsOnce<R>(_ body: (UnsafePointer<Float>) throws -> R) rethrows -> R {
        if format == .f32 {
            return try floats.withUnsafeBufferPointer { try body($0.baseAddress!) }
        }
        let buf = ScratchPool.shared.take(count)
        defer { ScratchPool.shared.give(buf) }
        widenAll(into: buf.base)
        return try body(buf.base)
    }

    /// All values widened into `p` (16-bit formats).
    private func widenAll(into p: UnsafeMutablePointer<Float>) {
        let src = halves!.base
        let fmt = format
        nonisolated(unsafe) let dst = p
        Parallel.ranges(count, minChunk: 1 << 18) { lo, hi in
            if fmt == .f16 {
                HalfWidening.halfToFloat(src + lo, dst + lo, count: hi - lo)
            } else {
                HalfWidening.bfloat16ToFloat(src + lo, dst + lo, count: hi - lo)
            }
        }
    }
}

/// 16-bit storage: owned (allocated, freed in deinit) or a view kept alive by its owner.
final class HalfStorage: @unchecked Sendable {
    let base: UnsafePointer<UInt16>
    let count: Int
    private let owner: AnyObject?
    private let owned: UnsafeMutablePointer<UInt16>?

    init(copying bits: [UInt16]) {
        let p = UnsafeMutablePointer<UInt16>.allocate(capacity: max(1, bits.count))
        bits.withUnsafeBufferPointer { if let b = $0.baseAddress { p.update(from: b, count: bits.count) } }
        base = UnsafePointer(p)
        count = bits.count
        owned = p
        owner = nil
    }

    init(viewing base: UnsafePointer<UInt16>, count: Int, owner: AnyObject) {
        self.base = base
        self.count = count
        self.owner = owner
        owned = nil
    }

    deinit { owned?.deallocate() }

    /// Drops the whole pages of a view into a read-only file mapping from resident memory (MADV_DONTNEED); a no-op
    /// for owned buffers and other owners. Edge pages shared with neighbouring tensors are kept.
    func releaseResidentPages() {
        #if os(Linux)
            guard owner is ReadOnlyFileMapping, count > 0 else { return }
            let page = Int(sysconf(Int32(_SC_PAGESIZE)))
            let start = Int(bitPattern: base), end = start + count * 2
            let lo = (start + page - 1) / page * page, hi = end / page * page
            if hi > lo, let p = UnsafeMutableRawPointer(bitPattern: lo) { _ = madvise(p, hi - lo, MADV_DONTNEED) }
        #endif
    }
}

/// float32 scratch buffers reused across layers and steps, so widening weights allocates nothing per call.
public final class ScratchPool: @unchecked Sendable {
    public static let shared = ScratchPool()

    public final class Buffer: @unchecked Sendable {
        public let base: UnsafeMutablePointer<Float>
        public let capacity: Int
        init(_ n: Int) {
            capacity = n
            base = .allocate(capacity: n)
        }
        deinit { base.deallocate() }
    }

    private let lock = NSLock()
    private var free: [Buffer] = []

    /// A buffer of at least `n` floats (contents undefined). Give it back with `give`.
    public func take(_ n: Int) -> Buffer {
        lock.lock()
        defer { lock.unlock() }
        if let i = free.indices.filter({ free[$0].capacity >= n }).min(by: { free[$0].capacity < free[$1].capacity }) {
            return free.remove(at: i)
        }
        // Grow: drop the largest too-small buffer so the pool does not accumulate many sizes.
        if let i = free.indices.max(by: { free[$0].capacity < free[$1].capacity }) { free.remove(at: i) }
        return Buffer(max(n, 1))
    }

    public func give(_ b: Buffer) {
        lock.lock()
        free.append(b)
        if free.count > 8 { free.removeFirst() }
        lock.unlock()
    }

    /// Frees every cached buffer.
    public func drain() {
        lock.lock()
        free.removeAll()
        lock.unlock()
    }
}

/// Branch-free fp16/bf16 -> float32 widening, 8 lanes at a time (exact for all inputs: normals, subnormals,
/// zeros, infinities and NaN), portable SIMD so it needs no F16C instructions.
public enum HalfWidening {
    /// fp16 values widened to float32: by `cxr_half_to_float` where the vector kernels run, else below (the same
    /// bits, NaN payloads included).
    public static func halfToFloat(_ src: UnsafePointer<UInt16>, _ dst: UnsafeMutablePointer<Float>, count n: Int) {
        if VectorKernels.enabled {
            cxr_half_to_float(src, dst, n)
            return
        }
        portableHalfToFloat(src, dst, count: n)
    }

    static func portableHalfToFloat(_ src: UnsafePointer<UInt16>, _ dst: UnsafeMutablePointer<Float>, count n: Int) {
        var i = 0
        let magic = SIMD8<Float>(repeating: Float(bitPattern: 0x7780_0000))  // 2^112
        let infIn = SIMD8<UInt32>(repeating: 0x7C00)
        while i + 8 <= n {
            let raw = UnsafeRawPointer(src + i).loadUnaligned(as: SIMD8<UInt16>.self)
            let h = SIMD8<UInt32>(truncatingIfNeeded: raw)
            let sign = (h & 0x8000) &<< 16
            let mag = h & 0x7FFF
            // Exponent/mantissa moved into float position and rescaled by 2^112 (handles subnormals exactly).
            var f = Float32Bits.fromBits(mag &<< 13) * magic
            // Inf/NaN: force the float exponent to all ones.
            let isInfNaN = (h & infIn) .== infIn
            let special = Float32Bits.fromBits((mag &<< 13) | 0x7F80_0000)
            f.replace(with: special, where: isInfNaN)
            let bits = Float32Bits.toBits(f) | sign
            UnsafeMutableRawPointer(dst + i).storeBytes(of: Float32Bits.fromBits(bits), as: SIMD8<Float>.self)
            i += 8
        }
        while i < n {
            dst[i] = Float(Float16(bitPattern: src[i]))
            i += 1
        }
    }

    public static func bfloat16ToFloat(_ src: UnsafePointer<UInt16>, _ dst: UnsafeMutablePointer<Float>, count n: Int) {
        var i = 0
        while i + 8 <= n {
            let raw = UnsafeRawPointer(src + i).loadUnaligned(as: SIMD8<UInt16>.self)
            let bits = SIMD8<UInt32>(truncatingIfNeeded: raw) &<< 16
            UnsafeMutableRawPointer(dst + i).storeBytes(of: Float32Bits.fromBits(bits), as: SIMD8<Float>.self)
            i += 8
        }
        while i < n {
            dst[i] = Float(bitPattern: UInt32(src[i]) << 16)
            i += 1
        }
    }
}

/// Reinterpretation between SIMD8<UInt32> and SIMD8<Float>.
enum Float32Bits {
    @inline(__always)
    static func fromBits(_ b: SIMD8<UInt32>) -> SIMD8<Float> { unsafeBitCast(b, to: SIMD8<Float>.self) }
    @inline(__always)
    static func toBits(_ f: SIMD8<Float>) -> SIMD8<UInt32> { unsafeBitCast(f, to: SIMD8<UInt32>.self) }
}
