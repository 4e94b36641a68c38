import CXRImaging
import Foundation
import XCTest

/// The probe and `cxr-edit edit` make a counterfactual through the same library editor: for the same request they
/// write the same pixels, edit and null edit alike, keep masks and keep regions included.
final class ProbeEquivalenceTests: XCTestCase {
    func testProbeAndEditWriteIdenticalCounterfactuals() throws {
        let dir = try CLI.tempDir(self, "equiv")
        let inputs = dir.appendingPathComponent("in")
        try FileManager.default.createDirectory(at: inputs, withIntermediateDirectories: true)
        let image = inputs.appendingPathComponent("sample.png")
        try FileManager.default.copyItem(at: RegionalEditTests.sample, to: image)
        let keep = dir.appendingPathComponent("keep.png")  // the lowest quarter of the 512x512 image
        try ImageIO.writePNG(
            try RasterImage(
                width: 512, height: 512, channels: 1, bitDepth: 8,
                samples: (0..<(512 * 512)).map { $0 >= 512 * 384 ? 255 : 0 }), to: keep)
        let spec = """
            inputs: in
            edits:
              - name: keep-file
                add: effusion
                side: right
                severity: large
                keep_mask: keep.png
              - name: keep-region
                remove: cardiomegaly
                keep_region: [right-apex]
            strengths: [0.8]
            seeds: [3]
            steps: 3
            guidance: 4
            classifiers: [demo]
            """
        try spec.write(to: dir.appendingPathComponent("s.yaml"), atomically: true, encoding: .utf8)
        let run = dir.appendingPathComponent("run")
        let p = try CLI.run([
            "probe", "--spec", dir.appendingPathComponent("s.yaml").path, "--out", run.path,
            "--model", CLI.sd1.path, "--quiet",
        ])
        XCTAssertEqual(p.status, 0, p.stderr)
        let lines = try String(contentsOf: run.appendingPathComponent("results.jsonl"), encoding: .utf8).split(
            separator: "\n")
        let rows = try lines.map {
            try XCTUnwrap(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        XCTAssertEqual(rows.count, 2)

        let cases: [(String, [String])] = [
            ("keep-file", ["--add", "effusion", "--side", "right", "--severity", "large", "--keep", keep.path]),
            ("keep-region", ["--remove", "cardiomegaly", "--keep-region", "right-apex"]),
        ]
        for (name, args) in cases {
            let row = try XCTUnwrap(rows.first { $0["edit"] as? String == name }, name)
            let edit = dir.appendingPathComponent("\(name).png"), null = dir.appendingPathComponent("\(name).null.png")
            let r = try CLI.run(
                [
                    "edit", image.path, "--model", CLI.sd1.path, "--strength", "0.8", "--seed", "3",
                    "--steps", "3", "--guidance", "4", "-o", edit.path, "--null-edit", null.path, "--quiet",
                ] + args)
            XCTAssertEqual(r.status, 0, r.stderr)
            let probeEdit = try ImageIO.read(run.appendingPathComponent(try XCTUnwrap(row["output"] as? String)))
            let probeNull = try ImageIO.read(
                run.appendingPathComponent(
                    try XCTUnwrap((row["null"] as? [String: Any])?["output"] as? String)))
            XCTAssertEqual(
                probeEdit, try ImageIO.read(edit), "\(name): the probe's counterfactual differs from the CLI's")
            XCTAssertEqual(probeNull, try ImageIO.read(null), "\(name): the probe's null edit differs from the CLI's")
            XCTAssertNotEqual(probeEdit, probeNull, "\(name): the comparison is not vacuous")
        }
    }
}
