import XCTest
import CXRCheckpoint
import CXRTensor
@testable import CXRModels

/// `--precision bf16` reaches the VAE: its convolutions and linear layers round their operands to bf16, so the outputs
/// leave the fp32 parity bound, while their float32 sums keep them within what that rounding allows.
extension ModelParityTests {
    func testVAEInBF16StaysNearDiffusersFP32() throws {
        guard GEMMPrecision.bf16Available else { throw XCTSkip("this CPU has no AVX512-BF16") }
        let ref = try reference("sd1-tiny")
        let vae = try AutoencoderKL(
            config: VAEConfig(config("sd1-tiny", "vae")), weights: weights("sd1-tiny", "vae"), precision: .bf16)
        let errMean = relativeError(vae.encode(try ref.tensor("vae_image")).mean, try ref.tensor("vae_mean"))
        let errDec = relativeError(vae.decode(try ref.tensor("vae_latent_in")), try ref.tensor("vae_decoded"))
        print("sd1-tiny vae in bf16 against diffusers fp32: mean \(errMean) decode \(errDec)")
        for err in [errMean, errDec] {
            XCTAssertGreaterThan(err, 1e-4, "bf16 rounding should show beyond the fp32 parity bound")
            XCTAssertLessThan(err, 2e-2, "more than bf16 operands with fp32 sums explain")
        }
    }
}
