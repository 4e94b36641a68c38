import CXRImaging
import Foundation
import CFuzzDriver
import FuzzSupport

/// Any byte string as a DICOM file (DCMTK behind CDICOM): decode, then write a derived DICOM file with it as the
/// source (an edited block included), read the output and its provenance back. Decoding either succeeds with a
/// consistent image or throws one line naming the file; whatever decodes must also be writable and read back at
/// the same size with the unedited pixels unchanged. Limits as in fuzz-image.
let input = ScratchFile("input.dcm")
let output = ScratchFile("output.dcm")
let limits = ImageLimits(maxSide: 2048, maxPixels: 1 << 20, maxFileBytes: 1 << 22)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDICOM(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(bytes: data, count: size)
    let image: RasterImage
    do {
        image = try ImageIO.decode(bytes, name: "input.dcm", limits: limits)
    } catch {
        checkError(error, mentions: "input.dcm")
        return 0
    }
    if image.samples.count != image.width * image.height || image.channels != 1 { fatalError("sample count mismatch") }
    if image.samples.contains(where: { Int($0) > image.maxValue }) { fatalError("sample above the bit depth") }
    input.write(data, size)
    var edited = image
    edited.samples[0] = edited.samples[0] == 0 ? UInt16(image.maxValue) : 0
    do {
        try ImageIO.write(edited, to: output.url, text: [("Software", "fuzz"), ("cxr-edit:prompt", "x")],
                          overwrite: true, source: input.url, limits: limits)
        let back = try ImageIO.read(output.url, limits: limits)
        if back.width != image.width || back.height != image.height { fatalError("size changed on the round trip") }
        if image.pixelCount > 1 && back.samples[1...] != image.samples[1...] {
            // Unedited pixels keep their stored values; they display the same unless the source had no window
            // (min-max, then written out with 10 significant digits).
            let differences = zip(back.samples.dropFirst(), image.samples.dropFirst()).map { abs(Int($0) - Int($1)) }
            let worst = differences.max() ?? 0
            if worst > image.maxValue / 100 { fatalError("unedited pixels changed by \(worst) on the round trip") }
        }
        if try ImageIO.readText(output.url, limits: limits).first?.value != "fuzz" { fatalError("provenance lost") }
    } catch {
        checkError(error, mentions: "cxr-fuzz-")  // the input (source) or the output, both scratch files
    }
    return 0
}

/// The executable's entry point (SwiftPM aliases `main` to it): runs libFuzzer's driver on this target.
@_cdecl("fuzz_dicom_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc, argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        guard let data else { return 0 }
        return fuzzDICOM(data, size)
    }
}
