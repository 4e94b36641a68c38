#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Runs C-library work (libpng, libjpeg) on a dedicated thread so that a fatal library error can
/// be contained without `setjmp`/`longjmp`, which Swift cannot call.
///
/// libpng and libjpeg report fatal errors through a callback that must not return (the default
/// `error_exit` of libjpeg calls `exit()`, libpng aborts if its error function returns). Our
/// callbacks record the message and call `pthread_exit`, which ends only the worker thread: glibc
/// unwinds the C and Swift frames (none of which own resources — the work functions use only raw
/// pointers held in a heap-allocated job) and `pthread_join` returns to the caller, who then sees
/// that the job did not complete and frees the library state (`jpeg_destroy_decompress`,
/// `png_destroy_read_struct`), exactly as the libraries document for recovery after `longjmp`.
enum GuardedThread {
    /// Runs `body(context)` on a new thread with a 16 MiB stack and waits for it.
    /// Returns false if the thread could not be started.
    static func run(
        _ context: UnsafeMutableRawPointer,
        _ body: @escaping @convention(c) (UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer?
    ) -> Bool {
        var attr = pthread_attr_t()
        guard pthread_attr_init(&attr) == 0 else { return false }
        defer { pthread_attr_destroy(&attr) }
        _ = pthread_attr_setstacksize(&attr, 16 << 20)
        #if canImport(Glibc)
            var tid = pthread_t()
            guard pthread_create(&tid, &attr, body, context) == 0 else { return false }
            return pthread_join(tid, nil) == 0
        #else
            var tid: pthread_t?
            guard pthread_create(&tid, &attr, body, context) == 0, let t = tid else { return false }
            return pthread_join(t, nil) == 0
        #endif
    }

    /// Ends the current (worker) thread. Called only from library error callbacks.
    static func bail() -> Never {
        pthread_exit(nil)
    }
}

/// A fixed buffer for a C error message, filled on the worker thread and read by the caller.
struct CMessage {
    static let capacity = 256
    let buffer: UnsafeMutablePointer<CChar>

    init() {
        buffer = .allocate(capacity: CMessage.capacity)
        buffer.initialize(repeating: 0, count: CMessage.capacity)
    }

    func deallocate() { buffer.deallocate() }

    /// Copies a C string (truncated) without allocating Swift objects.
    func set(_ text: UnsafePointer<CChar>?) {
        guard let text else { return }
        var i = 0
        while i < CMessage.capacity - 1 {
            let c = text[i]
            if c == 0 { break }
            buffer[i] = c
            i += 1
        }
        buffer[i] = 0
    }

    var isEmpty: Bool { buffer[0] == 0 }

    var string: String { String(cString: buffer) }
}
