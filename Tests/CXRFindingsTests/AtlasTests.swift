import CXRFindings
import CXRImaging
import XCTest

/// The committed region masks: present, non-empty, consistent with each other, not mirrored.
final class AtlasTests: XCTestCase {
    func region(_ name: String) throws -> Mask {
        try Mask(image: ImageIO.read(TestPaths.masks.appendingPathComponent("\(name).png"))).binarized()
    }

    func testEveryRegionExistsAndIsNonEmpty() throws {
        let atlas = try RegionAtlas(directory: TestPaths.masks)
        for name in RegionAtlas.standardNames {
            XCTAssertTrue(atlas.availableNames.contains(name), name)
            let m = try region(name)
            XCTAssertEqual(m.width, 256)
            XCTAssertEqual(m.height, 256)
            XCTAssertGreaterThan(m.coverage, 0.005, name)
            // The bundled copy (fallback when Masks/ is not found) is the same mask.
            let bundled = try RegionAtlas(directory: nil)
            XCTAssertEqual(try bundled.mask(named: name), m, name)
        }
        XCTAssertEqual(atlas.template.count, 256 * 256)
    }

    func testLeftAndRightAreNotSwapped() throws {
        // Image left = patient's right.
        XCTAssertLessThan(centroidX(try region("right-lung")), 128)
        XCTAssertGreaterThan(centroidX(try region("left-lung")), 128)
        XCTAssertLessThan(centroidX(try region("right-cp-angle")), centroidX(try region("right-lung")))
        XCTAssertGreaterThan(centroidX(try region("left-cp-angle")), centroidX(try region("left-lung")))
        XCTAssertGreaterThan(centroidX(try region("heart")), 128)  // the heart lies mostly on the patient's left
    }

    func testZonesPartitionEachLungAndRegionsNest() throws {
        for side in ["right", "left"] {
            let lung = pixels(try region("\(side)-lung"))
            let zones = try ["upper", "middle", "lower"].map { pixels(try region("\(side)-\($0)-zone")) }
            for i in 0..<lung.count {
                let n = zones.filter { $0[i] }.count
                XCTAssertEqual(n, lung[i] ? 1 : 0, "\(side) pixel \(i)")
                if n != (lung[i] ? 1 : 0) { return }
            }
            // zones are ordered top to bottom
            func meanY(_ m: [Bool]) -> Double {
                let ys = m.indices.filter { m[$0] }.map { Double($0 / 256) }
                return ys.reduce(0, +) / Double(ys.count)
            }
            XCTAssertLessThan(meanY(zones[0]), meanY(zones[1]))
            XCTAssertLessThan(meanY(zones[1]), meanY(zones[2]))
            let apex = pixels(try region("\(side)-apex")), cp = pixels(try region("\(side)-cp-angle"))
            XCTAssertTrue(apex.indices.allSatisfy { !apex[$0] || zones[0][$0] }, "apex inside the upper zone")
            XCTAssertTrue(cp.indices.allSatisfy { !cp[$0] || zones[2][$0] }, "cp angle inside the lower zone")
        }
        let lungs = pixels(try region("lungs")), r = pixels(try region("right-lung")),
            l = pixels(try region("left-lung"))
        let heart = pixels(try region("heart")), med = pixels(try region("mediastinum"))
        for i in 0..<lungs.count {
            XCTAssertEqual(lungs[i], r[i] || l[i])
            XCTAssertFalse(r[i] && l[i])
            XCTAssertFalse(heart[i] && lungs[i])
            XCTAssertFalse(med[i] && (lungs[i] || heart[i]))
        }
        // mediastinum lies between the lungs, above the heart on average
        let medX = centroidX(try region("mediastinum"))
        XCTAssertGreaterThan(medX, centroidX(try region("right-lung")))
        XCTAssertLessThan(medX, centroidX(try region("left-lung")))
    }

    func testUnknownRegionIsAOneLineError() throws {
        let atlas = try RegionAtlas(directory: TestPaths.masks)
        XCTAssertThrowsError(try atlas.validate(["right-lng"])) { e in
            XCTAssertTrue("\(e)".contains("right-lung"), "\(e)")
            XCTAssertFalse("\(e)".contains("\n"))
        }
        XCTAssertThrowsError(try atlas.union([]))
    }
}
