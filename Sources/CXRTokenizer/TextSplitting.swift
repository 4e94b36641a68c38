import Foundation

/// The text side of CLIP tokenisation as transformers 5 (`tokenizers`) performs it: the normaliser and the
/// pre-tokeniser. Works on unicode scalars, as the Rust regex engine does, not on grapheme clusters.
enum TextSplitting {
    /// Normaliser: NFC, then per-scalar full lower-case mapping (no context rules: a final capital sigma
    /// becomes σ, not ς, and İ becomes "i\u{307}"), as `tokenizers`' Lowercase does. Accents are kept.
    /// The `\s+ -> " "` replacement of the reference is not needed: whitespace only separates pieces below.
    static func normalize(_ text: String) -> [Unicode.Scalar] {
        let nfc = text.precomposedStringWithCanonicalMapping
        var out = [Unicode.Scalar]()
        out.reserveCapacity(nfc.unicodeScalars.count)
        for s in nfc.unicodeScalars {
            if s.isASCII {
                out.append((s.value >= 65 && s.value <= 90) ? Unicode.Scalar(s.value + 32) ?? s : s)
            } else {
                out.append(contentsOf: s.properties.lowercaseMapping.unicodeScalars)
            }
        }
        return out
    }

    /// `\s` of the reference regex: the Unicode White_Space property (U+001C...U+001F are not included).
    @inline(__always) static func isSpace(_ s: Unicode.Scalar) -> Bool {
        if s.isASCII { return s.value == 32 || (s.value >= 9 && s.value <= 13) }
        return s.properties.isWhitespace
    }

    /// `\p{L}`.
    @inline(__always) static func isLetter(_ s: Unicode.Scalar) -> Bool {
        if s.isASCII { return (s.value | 0x20) >= 97 && (s.value | 0x20) <= 122 }
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    /// `\p{N}`.
    @inline(__always) static func isNumber(_ s: Unicode.Scalar) -> Bool {
        if s.isASCII { return s.value >= 48 && s.value <= 57 }
        switch s.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    private static let startLiteral = Array("<|startoftext|>".unicodeScalars)
    private static let endLiteral = Array("<|endoftext|>".unicodeScalars)
    private static let contractions: [[Unicode.Scalar]] = ["s", "t", "re", "ve", "m", "ll", "d"].map {
        Array($0.unicodeScalars)
    }

    /// Pre-tokeniser: matches of
    /// `<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`
    /// (alternatives tried in that order at each position; whitespace is dropped), each then split again by the
    /// ByteLevel pre-tokeniser's GPT-2 regex, which only changes the two literal special-token strings:
    /// `<|endoftext|>` becomes `<|`, `endoftext`, `|>`.
    static func pieces(_ s: [Unicode.Scalar]) -> [ArraySlice<Unicode.Scalar>] {
        var out = [ArraySlice<Unicode.Scalar>]()
        let n = s.count
        var i = 0
        while i < n {
            let c = s[i]
            if isSpace(c) { i += 1; continue }
            if c == "<" {
                if let lit = [startLiteral, endLiteral].first(where: { matches($0, in: s, at: i) }) {
                    out.append(s[i..<(i + 2)])
                    out.append(s[(i + 2)..<(i + lit.count - 2)])
                    out.append(s[(i + lit.count - 2)..<(i + lit.count)])
                    i += lit.count
                    continue
                }
            }
            if c == "'" {
                if let tail = contractions.first(where: { matches($0, in: s, at: i + 1) }) {
                    out.append(s[i..<(i + 1 + tail.count)])
                    i += 1 + tail.count
                    continue
                }
            }
            var j = i + 1
            if isLetter(c) {
                while j < n && isLetter(s[j]) { j += 1 }
            } else if isNumber(c) {
                // one scalar per digit
            } else {
                while j < n && !isSpace(s[j]) && !isLetter(s[j]) && !isNumber(s[j]) { j += 1 }
            }
            out.append(s[i..<j])
            i = j
        }
        return out
    }

    @inline(__always) static func matches(_ lit: [Unicode.Scalar], in s: [Unicode.Scalar], at i: Int) -> Bool {
        if i + lit.count > s.count { return false }
        for k in 0..<lit.count where s[i + k] != lit[k] { return false }
        return true
    }
}
