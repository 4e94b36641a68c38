import Foundation

extension ImageQuality {
    /// Variance of the 4-neighbour Laplacian over interior pixels, in 8-bit grey levels squared (values x 255):
    /// how much fine structure (ribs, vessels, wires, text) an image carries. A re-synthesised radiograph that
    /// lost its detail scores a small fraction of its input's value. Same measure as Tools/cxr_mini's `lapvar`.
    public static func laplacianVariance(_ p: GrayPlane) -> Double {
        let w = p.width, h = p.height
        guard w >= 3, h >= 3 else { return 0 }
        var sum = 0.0, sumSquares = 0.0
        p.values.withUnsafeBufferPointer { v in
            for y in 1..<(h - 1) {
                for x in 1..<(w - 1) {
                    let i = y * w + x
                    let l = Double(v[i - 1] + v[i + 1] + v[i - w] + v[i + w] - 4 * v[i]) * 255
                    sum += l; sumSquares += l * l
                }
            }
        }
        let n = Double((w - 2) * (h - 2))
        return max(0, sumSquares / n - (sum / n) * (sum / n))
    }

    /// Laplacian variance of `output` over that of `input`: 1 = as sharp as the input, near 0 = blurred away.
    /// nil when the input has no structure to compare against.
    public static func sharpnessRatio(output: GrayPlane, input: GrayPlane) -> Double? {
        let reference = laplacianVariance(input)
        return reference > 0 ? laplacianVariance(output) / reference : nil
    }
}
