import CXRImaging
import Foundation
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Ctrl-C (SIGINT), SIGTERM and SIGHUP during a run: kill helper process groups (classifier adapters), delete the
/// temporary files being written (if any), print one line and exit with 128 + the signal number (130 for Ctrl-C), as shells report it.
///
/// Outputs only ever appear through `AtomicFile` (temp file, fsync, link/rename), so an interrupted run leaves
/// either the complete output or nothing; this handler removes the temp file that would otherwise remain. The
/// handler uses async-signal-safe calls only (`unlink`, `write`, `_exit`) on memory prepared by `install()`.
enum Signals {
    /// Installs the handlers. Call once, first thing in `main`.
    static func install() {
        TempFileRegistry.prepare()
        ChildProcessRegistry.prepare()
        newlineFirst = isatty(2) != 0 ? 1 : 0
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            var action = sigaction()
            #if canImport(Glibc)
                action.__sigaction_handler.sa_handler = onSignal
            #else
                action.__sigaction_u.__sa_handler = onSignal
            #endif
            sigemptyset(&action.sa_mask)
            action.sa_flags = 0
            _ = sigaction(sig, &action, nil)
        }
    }

    /// What every abnormal end of a run does before its one error line (a signal here, a failed GEMM in
    /// `GEMMFailureExit`): kill helper process groups, remove the temporary files being written, and end an open
    /// progress line. Async-signal-safe, like the handler.
    static func abandonRun() {
        ChildProcessRegistry.killAll()  // first: an adapter must not be reading a file that is being removed
        TempFileRegistry.unlinkAll()
        if newlineFirst != 0 { say("\n") }
    }

    /// 1 when stderr is a terminal: a progress line may be open, so the message starts on a new line.
    nonisolated(unsafe) fileprivate static var newlineFirst: sig_atomic_t = 0
}

private let onSignal: @convention(c) (Int32) -> Void = { sig in
    Signals.abandonRun()
    switch sig {
    case SIGINT: say("cxr-edit: error: interrupted (SIGINT); temporary files removed\n")
    case SIGTERM: say("cxr-edit: error: terminated (SIGTERM); temporary files removed\n")
    default: say("cxr-edit: error: stopped by a signal; temporary files removed\n")
    }
    _exit(128 + sig)
}

/// write(2) of a static string: no allocation, no locks.
private func say(_ s: StaticString) {
    _ = write(2, s.utf8Start, s.utf8CodeUnitCount)
}
