import CXRFindings
import CXRImaging
import XCTest

/// The removed effusion's region follows the fluid measured on the image (`PleuralFluid`); without fluid, and for
/// added effusions and explicit severities, it keeps the extent levels.
final class PleuralFluidTests: XCTestCase {
    /// 256x256 synthetic chest: soft tissue 200, lungs 40 (right lung x 30..<110, left x 146..<226, rows 40..<200),
    /// and the right lung opaque (220) from row `fluidRow` down when given.
    func chest(fluidRow: Int? = nil) throws -> (image: RasterImage, masks: LungMasks) {
        let n = 256
        func inRight(_ x: Int, _ y: Int) -> Bool { (30..<110).contains(x) && (40..<200).contains(y) }
        func inLeft(_ x: Int, _ y: Int) -> Bool { (146..<226).contains(x) && (40..<200).contains(y) }
        var samples = [UInt16](repeating: 200, count: n * n)
        for y in 0..<n {
            for x in 0..<n where inRight(x, y) || inLeft(x, y) {
                samples[y * n + x] = inRight(x, y) && y >= (fluidRow ?? n) ? 220 : 40
            }
        }
        let image = try RasterImage(width: n, height: n, channels: 1, bitDepth: 8, samples: samples)
        // The segmenter marks the lung field through the fluid (as it was trained to), so the masks are the boxes.
        let masks = LungMasks(
            width: n, height: n, imageWidth: n, imageHeight: n,
            rightLung: (0..<(n * n)).map { inRight($0 % n, $0 / n) },
            leftLung: (0..<(n * n)).map { inLeft($0 % n, $0 / n) },
            heart: [Bool](repeating: false, count: n * n))
        return (image, masks)
    }

    func testOpacityRaisesTheLevelAndTheBoxFollowsTheLung() throws {
        // Fluid from row 120: the lower half of the 160-row right lung.
        let (image, masks) = try chest(fluidRow: 120)
        let (clearImage, _) = try chest()
        let wet = try XCTUnwrap(PleuralFluid.measure(in: image, masks: masks, side: .right))
        let clear = try XCTUnwrap(PleuralFluid.measure(in: clearImage, masks: masks, side: .right))
        XCTAssertGreaterThan(wet.opacity, clear.opacity + 0.3, "the opaque half brightens the lung")
        XCTAssertLessThan(wet.level, clear.level, "so the fluid's top is estimated higher up the lung")
        for fluid in [wet, clear] {
            let level =
                PleuralFluid.typicalLevel - PleuralFluid.levelPerOpacity * (fluid.opacity - PleuralFluid.typicalOpacity)
            XCTAssertEqual(fluid.level, level, accuracy: 1e-12)
        }
        // Two lung heights per unit of opacity, as tuned: the opaque half lifts the top by twice the opacity's rise.
        XCTAssertEqual(clear.level - wet.level, 2 * (wet.opacity - clear.opacity), accuracy: 1e-12)
        XCTAssertEqual(wet.lung, BoundingBox(x0: 30, y0: 40, x1: 110, y1: 200))
        // The box in the lung's frame: from the level down to below the base, from outside the chest wall (image
        // left for the right lung) to the lateral share of the lung width.
        XCTAssertEqual(wet.box.y0, 40 + 160 * wet.level, accuracy: 1e-9)
        XCTAssertEqual(wet.box.y1, 40 + 160 * (1 + PleuralFluid.baseMargin), accuracy: 1e-9)
        XCTAssertEqual(wet.box.x0, 30 - 80 * PleuralFluid.wallMargin, accuracy: 1e-9)
        XCTAssertEqual(wet.box.x1, 30 + 80 * PleuralFluid.lateralShare, accuracy: 1e-9)
        // The left lung is mirrored (its chest wall is on the image's right) and measured with the same constants:
        // the clear left lung gets the clear right lung's level and the mirror of its box.
        let left = try XCTUnwrap(PleuralFluid.measure(in: clearImage, masks: masks, side: .left))
        XCTAssertEqual(left.opacity, clear.opacity, accuracy: 1e-12)
        XCTAssertEqual(left.level, clear.level, accuracy: 1e-12)
        XCTAssertEqual(left.box.x1, 226 + 80 * PleuralFluid.wallMargin, accuracy: 1e-9)
        XCTAssertEqual(left.box.x0, 226 - 80 * PleuralFluid.lateralShare, accuracy: 1e-9)
        XCTAssertEqual(left.box.x1 - left.box.x0, clear.box.x1 - clear.box.x0, accuracy: 1e-9)
        XCTAssertEqual(left.box.y0, clear.box.y0, accuracy: 1e-9)
        XCTAssertNil(PleuralFluid.measure(in: image, masks: masks, side: .bilateral), "not one side")
    }

