import CXRFindings
import CXRImaging
import XCTest

final class FitterTests: XCTestCase {
    /// A synthetic radiograph: the atlas template drawn with a known transform on a larger canvas,
    /// plus deterministic noise and a different contrast.
    func synthetic(_ fitter: RegionFitter, width: Int, height: Int, truth: AtlasFit) throws -> RasterImage {
        let t = fitter.atlas.template
        var samples = [UInt16](repeating: 0, count: width * height)
        var seed: UInt64 = 12345
        for y in 0..<height {
            for x in 0..<width {
                let u = (Double(x) + 0.5 - truth.offsetX) / truth.scaleX - 0.5
                let v = (Double(y) + 0.5 - truth.offsetY) / truth.scaleY - 0.5
                let ui = min(max(Int(u.rounded()), 0), 255), vi = min(max(Int(v.rounded()), 0), 255)
                let inside = u >= -0.5 && u < 255.5 && v >= -0.5 && v < 255.5
                seed = seed &* 6364136223846793005 &+ 1442695040888963407
                let noise = Double(seed >> 40) / Double(1 << 24) * 0.1 - 0.05
                let value = inside ? pow(Double(t[vi * 256 + ui]), 1.5) + noise : 0.02 + noise
                samples[y * width + x] = UInt16(min(max(value * 65535, 0), 65535))
            }
        }
        return try RasterImage(width: width, height: height, channels: 1, bitDepth: 16, samples: samples)
    }

    func testRecoversKnownShiftAndScale() throws {
        let fitter = try RegionFitter.standard()
        let truth = AtlasFit(
            scaleX: 1.15, scaleY: 0.95, offsetX: 30, offsetY: 22, score: 1, imageWidth: 340, imageHeight: 290)
        let img = try synthetic(fitter, width: 340, height: 290, truth: truth)
        // The template registration itself (the standard fit segments first, and a template drawn with noise is
        // no radiograph to segment).
        let fit = fitter.templateFit(img)
        XCTAssertEqual(fit.scaleX, truth.scaleX, accuracy: 0.03 * truth.scaleX, fit.summary)
        XCTAssertEqual(fit.scaleY, truth.scaleY, accuracy: 0.03 * truth.scaleY, fit.summary)
        XCTAssertEqual(fit.offsetX, truth.offsetX, accuracy: 4, fit.summary)
        XCTAssertEqual(fit.offsetY, truth.offsetY, accuracy: 4, fit.summary)
        XCTAssertGreaterThan(fit.score, 0.8)
        // The placed lungs agree with the lungs placed by the true transform.
        let placed = try fitter.place(["lungs"], fit: fit)
        let expected = try fitter.place(["lungs"], fit: truth)
        XCTAssertGreaterThan(dice(pixels(placed), pixels(expected)), 0.95)

        // A large RGB 8-bit version of the same picture fits to the same place, scaled.
        let big = try img.resized(width: 680, height: 580, filter: .bilinear).to8Bit().toRGB()
        let fitBig = fitter.templateFit(big)
        XCTAssertEqual(fitBig.offsetX / 2, fit.offsetX, accuracy: 3, fitBig.summary)
        XCTAssertEqual(fitBig.scaleY / 2, fit.scaleY, accuracy: 0.03, fitBig.summary)
    }

    func testPlacementAndDilation() throws {
        let fitter = try RegionFitter.standard()
        let identity = AtlasFit(
            scaleX: 1, scaleY: 1, offsetX: 0, offsetY: 0, score: 1, imageWidth: 256, imageHeight: 256)
        let heart = try fitter.place(["heart"], fit: identity)
        XCTAssertEqual(heart, try fitter.atlas.union(["heart"]))
        let grown = try fitter.place(["heart"], fit: identity, dilate: 5)
        XCTAssertGreaterThan(grown.coverage, heart.coverage)
        // every added pixel is within 5 px of the region, every pixel 1 px outside it is added
        let h = pixels(heart), g = pixels(grown)
        let inside = h.indices.filter { h[$0] }.map { ($0 % 256, $0 / 256) }
        for i in g.indices where g[i] && !h[i] {
            let x = i % 256, y = i / 256
            XCTAssertTrue(inside.contains { ($0.0 - x) * ($0.0 - x) + ($0.1 - y) * ($0.1 - y) <= 25 })
            break
        }
        for i in h.indices where h[i] {
            let x = i % 256, y = i / 256
            if x + 1 < 256 { XCTAssertTrue(g[y * 256 + x + 1]) }
        }
        XCTAssertThrowsError(try fitter.place(["heart"], fit: identity, dilate: -1))
        // union
        let both = try fitter.place(["right-lung", "left-lung"], fit: identity)
        XCTAssertEqual(both, try fitter.place(["lungs"], fit: identity))
        // a half-size image gets a half-size mask
        let half = AtlasFit(
            scaleX: 0.5, scaleY: 0.5, offsetX: 0, offsetY: 0, score: 1, imageWidth: 128, imageHeight: 128)
        XCTAssertEqual(try fitter.place(["lungs"], fit: half).coverage, both.coverage, accuracy: 0.01)
    }

