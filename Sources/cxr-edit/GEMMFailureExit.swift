import CXRTensor
import Foundation
#if canImport(Glibc)
    import Glibc
#endif

/// The end of a run whose GEMM failed (`GEMMFailure`; oneDNN out of memory for its buffers): the cleanup of an
/// interrupted run (`Signals.abandonRun`: helper processes killed, temporary files removed, so no partial output
/// remains), then one error line and exit status 1.
///
/// It runs on whichever thread the GEMM failed on while other threads may still compute, so it ends the process
/// with `_exit`: exit handlers and destructors could wait for those threads. A second failing thread waits on the
/// lock until the first one has ended the process, so the error is printed once.
enum GEMMFailureExit {
    private static let once = NSLock()

    /// Makes this the handler of `GEMMFailure`. Call once, first thing in `main`.
    static func install() { GEMMFailure.handler = handler }

    private static let handler: (String) -> Never = { message in
        once.lock()
        Signals.abandonRun()
        FileHandle.standardError.write(Data("cxr-edit: error: \(message)\n".utf8))
        _exit(1)
    }
}
