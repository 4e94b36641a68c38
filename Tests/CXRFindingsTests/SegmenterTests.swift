import CXRFindings
import CXRImaging
import Foundation
import XCTest

final class SegmenterTests: XCTestCase {
    /// The Swift network gives the training script's masks on Samples/ images of three sizes and views
    /// (Tests/Fixtures/segmenter/parity.json, from `Tools/train_lung_segmenter.py --parity-fixture`): a wrong layer
    /// order, padding, normalisation or resize would move whole organs, not a few border pixels.
    func testMatchesTrainingScript() throws {
        let url = TestPaths.repo.appendingPathComponent("Tests/Fixtures/segmenter/parity.json")
        let root = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        let images = root["images"] as! [String: [String: Any]]
        XCTAssertEqual(images.count, 3)
        let segmenter = try LungSegmenter.standard()
        for (name, expected) in images.sorted(by: { $0.key < $1.key }) {
            let masks = segmenter.segment(try ImageIO.read(TestPaths.repo.appendingPathComponent("Samples/\(name)")))
            let size = expected["working_size"] as! [Int]
            XCTAssertEqual([masks.width, masks.height], size, name)
            let parts = expected["parts"] as! [String: [String: Any]]
            let mine = [("right_lung", masks.rightLung), ("left_lung", masks.leftLung), ("heart", masks.heart)]
            for (key, mask) in mine {
                let want = parts[key]!
                let count = mask.filter { $0 }.count, wantCount = want["pixels"] as! Int
                // fp16 weights widened on both sides; resize and GEMM rounding flip only border pixels
                XCTAssertEqual(Double(count), Double(wantCount), accuracy: 0.01 * Double(wantCount), "\(name) \(key)")
                let box = try XCTUnwrap(BoundingBox(pixels: mask, width: masks.width, height: masks.height))
                let wantBox = (want["box"] as! [Int]).map(Double.init)
                for (got, exp) in zip([box.x0, box.y0, box.x1, box.y1], wantBox) {
                    XCTAssertEqual(got, exp, accuracy: 1, "\(name) \(key) box")
                }
            }
        }
    }

    /// Held-out JSRT images (never used for training: ids sorted, index % 5 == 4): Dice of the segmenter's own
    /// masks against the SCR masks (training script: lungs 0.977, heart 0.949).
    func testDiceOnHeldOutJSRT() throws {
        let data = try TestPaths.cxr256()
        let segmenter = try LungSegmenter.standard()
        let ids = try FileManager.default.contentsOfDirectory(atPath: data.appendingPathComponent("masks_jsrt").path)
            .filter { $0.hasSuffix("_heart.png") }.map { String($0.dropLast("_heart.png".count)) }.sorted()
        let heldOut = ids.enumerated().filter { $0.offset % 5 == 4 }.map(\.element)
        XCTAssertEqual(heldOut.count, 49)
        func truth(_ id: String, _ part: String) throws -> [Bool] {
            let url = data.appendingPathComponent("masks_jsrt/\(id)_\(part).png")
            return pixels(Mask(image: try ImageIO.read(url)).binarized())
        }
        var lungs: [Double] = [], heart: [Double] = []
        for id in heldOut {
            let m = segmenter.segment(try ImageIO.read(data.appendingPathComponent("images/jsrt_\(id).png")))
            XCTAssertEqual(m.width, 256)
            let r = try truth(id, "right_lung"), l = try truth(id, "left_lung")
            lungs.append(dice(zip(m.rightLung, m.leftLung).map { $0 || $1 }, zip(r, l).map { $0 || $1 }))
            heart.append(dice(m.heart, try truth(id, "heart")))
        }
        let meanLungs = lungs.reduce(0, +) / Double(lungs.count), meanHeart = heart.reduce(0, +) / Double(heart.count)
        print(
            String(
                format: "segmenter, held-out JSRT (%d images): mean Dice lungs %.3f (min %.3f), heart %.3f "
                    + "(min %.3f)", heldOut.count, meanLungs, lungs.min()!, meanHeart, heart.min()!))
        XCTAssertGreaterThanOrEqual(meanLungs, 0.97)
        XCTAssertGreaterThanOrEqual(meanHeart, 0.94)
    }

