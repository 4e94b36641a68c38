// cxr-kernel-bench: times cxr-edit's own conv2d, linear and attention kernels on given shapes, one command per
// line on stdin, so that a driver (Tools/bench/onednn/compare.py) can alternate it with another library's
// benchmark kept running beside it. A long-lived process instead of one per measurement: no start-up, weight
// packing or page faults of a fresh process are timed, as in a model that runs the same layers every step.
//
// Commands (one line each; the answer is one line, "ok" and the timed seconds, or "error ..."):
//   conv N C H W O K STRIDE PAD PRECISION REPS [INPUT_PREFIX OUTPUT_FILE]
//   linear M K N PRECISION REPS [INPUT_PREFIX OUTPUT_FILE]
//   attention B HEADS LQ LK D REPS [INPUT_PREFIX OUTPUT_FILE]
// PRECISION is fp32 or bf16 (attention times the fp32 kernel; the UNet's bf16 variant is timed by cxr-edit bench).
// Without files the operands are pseudo-random; with them, INPUT_PREFIX.{x,w,b}.bin (conv, linear) or .{q,k,v}.bin
// (attention) are read as raw little-endian float32 and the last output is written to OUTPUT_FILE, for accuracy
// checks. Each command
// runs once untimed (warm-up: bf16 weights are packed then, as on a model's first step) and REPS times timed.
import CXRTensor
import Foundation

/// Deterministic values in [-scale, scale) (xorshift), so both benchmarks can run on data of the same range
/// without exchanging files for the timed shapes.
func pseudoRandom(_ count: Int, seed: UInt64, scale: Float) -> [Float] {
    var s = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    return (0..<count).map { _ in
        s ^= s << 13
        s ^= s >> 7
        s ^= s << 17
        return (Float(s >> 40) / Float(1 << 24) * 2 - 1) * scale
    }
}

func readFloats(_ path: String, count: Int) throws -> [Float] {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    guard data.count == count * 4 else {
        throw BenchError("\(path): \(data.count) bytes, expected \(count * 4)")
    }
    return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// The operands: from files when given, else pseudo-random (weights scaled by 1/sqrt(fan-in) as a trained
/// layer's would be, so the outputs keep the inputs' range).
func operands(_ names: [String], counts: [Int], scales: [Float], prefix: String?) throws -> [[Float]] {
    try names.indices.map { i in
        if let prefix { return try readFloats("\(prefix).\(names[i]).bin", count: counts[i]) }
        return pseudoRandom(counts[i], seed: UInt64(i + 1), scale: scales[i])
    }
}

/// Runs `body` once untimed and `reps` times timed; the seconds of each timed run.
func timed(_ reps: Int, _ body: () -> Tensor) -> (seconds: [Double], last: Tensor) {
    var last = body()
    var seconds: [Double] = []
    for _ in 0..<reps {
        let t0 = DispatchTime.now().uptimeNanoseconds
        last = body()
        seconds.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
    }
    return (seconds, last)
}

func precision(_ s: String) throws -> GEMMPrecision {
    guard let p = GEMMPrecision(rawValue: s) else { throw BenchError("precision must be fp32 or bf16, got \(s)") }
    if p == .bf16 && !GEMMPrecision.bf16Available { throw BenchError("this CPU has no AVX512-BF16") }
    return p
}

func run(_ words: [String]) throws -> String {
    let ints = words.dropFirst().compactMap { Int($0) }
    func files(after n: Int) -> (String?, String?) {
        words.count >= n + 3 ? (words[n + 1], words[n + 2]) : (nil, nil)
    }
    let result: (seconds: [Double], last: Tensor), output: String?
    switch words.first {
    case "conv":
        guard words.count >= 11, ints.count >= 8 else { throw BenchError("conv N C H W O K STRIDE PAD PREC REPS") }
        let (n, c, h, w, o, k, stride, pad) = (ints[0], ints[1], ints[2], ints[3], ints[4], ints[5], ints[6], ints[7])
        let p = try precision(words[9])
        guard let reps = Int(words[10]) else { throw BenchError("REPS") }
        let (prefix, out) = files(after: 10)
        output = out
        let v = try operands(
            ["x", "w", "b"], counts: [n * c * h * w, o * c * k * k, o],
            scales: [1, 1 / Float(c * k * k).squareRoot(), 0.1], prefix: prefix)
        let x = Tensor(shape: [n, c, h, w], data: v[0])
        let weight = Weight(Tensor(shape: [o, c, k, k], data: v[1]))
        let bias = Tensor(shape: [o], data: v[2])
        result = timed(reps) {
            conv2d(x, weight: weight, bias: bias, stride: stride, padding: .same(pad), precision: p)
        }
    case "linear":
        guard words.count >= 6, ints.count >= 3 else { throw BenchError("linear M K N PREC REPS") }
        let (m, k, n) = (ints[0], ints[1], ints[2])
        let p = try precision(words[4])
        guard let reps = Int(words[5]) else { throw BenchError("REPS") }
        let (prefix, out) = files(after: 5)
        output = out
        let v = try operands(
            ["x", "w", "b"], counts: [m * k, n * k, n], scales: [1, 1 / Float(k).squareRoot(), 0.1], prefix: prefix)
        let x = Tensor(shape: [m, k], data: v[0])
        let weight = Weight(Tensor(shape: [n, k], data: v[1]))
        let bias = Tensor(shape: [n], data: v[2])
        result = timed(reps) { linear(x, weight: weight, bias: bias, precision: p) }
    case "attention":
        guard words.count >= 7, ints.count >= 6 else { throw BenchError("attention B HEADS LQ LK D REPS") }
        let (b, heads, lq, lk, d, reps) = (ints[0], ints[1], ints[2], ints[3], ints[4], ints[5])
        let (prefix, out) = files(after: 6)
        output = out
        let hd = heads * d
        let v = try operands(
            ["q", "k", "v"], counts: [b * lq * hd, b * lk * hd, b * lk * hd], scales: [1, 1, 1], prefix: prefix)
        let q = Tensor(shape: [b, lq, hd], data: v[0])
        let kt = Tensor(shape: [b, lk, hd], data: v[1])
        let vt = Tensor(shape: [b, lk, hd], data: v[2])
        result = timed(reps) { attention(q: q, k: kt, v: vt, heads: heads) }
    default:
        throw BenchError("unknown command '\(words.first ?? "")'")
    }
    if let output {
        let bytes = result.last.data.withUnsafeBytes { Data($0) }
        try bytes.write(to: URL(fileURLWithPath: output))
    }
    return "ok " + result.seconds.map { String(format: "%.6f", $0) }.joined(separator: " ")
}

let threads = Int(ProcessInfo.processInfo.environment["CXR_EDIT_THREADS"] ?? "") ?? 2
ComputeThreads.set(threads)
// The first line says which kernels run, so a results file records them.
print(
    "ready threads \(ComputeThreads.count) gemm-isa \(OneDNN.effectiveISA) bf16 \(GEMMPrecision.bf16Available)"
        + " attention \(AttentionSettings.kernel.available.rawValue)")
fflush(stdout)
while let line = readLine() {
    let words = line.split(separator: " ").map(String.init)
    if words.isEmpty { continue }
    if words == ["quit"] { break }
    do {
        print(try run(words))
    } catch {
        print("error \(error)")
    }
    fflush(stdout)
}
