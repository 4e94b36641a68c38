import Foundation
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An exclusive `flock` on RUN_DIR/.lock, held for the life of the object: two processes writing one run
/// directory would interleave and duplicate rows, so the second one stops with one line instead. The kernel
/// drops the lock when the process dies (SIGKILL included), so a crashed run never leaves a stale lock.
public final class RunLock {
    private var fd: Int32

    public init(directory: URL) throws {
        let path = directory.appendingPathComponent(".lock").path
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw ProbeError("\(directory.path): cannot create the lock file: \(String(cString: strerror(errno)))")
        }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let busy = errno == EWOULDBLOCK
            close(fd); fd = -1
            throw busy
                ? ProbeError(.runDirectoryBusy(path: directory.path))
                : ProbeError("\(directory.path): cannot lock the run directory: \(String(cString: strerror(errno)))")
        }
        // Who holds it, for people looking at the folder.
        let note = "pid \(getpid())\n"
        _ = ftruncate(fd, 0)
        _ = note.withCString { write(fd, $0, strlen($0)) }
    }

    deinit { if fd >= 0 { flock(fd, LOCK_UN); close(fd) } }
}
