import CXRFiles
import Foundation

/// One input radiograph of a study.
public struct InputImage: Sendable, Equatable {
    /// Absolute location.
    public var url: URL
    /// The path as results show it: relative to the input folder or CSV.
    public var name: String
    /// Label columns of the CSV row (empty for folder inputs).
    public var labels: [String: String]

    public init(url: URL, name: String, labels: [String: String]) {
        self.url = url; self.name = name; self.labels = labels
    }
}

/// Where the input images come from.
public struct ProbeInputs: Sendable, Equatable {
    /// A folder of PNG/JPEG files (not recursive), or nil.
    public var folder: URL?
    /// A CSV with a `path` column (relative to the CSV's folder) and optional label columns, or nil.
    public var csv: URL?
    /// Use at most this many images (after sorting), for quick trials.
    public var limit: Int?

    public init(folder: URL? = nil, csv: URL? = nil, limit: Int? = nil) {
        self.folder = folder; self.csv = csv; self.limit = limit
    }
}

extension ProbeInputs {
    public static let imageExtensions: Set<String> = ["png", "jpg", "jpeg", "dcm"]
    public static let maxImages = 10_000_000
    /// Largest inputs CSV read (about 25 bytes per row at the row limit; checked before reading).
    public static let maxCSVBytes = 256 << 20

    /// The images in a stable order (folder: sorted by name; CSV: file order), truncated to `limit`.
    public func list(specFile: String) throws -> [InputImage] {
        var out: [InputImage]
        if let folder {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDir), isDir.boolValue else {
                throw ProbeError("\(specFile): inputs.folder: \(folder.path) is not a folder")
            }
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
            out = names.filter {
                Self.imageExtensions.contains(($0 as NSString).pathExtension.lowercased()) && !$0.hasPrefix(".")
            }
            .sorted()
            .map { InputImage(url: folder.appendingPathComponent($0), name: $0, labels: [:]) }
            guard !out.isEmpty else {
                throw ProbeError("\(specFile): inputs.folder: \(folder.path) has no PNG or JPEG files")
            }
        } else if let csv {
            out = try Self.readCSV(csv)
        } else {
            throw ProbeError("\(specFile): inputs: give folder: or csv:")
        }
        guard out.count <= Self.maxImages else {
            throw ProbeError("\(specFile): inputs: \(out.count) images; the limit is \(Self.maxImages)")
        }
        if let limit, out.count > limit { out = Array(out.prefix(limit)) }
        return out
    }

    /// A CSV with a header; the image column is `path` (or `file`, `filename`, `image`). Paths are relative to
    /// the CSV's folder. The other columns are kept as labels. Quoted fields ("a, b", doubled quotes) are handled.
    static func readCSV(_ url: URL) throws -> [InputImage] {
        let data: Data
        do {
            data = try BoundedFile.read(url, limit: Self.maxCSVBytes)
        } catch let failure as BoundedFile.Failure {
            throw ProbeError("\(url.path): cannot read the CSV: \(failure)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ProbeError("\(url.path): the CSV is not UTF-8 text")
        }
        let rows = try CSV.parse(text, file: url.path)
        guard let header = rows.first else { throw ProbeError("\(url.path): the CSV is empty") }
        guard let col = ["path", "file", "filename", "image"].lazy.compactMap({ header.firstIndex(of: $0) }).first
        else {
            throw ProbeError("\(url.path): the CSV header has no path column (path, file, filename or image)")
        }
        let base = url.deletingLastPathComponent()
        var out = [InputImage]()
        for (i, row) in rows.dropFirst().enumerated() {
            if row.count == 1 && row[0].isEmpty { continue }
            guard row.count == header.count else {
                throw ProbeError("\(url.path): line \(i + 2) has \(row.count) fields, the header \(header.count)")
            }
            let p = row[col]
            guard !p.isEmpty else { throw ProbeError("\(url.path): line \(i + 2) has an empty path") }
            let u = p.hasPrefix("/") ? URL(fileURLWithPath: p) : base.appendingPathComponent(p).standardizedFileURL
            var labels = [String: String]()
            for (j, h) in header.enumerated() where j != col { labels[h] = row[j] }
            out.append(InputImage(url: u, name: p, labels: labels))
            guard out.count <= maxImages else { throw ProbeError("\(url.path): more than \(maxImages) rows") }
        }
        guard !out.isEmpty else { throw ProbeError("\(url.path): the CSV lists no images") }
        return out
    }
}
