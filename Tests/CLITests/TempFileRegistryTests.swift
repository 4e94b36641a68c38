import CXRImaging
import Foundation
import XCTest

/// The registry the CLI's SIGINT/SIGTERM handler empties: AtomicFile registers its temp file exactly while it exists,
/// and `unlinkAll()` (the signal-side call) removes what is registered.
final class TempFileRegistryTests: XCTestCase {
    func testUnlinkAllRemovesRegisteredFilesOnly() throws {
        let dir = try CLI.tempDir(self, "registry")
        let a = dir.appendingPathComponent(".a.tmp"), b = dir.appendingPathComponent("keep.png")
        XCTAssertTrue(FileManager.default.createFile(atPath: a.path, contents: Data([1])))
        XCTAssertTrue(FileManager.default.createFile(atPath: b.path, contents: Data([2])))
        let token = TempFileRegistry.register(a.path)
        XCTAssertNotNil(token)
        XCTAssertTrue(TempFileRegistry.registeredPaths.contains(a.path))
        TempFileRegistry.unlinkAll()
        XCTAssertFalse(FileManager.default.fileExists(atPath: a.path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: b.path))
        XCTAssertFalse(TempFileRegistry.registeredPaths.contains(a.path))
        TempFileRegistry.unregister(token)  // harmless after unlinkAll
    }

    func testRegisteredFolderIsRemovedAfterItsFiles() throws {
        let dir = try CLI.tempDir(self, "registry")
        let folder = dir.appendingPathComponent("pngs")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: false)
        let file = folder.appendingPathComponent("image-00000.png")
        XCTAssertTrue(FileManager.default.createFile(atPath: file.path, contents: Data([1])))
        let t1 = TempFileRegistry.register(folder.path), t2 = TempFileRegistry.register(file.path)
        TempFileRegistry.unlinkAll()
        XCTAssertEqual(CLI.listing(dir), [], "folder and file should both be gone")
        TempFileRegistry.unregister(t1)
        TempFileRegistry.unregister(t2)
        XCTAssertEqual(TempFileRegistry.registeredPaths, [])
    }

    func testAtomicWriteLeavesNothingRegisteredAndRemovesStaleTemps() throws {
        let dir = try CLI.tempDir(self, "registry")
        let target = dir.appendingPathComponent("o.png")
        // A temp file of a writer that no longer exists (pid 2^22 - 1 is above Linux's default pid_max).
        let stale = dir.appendingPathComponent(".o.png.tmp-4194303-abc")
        let live = dir.appendingPathComponent(".o.png.tmp-\(getpid())-def")
        XCTAssertTrue(FileManager.default.createFile(atPath: stale.path, contents: Data([0])))
        XCTAssertTrue(FileManager.default.createFile(atPath: live.path, contents: Data([0])))
        try AtomicFile.write([1, 2, 3], to: target, overwrite: false)
        XCTAssertEqual(CLI.listing(dir), [live.lastPathComponent, "o.png"].sorted())
        XCTAssertEqual(TempFileRegistry.registeredPaths.filter { $0.hasPrefix(dir.path) }, [])
        XCTAssertThrowsError(try AtomicFile.write([4], to: target, overwrite: false))
        XCTAssertEqual(try Data(contentsOf: target), Data([1, 2, 3]))
    }

    func testOverlongAndFullRegistrationIsRefusedNotFatal() {
        XCTAssertNil(TempFileRegistry.register(String(repeating: "x", count: TempFileRegistry.pathCapacity)))
        XCTAssertNil(TempFileRegistry.register(""))
        var tokens = [Int?]()
        for i in 0..<(TempFileRegistry.slotCount + 5) { tokens.append(TempFileRegistry.register("/nonexistent/\(i)")) }
        XCTAssertEqual(tokens.compactMap { $0 }.count, TempFileRegistry.slotCount)
        for t in tokens { TempFileRegistry.unregister(t) }
        XCTAssertEqual(TempFileRegistry.registeredPaths, [])
    }
}
