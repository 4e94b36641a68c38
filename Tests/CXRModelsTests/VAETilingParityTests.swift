import XCTest
import CXRCheckpoint
import CXRTensor
@testable import CXRModels

/// The tiled VAE against diffusers with `enable_tiling()` (Tools/make_vae_tiling_fixtures.py): the sd1-tiny VAE has
/// 64 px tiles, so the fixture's 104x72 image and 13x9 latent go through in 3 x 2 tiles, some cut short by the edge.
extension ModelParityTests {
    func tinyVAE(tiling: VAETiling) throws -> AutoencoderKL {
        try AutoencoderKL(
            config: VAEConfig(config("sd1-tiny", "vae")), weights: weights("sd1-tiny", "vae"), tiling: tiling)
    }

    func testTiledVAEMatchesDiffusersEnableTiling() throws {
        let ref = try reference("vae-tiling")
        let vae = try tinyVAE(tiling: .on)
        let post = vae.encode(try ref.tensor("tiling_image"))
        let dec = vae.decode(try ref.tensor("tiling_latent_in"))
        let errMean = relativeError(post.mean, try ref.tensor("tiling_mean"))
        let errLogvar = relativeError(post.logvar, try ref.tensor("tiling_logvar"))
        let errDec = relativeError(dec, try ref.tensor("tiling_decoded"))
        print("parity sd1-tiny tiled vae: mean \(errMean) logvar \(errLogvar) decode \(errDec)")
        XCTAssertLessThan(errMean, 1e-4)
        XCTAssertLessThan(errLogvar, 1e-4)
        XCTAssertLessThan(errDec, 1e-4)

        // Without tiles the same inputs land far from the reference (the fixture script checks > 1e-2 too), so the
        // comparison above is one the tiling has to earn.
        let whole = try tinyVAE(tiling: .off)
        XCTAssertGreaterThan(relativeError(whole.encode(try ref.tensor("tiling_image")).mean, post.mean), 1e-2)
        XCTAssertGreaterThan(relativeError(whole.decode(try ref.tensor("tiling_latent_in")), dec), 1e-2)
    }

    /// `auto` leaves images of up to 512 px exactly as they were: the 104x72 fixture, larger than the tiny VAE's
    /// tile, goes through whole, bit for bit as with tiling off.
    func testAutomaticTilingLeavesSmallImagesWhole() throws {
        let ref = try reference("vae-tiling")
        let image = try ref.tensor("tiling_image"), latent = try ref.tensor("tiling_latent_in")
        let auto = try tinyVAE(tiling: .auto), off = try tinyVAE(tiling: .off)
        XCTAssertEqual(auto.encode(image).mean, off.encode(image).mean)
        XCTAssertEqual(auto.decode(latent), off.decode(latent))
    }

    func testTilingPolicyFollowsImageSize() {
        // An SD 1.x VAE: 512 px tiles.
        for tiling in VAETiling.allCases { XCTAssertFalse(tiling.tiles(height: 512, width: 512, tileSize: 512)) }
        XCTAssertTrue(VAETiling.auto.tiles(height: 512, width: 520, tileSize: 512))
        XCTAssertTrue(VAETiling.on.tiles(height: 1024, width: 8, tileSize: 512))
        XCTAssertFalse(VAETiling.off.tiles(height: 1024, width: 1024, tileSize: 512))
        // The bundled model's VAE: 256 px tiles, but auto keeps its 512 px images whole.
        XCTAssertFalse(VAETiling.auto.tiles(height: 512, width: 512, tileSize: 256))
        XCTAssertTrue(VAETiling.on.tiles(height: 512, width: 512, tileSize: 256))
        XCTAssertTrue(VAETiling.auto.tiles(height: 768, width: 768, tileSize: 256))
    }

    /// diffusers' geometry: 512 px tiles every 384 px, blended over 16 latents and cut to 48; decoding the reverse.
    func testTileGeometryIsDiffusers() throws {
        let encode = try XCTUnwrap(OverlappingTiles(inputSize: 512, outputSize: 64))
        XCTAssertEqual([encode.stride, encode.blendExtent, encode.keptSize], [384, 16, 48])
        let decode = try XCTUnwrap(OverlappingTiles(inputSize: 64, outputSize: 512))
        XCTAssertEqual([decode.stride, decode.blendExtent, decode.keptSize], [48, 128, 384])
        XCTAssertNil(OverlappingTiles(inputSize: 1, outputSize: 0), "tiles that never advance")
    }

    /// With the identity as the network the blend of overlapping tiles gives the input back (up to float rounding
    /// of the two weights): what is left of the tiling is only what the network does differently per tile.
    func testBlendingIdentityTilesGivesTheInputBack() throws {
        let tiles = try XCTUnwrap(OverlappingTiles(inputSize: 8, outputSize: 8))
        var x = Tensor(zeros: [2, 3, 21, 19])
        for i in 0..<x.count { x.data[i] = Float((i * 7919) % 1000) / 1000 }
        let y = tiles.apply(x) { $0 }
        XCTAssertEqual(y.shape, x.shape)
        XCTAssertLessThan(y.maxAbsDifference(x), 1e-6)
    }
}
