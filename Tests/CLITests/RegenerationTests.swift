import CXRImaging
import CXRTensor
import Foundation
import XCTest

/// `cxr-edit provenance --command FILE` prints a command that writes FILE again byte for byte.
final class RegenerationTests: XCTestCase {
    /// Runs the recorded command (its words as the shell reads them, `cxr-edit` replaced by the binary) with the
    /// output redirected to `output`.
    func regenerate(_ file: URL, to output: URL) throws {
        let r = try CLI.run(["provenance", "--command", file.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let line = r.stdout.trimmingCharacters(in: .newlines)
        let suffix = " -o " + file.standardizedFileURL.path
        XCTAssertTrue(line.hasSuffix(suffix), line)
        XCTAssertTrue(line.hasPrefix("cxr-edit edit "), line)
        let recorded = String(line.dropLast(suffix.count)) + " -o " + output.path + " --quiet"
        guard let binary = CLI.binary else { throw XCTSkip("cxr-edit binary not found") }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", #"eval "set -- $1"; shift; exec "$0" "$@""#, binary.path, recorded]
        var env = ProcessInfo.processInfo.environment
        env["CXR_EDIT_MODEL"] = nil
        env["HOME"] = CLI.home.path
        p.environment = env
        let err = Pipe()
        p.standardError = err
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(
            p.terminationStatus, 0, String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
        XCTAssertEqual(
            try Data(contentsOf: output), try Data(contentsOf: file),
            "\(recorded) does not regenerate \(file.lastPathComponent)")
    }

    /// A bf16 edit's command names --precision bf16 (resolved from auto) and makes the same file.
    func testBF16EditRegenerates() throws {
        guard BFloat16GEMM.isSupported else { throw XCTSkip("this CPU has no AVX512-BF16") }
        let out = try CLI.tempDir(self)
        let first = out.appendingPathComponent("first.png")
        let r = try CLI.run([
            "edit", RegionalEditTests.sample.path, "--model", CLI.sd1.path,
            "--add", "large right effusion", "--steps", "3", "--seed", "5", "--precision", "auto",
            "-o", first.path, "--quiet",
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        try regenerate(first, to: out.appendingPathComponent("again.png"))
    }

    /// A forced --vae-tiling is recorded (it changes the pixels of images larger than one tile) and regenerates; the
    /// default auto leaves no trace, so default outputs keep the bytes they had before the option.
    func testForcedVAETilingIsRecordedAndRegenerates() throws {
        let out = try CLI.tempDir(self)
        var files: [String: URL] = [:]
        for tiling in ["auto", "off"] {
            let file = out.appendingPathComponent("\(tiling).png")
            let r = try CLI.run([
                "edit", RegionalEditTests.sample.path, "--model", CLI.sd1.path, "--add", "large right effusion",
                "--steps", "2", "--seed", "5", "--vae-tiling", tiling, "-o", file.path, "--quiet",
            ])
            XCTAssertEqual(r.status, 0, r.stderr)
            files[tiling] = file
        }
        func provenance(_ file: URL) throws -> [String: String] {
            let json = try CLI.run(["provenance", "--json", file.path]).stdout
            return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: String])
        }
        XCTAssertEqual(try provenance(files["off"]!)["cxr-edit:x:vae-tiling"], "off")
        XCTAssertNil(try provenance(files["auto"]!)["cxr-edit:x:vae-tiling"])
        let command = try CLI.run(["provenance", "--command", files["off"]!.path]).stdout
        XCTAssertTrue(command.contains("--vae-tiling off"), command)
        try regenerate(files["off"]!, to: out.appendingPathComponent("again.png"))
    }

    func testRegionEditWithDilateAndKeepRegionRegenerates() throws {
        let out = try CLI.tempDir(self)
        let first = out.appendingPathComponent("first.png")
        let r = try CLI.run([
            "edit", RegionalEditTests.sample.path, "--model", CLI.sd1.path, "--add", "large right effusion",
            "--region", "right-lower-zone", "--dilate", "6", "--keep-region", "heart", "--steps", "3",
            "--seed", "11", "--margin", "5", "-o", first.path, "--quiet",
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        try regenerate(first, to: out.appendingPathComponent("again.png"))
    }

    /// A removed effusion's region follows the fluid measured on the image: the measurement is recorded with the
    /// edit, and the recorded command measures the same fluid and repaints the same pixels again.
    func testEditFollowingMeasuredFluidRegenerates() throws {
        let out = try CLI.tempDir(self)
        let wet = try EditPleuralFluidJSONTests.wetSample(in: out)
        let first = out.appendingPathComponent("dry.png")
        let r = try CLI.run([
            "edit", wet.path, "--model", CLI.sd1.path, "--remove", "pleural effusion", "--side", "right",
            "--steps", "3", "--seed", "3", "-o", first.path, "--quiet",
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        let shown = try CLI.run(["provenance", first.path])
        XCTAssertEqual(shown.status, 0, shown.stderr)
        XCTAssertTrue(shown.stdout.contains("pleural-fluid"), shown.stdout)
        XCTAssertTrue(shown.stdout.contains("right: lung opacity"), shown.stdout)
        try regenerate(first, to: out.appendingPathComponent("again.png"))
    }

    func testInvertedEditWithKeepMaskRegenerates() throws {
        let out = try CLI.tempDir(self)
        // A keep mask file: the top quarter of the 512x512 sample.
        let keep = out.appendingPathComponent("keep.png")
        try ImageIO.writePNG(
            try RasterImage(
                width: 512, height: 512, channels: 1, bitDepth: 8,
                samples: (0..<(512 * 512)).map { $0 < 512 * 128 ? 255 : 0 }), to: keep)
        let first = out.appendingPathComponent("inv.png")
        let r = try CLI.run([
            "edit", RegionalEditTests.sample.path, "--model", CLI.sd1.path, "--remove", "cardiomegaly",
            "--invert", "--source-prompt", "Cardiomegaly.", "--keep", keep.path, "--detail", "off",
            "--strength", "0.6", "--steps", "4", "-o", first.path, "--quiet",
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        try regenerate(first, to: out.appendingPathComponent("again.png"))
        // A file without a recorded command says so.
        let g = out.appendingPathComponent("g.png")
        XCTAssertEqual(
            try CLI.run([
                "generate", "--model", CLI.sd1.path, "--prompt", "x", "--steps", "2", "-o", g.path,
                "--quiet",
            ]).status, 0)
        CLI.assertFails(
            try CLI.run(["provenance", "--command", g.path]), matches: ["g.png", "no regeneration command"],
            "generate output")
    }
}
