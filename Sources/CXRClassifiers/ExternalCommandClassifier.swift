import CXRCheckpoint
import CXRFiles
import CXRImaging
import Foundation
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A classifier in another process (how users plug in their own PyTorch model), speaking JSON lines on
/// stdin/stdout. The protocol is documented in docs/classifiers.md:
///
///   child → us, once at start:  {"protocol": "cxr-edit-classifier/1", "labels": ["Effusion", ...]}
///   us → child, per request:    {"id": 1, "images": ["/abs/path/a.png", ...]}
///   child → us, per request:    {"id": 1, "predictions": [{"Effusion": 0.12, ...}, ...]}
///                          or:  {"id": 1, "error": "what went wrong"}
///
/// The command is started once and kept for all requests (model loading is slow). Each request has a timeout;
/// a child that hangs is killed. Anything unusable — the process dying, a non-JSON line on stdout, a wrong id,
/// a missing label, a probability outside [0, 1] — becomes a one-line `ClassifierError` naming the command, and
/// the classifier stays failed (later calls rethrow the same error) so a run stops cleanly. The child's stderr
/// is passed through to ours (or appended to `stderrLog`); its last line is quoted in errors.
public final class ExternalCommandClassifier: Classifier, @unchecked Sendable {
    public let name: String
    public let command: [String]
    public let labels: [String]
    /// Seconds allowed per request.
    public let timeout: TimeInterval

    private let process: Process
    private var groupToken: Int?
    private let stdinFD: Int32
    private let stdout: LineChannel
    private let stderrTail: StderrTail
    private let stderrChannel: LineChannel
    private var nextID = 1
    private var failure: ClassifierError?
    private var closed = false
    private let lock = NSLock()

    /// Starts `command` (looked up on PATH through /usr/bin/env) and reads its hello line.
    /// - Parameters:
    ///   - name: shown in results and errors; default "cmd:<script or program name>".
    ///   - timeout: seconds per request (default 120).
    ///   - startupTimeout: seconds allowed for the hello line (model loading; default 300).
    ///   - stderrLog: append the child's stderr here instead of passing it through to ours.
    public init(
        command: [String], name: String? = nil, timeout: TimeInterval = 120, startupTimeout: TimeInterval = 300,
        stderrLog: URL? = nil
    ) throws {
        guard let first = command.first, !first.isEmpty else { throw ClassifierError("classifier command is empty") }
        self.command = command
        self.name = name ?? ExternalCommandClassifier.defaultName(command)
        self.timeout = timeout
        let who = ExternalCommandClassifier.describe(self.name, command)
        signal(SIGPIPE, SIG_IGN)  // a dead child must give EPIPE on write, not kill us

        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = command
        let inPipe = Pipe(), outPipe = Pipe(), errPipe = Pipe()
        p.standardInput = inPipe
        p.standardOutput = outPipe
        p.standardError = errPipe
        let tail = try StderrTail(log: stderrLog)
        do { try p.run() } catch {
            throw ClassifierError("classifier \(who): cannot start: \(ExternalCommandClassifier.oneLine("\(error)"))")
        }
        process = p
        // Foundation starts the child as the leader of its own process group; recording the group lets a
        // SIGINT/SIGTERM handler kill the adapter and everything it started.
        groupToken = ChildProcessRegistry.register(processGroup: p.processIdentifier)
        stdinFD = inPipe.fileHandleForWriting.fileDescriptor
        let out = LineChannel(fd: outPipe.fileHandleForReading.fileDescriptor)
        stdout = out
        stderrTail = tail
        let errChannel = LineChannel(fd: errPipe.fileHandleForReading.fileDescriptor) { line in
            tail.add(line); return false
        }
        stderrChannel = errChannel
        // Keep the read ends alive as long as the readers run; close our copies of the child's ends.
        ExternalCommandClassifier.retainLock.lock()
        ExternalCommandClassifier.retained.append([inPipe, outPipe, errPipe])
        ExternalCommandClassifier.retainLock.unlock()
        try? outPipe.fileHandleForWriting.close()
        try? errPipe.fileHandleForWriting.close()
        try? inPipe.fileHandleForReading.close()

        // Hello line.
        let hello: JSONValue
        switch out.next(deadline: Date(timeIntervalSinceNow: startupTimeout)) {
        case .line(let line):
            guard let v = try? JSONValue(data: Data(line.utf8), source: "hello"), v.object != nil else {
                ExternalCommandClassifier.kill(p)
                throw ClassifierError(
                    "classifier \(who): printed non-JSON on stdout instead of its hello line: \(ExternalCommandClassifier.quote(line)) (adapters must log to stderr)"
                )
            }
            hello = v
        case .eof, .overlong:
            let status = ExternalCommandClassifier.exitStatus(p)
            ExternalCommandClassifier.kill(p)
            _ = errChannel.waitForEOF(deadline: Date(timeIntervalSinceNow: 1))
            throw ClassifierError("classifier \(who): \(status) before its hello line\(tail.suffix)")
        case .timeout:
            ExternalCommandClassifier.kill(p)
            throw ClassifierError(
                "classifier \(who): no hello line within \(Int(startupTimeout)) s; process killed\(tail.suffix)")
        }
        if let proto = hello["protocol"]?.string, !proto.hasPrefix("cxr-edit-classifier/1") {
            ExternalCommandClassifier.kill(p)
            throw ClassifierError(
                "classifier \(who): speaks protocol \(ExternalCommandClassifier.quote(proto)), expected cxr-edit-classifier/1"
            )
        }
        guard let labels = hello["labels"]?.stringArray, !labels.isEmpty, Set(labels).count == labels.count,
            !labels.contains("")
        else {
            ExternalCommandClassifier.kill(p)
            throw ClassifierError(
                "classifier \(who): hello line needs \"labels\": a non-empty list of distinct label names")
        }
        self.labels = labels
    }

