import Foundation
import XCTest
#if canImport(Glibc)
    import Glibc
#endif

/// Runs the real `cxr-edit` binary and checks the contract every failure must keep: exit code 1 (2 for usage
/// errors), exactly one stderr line "cxr-edit: error: ..." naming the file or problem, and no new file (output or
/// temp) in the output folder.
enum CLI {
    /// The binary: $CXR_EDIT_BIN, else `cxr-edit` beside the test bundle (SwiftPM puts both in .build/<config>/).
    static let binary: URL? = {
        if let env = ProcessInfo.processInfo.environment["CXR_EDIT_BIN"], !env.isEmpty {
            return URL(fileURLWithPath: env)
        }
        var candidates = [
            Bundle(for: Token.self).bundleURL.deletingLastPathComponent(),
            Bundle.main.bundleURL, Bundle.main.bundleURL.deletingLastPathComponent(),
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
        ]
        // .build/<triple>/debug/cxr-editPackageTests.xctest/Contents/MacOS/... on Darwin.
        candidates.append(Bundle(for: Token.self).bundleURL.deletingLastPathComponent().deletingLastPathComponent())
        for dir in candidates {
            let url = dir.appendingPathComponent("cxr-edit")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return nil
    }()

    private final class Token {}

    static let testsDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    static let fixtures = testsDir.appendingPathComponent("Fixtures")
    static let bad = fixtures.appendingPathComponent("bad")
    static let sd1 = fixtures.appendingPathComponent("models/sd1-tiny")

    struct Result {
        let status: Int32
        /// True when the process died from a signal (`status` is then the signal number).
        let signaled: Bool
        let stdout: String
        let stderr: String
        var stderrLines: [String] { stderr.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) }
    }

    /// Runs the binary with a clean environment (no CXR_EDIT_MODEL, HOME in a temp folder so the model-hash cache
    /// never touches the real one) and a deadline; `environment` sets (or, with nil, removes) more variables.
    /// `onStart` gets the pid (for signal tests). `addressSpaceKiB` runs it under `ulimit -v` (through /bin/sh,
    /// which then execs the binary).
    @discardableResult
    static func run(
        _ args: [String], cwd: URL? = nil, timeout: TimeInterval = 300, addressSpaceKiB: Int? = nil,
        environment: [String: String?] = [:], onStart: ((Int32) -> Void)? = nil
    ) throws -> Result {
        guard let binary else { throw XCTSkip("cxr-edit binary not found beside the test bundle (set CXR_EDIT_BIN)") }
        let p = Process()
        if let kib = addressSpaceKiB {
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", "ulimit -v \(kib) && exec \"$0\" \"$@\"", binary.path] + args
        } else {
            p.executableURL = binary
            p.arguments = args
        }
        var env = ProcessInfo.processInfo.environment
        env["CXR_EDIT_MODEL"] = nil
        env["HOME"] = home.path
        env["SWIFT_BACKTRACE"] = "enable=no"  // a crash must show as a signal, not a minute of symbolication
        for (key, value) in environment { env[key] = value }
        p.environment = env
        if let cwd { p.currentDirectoryURL = cwd }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        onStart?(p.processIdentifier)
        // Drain both pipes concurrently so a chatty child cannot block on a full pipe.
        let outData = Drain(out.fileHandleForReading), errData = Drain(err.fileHandleForReading)
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { usleep(10_000) }
        if p.isRunning {
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            XCTFail("cxr-edit \(args.joined(separator: " ")) did not finish within \(Int(timeout)) s")
        }
        p.waitUntilExit()
        return Result(
            status: p.terminationStatus, signaled: p.terminationReason == .uncaughtSignal,
            stdout: String(decoding: outData.wait(), as: UTF8.self),
            stderr: String(decoding: errData.wait(), as: UTF8.self))
    }

    /// A private HOME for the child processes (model-hash cache).
    static let home: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("cxr-clitests-home-\(getpid())")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    /// A fresh empty folder, removed by the test's teardown.
    static func tempDir(_ test: XCTestCase, _ tag: String = "out") throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("cxr-clitests-\(getpid())-\(tag)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    /// A writable copy of sd1-tiny (configs copied, weights copied too: ~2.5 MB) to break one file in.
    static func modelCopy(_ test: XCTestCase) throws -> URL {
        let dir = try tempDir(test, "model")
        let dst = dir.appendingPathComponent("sd1-tiny")
        try FileManager.default.copyItem(at: sd1, to: dst)
        return dst
    }

    /// Files (including hidden temp files) in `dir`, sorted.
    static func listing(_ dir: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).sorted()
    }

    /// Asserts the failure contract. `matches` are substrings the error line must contain (case-insensitive).
    /// `dir` must hold exactly `before` afterwards (no output, no temp file).
    static func assertFails(
        _ r: Result, code: Int32 = 1, matches: [String], dir: URL? = nil, before: [String] = [],
        _ context: String, file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertFalse(
            r.signaled, "\(context): killed by signal \(r.status) (crash). stderr: \(r.stderr)", file: file, line: line)
        XCTAssertEqual(r.status, code, "\(context): exit code. stderr: \(r.stderr)", file: file, line: line)
        let lines = r.stderrLines
        XCTAssertEqual(
            lines.count, 1, "\(context): expected exactly one stderr line, got \(lines)", file: file, line: line)
        if let first = lines.first {
            XCTAssertTrue(first.hasPrefix("cxr-edit: error: "), "\(context): \(first)", file: file, line: line)
            for m in matches {
                XCTAssertTrue(
                    first.lowercased().contains(m.lowercased()), "\(context): '\(first)' does not mention '\(m)'",
                    file: file, line: line)
            }
        }
        XCTAssertEqual(r.stdout, "", "\(context): nothing on stdout on failure", file: file, line: line)
        if let dir {
            XCTAssertEqual(listing(dir), before, "\(context): the output folder changed", file: file, line: line)
        }
    }

    /// Usage errors (ArgumentParser): exit 2, a message that names the option, no output.
    static func assertUsageError(
        _ r: Result, mentions: String, dir: URL, _ context: String,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertFalse(r.signaled, "\(context): crashed", file: file, line: line)
        XCTAssertEqual(r.status, 2, "\(context): exit code. stderr: \(r.stderr)", file: file, line: line)
        XCTAssertTrue(r.stderr.contains(mentions), "\(context): \(r.stderr)", file: file, line: line)
        XCTAssertEqual(listing(dir), [], "\(context): output appeared", file: file, line: line)
    }
}

/// Reads a pipe to its end on a background thread (so a chatty child never blocks on a full pipe).
final class Drain: @unchecked Sendable {
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        DispatchQueue.global().async {
            self.data = handle.readDataToEndOfFile()
            self.done.signal()
        }
    }

    /// Everything read, once the writer closed the pipe.
    func wait() -> Data {
        done.wait()
        return data
    }
}

/// One entry of Tests/Fixtures/bad/manifest.json (written by Tools/make_bad_inputs.py).
struct BadCase: Decodable {
    let expect: String
    let match: [String]
    let note: String
    let target: String?
    let remove: String?

    static func all() throws -> [(String, BadCase)] {
        let data = try Data(contentsOf: CLI.bad.appendingPathComponent("manifest.json"))
        return try JSONDecoder().decode([String: BadCase].self, from: data).sorted { $0.key < $1.key }
    }
}
