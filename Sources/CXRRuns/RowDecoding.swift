import Foundation

/// Reads one line of a results file as a typed row, with errors that name the file, the line and what is wrong: not
/// a row at all, a row of another schema (written by another version), or a key missing or of the wrong type.
enum RowDecoding {
    /// What every row has, read first so that a row of another layout is named by its schema.
    private struct Header: Decodable {
        var id: String?
        var schema: String?
    }

    static func decode<Row: ResultRow>(
        _ type: Row.Type, from line: Data, file url: URL,
        line number: Int
    ) throws -> Row {
        let at = "\(url.path): line \(number)"
        guard let header = try? JSONDecoder().decode(Header.self, from: line), header.id != nil else {
            throw ProbeError("\(at) is not a result row (JSON object with an id); the file was edited by hand?")
        }
        guard header.schema == Row.schema else {
            let found = header.schema.map { "schema \($0)" } ?? "no schema"
            throw ProbeError(
                "\(at) is a row of \(found); this version reads \(Row.schema) only: report or merge "
                    + "the run with the version that made it, or run the study again into a new directory")
        }
        do { return try JSONDecoder().decode(Row.self, from: line) } catch let error as DecodingError {
            throw ProbeError("\(at) is not a \(Row.schema) row: \(describe(error))")
        }
    }

    /// A decoding error in words: the key path and what was wrong there.
    static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [CodingKey]) -> String {
            keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().drop { $0 == "." }.description
        }
        switch error {
        case .keyNotFound(let key, let context): return "no '\(path(context.codingPath + [key]))'"
        case .typeMismatch(let type, let context): return "'\(path(context.codingPath))' is not a \(type)"
        case .valueNotFound(let type, let context): return "'\(path(context.codingPath))' is null, not a \(type)"
        case .dataCorrupted(let context): return "'\(path(context.codingPath))': \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}
