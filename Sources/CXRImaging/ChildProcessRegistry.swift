import Foundation
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Process groups of helper processes running right now (external classifier adapters), kept in preallocated
/// memory so that a signal handler can kill them with async-signal-safe calls only (`kill`) before it exits.
///
/// Why: on SIGINT the CLI removed its temporary files and exited, but a `cmd:` adapter (and whatever it had
/// started) went on running. Each adapter is started as the leader of its own process group, so killing the
/// group reaches its children too. A full table leaves a group unregistered (it is then not killed on a signal).
public enum ChildProcessRegistry {
    /// Simultaneous helper processes tracked.
    public static let slotCount = 64

    nonisolated(unsafe) private static let groups: UnsafeMutablePointer<pid_t> = {
        let p = UnsafeMutablePointer<pid_t>.allocate(capacity: slotCount)
        p.initialize(repeating: 0, count: slotCount)
        return p
    }()
    private static let lock = NSLock()

    /// Initialises the table. Call before installing a signal handler that uses `killAll()`.
    public static func prepare() { _ = groups }

    /// Records the process group `pgid` (> 1); returns a token for `unregister`, nil when it could not be recorded.
    public static func register(processGroup pgid: pid_t) -> Int? {
        guard pgid > 1 else { return nil }
        lock.lock()
        defer { lock.unlock() }
        for slot in 0..<slotCount where groups[slot] == 0 {
            groups[slot] = pgid
            return slot
        }
        return nil
    }

    /// Forgets a group recorded by `register` (nil is ignored).
    public static func unregister(_ token: Int?) {
        guard let slot = token, slot >= 0, slot < slotCount else { return }
        lock.lock()
        groups[slot] = 0
        lock.unlock()
    }

    /// Sends SIGKILL to every recorded process group. Async-signal-safe: only `kill` on preallocated memory.
    public static func killAll() {
        for slot in 0..<slotCount where groups[slot] > 1 {
            _ = kill(-groups[slot], SIGKILL)
            groups[slot] = 0
        }
    }

    /// Groups currently recorded (for tests and diagnostics).
    public static var registeredGroups: [pid_t] {
        lock.lock()
        defer { lock.unlock() }
        return (0..<slotCount).map { groups[$0] }.filter { $0 > 1 }
    }
}
