import Foundation

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
        return String(
            format: "%@ %d/%d %@ | %.2f %@/min | ETA %@", label, alreadyDone + done, total, unit, ratePerMinute, unit,
            Self.duration(eta))
    }

    static func duration(_ s: Double) -> String {
        let t = Int(s.rounded())
        if t >= 3600 { return String(format: "%dh%02dm", t / 3600, (t % 3600) / 60) }
        if t >= 60 { return String(format: "%dm%02ds", t / 60, t % 60) }
        return "\(t)s"
    }
}
