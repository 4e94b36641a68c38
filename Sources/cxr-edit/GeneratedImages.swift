/// `generate --json`: each image written, with its seed and time, and the prompt they share.
struct GeneratedImages: Encodable {
    struct Image: Encodable {
        var output: String
        /// Any `UInt64` (`--seed` takes the whole range), written exactly.
        var seed: UInt64
        var seconds: Double
    }

    var images: [Image]
    var prompt: String
}
