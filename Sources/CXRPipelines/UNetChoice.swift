/// Which UNet of a model denoises: the standard 4-channel `unet/`, or the 9-channel inpainting UNet that takes the
/// mask and the masked image's latents as extra input (a model's `unet-inpaint/`, or its `unet/` when that is one).
public enum UNetChoice: String, Sendable, CaseIterable {
    case standard
    case inpaint
}
