import CXRImaging
import Foundation
import XCTest

/// The successful paths the failure tests are measured against: outputs carry provenance, provenance is enough
/// to reproduce an image bit for bit, and masked edits never touch a pixel outside the mask.
final class HappyPathTests: XCTestCase {
    func provenance(_ url: URL) throws -> [String: String] {
        let r = try CLI.run(["provenance", "--json", url.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let obj = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: String]
        return try XCTUnwrap(obj, "provenance --json is not a string map: \(r.stdout)")
    }

    func testEditWritesProvenanceAndRegeneratesIdentically() throws {
        let out = try CLI.tempDir(self)
        let first = out.appendingPathComponent("first.png")
        let input = CLI.bad.appendingPathComponent("ok/grey8.png")
        let r = try CLI.run([
            "edit", input.path, "--model", CLI.sd1.path, "--prompt", "Large right pleural effusion.",
            "--strength", "0.6", "--steps", "4", "--seed", "1234", "--guidance", "3.5", "-o", first.path, "--quiet",
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, first.path + "\n")
        XCTAssertEqual(CLI.listing(out), ["first.png"], "no temp file left behind")
        let p = try provenance(first)
        XCTAssertEqual(p["cxr-edit:mode"], "edit")
        XCTAssertEqual(p["cxr-edit:prompt"], "Large right pleural effusion.")
        XCTAssertTrue(p["Source"]?.contains("synthetic") == true)
        let image = try ImageIO.read(first)
        XCTAssertEqual([image.width, image.height, image.bitDepth, image.channels], [64, 48, 8, 1])

        // Re-run with nothing but what the provenance says.
        let again = out.appendingPathComponent("again.png")
        let args = [
            "edit", input.path, "--model", try XCTUnwrap(p["cxr-edit:model"]),
            "--prompt", try XCTUnwrap(p["cxr-edit:prompt"]), "--negative-prompt", p["cxr-edit:negative-prompt"] ?? "",
            "--strength", try XCTUnwrap(p["cxr-edit:strength"]), "--steps", try XCTUnwrap(p["cxr-edit:steps"]),
            "--seed", try XCTUnwrap(p["cxr-edit:seed"]), "--guidance", try XCTUnwrap(p["cxr-edit:guidance"]),
            "-o", again.path, "--quiet",
        ]
        let r2 = try CLI.run(args)
        XCTAssertEqual(r2.status, 0, r2.stderr)
        XCTAssertEqual(try ImageIO.read(again).samples, image.samples, "provenance does not reproduce the image")
        XCTAssertEqual(try provenance(again)["cxr-edit:model-sha256"], p["cxr-edit:model-sha256"])
        // A different seed changes the image (so the comparison above is meaningful).
        let other = out.appendingPathComponent("other.png")
        var otherArgs = args
        otherArgs[otherArgs.firstIndex(of: "--seed")! + 1] = "99"
        otherArgs[otherArgs.firstIndex(of: "-o")! + 1] = other.path
        XCTAssertEqual(try CLI.run(otherArgs).status, 0)
        XCTAssertNotEqual(try ImageIO.read(other).samples, image.samples)
    }

    /// Outside the mask and its soft margin every pixel is the input's, 8- and 16-bit. mask_right.png is the right
    /// half of the 64x48 inputs; the default margin of 8 px at 256 px scale is 2 px here.
    func testMaskedEditKeepsOutsidePixelsBitExact() throws {
        let out = try CLI.tempDir(self)
        let maskURL = CLI.bad.appendingPathComponent("ok/mask_right.png")
        for name in ["grey8.png", "grey16.png"] {
            for (margin, band) in [(0, 0), (8, 2)] {
                let input = CLI.bad.appendingPathComponent("ok/\(name)")
                let result = out.appendingPathComponent("masked-\(margin)-\(name)")
                let r = try CLI.run([
                    "edit", input.path, "--mask", maskURL.path, "--model", CLI.sd1.path, "--margin", String(margin),
                    "--prompt", "Right pleural effusion.", "--steps", "4", "--strength", "1", "-o", result.path,
                    "--quiet",
                ])
                XCTAssertEqual(r.status, 0, r.stderr)
                let original = try ImageIO.read(input), edited = try ImageIO.read(result)
                XCTAssertEqual(
                    [edited.width, edited.height, edited.bitDepth, edited.channels],
                    [original.width, original.height, original.bitDepth, 1], name)
                var outside = 0, changedInside = 0
                for i in 0..<original.pixelCount {
                    if i % original.width < 32 - band {
                        outside += 1
                        if edited.samples[i] != original.samples[i] {
                            XCTFail(
                                "\(name), margin \(margin): pixel \(i % original.width),\(i / original.width) outside the band changed"
                            )
                            break
                        }
                    } else if edited.samples[i] != original.samples[i] {
                        changedInside += 1
                    }
                }
                XCTAssertEqual(outside, original.height * (32 - band))
                XCTAssertGreaterThan(changedInside, outside / 4, "\(name): the masked region was not edited")
                XCTAssertEqual(try provenance(result)["cxr-edit:mode"], "inpaint")
            }
        }
    }

    func testGenerateAndEditEdgeInputs() throws {
        let out = try CLI.tempDir(self)
        let g = try CLI.run([
            "generate", "--model", CLI.sd1.path, "--prompt", "Cardiomegaly.", "--steps", "3", "--count", "2",
            "-o", out.appendingPathComponent("g.png").path, "--quiet",
        ])
        XCTAssertEqual(g.status, 0, g.stderr)
        XCTAssertEqual(CLI.listing(out), ["g-1.png", "g-2.png"])
        XCTAssertEqual(try provenance(out.appendingPathComponent("g-2.png"))["cxr-edit:seed"], "1")
        // Valid but unusual inputs: 1-bit palette PNG, hand-made JPEG.
        for name in ["palette1.png", "flat.jpg"] {
            let o = out.appendingPathComponent("e-\(name).png")
            let r = try CLI.run([
                "edit", CLI.bad.appendingPathComponent("ok/\(name)").path, "--model", CLI.sd1.path,
                "--prompt", "x", "--steps", "2", "-o", o.path, "--quiet",
            ])
            XCTAssertEqual(r.status, 0, "\(name): \(r.stderr)")
            XCTAssertTrue(FileManager.default.fileExists(atPath: o.path))
        }
    }
}
