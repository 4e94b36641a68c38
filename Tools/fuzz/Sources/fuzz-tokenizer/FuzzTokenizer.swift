import CXRTokenizer
import Foundation
import CFuzzDriver
import FuzzSupport

/// Any byte string (as UTF-8, invalid sequences replaced) as a prompt: exactly maxLength ids, all in the vocabulary.
/// Uses the full CLIP vocabulary (Resources/clip) when present, else the sd1-tiny test tokenizer.
let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let tokenizer: CLIPTokenizer = {
    let gz = repo.appendingPathComponent("Resources/clip/bpe_simple_vocab_16e6.txt.gz")
    if FileManager.default.fileExists(atPath: gz.path), let t = try? CLIPTokenizer(bpeGzip: gz) { return t }
    do { return try CLIPTokenizer(directory: repo.appendingPathComponent("Tests/Fixtures/models/sd1-tiny/tokenizer")) } catch {
        fatalError("no tokenizer to fuzz: \(error)")
    }
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenizer(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let t = tokenizer.encode(text)
    if t.ids.count != tokenizer.maxLength { fatalError("\(t.ids.count) ids") }
    if t.ids.contains(where: { $0 < 0 || $0 >= tokenizer.vocabSize }) { fatalError("id outside the vocabulary") }
    if t.truncated != (t.tokenCount > tokenizer.maxLength) { fatalError("truncation flag wrong") }
    return 0
}

/// The executable's entry point (SwiftPM aliases `main` to it): runs libFuzzer's driver on this target.
@_cdecl("fuzz_tokenizer_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc, argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        guard let data else { return 0 }
        return fuzzTokenizer(data, size)
    }
}
