import CXRImaging
import Foundation
import XCTest

/// Paths shared by the CXRFindings tests.
enum TestPaths {
    /// Repository root (symlinks resolved, so a scratch package linking Tests/ works too).
    static var repo: URL {
        URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }
    static var masks: URL { repo.appendingPathComponent("Masks") }
    /// ../shared/data/cxr256 beside the repository (the JSRT images and SCR masks), if present.
    static func cxr256() throws -> URL {
        let url = repo.deletingLastPathComponent().appendingPathComponent("shared/data/cxr256")
        guard FileManager.default.fileExists(atPath: url.appendingPathComponent("masks_jsrt").path) else {
            throw XCTSkip("../shared/data/cxr256/masks_jsrt not available")
        }
        return url
    }
}

/// Binary helpers.
func pixels(_ m: Mask) -> [Bool] { m.values.map { $0 >= 0.5 } }

func dice(_ a: [Bool], _ b: [Bool]) -> Double {
    var inter = 0, na = 0, nb = 0
    for i in 0..<min(a.count, b.count) {
        if a[i] { na += 1 }
        if b[i] { nb += 1 }
        if a[i] && b[i] { inter += 1 }
    }
    return na + nb == 0 ? 1 : 2 * Double(inter) / Double(na + nb)
}

func centroidX(_ m: Mask) -> Double {
    var s = 0.0, n = 0.0
    for i in 0..<m.values.count where m.values[i] >= 0.5 { s += Double(i % m.width) + 0.5; n += 1 }
    return n > 0 ? s / n : .nan
}
