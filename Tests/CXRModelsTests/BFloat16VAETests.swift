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

/// The VAE decoder recycles its activations into a `TensorBufferPool`; with every buffer pooled (the tiny model's are
/// far below the real threshold) its output must be bit for bit that of a decode with none pooled, in both precisions,
/// so no activation is recycled while it is still read.
extension ModelParityTests {
    func testVAEDecodeWithEveryBufferPooledIsBitIdentical() throws {
        let latents = try reference("sd1-tiny").tensor("vae_latent_in")
        let saved = TensorBufferPool.minimumCount
        defer { TensorBufferPool.minimumCount = saved }
        for precision in GEMMPrecision.bf16Available ? [GEMMPrecision.fp32, .bf16] : [.fp32] {
            let vae = try AutoencoderKL(
                config: VAEConfig(config("sd1-tiny", "vae")), weights: weights("sd1-tiny", "vae"), precision: precision)
            TensorBufferPool.minimumCount = .max
            let unpooled = vae.decode(latents)
            TensorBufferPool.minimumCount = 1
            let pooled = vae.decode(latents)
            XCTAssertEqual(pooled, unpooled, "\(precision)")
        }
    }
}
