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
        guard fd >= 0 else { throw ProbeError("\(directory.path): cannot create the lock file: \(String(cString: strerror(errno)))") }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let busy = errno == EWOULDBLOCK
            close(fd); fd = -1
            throw ProbeError(busy ? "\(directory.path): another cxr-edit process is writing this run directory (use a different --out, or --shard I/N with one directory per shard)"
                                  : "\(directory.path): cannot lock the run directory: \(String(cString: strerror(errno)))")
        }
        // Who holds it, for people looking at the folder.
        let note = "pid \(getpid())\n"
        _ = ftruncate(fd, 0)
        _ = note.withCString { write(fd, $0, strlen($0)) }
    }

    deinit { if fd >= 0 { flock(fd, LOCK_UN); close(fd) } }
}

/// A disjoint, deterministic slice of a job list: item `k` (in the study's canonical order) belongs to shard
/// `k mod count`. Shards are numbered from 0, so `--shard $SLURM_ARRAY_TASK_ID/N` with `--array=0-(N-1)`.
public struct Shard: Sendable, Equatable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    public static let all = Shard(uncheckedIndex: 0, count: 1)

    init(uncheckedIndex: Int, count: Int) { index = uncheckedIndex; self.count = count }

    /// Parses "I/N" (0 <= I < N <= 100000).
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]), n >= 1, n <= 100_000, i >= 0, i < n else {
            throw ProbeError("--shard must be I/N with 0 <= I < N <= 100000 (shards count from 0, like SLURM_ARRAY_TASK_ID), got '\(text)'")
        }
        index = i; count = n
    }

    public func contains(_ position: Int) -> Bool { position % count == index }

    public var description: String { "\(index)/\(count)" }
}

/// "done/total | rate | ETA" on stderr, at most once a second plus the last line.
public final class RunProgress {
    let total: Int
    let label: String
    let unit: String
    let enabled: Bool
    let start = Date()
    var last = Date.distantPast
    public private(set) var done = 0
    let alreadyDone: Int

    public init(label: String, unit: String, total: Int, alreadyDone: Int, enabled: Bool) {
        self.label = label; self.unit = unit; self.total = total; self.alreadyDone = alreadyDone; self.enabled = enabled
    }

    /// One more item finished in this process.
    public func tick(note: String = "") {
        done += 1
        let now = Date()
        guard enabled, now.timeIntervalSince(last) >= 1 || alreadyDone + done == total else { return }
        last = now
        FileHandle.standardError.write(Data((line(now: now) + (note.isEmpty ? "" : " | \(note)") + "\n").utf8))
    }

    public var elapsed: Double { Date().timeIntervalSince(start) }
    /// Items per minute in this process.
    public var ratePerMinute: Double { done == 0 ? 0 : Double(done) / max(elapsed, 1e-9) * 60 }

    func line(now: Date) -> String {
        let remaining = total - alreadyDone - done
        let eta = ratePerMinute > 0 ? Double(remaining) / ratePerMinute * 60 : 0
        return String(format: "%@ %d/%d %@ | %.2f %@/min | ETA %@", label, alreadyDone + done, total, unit, ratePerMinute, unit,
                      Self.duration(eta))
    }

    static func duration(_ s: Double) -> String {
        let t = Int(s.rounded())
        if t >= 3600 { return String(format: "%dh%02dm", t / 3600, (t % 3600) / 60) }
        if t >= 60 { return String(format: "%dm%02ds", t / 60, t % 60) }
        return "\(t)s"
    }
}
