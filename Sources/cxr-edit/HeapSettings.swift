#if canImport(Glibc)
    import Glibc
#endif

/// glibc heap settings for a process that allocates and frees tensors of the same large sizes over and over.
///
/// Why: glibc serves large blocks with fresh mmaps and returns freed memory at the top of the heap to the kernel
/// beyond a 128 KiB margin, so layer after layer the next output tensor is faulted in and zeroed by the kernel page by
/// page again (51 000 page faults in a 256 px edit). Serving blocks up to 32 MiB (glibc's maximum) from the heap and
/// keeping up to 256 MiB of freed memory there for reuse removes 14 000 of them (5% of the edit's fixed cost) at the
/// same peak memory: what a layer frees, the next one takes.
enum HeapSettings {
    /// mallopt's parameters (glibc's malloc.h, which the Glibc module does not import).
    private static let trimThreshold: Int32 = -1, mmapThreshold: Int32 = -3

    static func apply() {
        #if os(Linux)
            typealias MallOpt = @convention(c) (Int32, Int32) -> Int32
            // RTLD_DEFAULT (a null handle): the symbol as the process resolves it, i.e. glibc's.
            guard let symbol = dlsym(nil, "mallopt") else { return }
            let mallopt = unsafeBitCast(symbol, to: MallOpt.self)
            _ = mallopt(mmapThreshold, 32 << 20)
            _ = mallopt(trimThreshold, 256 << 20)
        #endif
    }
}
