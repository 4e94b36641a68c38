import Foundation
import XCTest

@testable import CXRTensor

/// Thread-specific keys and the conditions of preconditions in release builds.
///
/// Release builds use `-Ounchecked`, which drops a precondition's (and an assert's) condition, calls included. The
/// buffer pool's and the parallel loops' keys were created inside such a condition, so release builds never created
/// them: both read key 0, and the VAE decode ran on one thread. The tests run in debug, where the keys exist either
/// way, so the first test reads the sources for the pattern itself.
final class ThreadSpecificKeyTests: XCTestCase {
    private static let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Sources")

    /// The text of each `precondition(`/`assert(` call up to its matching parenthesis.
    private func checkedConditions(in text: String) -> [String] {
        var found: [String] = []
        for keyword in ["precondition(", "assert("] {
            var searchStart = text.startIndex
            while let range = text.range(of: keyword, range: searchStart..<text.endIndex) {
                var depth = 1
                var end = range.upperBound
                while end < text.endIndex, depth > 0 {
                    if text[end] == "(" { depth += 1 } else if text[end] == ")" { depth -= 1 }
                    end = text.index(after: end)
                }
                found.append(String(text[range.lowerBound..<end]))
                searchStart = end
            }
        }
        return found
    }

    func testNoPreconditionConditionPassesAnInoutArgument() throws {
        let files = FileManager.default.enumerator(at: Self.sources, includingPropertiesForKeys: nil)!
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" }
        XCTAssertGreaterThan(files.count, 50, "the sources were found")
        // An argument `&name` is a call that writes: work a -Ounchecked build would skip.
        let inoutArgument = try NSRegularExpression(pattern: "[(,]\\s*&[A-Za-z_]")
        var offenders: [String] = []
        for file in files {
            // Code only: a comment may quote the pattern it warns about.
            let text = try String(contentsOf: file, encoding: .utf8).split(
                separator: "\n", omittingEmptySubsequences: false
            )
            .map { line in line.range(of: "//").map { String(line[..<$0.lowerBound]) } ?? String(line) }
            .joined(separator: "\n")
            for condition in checkedConditions(in: text)
            where inoutArgument.firstMatch(in: condition, range: NSRange(condition.startIndex..., in: condition)) != nil
            {
                offenders.append("\(file.lastPathComponent): \(condition)")
            }
        }
        XCTAssertEqual(offenders, [], "release builds (-Ounchecked) drop these calls")
        // The scan sees the pattern it looks for.
        XCTAssertEqual(checkedConditions(in: "precondition(f(&k, g(1)) == 0, \"x\") + 1").count, 1)
        let sample = checkedConditions(in: "precondition(f(&k, g(1)) == 0, \"x\")")[0]
        XCTAssertNotNil(inoutArgument.firstMatch(in: sample, range: NSRange(sample.startIndex..., in: sample)))
    }

    func testKeysAreDistinctAndStartEmpty() {
        let a = makeThreadSpecificKey(), b = makeThreadSpecificKey()
        XCTAssertNotEqual(a, b)
        XCTAssertNil(pthread_getspecific(a))
        pthread_setspecific(a, UnsafeRawPointer(bitPattern: 1))
        XCTAssertNil(pthread_getspecific(b), "a value under one key is not seen under another")
        pthread_setspecific(a, nil)
    }

    func testALoopInsideABufferPoolScopeIsNotTakenForANestedLoop() {
        TensorBufferPool.withScope { _ in
            XCTAssertFalse(Parallel.isInsideLoop, "the pool's scope must not mark the thread as inside a loop")
        }
    }
}
