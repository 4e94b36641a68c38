import CXRFiles
import Foundation

/// How the provenance that PNG outputs carry as text chunks is stored in DICOM: all pairs, in order, as JSON in
/// a private element (creator "CXR-EDIT PROVENANCE", group 0011), and a readable ASCII summary in the standard
/// Image Comments and Derivation Description, which every viewer shows.
///
/// Everything is ASCII (non-ASCII as JSON `\uXXXX` escapes) so the file's Specific Character Set, copied from
/// the source, never has to change and patient names in it keep their encoding.
enum DICOMProvenance {
    /// Image Comments (LT) holds at most 10240 characters.
    static let maxComments = 10240
    /// Derivation Description (ST) holds at most 1024 characters.
    static let maxDerivation = 1024

    /// The pairs as a JSON array of `[key, value]`, ASCII only.
    static func json(_ pairs: [(key: String, value: String)]) -> String {
        func quoted(_ s: String) -> String { JSONValue.quoted(s, asciiOnly: true) }
        return "[" + pairs.map { "[\(quoted($0.key)),\(quoted($0.value))]" }.joined(separator: ",") + "]"
    }

    /// The pairs `json` wrote; anything else (another writer's element) gives none rather than an error, because
    /// provenance is informative and must not stop a DICOM file from being read.
    static func pairs(fromJSON text: String) -> [(key: String, value: String)] {
        guard let rows = (try? JSONValue(data: Data(text.utf8), source: "provenance"))?.array else { return [] }
        var pairs = [(key: String, value: String)]()
        for row in rows {
            guard let strings = row.stringArray else { return [] }
            if strings.count == 2 { pairs.append((strings[0], strings[1])) }
        }
        return pairs
    }

    /// ASCII with the few non-ASCII characters our texts use spelled out; anything else becomes "?".
    static func ascii(_ s: String) -> String {
        var out = ""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\u{2014}", "\u{2013}": out += "-"
            case "\u{2018}", "\u{2019}": out += "'"
            case "\u{201C}", "\u{201D}": out += "\""
            case "\n", "\r", "\t": out += " "
            default: out += scalar.isASCII && scalar.value >= 0x20 ? String(scalar) : "?"
            }
        }
        return out
    }

    /// "SYNTHETIC ... not for clinical use." followed by every pair as `key=value`, the regeneration command last
    /// (it is long and the private block has it anyway).
    static func imageComments(_ pairs: [(key: String, value: String)]) -> String {
        var parts = ["SYNTHETIC IMAGE - " + ascii(Provenance.syntheticNotice) + "."]
        let ordered =
            pairs.filter { $0.key != "Source" && !$0.key.hasSuffix(":command") }
            + pairs.filter { $0.key.hasSuffix(":command") }
        for (k, v) in ordered {
            let key = k.hasPrefix(Provenance.prefix) ? String(k.dropFirst(Provenance.prefix.count)) : k
            parts.append("\(key)=\(ascii(v))")
        }
        return String(parts.joined(separator: "; ").prefix(maxComments))
    }

    static func derivationDescription(_ pairs: [(key: String, value: String)]) -> String {
        let get = { (k: String) in pairs.first(where: { $0.key == Provenance.prefix + k })?.value }
        var text = "Synthetic image made by cxr-edit (latent diffusion); not for clinical use"
        if let mode = get("mode") { text += ". Mode: \(mode)" }
        if let prompt = get("prompt") { text += ". Prompt: \(prompt)" }
        if let strength = get("strength") { text += ". Strength: \(strength)" }
        if let seed = get("seed") { text += ". Seed: \(seed)" }
        return String(ascii(text).prefix(maxDerivation))
    }
}
