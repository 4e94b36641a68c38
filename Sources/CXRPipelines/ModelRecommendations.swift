import CXRCheckpoint
import CXRFiles
import Foundation

/// What a model folder says about itself in `cxr-edit.json`, beside the diffusers files:
///
///     {"steps": 75, "guidance": 4, "inpaint_unet": "unet-inpaint"}
///
/// `steps`/`guidance` are the sampler settings the model was published with (RoentGen: 75 and 4); `inpaint_unet`
/// names a second, 9-channel UNet folder (diffusers UNet2DConditionModel, in_channels = 2 x latent + 1) that masked
/// edits use. A missing file means no recommendation; values out of range are ignored, as before this file had
/// keys that matter for loading.
public struct ModelRecommendations: Sendable, Equatable {
    public static let fileName = "cxr-edit.json"

    public var steps: Int?
    public var guidance: Double?
    /// Folder of the inpainting UNet, relative to the model folder.
    public var inpaintUNet: String?
    /// Why the file was ignored unread (too large, not a regular file), if it was.
    public var ignored: String?

    public init(steps: Int? = nil, guidance: Double? = nil, inpaintUNet: String? = nil) {
        self.steps = steps
        self.guidance = guidance
        self.inpaintUNet = inpaintUNet
    }

    /// Reads `cxr-edit.json` of a model folder; an absent file gives no recommendation. An unreadable file or an
    /// `inpaint_unet` that is not a plain folder name is an error (the model could not be loaded as meant).
    public init(modelFolder url: URL) throws {
        let file = url.appendingPathComponent(Self.fileName)
        guard FileManager.default.fileExists(atPath: file.path) else { self.init(); return }
        // Bounded and checked on the opened file: a link to a huge file or a FIFO is not read but ignored, and
        // says why (the CLI prints it as a warning); a readable file that is not JSON is an error.
        let data: Data
        do { data = try BoundedFile.read(file, limit: 1 << 20) } catch {
            self.init()
            ignored = "\(error)"
            return
        }
        // The same parser as the diffusers configs beside it; values stay leniently typed (see above).
        guard let json = try? JSONValue(data: data, source: file.path), let obj = json.object else {
            throw PipelineError.invalid("\(file.path): not a JSON object")
        }
        self.init()
        if let s = obj["steps"]?.int, s >= 1, s <= 1000 { steps = s }
        if let g = obj["guidance"]?.double, g >= 0, g <= 100 { guidance = g }
        if let value = obj["inpaint_unet"] {
            guard let name = value.string, !name.isEmpty, !name.contains("/"), name != ".", name != ".." else {
                throw PipelineError.invalid("\(file.path): inpaint_unet must name a folder inside the model folder")
            }
            inpaintUNet = name
        }
    }
}