    func testMissingLungAndWorkingSize() throws {
        let (image, masks) = try chest(fluidRow: 120)
        var noRight = masks
        noRight.rightLung = [Bool](repeating: false, count: masks.rightLung.count)
        XCTAssertNil(PleuralFluid.measure(in: image, masks: noRight, side: .right))
        // Scaled: a 512x512 image measured with 256x256 working masks gives the boxes in the image's pixels.
        let big = try image.resized(width: 512, height: 512, filter: .bilinear)
        let bigMasks = LungMasks(
            width: 256, height: 256, imageWidth: 512, imageHeight: 512, rightLung: masks.rightLung,
            leftLung: masks.leftLung, heart: masks.heart)
        let fluid = try XCTUnwrap(PleuralFluid.measure(in: big, masks: bigMasks, side: .right))
        let small = try XCTUnwrap(PleuralFluid.measure(in: image, masks: masks, side: .right))
        XCTAssertEqual(fluid.lung, BoundingBox(x0: 60, y0: 80, x1: 220, y1: 400))
        XCTAssertEqual(fluid.box.y0, 2 * (40 + 160 * fluid.level), accuracy: 1e-9)
        XCTAssertEqual(fluid.opacity, small.opacity, accuracy: 0.02, "the same lung, resized")
    }

    func testOnlyADefaultRemovalFollowsTheFluid() throws {
        func areas(_ edit: FindingEdit) throws -> [ExtentArea] { try edit.resolve().regions.edit }
        let removed = try areas(FindingEdit(removes: ["pleural effusion"], sides: ["right"]))
        XCTAssertEqual(removed.map(\.followsFluid), [true])
        XCTAssertEqual(try FindingEdit(removes: ["effusion"]).resolve().regions.fluidSides, [.right, .left])
        // An added effusion needs room beyond the fluid there; a severity word is the user's own extent.
        let added = try areas(FindingEdit(adds: ["pleural effusion"], sides: ["right"]))
        XCTAssertEqual(added.map(\.followsFluid), [false])
        XCTAssertEqual(try areas(FindingEdit(removes: ["large right effusion"])).map(\.followsFluid), [false])
        XCTAssertEqual(try areas(FindingEdit(removes: ["pneumothorax"])).map(\.followsFluid), [false])
        XCTAssertEqual(try FindingEdit(adds: ["effusion"]).resolve().regions.fluidSides, [])
        // The extent itself is today's default level.
        let vocab = try Vocabulary.standard()
        let effusion = try XCTUnwrap(vocab.finding(id: PleuralFluid.findingID))
        var today = effusion.editExtent(side: .right, severity: nil)
        today.followsFluid = true
        XCTAssertEqual(removed, [today])
    }

