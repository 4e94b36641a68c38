import CXRProbe
import Foundation
import CFuzzDriver
import FuzzSupport

/// Any byte string as a probe/synthesize run spec (YAML or JSON): the nesting pre-scan, the YAML composer under
/// the node, depth and string limits, then both spec readers. Everything must succeed or throw one line naming
/// the file; a deeply nested text must never reach the composer's recursion (it overflowed the stack before).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSpec(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let name = "spec.yaml"
    guard let text = String(bytes: UnsafeBufferPointer(start: data, count: size), encoding: .utf8) else { return 0 }
    let value: SpecValue
    do { value = try SpecValue.parse(text, file: name) } catch {
        checkError(error, mentions: name)
        return 0
    }
    let url = URL(fileURLWithPath: "/nonexistent/\(name)")
    do { _ = try ProbeSpec(value: value, file: url) } catch { checkError(error, mentions: "") }
    do { _ = try SynthesizeSpec(value: value, file: url) } catch { checkError(error, mentions: "") }
    return 0
}

/// The executable's entry point (SwiftPM aliases `main` to it): runs libFuzzer's driver on this target.
@_cdecl("fuzz_spec_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc, argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        guard let data else { return 0 }
        return fuzzSpec(data, size)
    }
}
