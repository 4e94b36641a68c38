import CXRCheckpoint
import Foundation
import CFuzzDriver
import FuzzSupport

/// Any byte string as a `--noise` .npy file: header parsing (version, length, dtype, order, shape), the
/// overflow-checked element count and the exact data size. It parses to exactly shape-product values or throws
/// one line naming the file.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNpy(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let name = "noise.npy"
    do {
        let t = try NpyArray.parse(Array(UnsafeBufferPointer(start: data, count: size)), name: name)
        guard t.data.count == t.shape.reduce(1, *) else { fatalError("shape \(t.shape) but \(t.data.count) values") }
    } catch {
        checkError(error, mentions: name)
    }
    return 0
}

/// The executable's entry point (SwiftPM aliases `main` to it): runs libFuzzer's driver on this target.
@_cdecl("fuzz_npy_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc, argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        guard let data else { return 0 }
        return fuzzNpy(data, size)
    }
}
