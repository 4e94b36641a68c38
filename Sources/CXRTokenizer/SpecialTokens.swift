/// A special ("added") token as the `tokenizers` library treats it: matched in the text before BPE and
/// mapped straight to its id. `normalized == false` tokens are matched in the raw text (case-sensitive);
/// `normalized == true` ones in the normalised (NFC, lower-cased) text, so `<|ENDOFTEXT|>` matches too.
/// transformers 5 registers every special token of the config this way, including a pad token `!` (SD 2.x),
/// which is why `"wow!!"` gives `wow`, `!`(0), `!`(0) there.
public struct SpecialToken: Sendable, Equatable {
    public var content: String
    public var id: Int
    public var normalized: Bool

    public init(content: String, id: Int, normalized: Bool) {
        self.content = content
        self.id = id
        self.normalized = normalized
    }
}

/// One part of a text after special tokens were cut out.
enum Segment {
    case text(ArraySlice<Unicode.Scalar>)
    case special(Int)
}

/// Leftmost-longest matching of a set of literal tokens (what `tokenizers`' Aho-Corasick split does).
struct SpecialMatcher: Sendable {
    private let tokens: [(scalars: [Unicode.Scalar], id: Int)]
    private let firstScalars: Set<UInt32>

    init(_ specials: [SpecialToken]) {
        tokens = specials.filter { !$0.content.isEmpty }.map { (Array($0.content.unicodeScalars), $0.id) }
        firstScalars = Set(tokens.compactMap { $0.scalars.first?.value })
    }

    var isEmpty: Bool { tokens.isEmpty }

    func split(_ s: ArraySlice<Unicode.Scalar>) -> [Segment] {
        if tokens.isEmpty { return [.text(s)] }
        var out = [Segment]()
        var textStart = s.startIndex
        var i = s.startIndex
        while i < s.endIndex {
            guard firstScalars.contains(s[i].value) else { i += 1; continue }
            var best: (length: Int, id: Int)? = nil
            for t in tokens
            where t.scalars.count <= s.endIndex - i && (best.map { t.scalars.count > $0.length } ?? true) {
                var ok = true
                for k in 0..<t.scalars.count where s[i + k] != t.scalars[k] { ok = false; break }
                if ok { best = (t.scalars.count, t.id) }
            }
            if let best {
                if textStart < i { out.append(.text(s[textStart..<i])) }
                out.append(.special(best.id))
                i += best.length
                textStart = i
            } else {
                i += 1
            }
        }
        if textStart < s.endIndex { out.append(.text(s[textStart..<s.endIndex])) }
        return out
    }
}
