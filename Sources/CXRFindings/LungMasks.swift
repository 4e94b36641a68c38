/// The segmenter's lung and heart masks of one image, at a working size (the image's, at most 256 px long).
///
/// Image left is the patient's right: `rightLung` lies on the image's left side.
public struct LungMasks: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// Size of the image the masks were computed for (their boxes are given in its pixels).
    public let imageWidth: Int
    public let imageHeight: Int
    public var rightLung: [Bool]
    public var leftLung: [Bool]
    public var heart: [Bool]

    public init(
        width: Int, height: Int, imageWidth: Int, imageHeight: Int, rightLung: [Bool], leftLung: [Bool],
        heart: [Bool]
    ) {
        self.width = width
        self.height = height
        self.imageWidth = imageWidth
        self.imageHeight = imageHeight
        self.rightLung = rightLung
        self.leftLung = leftLung
        self.heart = heart
    }

    /// Each mask reduced to its largest 4-connected part: on radiographs unlike the training set the network marks
    /// stray islands (stomach gas under the left diaphragm, a lucent region outside the chest) that would stretch a
    /// box far beyond the organ.
    public func largestParts() -> LungMasks {
        var out = self
        out.rightLung = Self.largestComponent(rightLung, width: width, height: height)
        out.leftLung = Self.largestComponent(leftLung, width: width, height: height)
        out.heart = Self.largestComponent(heart, width: width, height: height)
        return out
    }

    /// Box of a mask in the image's own pixels, nil when the mask is empty.
    public func box(_ mask: [Bool]) -> BoundingBox? {
        BoundingBox(pixels: mask, width: width, height: height)?
            .scaled(x: Double(imageWidth) / Double(width), y: Double(imageHeight) / Double(height))
    }

    /// Share of the working image a mask covers.
    public func coverage(_ mask: [Bool]) -> Double {
        Double(mask.lazy.filter { $0 }.count) / Double(width * height)
    }

    /// Mean x of a mask's pixels in the image's own pixels, nil when empty.
    public func centreX(_ mask: [Bool]) -> Double? {
        var sum = 0.0, count = 0
        for y in 0..<height { for x in 0..<width where mask[y * width + x] { sum += Double(x) + 0.5; count += 1 } }
        return count == 0 ? nil : sum / Double(count) * Double(imageWidth) / Double(width)
    }

    /// The largest 4-connected component (first found wins a tie), by an explicit-stack flood fill.
    static func largestComponent(_ mask: [Bool], width: Int, height: Int) -> [Bool] {
        var label = [Int32](repeating: 0, count: mask.count)
        var best: (label: Int32, size: Int) = (0, 0)
        var next: Int32 = 0
        var stack: [Int] = []
        for start in 0..<mask.count where mask[start] && label[start] == 0 {
            next += 1
            label[start] = next
            stack.append(start)
            var size = 0
            while let i = stack.popLast() {
                size += 1
                let x = i % width, y = i / width
                for (nx, ny) in [(x - 1, y), (x + 1, y), (x, y - 1), (x, y + 1)]
                where nx >= 0 && nx < width && ny >= 0 && ny < height {
                    let j = ny * width + nx
                    if mask[j] && label[j] == 0 { label[j] = next; stack.append(j) }
                }
            }
            if size > best.size { best = (next, size) }
        }
        return label.map { $0 == best.label && best.size > 0 }
    }
}
