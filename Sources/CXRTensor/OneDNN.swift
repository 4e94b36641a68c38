import CDNNL

/// What the loaded oneDNN says about itself: the library that runs every fp32 GEMM (`sgemm`).
public enum OneDNN {
    /// "2.6.3" (and the git hash where the build recorded one).
    public static var version: String {
        guard let v = dnnl_version()?.pointee else { return "?" }
        let hash = v.hash.map { String(cString: $0) } ?? ""
        let number = "\(v.major).\(v.minor).\(v.patch)"
        return hash.isEmpty || hash == "N/A" ? number : "\(number) (\(hash))"
    }

    /// The threading runtime it was built with ("OpenMP" for Debian's; `cxr_dnnl_sgemm` limits it to one thread).
    public static var runtime: String {
        guard let v = dnnl_version()?.pointee, let name = dnnl_runtime2str(v.cpu_runtime) else { return "?" }
        return String(cString: name)
    }

    /// The instruction set its kernels are generated for on this CPU, within any `ONEDNN_MAX_CPU_ISA` limit, as
    /// oneDNN names it without its "cpu_isa_" prefix ("avx512_core_bf16").
    public static var effectiveISA: String {
        let name = dnnl_cpu_isa2str(dnnl_get_effective_cpu_isa()).map { String(cString: $0) } ?? ""
        return name.hasPrefix("cpu_isa_") ? String(name.dropFirst("cpu_isa_".count)) : name
    }

    /// Generates oneDNN's sgemm kernels now, with one small product: oneDNN generates all of them on first use,
    /// and a generation that cannot get memory crashes inside oneDNN (a null kernel called; seen under
    /// `ulimit -v`) instead of returning an error. Called before the work, while the process is small (~25 ms,
    /// which the first GEMM would take otherwise).
    public static func prepareKernels() {
        let a = [Float](repeating: 0, count: 16 * 16), b = a
        var c = a
        c.withUnsafeMutableBufferPointer { cp in
            sgemm(m: 16, n: 16, k: 16, a: a, lda: 16, b: b, ldb: 16, c: cp.baseAddress!, ldc: 16)
        }
    }

    /// The OpenMP threads a oneDNN parallel region started on this thread would use: 1 once an `sgemm` ran here,
    /// nil where oneDNN is not built with OpenMP.
    public static var openMPThreadsOfThisThread: Int? {
        let n = cxr_dnnl_openmp_max_threads()
        return n < 0 ? nil : Int(n)
    }
}