    deinit { close() }

    /// Pipes must outlive their reader threads; kept here (a few file handles per adapter started).
    nonisolated(unsafe) private static var retained: [[Pipe]] = []
    private static let retainLock = NSLock()

    /// Scores images: writes them as temporary PNGs, sends one request, removes the files.
    public func predict(_ images: [RasterImage]) throws -> [[String: Double]] {
        if images.isEmpty { return [] }
        return try TemporaryPNGs.with(images) { urls in try predict(paths: urls) }
    }

    /// Scores image files already on disk (absolute paths are sent).
    public func predict(paths: [URL]) throws -> [[String: Double]] {
        lock.lock()
        defer { lock.unlock() }
        if let failure { throw failure }
        if closed { throw ClassifierError("classifier \(who): already closed") }
        if paths.isEmpty { return [] }
        do {
            return try request(paths.map { $0.standardizedFileURL.path })
        } catch let e as ClassifierError {
            failure = e
            ExternalCommandClassifier.kill(process)
            throw e
        }
    }

    /// Closes the child's stdin (its signal to exit), waits up to 5 s, then kills it. Idempotent.
    public func close() {
        lock.lock()
        defer { lock.unlock() }
        if closed { return }
        closed = true
        posixClose(stdinFD)
        if process.isRunning, !stdout.waitForEOF(deadline: Date(timeIntervalSinceNow: 5)) || process.isRunning {
            let end = Date(timeIntervalSinceNow: 2)
            while process.isRunning && Date() < end { usleep(10_000) }
        }
        ExternalCommandClassifier.kill(process)
        ChildProcessRegistry.unregister(groupToken)
        groupToken = nil
    }

    private var who: String { ExternalCommandClassifier.describe(name, command) }

