import XCTest
import CXRTensor
@testable import CXRModels

/// The test models' convolutions are too small and narrow for `ConvolutionSettings` to choose Winograd F(4x4, 3x3)
/// (an SD VAE's or a 512 px UNet's 64x64-and-larger planes with 128 or more channels), so the parity tests never
/// run it. Here it is forced onto every 3x3 stride-1 convolution of the VAEs and a UNet, which must stay within the
/// same diffusers parity bounds, unchanged.
extension ModelParityTests {
    func withLargeTilesEverywhere(_ body: () throws -> Void) rethrows {
        let saved = (
            ConvolutionSettings.winogradMinPixels, ConvolutionSettings.winogradLargeTileMinPixels,
            ConvolutionSettings.winogradLargeTileMinChannels, ConvolutionSettings.winogradLargeTiles
        )
        defer {
            (
                ConvolutionSettings.winogradMinPixels, ConvolutionSettings.winogradLargeTileMinPixels,
                ConvolutionSettings.winogradLargeTileMinChannels, ConvolutionSettings.winogradLargeTiles
            ) = saved
        }
        (ConvolutionSettings.winogradMinPixels, ConvolutionSettings.winogradLargeTileMinPixels) = (1, 1)
        (ConvolutionSettings.winogradLargeTileMinChannels, ConvolutionSettings.winogradLargeTiles) = (1, true)
        try body()
    }

    func testSD1VAEWithLargeTilesEverywhere() throws { try withLargeTilesEverywhere { try checkVAE("sd1-tiny") } }
    func testSD2VAEWithLargeTilesEverywhere() throws { try withLargeTilesEverywhere { try checkVAE("sd2-tiny") } }
    func testSD1UNetWithLargeTilesEverywhere() throws { try withLargeTilesEverywhere { try checkUNet("sd1-tiny") } }
}
