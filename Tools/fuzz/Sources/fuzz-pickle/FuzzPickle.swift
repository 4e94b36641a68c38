import CXRCheckpoint
import Foundation
import CFuzzDriver
import FuzzSupport

/// Even first byte: the rest is a pickle, wrapped as `archive/data.pkl` in a torch.save-style stored ZIP with two
/// small storages ("0": 64 bytes, "1": 16 bytes), so mutations reach the unpickler and the stride/extent checks.
/// Odd first byte: the rest is the whole file (ZIP reader). Opening must succeed or throw one line; tensors of an
/// opened file must convert to the declared size.
let scratch = ScratchFile("input.bin")
let storage0 = (0..<64).map { UInt8(truncatingIfNeeded: $0 &* 37) }
let storage1 = [UInt8](repeating: 0x3C, count: 16)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPickle(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    let body = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    if data[0] & 1 == 0 {
        scratch.write(StoredZip.make([("archive/data.pkl", body), ("archive/byteorder", Array("little".utf8)),
                                      ("archive/data/0", storage0), ("archive/data/1", storage1)]))
    } else {
        scratch.write(body)
    }
    let file: TorchPickleFile
    do { file = try TorchPickleFile(url: scratch.url) } catch {
        checkError(error, mentions: scratch.url.lastPathComponent)
        return 0
    }
    for name in file.names {
        guard let info = file.info(name) else { fatalError("name \(name) listed without info") }
        if info.dtype.isConvertible {
            do {
                let t = try file.tensor(name)
                if t.data.count != info.count { fatalError("tensor \(name) has the wrong size") }
            } catch { checkError(error, mentions: scratch.url.lastPathComponent) }
        }
        _ = try? file.withRawBytes(name) { $0.count }
    }
    return 0
}

/// The executable's entry point (SwiftPM aliases `main` to it): runs libFuzzer's driver on this target.
@_cdecl("fuzz_pickle_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc, argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        guard let data else { return 0 }
        return fuzzPickle(data, size)
    }
}
