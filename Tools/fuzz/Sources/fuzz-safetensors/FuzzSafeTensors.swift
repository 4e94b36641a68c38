import CXRCheckpoint
import Foundation
import CFuzzDriver
import FuzzSupport

/// Any byte string as a .safetensors file: opening must succeed or throw a one-line CheckpointError; every tensor
/// of an opened file must convert to exactly shape.product floats (the reader validated offsets, so no overread).
let scratch = ScratchFile("input.safetensors")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    scratch.write(data, size)
    let file: SafeTensorsFile
    do { file = try SafeTensorsFile(url: scratch.url) } catch {
        checkError(error, mentions: scratch.url.lastPathComponent)
        return 0
    }
    for name in file.names {
        guard let info = file.info(name) else { fatalError("name \(name) listed without info") }
        if info.byteRange.lowerBound < 0 || info.byteRange.upperBound > size { fatalError("byte range outside the file") }
        if info.dtype.isConvertible {
            do {
                let t = try file.tensor(name)
                if t.data.count != info.count || t.shape != info.shape { fatalError("tensor \(name) has the wrong size") }
            } catch { checkError(error, mentions: scratch.url.lastPathComponent) }
        }
        _ = try? file.withRawBytes(name) { $0.count }
    }
    return 0
}

/// The executable's entry point (SwiftPM aliases `main` to it): runs libFuzzer's driver on this target.
@_cdecl("fuzz_safetensors_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc, argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        guard let data else { return 0 }
        return fuzzSafeTensors(data, size)
    }
}
