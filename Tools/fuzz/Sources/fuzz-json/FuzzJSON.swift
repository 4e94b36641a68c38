import CXRCheckpoint
import CXRModels
import CXRSchedulers
import Foundation
import CFuzzDriver
import FuzzSupport

/// Any byte string as a JSON config: parse (size/depth limits, UTF-8, surrogates), serialise and parse again, then
/// read it as each config type the loaders use. Everything must succeed or throw one line naming the file.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(bytes: data, count: size)
    let name = "config.json"
    let value: JSONValue
    do { value = try JSONValue(data: bytes, source: name) } catch {
        checkError(error, mentions: name)
        return 0
    }
    let text = value.serialized()
    do { _ = try JSONValue(data: Data(text.utf8), source: "reparse") } catch {
        fatalError("serialised JSON does not parse again: \(error)\n\(text)")
    }
    let cfg = JSONConfig(value: value, file: name)
    do { _ = try UNetConfig(cfg) } catch { checkError(error, mentions: "") }
    do { _ = try VAEConfig(cfg) } catch { checkError(error, mentions: "") }
    do { _ = try CLIPTextConfig(cfg) } catch { checkError(error, mentions: "") }
    do { _ = try SchedulerConfig(json: bytes) } catch { checkError(error, mentions: "") }
    return 0
}

/// The executable's entry point (SwiftPM aliases `main` to it): runs libFuzzer's driver on this target.
@_cdecl("fuzz_json_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc, argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        guard let data else { return 0 }
        return fuzzJSON(data, size)
    }
}
