import CXRImaging
import Foundation
import XCTest

/// DICOM through the real binary: DICOM inputs for edit and regions, DICOM outputs for generate, provenance of a
/// DICOM file, and the hostile DICOM corpus (Tests/Fixtures/dicom/bad) with the one-line contract.
final class DICOMCLITests: XCTestCase {
    static let dicom = CLI.fixtures.appendingPathComponent("dicom")

    func testEditTakesADICOMInputAtItsSize() throws {
        let out = try CLI.tempDir(self)
        for name in ["cr12_jpegls.dcm", "dx12_mono1.dcm"] {
            let png = out.appendingPathComponent(name + ".png")
            let r = try CLI.run(["edit", Self.dicom.appendingPathComponent(name).path, "--model", CLI.sd1.path,
                                 "--prompt", "Cardiomegaly.", "--steps", "2", "-o", png.path, "--quiet"])
            XCTAssertEqual(r.status, 0, r.stderr)
            let image = try ImageIO.read(png)
            XCTAssertEqual([image.width, image.height, image.bitDepth], [48, 40, 16], name)
        }
        let regions = try CLI.run(["regions", Self.dicom.appendingPathComponent("cr12_rle.dcm").path,
                                   "-o", out.appendingPathComponent("regions.png").path])
        XCTAssertEqual(regions.status, 0, regions.stderr)
    }

    func testGenerateWritesDICOMWithProvenance() throws {
        let out = try CLI.tempDir(self)
        let dcm = out.appendingPathComponent("gen.dcm")
        let r = try CLI.run(["generate", "--model", CLI.sd1.path, "--prompt", "Cardiomegaly.", "--steps", "2",
                             "-o", dcm.path, "--quiet"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(CLI.listing(out), ["gen.dcm"])
        XCTAssertTrue(try Data(contentsOf: dcm).subdata(in: 128..<132) == Data("DICM".utf8))
        let p = try CLI.run(["provenance", "--json", dcm.path])
        XCTAssertEqual(p.status, 0, p.stderr)
        let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(p.stdout.utf8)) as? [String: String])
        XCTAssertEqual(obj["cxr-edit:mode"], "generate")
        XCTAssertEqual(obj["Source"], Provenance.syntheticNotice)
        XCTAssertNotNil(try ImageIO.read(dcm))
    }

    func testProvenanceOfAPlainDICOMFileSaysSo() throws {
        CLI.assertFails(try CLI.run(["provenance", Self.dicom.appendingPathComponent("cr12_explicit.dcm").path]),
                        matches: ["cr12_explicit.dcm", "no cxr-edit provenance"], "plain DICOM")
    }

    func testBadDICOMIsRefusedInOneLine() throws {
        let out = try CLI.tempDir(self)
        let dir = Self.dicom.appendingPathComponent("bad")
        let manifest = try JSONDecoder().decode([String: [String]].self,
                                                from: Data(contentsOf: dir.appendingPathComponent("manifest.json")))
        XCTAssertGreaterThanOrEqual(manifest.count, 15)
        for (name, matching) in manifest.sorted(by: { $0.key < $1.key }) {
            let input = dir.appendingPathComponent(name).path
            let r = try CLI.run(["edit", input, "--model", CLI.sd1.path, "--prompt", "x", "--steps", "2",
                                 "-o", out.appendingPathComponent("o.png").path, "--quiet"])
            CLI.assertFails(r, matches: [name] + matching, dir: out, before: [], "edit \(name)")
            let p = try CLI.run(["provenance", input])
            XCTAssertFalse(p.signaled, name)
            XCTAssertEqual(p.stderrLines.count, 1, "provenance \(name): \(p.stderr)")
        }
    }
}