    /// Box-to-box transforms: each part's atlas box lands exactly on the segmented box; a lung cut short is
    /// placed by both lungs; masks that are not two lungs with a heart between them give no segmented fit.
    func testSegmentedFitMapsBoxesAndRejectsImplausibleMasks() throws {
        let fitter = try RegionFitter.standard()
        func rect(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int) -> [Bool] {
            (0..<(200 * 200)).map { i in (x0..<x1).contains(i % 200) && (y0..<y1).contains(i / 200) }
        }
        // 200x200 working masks for a 400x400 image: boxes double in image pixels.
        var masks = LungMasks(
            width: 200, height: 200, imageWidth: 400, imageHeight: 400,
            rightLung: rect(20, 20, 90, 170), leftLung: rect(110, 25, 180, 175),
            heart: rect(70, 100, 150, 160))
        // The match check needs a radiograph where these boxes lie: a 400x400 copy of a sample.
        let chest = try ImageIO.read(TestPaths.repo.appendingPathComponent("Samples/nih_00027426_000.png"))
            .resized(width: 400, height: 400, filter: .bilinear)
        // A stray island (stomach gas) must not stretch the left lung's box.
        masks.leftLung[190 * 200 + 190] = true
        let fit = try XCTUnwrap(fitter.segmentedFit(masks, on: chest, score: 0.8))
        XCTAssertEqual(fit.method, .segmenter)
        XCTAssertEqual(fit.score, 0.8)
        func placedBox(_ name: String) throws -> BoundingBox {
            let m = try fitter.place([name], fit: fit)
            return try XCTUnwrap(BoundingBox(pixels: m.pixels, width: m.width, height: m.height))
        }
        for (name, want) in [
            ("right-lung", BoundingBox(x0: 40, y0: 40, x1: 180, y1: 340)),
            ("left-lung", BoundingBox(x0: 220, y0: 50, x1: 360, y1: 350)),
            ("heart", BoundingBox(x0: 140, y0: 200, x1: 300, y1: 320)),
            ("lungs", BoundingBox(x0: 40, y0: 40, x1: 360, y1: 350)),
        ] {
            let got = try placedBox(name)
            for (g, w) in zip([got.x0, got.y0, got.x1, got.y1], [want.x0, want.y0, want.x1, want.y1]) {
                XCTAssertEqual(g, w, accuracy: 1.5, name)
            }
        }
        // Zones follow their own lung: the right lower zone ends at the right lung's base, not at both lungs'.
        XCTAssertEqual(try placedBox("right-lower-zone").y1, 340, accuracy: 1.5)

        // The left lung cut short by an opacity: its regions fall back to the whole-atlas transform.
        var short = masks
        short.leftLung = rect(110, 25, 180, 90)
        let f2 = try XCTUnwrap(fitter.segmentedFit(short, on: chest, score: 0.8))
        XCTAssertNil(f2.leftLung)
        XCTAssertNotNil(f2.rightLung)
        XCTAssertEqual(f2.transform(forRegion: "left-lower-zone"), f2.transform)

        // Implausible masks: no segmented fit.
        var swapped = masks
        (swapped.rightLung, swapped.leftLung) = (masks.leftLung, masks.rightLung)
        XCTAssertNil(fitter.segmentedFit(swapped, on: chest, score: 0.8))
        var noHeart = masks
        noHeart.heart = rect(0, 0, 0, 0)
        XCTAssertNil(fitter.segmentedFit(noHeart, on: chest, score: 0.8))
        var tiny = masks
        tiny.rightLung = rect(20, 20, 30, 30)
        XCTAssertNil(fitter.segmentedFit(tiny, on: chest, score: 0.8))
        // Plausible masks on an image that is no radiograph where they lie: the template does not match there.
        let flat = try RasterImage(
            width: 400, height: 400, channels: 1, bitDepth: 8,
            samples: (0..<(400 * 400)).map { UInt16(($0 * 7919) % 251) })
        XCTAssertNil(fitter.segmentedFit(masks, on: flat, score: 0.8))
        // A fitter without a segmenter, or an image the segmenter cannot read as a chest, uses the template fit.
        let noise = try RasterImage(
            width: 96, height: 96, channels: 1, bitDepth: 8,
            samples: (0..<(96 * 96)).map { UInt16(($0 * 7919) % 251) })
        XCTAssertEqual(fitter.fit(noise).method, .template)
        let templateOnly = RegionFitter(atlas: fitter.atlas)
        XCTAssertEqual(templateOnly.fit(noise), fitter.templateFit(noise))
    }

    /// A region placed by a segmented fit uses its part's transform; regions of one transform are joined before
    /// sampling, so a union equals placing them together (no seam between the zones of one lung).
    func testPlaceUsesEachRegionsTransform() throws {
        let fitter = try RegionFitter.standard()
        let heart = AtlasTransform(scaleX: 1.3, scaleY: 1.2, offsetX: -20, offsetY: -10)
        let fit = AtlasFit(
            scaleX: 1, scaleY: 1, offsetX: 0, offsetY: 0, score: 0.9, imageWidth: 256, imageHeight: 256,
            method: .segmenter, heart: heart)
        let identity = AtlasFit(
            scaleX: 1, scaleY: 1, offsetX: 0, offsetY: 0, score: 0.9, imageWidth: 256,
            imageHeight: 256)
        let moved = AtlasFit(
            scaleX: 1.3, scaleY: 1.2, offsetX: -20, offsetY: -10, score: 0.9, imageWidth: 256,
            imageHeight: 256)
        XCTAssertEqual(try fitter.place(["heart"], fit: fit), try fitter.place(["heart"], fit: moved))
        XCTAssertEqual(try fitter.place(["lungs"], fit: fit), try fitter.place(["lungs"], fit: identity))
        let union = try fitter.place(["right-lower-zone", "heart"], fit: fit)
        let parts = try fitter.place(["right-lower-zone"], fit: identity).union(try fitter.place(["heart"], fit: moved))
        XCTAssertEqual(union, parts)
        XCTAssertEqual(
            try fitter.place(["right-upper-zone", "right-middle-zone", "right-lower-zone"], fit: fit),
            try fitter.place(["right-lung"], fit: fit))
        XCTAssertThrowsError(try fitter.place([], fit: fit))
    }

    func testLargestPartKeepsTheBiggestComponent() {
        // 8x4: a 3-pixel blob, a 5-pixel blob and a diagonal neighbour (not 4-connected) of the larger.
        let rows = [
            "XX.....X",
            "X...XXXX",
            "......X.",
            ".....X..",
        ]
        let mask = rows.joined().map { $0 == "X" }
        let m = LungMasks(
            width: 8, height: 4, imageWidth: 8, imageHeight: 4, rightLung: mask, leftLung: mask,
            heart: [Bool](repeating: false, count: 32)
        ).largestParts()
        let want = [
            ".......X",
            "....XXXX",
            "......X.",
            "........",
        ].joined().map { $0 == "X" }
        XCTAssertEqual(m.rightLung, want)
        XCTAssertEqual(m.heart, [Bool](repeating: false, count: 32))
    }
}
