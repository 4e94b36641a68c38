import CXRCheckpoint
import CXRTensor
import Foundation

/// The initial latent noise of a run read from a `.npy` file, for runs that must start from the same noise as
/// another implementation (diffusers' `latents=`), instead of the noise drawn from the seed.
public enum InitialNoise {
    /// The largest noise file read: noise for the largest run (4096 px, 4 latent channels at 1/8 size, float64)
    /// is 8 MiB.
    public static let maxFileBytes = 64 << 20

    /// The float32/float64 array in `url` (`NpyArray`), of finite values; errors name the file and are one line.
    public static func read(contentsOf url: URL) throws -> Tensor {
        let tensor = try NpyArray.read(contentsOf: url, limit: maxFileBytes)
        // NaN noise gives a NaN image; said when the file is read, before the model is loaded.
        guard tensor.data.allSatisfy({ $0.isFinite }) else {
            throw CheckpointError(
                .malformed, file: url.lastPathComponent,
                "the noise array contains NaN or infinite values")
        }
        return tensor
    }
}