    func testPlacementClipsEachSideByItsOwnFluid() throws {
        let fitter = RegionFitter(atlas: try RegionAtlas.standard())
        let fit = AtlasFit(scaleX: 1, scaleY: 1, offsetX: 0, offsetY: 0, score: 1, imageWidth: 256, imageHeight: 256)
        let area = try XCTUnwrap(FindingEdit(removes: ["effusion"]).resolve().regions.edit.first)
        let request = RegionRequest(edit: [area])
        let right = PleuralFluid(
            side: .right, opacity: 0.45, level: 0.6, lung: BoundingBox(x0: 20, y0: 30, x1: 120, y1: 220),
            box: BoundingBox(x0: 0, y0: 130, x1: 90, y1: 256))
        let today = try fitter.place(request, fit: fit)
        XCTAssertEqual(today.fluid, [])
        let placed = try fitter.place(request, fit: fit, fluid: [right])
        XCTAssertEqual(placed.fluid, [right])
        // At scale 1 an atlas pixel is an image pixel: the clipped side grows by the fluid's growth, the other side
        // by its extent's.
        XCTAssertEqual(placed.growth, [PleuralFluid.grow])
        let grow = try XCTUnwrap(today.growth.first)
        let rightPart = try right.clip(
            fitter.place(area.regions.filter { $0.hasPrefix("right-") }, fit: fit, dilate: PleuralFluid.grow))
        let leftPart = try fitter.place(area.regions.filter { $0.hasPrefix("left-") }, fit: fit, dilate: grow)
        XCTAssertEqual(placed.edit, try rightPart.union(leftPart), "the left side keeps its extent")
        let box = try XCTUnwrap(BoundingBox(pixels: rightPart.pixels, width: 256, height: 256))
        XCTAssertGreaterThanOrEqual(box.y0, 130)
        XCTAssertLessThanOrEqual(box.x1, 90)
        // A box that leaves nothing of the side (a lung box far from where the fit put the zones) keeps the extent.
        var away = right
        away.box = BoundingBox(x0: 0, y0: 0, x1: 10, y1: 10)
        let kept = try fitter.place(request, fit: fit, fluid: [away])
        XCTAssertEqual(kept.edit, today.edit)
        XCTAssertEqual(kept.fluid, [])
        XCTAssertEqual(kept.growth, today.growth)
        // An area that does not follow the fluid ignores it.
        var fixed = area
        fixed.followsFluid = false
        XCTAssertEqual(try fitter.place(RegionRequest(edit: [fixed]), fit: fit, fluid: [right]).edit, today.edit)
    }

    /// On a radiograph, end to end: the removal's region is clipped to the fluid estimated on the image; with the
    /// lower right hemithorax made opaque the estimated top rises, and provenance records the measurement.
    func testRadiographWithPaintedFluid() throws {
        let url = TestPaths.repo.appendingPathComponent("Samples/nih_00027426_000.png")
        let image = try ImageIO.read(url).toGray()
        let fitter = try RegionFitter.standard()
        let resolved = try FindingEdit(removes: ["pleural effusion"], sides: ["right"]).resolve()
        let clear = try resolved.place(on: image, fitter: fitter)
        let dry = try XCTUnwrap(clear.fluid.first, "every segmented lung is measured")
        let adding = try FindingEdit(adds: ["pleural effusion"], sides: ["right"]).resolve()
        XCTAssertNotEqual(clear.edit, try adding.place(on: image, fitter: fitter).edit, "an added effusion is not")

        // Paint the lower 45% of the right lung's box opaque (the brightest grey of the image).
        let masks = try LungSegmenter.standard().segment(image).largestParts()
        let lung = try XCTUnwrap(masks.box(masks.rightLung))
        let fluidTop = Int(lung.y1 - 0.45 * lung.height)
        var samples = image.samples
        for y in fluidTop..<Int(lung.y1) {
            for x in Int(lung.x0)..<Int(lung.x1) { samples[y * image.width + x] = UInt16(image.maxValue) }
        }
        let wet = try RasterImage(
            width: image.width, height: image.height, channels: 1, bitDepth: image.bitDepth, samples: samples)
        let placed = try resolved.place(on: wet, fitter: fitter)
        let fluid = try XCTUnwrap(placed.fluid.first)
        XCTAssertEqual(fluid.side, .right)
        XCTAssertGreaterThan(fluid.opacity, dry.opacity, "the painted fluid brightens the lung")
        XCTAssertLessThan(fluid.level, dry.level, "and raises the estimated top")
        for (placement, measured) in [(placed, fluid), (clear, dry)] {
            let edit = try XCTUnwrap(placement.edit)
            let box = try XCTUnwrap(BoundingBox(pixels: edit.pixels, width: edit.width, height: edit.height))
            // Pixels are kept by their top-left corner, so the region's box ends within a pixel of the fluid's.
            XCTAssertGreaterThanOrEqual(box.y0, measured.box.y0)
            XCTAssertGreaterThanOrEqual(box.x0, measured.box.x0.rounded(.down))
            XCTAssertLessThanOrEqual(box.x1, measured.box.x1.rounded(.up))
            XCTAssertLessThanOrEqual(box.y1, measured.box.y1.rounded(.up))
        }
        XCTAssertEqual(resolved.provenance(of: placed)["pleural-fluid"], fluid.summary)
        XCTAssertEqual(resolved.provenance(of: clear)["pleural-fluid"], dry.summary)
    }
}
