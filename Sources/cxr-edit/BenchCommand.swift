import ArgumentParser
import CXRModels
import CXRPipelines
import CXRTensor
import CXRRuns
import Foundation
#if canImport(Glibc)
    import Glibc
#endif

/// `cxr-edit bench --model DIR`: times the pieces of an edit (one guided UNet evaluation, VAE encode and decode,
/// text encoding) and the machine's sgemm peak with the same threads, so speed can be compared with PyTorch and
/// stable-diffusion.cpp on the same machine (Tools/bench/side_by_side.py runs them together).
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Benchmark a model: UNet step with guidance (batch 2), VAE encode/decode, text encoding, peak memory, GFLOP/s.",
        discussion:
            "Each figure is the median of --steps timed runs after one warm-up run. Inputs are random; outputs are discarded."
    )

    @OptionGroup var modelOptions: ModelOptions

    @Option(name: .long, help: "Image size in pixels (square; latents are size/8).")
    var size: Int = 512

    @Option(name: .long, help: "Timed runs per component (after one warm-up).")
    var steps: Int = 3

    @Option(name: .long, help: "Comma-separated parts to time: text,unet,vae-encode,vae-decode,sgemm (default: all).")
    var only: String = "text,unet,vae-encode,vae-decode,sgemm"

    @Flag(
        name: .long,
        help:
            "Print one JSON object (keys unet_step_s, vae_encode_s, vae_decode_s, text_encode_s, peak_rss_mb, unet_gflops, sgemm_gflops, ...)."
    )
    var json = false

    /// Option values are usage errors (ValidationError: message, usage line, exit 2); a CLIError thrown here was
    /// printed as a raw `CommandError(...)` dump with exit 1.
    func validate() throws {
        do {
            try modelOptions.check()
        } catch let error as CLIError {
            throw ValidationError(error.description)
        }
        guard size >= 64, size <= 4096, size % 64 == 0 else {
            throw ValidationError("--size must be a multiple of 64 in 64...4096, got \(size)")
        }
        guard steps >= 1, steps <= 100 else { throw ValidationError("--steps must be between 1 and 100, got \(steps)") }
        let known: Set<String> = ["text", "unet", "vae-encode", "vae-decode", "sgemm"]
        for p in parts where !known.contains(p) {
            throw ValidationError("--only: unknown part '\(p)' (known: \(known.sorted().joined(separator: ",")))")
        }
    }

    var parts: [String] { only.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }

    func run() throws {
        modelOptions.applyThreads()
        let want = Set(parts)
        let url = try modelOptions.modelURL()
        let precision = try modelOptions.gemmPrecision()
        let tiling = try modelOptions.vaeTilingMode()
        var report = BenchJSON(
            model: url.path, size: size, steps: steps, threads: ComputeThreads.count, precision: precision.rawValue,
            vaeTiling: tiling.rawValue, machine: .current)
        func note(_ s: String) { if !json { FileHandle.standardError.write(Data("\(s)\n".utf8)) } }
        // Figures from different kernels are not comparable: say which CPU and which GEMM kernels ran.
        MachineReport.lines.forEach(note)

        let t0 = Date()
        let model = try StableDiffusionModel.load(from: url, precision: precision, vaeTiling: tiling)
        // The UNet is built on first use; building it belongs to the load time, not to the first timed step.
        if want.contains("unet") { _ = try model.unet }
        report.loadSeconds = Date().timeIntervalSince(t0)
        note(String(format: "loaded in %.2f s", Date().timeIntervalSince(t0)))

        /// Median of `steps` runs after one warm-up, and the median process CPU time (on a loaded machine wall time
        /// includes waiting for the cores, CPU time much less so).
        func time(_ label: String, _ body: () throws -> Void) rethrows -> (seconds: Double, cpu: Double) {
            try body()
            var ts = [Double]()
            var cs = [Double]()
            for _ in 0..<steps {
                let s = Date(), c0 = processCPUSeconds()
                try body()
                ts.append(Date().timeIntervalSince(s))
                cs.append(processCPUSeconds() - c0)
            }
            cs.sort()
            ts.sort()
            let m = ts.count % 2 == 1 ? ts[ts.count / 2] : (ts[ts.count / 2 - 1] + ts[ts.count / 2]) / 2
            note(
                String(
                    format: "%@: %.3f s (runs %@)", label, m,
                    ts.map { String(format: "%.3f", $0) }.joined(separator: ", ")))
            if Profiler.enabled {
                note("kernel profile of \(label), all \(steps + 1) runs (CXR_EDIT_PROFILE=1):\n\(Profiler.report())")
            }
            return (m, cs[cs.count / 2])
        }

        var rng = BenchRandom(seed: 1)
        let ids = [
            model.tokenizer.encode("").ids,
            model.tokenizer.encode("Large right pleural effusion. Heart size is normal.").ids,
        ]
        var context = try model.textEncoder(ids)
        if want.contains("text") {
            (report.textEncodeSeconds, report.textEncodeCPUSeconds) = try time("text encode (2 x 77 tokens)") {
                context = try model.textEncoder(ids)
            }
        }
        let f = model.vae.config.downscale, lh = size / f
        let lc = model.unetConfig.inChannels
        if want.contains("unet") {
            let unet = try model.unet
            let sample = rng.tensor([2, lc, lh, lh])
            let (s, cpu) = time("unet step (batch 2, \(lh)x\(lh) latents)") {
                _ = unet(sample, timesteps: [500], context: context)
            }
            let flops = unet.config.flops(
                batch: 2, latentHeight: lh, latentWidth: lh, contextTokens: context.dim(1))
            report.unetStepSeconds = s
            report.unetStepCPUSeconds = cpu
            report.unetGFLOP = flops / 1e9
            report.unetGFLOPS = flops / s / 1e9
            note(String(format: "unet: %.1f GFLOP per step, %.1f GFLOP/s", flops / 1e9, flops / s / 1e9))
        }
        if want.contains("vae-encode") {
            let image = rng.tensor([1, model.vae.config.inChannels, size, size], scale: 0.5)
            (report.vaeEncodeSeconds, report.vaeEncodeCPUSeconds) = time("vae encode (\(size)x\(size))") {
                _ = model.vae.encode(image)
            }
        }
        if want.contains("vae-decode") {
            let z = rng.tensor([1, model.vae.config.latentChannels, lh, lh])
            (report.vaeDecodeSeconds, report.vaeDecodeCPUSeconds) = time("vae decode (\(size)x\(size))") {
                _ = model.vae.decode(z)
            }
        }
        if want.contains("sgemm") {
            let g = SgemmPeak.measure(n: 4096, runs: max(2, min(steps, 3)))
            report.sgemmGFLOPS = g
            if let u = report.unetGFLOPS { report.unetPeakFraction = u / g }
            note(String(format: "sgemm 4096^3 with %d threads: %.1f GFLOP/s", ComputeThreads.count, g))
        }
        report.loadAverage = PeakMemory.loadAverage()
        report.peakRSSMB = PeakMemory.residentMB()
        note(String(format: "peak resident memory: %.0f MB", PeakMemory.residentMB()))
        if json {
            print(try StableJSON.string(report, escapingSlashes: true))
        } else {
            for (k, v) in report.settings { print("\(k) \(v)") }
            for (k, v) in report.summary {
                if let v { print(String(format: "%@ %.3f", k, v)) }
            }
        }
    }
}

