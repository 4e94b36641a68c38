import Foundation

// Text from files (error details, PNG text chunks) on its way to a terminal: control characters would let a file
// forge output lines or send escape sequences to the terminal.

/// An error as one printable line of at most 2,000 characters: line breaks and other control characters become
/// spaces (a hostile name could otherwise forge lines or send escape sequences to the terminal), and the length is
/// capped (a safetensors header with a 3,000,000-dimension shape made a 9 MB "line").
func errorLine(_ error: Error, limit: Int = 2000) -> String {
    var out = String.UnicodeScalarView()
    var count = 0
    for u in commandLineMessage(for: error).unicodeScalars {
        if count == limit {
            out.append(contentsOf: "… (truncated)".unicodeScalars)
            break
        }
        let control = u.value < 0x20 || (0x7F...0x9F).contains(u.value) || u == "\u{2028}" || u == "\u{2029}"
        out.append(control ? " " : u)
        count += 1
    }
    return String(out)
}

/// `text` with control characters written as visible escapes (`\n`, `\r`, `\t`, `\u{1B}`), so that one value stays on one line and cannot forge another (an embedded CR/LF made a chunk print as
/// `cxr-edit:mode: clinical`).
func escapedForTerminal(_ text: String) -> String {
    var out = ""
    for u in text.unicodeScalars {
        switch u {
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            let control = u.value < 0x20 || (0x7F...0x9F).contains(u.value) || u == "\u{2028}" || u == "\u{2029}"
            if control {
                out += "\\u{" + String(u.value, radix: 16, uppercase: true) + "}"
            } else {
                out.unicodeScalars.append(u)
            }
        }
    }
    return out
}
