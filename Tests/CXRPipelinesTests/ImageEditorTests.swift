import XCTest
import CXRCheckpoint
import CXRImaging
import CXRTensor
@testable import CXRPipelines

/// The library editor: the second (inpainting) UNet, the soft margin, detail transfer, keep masks, the report and
/// the null edit, on the tiny fixture models.
final class ImageEditorTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")
    static func fixtureModel(_ name: String) -> URL { fixtures.appendingPathComponent("models/\(name)") }

    /// A model folder with a 4-channel `unet/` (sd1-tiny's) and the 9-channel inpainting UNet of sd1-inpaint-tiny
    /// as `unet-inpaint/`, everything else from sd1-inpaint-tiny, linked into a temporary folder.
    static func twoUNetFolder(
        _ test: XCTestCase, inpaint: String = "sd1-inpaint-tiny/unet",
        json: String = #"{"inpaint_unet": "unet-inpaint"}"#
    ) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("two-unet-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let base = fixtureModel("sd1-inpaint-tiny")
        for item in ["model_index.json", "text_encoder", "vae", "tokenizer", "scheduler"] {
            try FileManager.default.createSymbolicLink(
                at: dir.appendingPathComponent(item),
                withDestinationURL: base.appendingPathComponent(item))
        }
        try FileManager.default.createSymbolicLink(
            at: dir.appendingPathComponent("unet"),
            withDestinationURL: fixtureModel("sd1-tiny").appendingPathComponent("unet"))
        try FileManager.default.createSymbolicLink(
            at: dir.appendingPathComponent("unet-inpaint"),
            withDestinationURL: fixtures.appendingPathComponent("models/\(inpaint)"))
        try Data(json.utf8).write(to: dir.appendingPathComponent(ModelRecommendations.fileName))
        return dir
    }

    /// A 16-bit or 8-bit grey test image with fine structure (a ramp plus a checkerboard of period 2).
    static func image(width: Int, height: Int, bitDepth: Int) throws -> RasterImage {
        let maxV = bitDepth == 16 ? 65535.0 : 255.0
        let samples = (0..<(width * height)).map { i -> UInt16 in
            let x = i % width, y = i / width
            let v = 0.3 + 0.4 * Double(x + y) / Double(width + height) + ((x + y) % 2 == 0 ? 0.05 : -0.05)
            return UInt16((v * maxV).rounded())
        }
        return try RasterImage(width: width, height: height, channels: 1, bitDepth: bitDepth, samples: samples)
    }

    static func rect(_ w: Int, _ h: Int, x: Range<Int>, y: Range<Int>) throws -> Mask {
        try Mask(width: w, height: h, pixels: (0..<(w * h)).map { x.contains($0 % w) && y.contains($0 / w) })
    }

    func testInpaintingUNetLoadsAndRunsTheNineChannelPath() throws {
        let two = try StableDiffusionModel.load(from: Self.twoUNetFolder(self))
        XCTAssertEqual(try two.unet.config.inChannels, 4)
        XCTAssertEqual(try two.inpaintUNet?.config.inChannels, 9)
        XCTAssertTrue(two.hasInpaintingUNet)
        XCTAssertEqual(two.recommendations.inpaintUNet, "unet-inpaint")
        // The 9-channel path with the second UNet is diffusers' inpainting pipeline on that UNet: identical to
        // running sd1-inpaint-tiny itself (whose parity with diffusers PipelineParityTests checks).
        let reference = try StableDiffusionModel.load(from: Self.fixtureModel("sd1-inpaint-tiny"))
        let inputs = try SafeTensorsFile(url: Self.fixtures.appendingPathComponent("pipelines/inputs.safetensors"))
        let task = DiffusionTask.inpaint(
            image: try inputs.tensor("init_image"), mask: try inputs.tensor("mask_condition"))
        var s = DiffusionSettings(
            prompt: "Large right pleural effusion.", steps: 8, guidance: 7.5, seed: 61, strength: 1)
        let expected = try StableDiffusionPipeline(model: reference).run(task, settings: s)
        s.unet = .inpaint
        let got = try StableDiffusionPipeline(model: two).run(task, settings: s)
        XCTAssertEqual(got.latents, expected.latents)
        // The standard choice keeps the 4-channel UNet (blending), which differs.
        s.unet = .standard
        XCTAssertNotEqual(try StableDiffusionPipeline(model: two).run(task, settings: s).latents, expected.latents)
        // A whole-image edit cannot use the inpainting UNet.
        s.unet = .inpaint
        XCTAssertThrowsError(
            try StableDiffusionPipeline(model: two).run(.edit(image: try inputs.tensor("init_image")), settings: s))
        // A model without one refuses the choice.
        XCTAssertThrowsError(try StableDiffusionModel.load(from: Self.fixtureModel("sd1-tiny")).unet(for: .inpaint))
    }

    func testBadInpaintingUNetFoldersAreOneLineErrors() throws {
        let fourChannel = try Self.twoUNetFolder(self, inpaint: "sd1-tiny/unet")
        XCTAssertThrowsError(try StableDiffusionModel.load(from: fourChannel)) { e in
            XCTAssertTrue("\(e)".contains("unet-inpaint") && "\(e)".contains("in must be 9"), "\(e)")
        }
        let missing = try Self.twoUNetFolder(self, json: #"{"inpaint_unet": "nope"}"#)
        XCTAssertThrowsError(try StableDiffusionModel.load(from: missing)) { e in
            XCTAssertTrue("\(e)".contains("nope"), "\(e)")
        }
        let escaping = try Self.twoUNetFolder(self, json: #"{"inpaint_unet": "../unet"}"#)
        XCTAssertThrowsError(try StableDiffusionModel.load(from: escaping)) { e in
            XCTAssertTrue("\(e)".contains("inpaint_unet"), "\(e)")
        }
    }

    func testRegionalEditsKeepEverythingBeyondTheMarginBitExact() throws {
        let editor = ImageEditor(model: try StableDiffusionModel.load(from: Self.twoUNetFolder(self)))
        for bitDepth in [8, 16] {
            // 96x72 input on a 64 px model: 1.5 input px per model px, 0.375 per 256-frame px.
            let w = 96, h = 72
            let original = try Self.image(width: w, height: h, bitDepth: bitDepth)
            let region = try Self.rect(w, h, x: 40..<70, y: 20..<50)
            let keep = try Self.rect(w, h, x: 60..<70, y: 40..<50)
            for margin in [0, 16] {
                var r = EditRequest(
                    image: original, prompt: "Right pleural effusion.", editMask: region, keepMask: keep,
                    seed: 4, steps: 6, guidance: 4, margin: margin, imageKey: "img\(bitDepth)")
                r.provenanceExtras["regions"] = "test"
                let out = try editor.edit(r)
                XCTAssertEqual(out.unet, .inpaint, "masked edits use the inpainting UNet when there is one")
                XCTAssertEqual(out.image.bitDepth, bitDepth)
                let band = region.dilated(by: Int((Double(margin) * 96 / 256).rounded()))
                var changedInside = 0
                for i in 0..<(w * h) {
                    if !band.contains(i) || keep.contains(i) {
                        XCTAssertEqual(
                            out.image.samples[i], original.samples[i], "\(bitDepth)-bit, margin \(margin): pixel \(i)")
                    } else if out.image.samples[i] != original.samples[i] {
                        changedInside += 1
                    }
                }
                XCTAssertGreaterThan(changedInside, 300, "the region was edited")
                XCTAssertEqual(out.repainted, try band.subtracting(keep), "repainted = region + band - keep")
                XCTAssertEqual(try out.report.changedFractionOutside, 0)
                let p = out.provenance(of: r, software: "t", model: "m", modelHash: "h")
                XCTAssertEqual(p.extra["margin"], String(margin))
                XCTAssertEqual(p.extra["unet"], "inpaint")
                XCTAssertEqual(p.extra["detail"], "on")
                XCTAssertEqual(p.extra["regions"], "test")
                XCTAssertEqual(p.mode, "inpaint")
            }
        }
    }

    func testDetailOffIsTheRawPipelineOutput() throws {
        let model = try StableDiffusionModel.load(from: Self.fixtureModel("sd1-tiny"))
        let original = try Self.image(width: 64, height: 48, bitDepth: 16)
        let r = EditRequest(image: original, prompt: "Cardiomegaly.", seed: 7, steps: 6, guidance: 4, detail: .off)
        XCTAssertEqual(r.strength, EditRequest.defaultWholeImageStrength)
        let out = try ImageEditor(model: model).edit(r)
        let prepared = try PreparedImage(original, size: model.nativeImageSize)
        let raw = try StableDiffusionPipeline(model: model).run(
            .edit(image: prepared.tensor),
            settings: DiffusionSettings(prompt: "Cardiomegaly.", steps: 6, guidance: 4, seed: 7, strength: 0.5))
        XCTAssertEqual(out.image, try prepared.unfit(raw.image))
        XCTAssertEqual(out.unet, .standard)
        XCTAssertNil(out.repainted)
        XCTAssertEqual(out.mode, "edit")
    }

    /// `.difference`: the output is the input plus (edit - null edit), both rendered by the pipeline from the same
    /// seed and region; the null edit itself is the input; both renderings are cached, so the null edit made after
    /// the edit costs no UNet evaluation; a request without null prompts is refused.
    func testDifferenceIsTheInputPlusTheEditMinusItsNullEdit() throws {
        let model = try StableDiffusionModel.load(from: Self.twoUNetFolder(self))
        let editor = ImageEditor(model: model)
        for bitDepth in [8, 16] {
            let w = 96, h = 72
            let original = try Self.image(width: w, height: h, bitDepth: bitDepth)
            let region = try Self.rect(w, h, x: 40..<70, y: 20..<50)
            let base = "Frontal chest radiograph."
            let r = EditRequest(
                image: original, prompt: base + " Right pleural effusion.", editMask: region, seed: 4, steps: 6,
                guidance: 4, detail: .difference, nullPrompt: base, margin: 0, imageKey: "img\(bitDepth)")
            var steps: [Int] = []
            let out = try editor.edit(r) { steps.append($0.step) }
            XCTAssertEqual(steps.last, 2 * out.denoisingSteps, "progress counts the edit's and the null's passes")

            // The same two renderings by hand, through the raw editor.
            var raw = r
            raw.detail = .off
            raw.pasteBack = false
            let fresh = ImageEditor(model: model)
            let edit = try fresh.edit(raw).image
            raw.prompt = base
            let null = try fresh.edit(raw).image
            let expected = try NullDifference.apply(original: original, edit: edit, null: null)
            XCTAssertNotEqual(expected, original, "the finding changed something")
            let band = region.dilated(by: 0)
            for i in 0..<(w * h) {
                XCTAssertEqual(out.image.samples[i], band.contains(i) ? expected.samples[i] : original.samples[i])
            }
            let p = out.provenance(of: r, software: "t", model: "m", modelHash: "h")
            XCTAssertEqual(p.extra["detail"], "difference")
            XCTAssertEqual(p.extra["null-prompt"], base)

            let nullRequest = try r.nullEdit()
            XCTAssertTrue(nullRequest.isNullEdit)
            var nullSteps: [Int] = []
            let nullOut = try editor.edit(nullRequest) { nullSteps.append($0.step) }
            XCTAssertEqual(nullOut.image, original, "the null edit is the input")
            XCTAssertTrue(nullSteps.isEmpty, "the null rendering was cached by the edit")
        }
        var orphan = EditRequest(
            image: try Self.image(width: 8, height: 8, bitDepth: 8), prompt: "x", detail: .difference)
        XCTAssertThrowsError(try orphan.validate()) { XCTAssertTrue("\($0)".contains("null edit")) }
        orphan.nullPrompt = "y"
        XCTAssertNoThrow(try orphan.validate())
    }

    func testNullDifferenceClampsAndKeepsBitDepth() throws {
        for (depth, full) in [(8, 255), (16, 65535)] {
            let img = { (v: [Int]) in
                try RasterImage(width: 3, height: 1, channels: 1, bitDepth: depth, samples: v.map { UInt16($0) })
            }
            let out = try NullDifference.apply(
                original: img([10, full - 5, 100]), edit: img([50, 40, 7]), null: img([30, 20, 90]))
            XCTAssertEqual(out.samples, [30, UInt16(full), 17].map { UInt16($0) })
            XCTAssertEqual(out.bitDepth, depth)
            XCTAssertThrowsError(
                try NullDifference.apply(
                    original: img([1, 2, 3]), edit: img([1, 2, 3]),
                    null: try Self.image(width: 3, height: 2, bitDepth: depth)))
        }
    }

    func testDetailTransferRestoresUnchangedNeighbourhoodsOnly() throws {
        for bitDepth in [8, 16] {
            let w = 40, h = 30
            let original = try Self.image(width: w, height: h, bitDepth: bitDepth)
            let full = Double(original.maxValue)
            // The round trip lost the checkerboard (the ramp alone); the edit redrew the right half much brighter.
            let roundTrip = try RasterImage(
                width: w, height: h, channels: 1, bitDepth: bitDepth,
                samples: (0..<(w * h)).map { i in
                    UInt16(((0.3 + 0.4 * Double(i % w + i / w) / Double(w + h)) * full).rounded())
                })
            var rawSamples = roundTrip.samples
            for i in 0..<(w * h) where i % w >= 20 {
                rawSamples[i] = UInt16(min(full, Double(rawSamples[i]) + 0.3 * full))
            }
            let raw = try RasterImage(width: w, height: h, channels: 1, bitDepth: bitDepth, samples: rawSamples)
            let out = try DetailTransfer.apply(original: original, raw: raw, roundTrip: roundTrip, radius: 2)
            for y in 0..<h {
                XCTAssertEqual(
                    out.samples[y * w + 2], original.samples[y * w + 2], "unchanged: the input's detail is back")
                XCTAssertEqual(out.samples[y * w + 35], raw.samples[y * w + 35], "redrawn: the model's content stays")
            }
        }
    }

    func testNullEditChangesOnlyThePrompts() throws {
        let img = try Self.image(width: 8, height: 8, bitDepth: 8)
        let r = EditRequest(
            image: img, prompt: "Frontal chest radiograph. Cardiomegaly.", negativePrompt: "x. Effusion.",
            editMask: try Self.rect(8, 8, x: 0..<4, y: 0..<4), seed: 3, steps: 9, guidance: 2, detail: .off,
            nullPrompt: "Frontal chest radiograph.", nullNegativePrompt: "x.", margin: 5, imageKey: "k")
        XCTAssertEqual(r.strength, EditRequest.defaultRegionalStrength)
        let n = try r.nullEdit()
        XCTAssertTrue(n.isNullEdit)
        var orphan = r
        orphan.nullPrompt = nil
        XCTAssertThrowsError(try orphan.nullEdit())
        XCTAssertEqual(n.prompt, "Frontal chest radiograph.")
        XCTAssertEqual(n.negativePrompt, "x.")
        XCTAssertEqual([n.seed, UInt64(n.steps), UInt64(n.margin)], [3, 9, 5])
        XCTAssertEqual(n.editMask, r.editMask)
        XCTAssertEqual(n.strength, r.strength)
        XCTAssertEqual(n.detail, r.detail)
        XCTAssertEqual(n.imageKey, r.imageKey)
    }

    /// The report measures against the area actually repainted: a whole-image edit that keeps a region reports its
    /// untouched outside beside the changed whole (the case that printed changed_fraction_outside 0 for a 62% edit
    /// with nothing to say that the outside was only the kept region).
    func testReportMeasuresTheRepaintedArea() throws {
        let w = 50, h = 40
        let original = try Self.image(width: w, height: h, bitDepth: 8)
        let keep = try Self.rect(w, h, x: 0..<w, y: 0..<15)  // 37.5% kept
        var edited = original
        for i in 0..<(w * h) where !keep.contains(i) { edited.samples[i] = 255 - edited.samples[i] / 4 }
        let area = try RepaintArea(edit: nil, keep: keep, margin: 0, width: w, height: h)
        let report = try EditReport(original: original, edited: edited, repainted: area.repainted)
        XCTAssertEqual(report.changedFraction, 0.625, accuracy: 1e-9)
        XCTAssertEqual(report.repaintedFraction, 0.625, accuracy: 1e-9)
        XCTAssertEqual(report.changedFractionInside, 1, accuracy: 1e-9)
        XCTAssertEqual(report.changedFractionOutside, 0)
        XCTAssertEqual(
            report.changedFraction,
            report.changedFractionInside * report.repaintedFraction
                + (report.changedFractionOutside ?? 0) * (1 - report.repaintedFraction), accuracy: 1e-9)
        // Changes in the margin band count as inside, and a change outside the repainted area is reported.
        let region = try Self.rect(w, h, x: 10..<20, y: 10..<20)
        let banded = try RepaintArea(edit: region, keep: nil, margin: 3, width: w, height: h)
        var leaked = original
        leaked.samples[15 * w + 21] = 0  // in the band
        leaked.samples[35 * w + 45] = 255  // far outside
        let r2 = try EditReport(original: original, edited: leaked, repainted: banded.repainted)
        XCTAssertEqual(r2.changedFractionInside * r2.repaintedFraction * Double(w * h), 1, accuracy: 1e-9)
        XCTAssertEqual(
            try XCTUnwrap(r2.changedFractionOutside) * (1 - r2.repaintedFraction) * Double(w * h), 1, accuracy: 1e-9)
        // Read back by JSONDecoder, which (unlike JSONSerialization's reader) gives every double exactly.
        struct Written: Decodable {
            var changedFractionOutside: Double?
            enum CodingKeys: String, CodingKey { case changedFractionOutside = "changed_fraction_outside" }
        }
        let written = try JSONDecoder().decode(Written.self, from: JSONEncoder().encode(r2))
        XCTAssertEqual(written.changedFractionOutside, r2.changedFractionOutside)
    }
}
