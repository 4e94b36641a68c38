/// An upper estimate of how deeply a YAML/JSON text nests, computed from the raw text before any parser runs.
///
/// Why: the YAML composer recurses once per nesting level, so a 10 KB spec nested 5,000 deep (`[[[[...` or
/// `- - - - ...`) overflowed the stack (exit 139) inside the library, before `SpecValue`'s depth check on the
/// composed nodes could run. This scan is linear and iterative; it may overestimate (a quoted bracket spanning
/// lines) but never underestimates by more than the block levels that share an indentation column.
///
/// Counted: open flow brackets (`[`, `{`) outside quoted scalars and comments; block levels as the number of
/// distinct indentation columns currently open (a stack, as Python's tokenizer keeps); compact sequence entries
/// (`- - - x`) on one line.
enum YAMLNesting {
    static func estimate(_ text: String) -> Int {
        var deepest = 0
        var indents: [Int] = []
        var flow = 0
        var quote: UInt8? = nil
        for line in text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            let bytes = Array(line)
            var i = 0
            var block = indents.count
            if flow == 0 && quote == nil {
                while i < bytes.count && bytes[i] == UInt8(ascii: " ") { i += 1 }
                let blank = i == bytes.count || bytes[i] == UInt8(ascii: "#") || bytes[i] == UInt8(ascii: "\r")
                if !blank {
                    while let last = indents.last, last > i { indents.removeLast() }
                    if indents.last != i { indents.append(i) }
                    // Compact entries: "- - - x" or "? - x" nest one level per indicator.
                    var compact = 0
                    let space: (UInt8) -> Bool = { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
                    while i < bytes.count, bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "?"),
                        i + 1 == bytes.count || space(bytes[i + 1])
                    {
                        compact += 1
                        i += 1
                        while i < bytes.count && space(bytes[i]) { i += 1 }
                    }
                    block = indents.count + compact
                }
            }
            deepest = max(deepest, block + flow)
            // Flow brackets, skipping quoted scalars (which only start where a scalar may start) and comments.
            var previous: UInt8 = UInt8(ascii: " ")
            while i < bytes.count {
                let c = bytes[i]
                if let q = quote {
                    if c == UInt8(ascii: "\\") && q == UInt8(ascii: "\"") { i += 2; continue }
                    if c == q {
                        if q == UInt8(ascii: "'") && i + 1 < bytes.count && bytes[i + 1] == q { i += 2; continue }
                        quote = nil
                    }
                    i += 1
                    continue
                }
                switch c {
                case UInt8(ascii: "#") where previous == UInt8(ascii: " ") || previous == UInt8(ascii: "\t"):
                    i = bytes.count
                    continue
                case UInt8(ascii: "\""), UInt8(ascii: "'"):
                    if "[{,:-? \t".utf8.contains(previous) { quote = c }
                case UInt8(ascii: "["), UInt8(ascii: "{"):
                    flow += 1
                    deepest = max(deepest, block + flow)
                case UInt8(ascii: "]"), UInt8(ascii: "}"):
                    flow = max(0, flow - 1)
                default:
                    break
                }
                previous = c
                i += 1
            }
        }
        return deepest
    }
}
