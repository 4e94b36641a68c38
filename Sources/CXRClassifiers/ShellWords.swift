/// POSIX-shell-like word splitting for `cmd:` classifier specs: whitespace separates words; single quotes keep
/// everything literally; double quotes keep spaces and honour backslash before `"`, `\`, `$` and `` ` ``;
/// a backslash outside quotes escapes the next character. No expansion of variables, globs or `~`.
public enum ShellWords {
    public static func split(_ s: String) throws -> [String] {
        var words: [String] = []
        var cur = ""
        var inWord = false
        let it = Array(s)
        var i = 0
        func fail(_ why: String) -> ClassifierError { ClassifierError("classifier command \"\(s)\": \(why)") }
        while i < it.count {
            let c = it[i]
            switch c {
            case " ", "\t", "\n":
                if inWord { words.append(cur); cur = ""; inWord = false }
            case "'":
                inWord = true
                guard let end = it[(i + 1)...].firstIndex(of: "'") else { throw fail("unterminated single quote") }
                cur += String(it[(i + 1)..<end])
                i = end
            case "\"":
                inWord = true
                i += 1
                var closed = false
                while i < it.count {
                    if it[i] == "\"" { closed = true; break }
                    if it[i] == "\\", i + 1 < it.count, "\"\\$`".contains(it[i + 1]) { i += 1 }
                    cur.append(it[i])
                    i += 1
                }
                guard closed else { throw fail("unterminated double quote") }
            case "\\":
                inWord = true
                guard i + 1 < it.count else { throw fail("trailing backslash") }
                i += 1
                cur.append(it[i])
            default:
                inWord = true
                cur.append(c)
            }
            i += 1
        }
        if inWord { words.append(cur) }
        return words
    }
}
