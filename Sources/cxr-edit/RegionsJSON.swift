/// `regions --json`: the atlas fit (with `match`, the threshold it is judged by), the overlay and mask written, and
/// each region drawn.
struct RegionsJSON: Encodable {
    /// One region drawn: its name, overlay colour and share of the image.
    struct Region: Encodable {
        var name: String
        var colour: String
        var coverage: Double
    }

    var fit: AtlasFitJSON
    var output: String
    /// The exported mask, null when none was asked for.
    var mask: String?
    var threshold: Double
    var width: Int
    var height: Int
    var dilate: Int
    var regions: [Region]

    /// The fit's keys and these in one object, as regions has always printed them.
    func encode(to encoder: Encoder) throws {
        try fit.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(output, forKey: .output)
        try container.encode(mask, forKey: .mask)
        try container.encode(threshold, forKey: .threshold)
        try container.encode(width, forKey: .width)
        try container.encode(height, forKey: .height)
        try container.encode(dilate, forKey: .dilate)
        try container.encode(regions, forKey: .regions)
    }

    enum CodingKeys: String, CodingKey {
        case output, mask, threshold, width, height, dilate, regions
    }
}
