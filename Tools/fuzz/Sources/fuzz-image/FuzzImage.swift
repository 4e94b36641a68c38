import CXRImaging
import Foundation
import CFuzzDriver
import FuzzSupport

/// Any byte string as an image file: decode (PNG or JPEG by magic), read PNG text chunks, use it as a mask.
/// Limits are lowered (2048 px/side, 1 M pixels) to keep each execution small; the limit checks themselves are
/// the same code. Decoded images must have consistent sample counts and in-range samples.
let scratch = ScratchFile("input.png")
let limits = ImageLimits(maxSide: 2048, maxPixels: 1 << 20, maxFileBytes: 1 << 22)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzImage(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(bytes: data, count: size)
    do {
        let image = try ImageIO.decode(bytes, name: "input.png", limits: limits)
        if image.samples.count != image.width * image.height * image.channels { fatalError("sample count mismatch") }
        if image.samples.contains(where: { Int($0) > image.maxValue }) { fatalError("sample above the bit depth") }
        let mask = Mask(image: image)
        _ = try? mask.fitted(width: image.width, height: image.height).feathered(radius: 2)
        _ = try ImageIO.encodePNG(image.toGray(), text: [("Software", "fuzz")])
    } catch {
        checkError(error, mentions: "input.png")
    }
    scratch.write(data, size)
    do { _ = try ImageIO.readPNGText(scratch.url, limits: limits) } catch {
        checkError(error, mentions: scratch.url.lastPathComponent)
    }
    return 0
}

/// The executable's entry point (SwiftPM aliases `main` to it): runs libFuzzer's driver on this target.
@_cdecl("fuzz_image_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc, argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        guard let data else { return 0 }
        return fuzzImage(data, size)
    }
}
