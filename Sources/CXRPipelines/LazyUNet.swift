import CXRModels
import CXRTensor
import Foundation

/// A UNet whose layers are built on first use. A model may hold two UNets (`unet/` and the inpainting UNet named
/// by cxr-edit.json) and an edit runs one of them; building a UNet checks that every weight is finite, which reads
/// the whole weights file (8 MB for the bundled model, 1.7 GB for an SD 1.5-size one), so the other one is never
/// built. Its config and its weights file's header are read when the model loads, so a UNet that does not fit the
/// model or has no weights is still refused then.
final class LazyUNet: @unchecked Sendable {
    let config: UNetConfig
    private let weights: CheckpointWeights
    private let precision: GEMMPrecision
    private let lock = NSLock()
    private var built: Result<UNet2DConditionModel, any Error>?

    init(config: UNetConfig, weights: CheckpointWeights, precision: GEMMPrecision) {
        self.config = config
        self.weights = weights
        self.precision = precision
    }

    /// Whether `load()` has run (tests check that an edit builds only the UNet it uses).
    var isBuilt: Bool {
        lock.lock()
        defer { lock.unlock() }
        return built != nil
    }

    /// The UNet, built by the first call (a failure is remembered and thrown again).
    func load() throws -> UNet2DConditionModel {
        lock.lock()
        defer { lock.unlock() }
        if let built { return try built.get() }
        let result = Result { try UNet2DConditionModel(config: config, weights: weights, precision: precision) }
        built = result
        return try result.get()
    }
}