    private func request(_ paths: [String]) throws -> [[String: Double]] {
        let id = nextID
        nextID += 1
        let images = paths.map { JSONValue.quoted($0) }.joined(separator: ", ")
        let line = "{\"id\": \(id), \"images\": [" + images + "]}\n"
        if !writeAll(Array(line.utf8)) {
            _ = stderrChannel.waitForEOF(deadline: Date(timeIntervalSinceNow: 1))
            throw ClassifierError(
                "classifier \(who): \(ExternalCommandClassifier.exitStatus(process)) (could not send request \(id))\(stderrTail.suffix)"
            )
        }
        let reply: JSONValue
        switch stdout.next(deadline: Date(timeIntervalSinceNow: timeout)) {
        case .line(let text):
            guard let v = try? JSONValue(data: Data(text.utf8), source: "reply"), v.object != nil else {
                throw ClassifierError(
                    "classifier \(who): printed non-JSON on stdout: \(ExternalCommandClassifier.quote(text)) (adapters must log to stderr)"
                )
            }
            reply = v
        case .overlong:
            throw ClassifierError(
                "classifier \(who): printed a line over \(LineChannel.maxLineBytes >> 20) MB on stdout")
        case .eof:
            let status = ExternalCommandClassifier.exitStatus(process)
            _ = stderrChannel.waitForEOF(deadline: Date(timeIntervalSinceNow: 1))
            throw ClassifierError("classifier \(who): \(status) while answering request \(id)\(stderrTail.suffix)")
        case .timeout:
            ExternalCommandClassifier.kill(process)
            throw ClassifierError(
                "classifier \(who): no answer to request \(id) within \(ExternalCommandClassifier.seconds(timeout)); process killed\(stderrTail.suffix)"
            )
        }
        guard let rid = reply["id"]?.int, rid == id else {
            throw ClassifierError(
                "classifier \(who): answered id \(reply["id"].map { $0.serialized(pretty: false) } ?? "none") to request \(id)"
            )
        }
        if let err = reply["error"] {
            throw ClassifierError(
                "classifier \(who): reported an error for request \(id): \(ExternalCommandClassifier.oneLine(err.string ?? err.serialized(pretty: false)))"
            )
        }
        guard let preds = reply["predictions"]?.array else {
            throw ClassifierError("classifier \(who): reply to request \(id) has no \"predictions\" list")
        }
        guard preds.count == paths.count else {
            throw ClassifierError("classifier \(who): returned \(preds.count) predictions for \(paths.count) images")
        }
        return try preds.enumerated().map { i, p in
            guard let obj = p.object else {
                throw ClassifierError("classifier \(who): prediction \(i) of request \(id) is not an object")
            }
            var d: [String: Double] = [:]
            for label in labels {
                guard let value = obj[label] else {
                    throw ClassifierError(
                        "classifier \(who): prediction \(i) of request \(id) lacks label \(ExternalCommandClassifier.quote(label))"
                    )
                }
                guard let x = value.double, x.isFinite, x >= 0, x <= 1 else {
                    throw ClassifierError(
                        "classifier \(who): label \(ExternalCommandClassifier.quote(label)) = \(value.serialized(pretty: false)) in prediction \(i) of request \(id) is not a probability in [0, 1]"
                    )
                }
                d[label] = x
            }
            return d
        }
    }

    private func writeAll(_ bytes: [UInt8]) -> Bool {
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { write(stdinFD, $0.baseAddress! + off, bytes.count - off) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            off += n
        }
        return true
    }

    // MARK: helpers

    static func defaultName(_ command: [String]) -> String {
        let script = command.dropFirst().first { $0.hasSuffix(".py") || $0.hasSuffix(".sh") } ?? command[0]
        let base = URL(fileURLWithPath: script).deletingPathExtension().lastPathComponent
        return "cmd:" + (base.isEmpty ? "command" : base)
    }

    static func describe(_ name: String, _ command: [String]) -> String {
        var c = command.joined(separator: " ")
        if c.count > 160 { c = String(c.prefix(157)) + "..." }
        return "\(name) (\(oneLine(c)))"
    }

    static func oneLine(_ s: String) -> String {
        s.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
    }

    static func quote(_ s: String) -> String {
        var t = oneLine(s)
        if t.count > 120 { t = String(t.prefix(117)) + "..." }
        return "'\(t)'"
    }

    static func seconds(_ t: TimeInterval) -> String {
        t == t.rounded() ? "\(Int(t)) s" : String(format: "%.1f s", t)
    }