    /// Held-out JSRT images (never used to build the atlas or train the segmenter; rule in
    /// Tools/make_region_atlas.py): Dice of the placed lungs / heart against the true SCR masks, for the template
    /// fit alone and for the standard (segmented) fit, whose lungs are placed each by its own transform.
    func testDiceOnHeldOutJSRT() throws {
        let data = try TestPaths.cxr256()
        let fitter = try RegionFitter.standard()
        let ids = try FileManager.default.contentsOfDirectory(atPath: data.appendingPathComponent("masks_jsrt").path)
            .filter { $0.hasSuffix("_heart.png") }.map { String($0.dropLast("_heart.png".count)) }.sorted()
        let heldOut = ids.enumerated().filter { $0.offset % 5 == 4 }.map(\.element)
        XCTAssertGreaterThanOrEqual(heldOut.count, 40)
        func truth(_ id: String, _ part: String) throws -> [Bool] {
            pixels(
                Mask(image: try ImageIO.read(data.appendingPathComponent("masks_jsrt/\(id)_\(part).png"))).binarized())
        }
        let bothLungs = ["right-lung", "left-lung"]
        var lungDice: [String: [Double]] = [:], heartDice: [String: [Double]] = [:]
        var shiftedDice: [String: [Double]] = [:]
        var segmented = 0
        for (k, id) in heldOut.enumerated() {
            let image = try ImageIO.read(data.appendingPathComponent("images/jsrt_\(id).png"))
            let r = try truth(id, "right_lung"), l = try truth(id, "left_lung"), h = try truth(id, "heart")
            let lungs = zip(r, l).map { $0 || $1 }
            let fits = [("template", fitter.templateFit(image)), ("segmented", fitter.fit(image))]
            if fits[1].1.method == .segmenter { segmented += 1 }
            XCTAssertEqual(fits[1].1.score, fits[0].1.score, "the score is the template fit's")
            for (method, fit) in fits {
                lungDice[method, default: []].append(dice(pixels(try fitter.place(bothLungs, fit: fit)), lungs))
                heartDice[method, default: []].append(dice(pixels(try fitter.place(["heart"], fit: fit)), h))
            }
            if k % 5 == 0 {
                // The same radiograph shrunk to 80% and placed off-centre on a 300x280 black canvas.
                let small = try image.resized(width: 205, height: 205, filter: .bilinear)
                var canvas = [UInt16](repeating: 0, count: 300 * 280)
                for y in 0..<205 { for x in 0..<205 { canvas[(y + 50) * 300 + x + 70] = small.samples[y * 205 + x] } }
                let moved = try RasterImage(width: 300, height: 280, channels: 1, bitDepth: 8, samples: canvas)
                var expected = [Bool](repeating: false, count: 300 * 280)
                for y in 0..<280 {
                    for x in 0..<300 {
                        let sx = Int((Double(x - 70) + 0.5) * 256 / 205), sy = Int((Double(y - 50) + 0.5) * 256 / 205)
                        if x >= 70, y >= 50, sx < 256, sy < 256 { expected[y * 300 + x] = lungs[sy * 256 + sx] }
                    }
                }
                for (method, fit) in [("template", fitter.templateFit(moved)), ("segmented", fitter.fit(moved))] {
                    shiftedDice[method, default: []].append(
                        dice(
                            pixels(try fitter.place(bothLungs, fit: fit)),
                            expected))
                }
            }
        }
        func mean(_ v: [Double]?) -> Double { (v ?? []).reduce(0, +) / Double(max(v?.count ?? 0, 1)) }
        for method in ["template", "segmented"] {
            print(
                String(
                    format: "held-out JSRT (%d images), %@ fit: mean Dice lungs %.3f (min %.3f), heart %.3f "
                        + "(min %.3f); shifted+scaled lungs %.3f (%d images)", heldOut.count, method,
                    mean(lungDice[method]), lungDice[method]?.min() ?? 0, mean(heartDice[method]),
                    heartDice[method]?.min() ?? 0, mean(shiftedDice[method]), shiftedDice[method]?.count ?? 0))
        }
        XCTAssertEqual(segmented, heldOut.count, "every held-out radiograph passes the segmentation checks")
        XCTAssertGreaterThanOrEqual(mean(lungDice["template"]), 0.85)
        XCTAssertGreaterThanOrEqual(mean(heartDice["template"]), 0.75)
        XCTAssertGreaterThanOrEqual(mean(shiftedDice["template"]), 0.85)
        // The segmented placement follows each patient's lungs and heart, not the average shape's proportions.
        XCTAssertGreaterThanOrEqual(mean(lungDice["segmented"]), 0.92)
        XCTAssertGreaterThanOrEqual(mean(heartDice["segmented"]), 0.90)
        XCTAssertGreaterThanOrEqual(mean(shiftedDice["segmented"]), 0.92)
    }
}
