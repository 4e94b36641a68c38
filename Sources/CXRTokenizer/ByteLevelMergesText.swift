/// A byte-level reader for `merges.txt` files whose every character stands alone: ASCII from space to `~`, line
/// feeds, and the byte-level alphabet's non-ASCII letters (U+00A1...U+017F but U+00AD), which is what CLIP's and
/// GPT-2's merge lists hold. Splitting such a file's bytes at `\n` and ` ` gives exactly the pieces that splitting the
/// `String` does, because no two of these characters join into one grapheme cluster (no `\r\n`, no combining marks);
/// it skips the grapheme breaking that made `TokenizerFiles.parseMerges` ~40% of the tokenizer's construction.
///
/// Files with any other character, and malformed lines (whose error names the line), give nil: the caller parses
/// them as `String`s, as before.
enum ByteLevelMergesText {
    /// The merges of `text` as `TokenizerFiles.parseMerges` gives them, or nil when `text` is not in this form.
    static func parse(_ text: String) -> [(String, String)]? {
        var text = text
        return text.withUTF8 { parse(bytes: $0) }
    }

    private static func parse(bytes: UnsafeBufferPointer<UInt8>) -> [(String, String)]? {
        guard isSingleScalarClusters(bytes) else { return nil }
        var merges = [(String, String)]()
        merges.reserveCapacity(bytes.count / 8)
        let version = Array("#version".utf8)
        var lineStart = 0
        while lineStart <= bytes.count {
            var lineEnd = lineStart
            while lineEnd < bytes.count, bytes[lineEnd] != 0x0A { lineEnd += 1 }
            defer { lineStart = lineEnd + 1 }
            let line = UnsafeBufferPointer(rebasing: bytes[lineStart..<lineEnd])
            if line.isEmpty || line.starts(with: version) { continue }
            guard let space = line.firstIndex(of: 0x20), space > line.startIndex, space < line.endIndex - 1,
                !line[(space + 1)...].contains(0x20)
            else { return nil }
            merges.append(
                (
                    String(decoding: UnsafeBufferPointer(rebasing: line[..<space]), as: UTF8.self),
                    String(decoding: UnsafeBufferPointer(rebasing: line[(space + 1)...]), as: UTF8.self)
                ))
        }
        return merges
    }

    /// Whether every character of valid UTF-8 `bytes` is one of those above (each its own grapheme cluster).
    private static func isSingleScalarClusters(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var k = 0
        while k < bytes.count {
            let b = bytes[k]
            switch b {
            case 0x0A, 0x20...0x7E:
                k += 1
            case 0xC2...0xC5:
                guard k + 1 < bytes.count else { return false }
                // 0xC2 0xA1...0xBF is U+00A1...U+00BF; 0xC2 0xAD (soft hyphen) is a format control.
                let next = bytes[k + 1]
                if b == 0xC2 && (next < 0xA1 || next == 0xAD) { return false }
                k += 2
            default:
                return false
            }
        }
        return true
    }
}