    /// "exited with status N" / "was killed by signal N" / "closed its stdout", waiting up to 2 s for the exit.
    static func exitStatus(_ p: Process) -> String {
        let end = Date(timeIntervalSinceNow: 2)
        while p.isRunning && Date() < end { usleep(5_000) }
        if p.isRunning { return "closed its stdout" }
        switch p.terminationReason {
        case .exit: return "exited with status \(p.terminationStatus)"
        case .uncaughtSignal: return "was killed by signal \(p.terminationStatus)"
        @unknown default: return "exited"
        }
    }

    /// SIGTERM, then SIGKILL after 1 s if it is still running; then SIGKILL to what is left of its process group
    /// (processes the adapter started, which would otherwise outlive it).
    static func kill(_ p: Process) {
        defer {
            // Only a group of its own: never our group (Foundation makes the child a group leader on Linux).
            if p.processIdentifier > 1 && getpgid(p.processIdentifier) != getpgrp() {
                posixKill(-p.processIdentifier, SIGKILL)
            }
        }
        guard p.isRunning else { return }
        p.terminate()
        let end = Date(timeIntervalSinceNow: 1)
        while p.isRunning && Date() < end { usleep(5_000) }
        if p.isRunning { posixKill(p.processIdentifier, SIGKILL) }
        let end2 = Date(timeIntervalSinceNow: 2)
        while p.isRunning && Date() < end2 { usleep(5_000) }
    }
}

private func posixClose(_ fd: Int32) { _ = close(fd) }
private func posixKill(_ pid: Int32, _ sig: Int32) { _ = kill(pid, sig) }

/// Forwards the child's stderr (to ours or to a log file) and remembers its last non-empty line for errors.
final class StderrTail: @unchecked Sendable {
    private let lock = NSLock()
    private var last = ""
    private let handle: FileHandle?

    /// `limit` overrides the bytes passed on (tests).
    init(log: URL?, limit: Int? = nil) throws {
        self.limit = limit ?? (log == nil ? Self.maxForwardedBytes : Self.maxLogBytes)
        if let log {
            if !FileManager.default.fileExists(atPath: log.path) {
                guard FileManager.default.createFile(atPath: log.path, contents: nil) else {
                    throw ClassifierError("\(log.path): cannot create the classifier stderr log")
                }
            }
            guard let h = FileHandle(forWritingAtPath: log.path) else {
                throw ClassifierError("\(log.path): cannot open the classifier stderr log")
            }
            h.seekToEndOfFile()
            handle = h
        } else {
            handle = nil
        }
    }

    /// Most bytes passed on per adapter: an adapter flooding its stderr (1 GB in testing) must not flood ours or
    /// fill the disk through the log; what follows is dropped after one notice line.
    static let maxForwardedBytes = 1 << 20
    static let maxLogBytes = 256 << 20
    /// Longest line passed on (longer ones are cut; the remembered last line too).
    static let maxLineCharacters = 4096
    private var forwarded = 0
    private let limit: Int

    func add(_ line: String) {
        let cut = line.count > Self.maxLineCharacters ? String(line.prefix(Self.maxLineCharacters)) + " …" : line
        let data = Data((cut + "\n").utf8)
        lock.lock()
        defer { lock.unlock() }
        if forwarded + data.count <= limit {
            if let handle { handle.write(data) } else { FileHandle.standardError.write(data) }
            forwarded += data.count
        } else if forwarded <= limit {
            let notice = Data("[cxr-edit: the classifier's stderr passed \(limit) bytes; the rest is not shown]\n".utf8)
            if let handle { handle.write(notice) } else { FileHandle.standardError.write(notice) }
            forwarded = limit + 1
        }
        let t = cut.trimmingCharacters(in: .whitespaces)
        if !t.isEmpty { last = t }
    }

    /// "; last stderr line: '...'" or "".
    var suffix: String {
        lock.lock()
        defer { lock.unlock() }
        return last.isEmpty ? "" : "; last stderr line: \(ExternalCommandClassifier.quote(last))"
    }
}