/// The machine's practical fp32 GEMM peak: `gemm` (oneDNN's sgemm split among the threads, as the models run it)
/// on n x n matrices with the current thread budget.
enum SgemmPeak {
    static func measure(n: Int, runs: Int) -> Double {
        var rng = BenchRandom(seed: 2)
        let a = rng.tensor([n, n]).data, b = rng.tensor([n, n]).data
        var c = [Float](repeating: 0, count: n * n)
        var best = 0.0
        for r in 0...runs {
            let s = Date()
            a.withUnsafeBufferPointer { ap in
                b.withUnsafeBufferPointer { bp in
                    c.withUnsafeMutableBufferPointer { cp in
                        gemm(
                            .fp32, m: n, n: n, k: n, a: .floats(ap.baseAddress!, ld: n, transposed: false),
                            b: .floats(bp.baseAddress!, ld: n, transposed: false), c: cp.baseAddress!, ldc: n)
                    }
                }
            }
            let g = 2 * pow(Double(n), 3) / Date().timeIntervalSince(s) / 1e9
            if r > 0 { best = max(best, g) }  // run 0 is the warm-up
        }
        return best
    }
}

/// CPU seconds used by this process so far (all threads).
func processCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Peak resident set size of this process (Linux: VmHWM; elsewhere getrusage).
enum PeakMemory {
    /// The 1-minute load average (other work on the machine), or -1 if unknown.
    static func loadAverage() -> Double {
        var l = [Double](repeating: 0, count: 3)
        return getloadavg(&l, 3) > 0 ? l[0] : -1
    }

    static func residentMB() -> Double {
        if let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) {
            for line in s.split(separator: "\n") where line.hasPrefix("VmHWM:") {
                let kb = line.split(separator: " ").compactMap { Double($0) }.first ?? 0
                return kb / 1024
            }
        }
        var u = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &u)
        return Double(u.ru_maxrss) / 1024
    }
}

/// Uniform random inputs for the benchmark (values do not matter, only that they are ordinary numbers).
struct BenchRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }
    mutating func next() -> Float {
        state ^= state << 13; state ^= state >> 7; state ^= state << 17
        return Float(state >> 40) / Float(1 << 24) * 2 - 1
    }
    mutating func tensor(_ shape: [Int], scale: Float = 1) -> Tensor {
        let n = shape.reduce(1, *)
        var d = [Float](repeating: 0, count: n)
        for i in 0..<n { d[i] = next() * scale }
        return Tensor(shape: shape, data: d)
    }
}
