import Foundation
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Lines read from a file descriptor on a background thread, handed out with a deadline.
///
/// Why a thread: Foundation's `Process` gives pipes but no way to read them with a timeout; a blocking reader
/// thread plus a condition variable lets `next(deadline:)` give up on a hung child without blocking the caller.
final class LineChannel: @unchecked Sendable {
    enum Event: Equatable { case line(String), eof, timeout, overlong }

    /// A line longer than this is treated as garbage (protects memory against a runaway child).
    static let maxLineBytes = 64 << 20

    private let condition = NSCondition()
    private var lines: [String] = []
    private var eof = false
    private var overlong = false

    /// Starts reading `fd` until EOF; `onLine`, if set, sees every line first (and the line is not queued when it
    /// returns false).
    init(fd: Int32, onLine: (@Sendable (String) -> Bool)? = nil) {
        let thread = Thread { [self] in
            var pending = [UInt8]()
            var buf = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, 65536) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                pending.append(contentsOf: buf[0..<n])
                while let nl = pending.firstIndex(of: 10) {
                    var lineBytes = Array(pending[..<nl])
                    if lineBytes.last == 13 { lineBytes.removeLast() }
                    pending.removeSubrange(...nl)
                    let line = String(decoding: lineBytes, as: UTF8.self)
                    if let onLine, !onLine(line) { continue }
                    push(line)
                }
                if pending.count > LineChannel.maxLineBytes {
                    condition.lock(); overlong = true; condition.broadcast(); condition.unlock()
                    pending.removeAll()
                }
            }
            if !pending.isEmpty {
                let line = String(decoding: pending, as: UTF8.self)
                if onLine?(line) ?? true { push(line) }
            }
            condition.lock(); eof = true; condition.broadcast(); condition.unlock()
        }
        thread.stackSize = 1 << 20
        thread.start()
    }

    private func push(_ line: String) {
        condition.lock()
        lines.append(line)
        condition.broadcast()
        condition.unlock()
    }

    /// The next line, or `.eof` once the writer closed and all lines were taken, or `.timeout` at `deadline`.
    func next(deadline: Date) -> Event {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if overlong { return .overlong }
            if !lines.isEmpty { return .line(lines.removeFirst()) }
            if eof { return .eof }
            if !condition.wait(until: deadline) {
                if !lines.isEmpty { return .line(lines.removeFirst()) }
                return eof ? .eof : .timeout
            }
        }
    }

    /// Waits (up to `deadline`) until the writer has closed the stream.
    func waitForEOF(deadline: Date) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while !eof { if !condition.wait(until: deadline) { return eof } }
        return true
    }
}
