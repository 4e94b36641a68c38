import Foundation

/// Locates files of the CXRFindings resource bundle (`Resources/` is copied as is by SwiftPM).
///
/// The SwiftPM resource bundle sits next to the executable (`<package>_CXRFindings.resources`) or
/// in the build folder. It is searched for by hand first, because on Linux `Bundle.module` stops
/// the process when neither exists (e.g. an executable copied without its bundle); `Bundle.module`
/// is the last resort.
enum FindingsResources {
    static func url(_ name: String, subdirectory: String? = nil) -> URL? {
        let sub = subdirectory.map { "Resources/\($0)" } ?? "Resources"
        for dir in candidateBundleDirectories() {
            let url = dir.appendingPathComponent(sub).appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: url.path) { return url }
        }
        let parts = name.split(separator: ".", maxSplits: 1).map(String.init)
        return Bundle.module.url(
            forResource: parts[0], withExtension: parts.count > 1 ? parts[1] : nil, subdirectory: sub)
    }

    /// `*_CXRFindings.resources` / `.bundle` folders beside the executable (symlinks resolved).
    private static func candidateBundleDirectories() -> [URL] {
        var dirs: [URL] = []
        let exeDirs = [
            Bundle.main.bundleURL,
            URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath()
                .deletingLastPathComponent(),
        ]
        for dir in exeDirs {
            guard let items = try? FileManager.default.contentsOfDirectory(atPath: dir.path) else { continue }
            for item in items.sorted()
            where item.hasSuffix("_CXRFindings.resources") || item.hasSuffix("_CXRFindings.bundle") {
                let base = dir.appendingPathComponent(item)
                dirs.append(base)
                dirs.append(base.appendingPathComponent("Contents/Resources"))  // macOS bundle layout
            }
        }
        return dirs
    }
}
