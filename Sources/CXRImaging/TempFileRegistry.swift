import Foundation
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The temporary files being written at this moment, kept in preallocated C memory so that a signal handler
/// (SIGINT/SIGTERM in the CLI) can delete them with async-signal-safe calls only (`unlink`) before it exits.
///
/// `AtomicFile` registers its temp file for exactly as long as the file exists; other writers of temp files (e.g. a
/// temporary folder of PNGs for an external classifier: register the folder and each file) may do the same. Registration takes a lock; the signal-side `unlinkAll()` reads only plain memory and never locks
/// or allocates. A path longer than `pathCapacity` or a full table simply goes unregistered (the file is then not
/// cleaned up on a signal, but everything else still works).
public enum TempFileRegistry {
    /// Simultaneous temp files tracked (the CLI writes one at a time; the probe runner a few).
    public static let slotCount = 64
    /// Bytes per path including the terminating NUL.
    public static let pathCapacity = 4096

    nonisolated(unsafe) private static let paths: UnsafeMutablePointer<CChar> = {
        let p = UnsafeMutablePointer<CChar>.allocate(capacity: slotCount * pathCapacity)
        p.initialize(repeating: 0, count: slotCount * pathCapacity)
        return p
    }()
    nonisolated(unsafe) private static let used: UnsafeMutablePointer<sig_atomic_t> = {
        let p = UnsafeMutablePointer<sig_atomic_t>.allocate(capacity: slotCount)
        p.initialize(repeating: 0, count: slotCount)
        return p
    }()
    private static let lock = NSLock()

    /// Initialises the tables. Call before installing a signal handler that uses `unlinkAll()`, so that the
    /// handler never runs a lazy initialiser.
    public static func prepare() {
        _ = paths
        _ = used
    }

    /// Records `path`; returns a token for `unregister`, nil when it could not be recorded.
    public static func register(_ path: String) -> Int? {
        let bytes = Array(path.utf8)
        guard !bytes.isEmpty, bytes.count < pathCapacity, !bytes.contains(0) else { return nil }
        lock.lock()
        defer { lock.unlock() }
        for slot in 0..<slotCount where used[slot] == 0 {
            let dst = paths + slot * pathCapacity
            for (i, b) in bytes.enumerated() { dst[i] = CChar(bitPattern: b) }
            dst[bytes.count] = 0
            used[slot] = 1  // published only after the path is complete
            return slot
        }
        return nil
    }

    /// Forgets a path recorded by `register` (nil is ignored).
    public static func unregister(_ token: Int?) {
        guard let slot = token, slot >= 0, slot < slotCount else { return }
        lock.lock()
        used[slot] = 0
        lock.unlock()
    }

    /// Deletes every recorded file, then every recorded directory that is empty by then (so a temporary folder and
    /// the files in it can both be registered, in any order). Async-signal-safe (only `unlink`/`rmdir` on
    /// preallocated memory): meant for signal handlers that then end the process with `_exit`.
    public static func unlinkAll() {
        for slot in 0..<slotCount where used[slot] != 0 {
            if unlink(paths + slot * pathCapacity) == 0 || errno == ENOENT { used[slot] = 0 }
        }
        for slot in 0..<slotCount where used[slot] != 0 {
            _ = rmdir(paths + slot * pathCapacity)
            used[slot] = 0
        }
    }

    /// Paths currently recorded (for tests and diagnostics).
    public static var registeredPaths: [String] {
        lock.lock()
        defer { lock.unlock() }
        return (0..<slotCount).filter { used[$0] != 0 }.map { String(cString: paths + $0 * pathCapacity) }
    }
}
