import Foundation
import XCTest

@testable import CXRPipelines

/// A tokenizer built ahead on its own thread (`TokenizerPreload`) is the one the load would build; a preload of
/// another folder, or one that failed, leaves the load to build its own and report its own error.
final class TokenizerPreloadTests: XCTestCase {
    static let modelURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Models/cxr-mini")
    let prompt = "Frontal chest radiograph. Large right pleural effusion."

    func testPreloadedTokenizerIsTheLoadsOwn() throws {
        let plain = try StableDiffusionModel.load(from: Self.modelURL)
        let preloaded = try StableDiffusionModel.load(
            from: Self.modelURL, tokenizer: TokenizerPreload(modelFolder: Self.modelURL))
        XCTAssertEqual(preloaded.tokenizer.encode(prompt), plain.tokenizer.encode(prompt))
        XCTAssertEqual(preloaded.tokenizer.vocabSize, plain.tokenizer.vocabSize)
    }

    func testOtherFoldersAndFailuresAreTheLoadsOwn() throws {
        let elsewhere = TokenizerPreload(modelFolder: URL(fileURLWithPath: "/nonexistent-model"))
        XCTAssertNil(elsewhere.tokenizer(of: Self.modelURL.appendingPathComponent("tokenizer")))
        let model = try StableDiffusionModel.load(from: Self.modelURL, tokenizer: elsewhere)
        XCTAssertEqual(model.tokenizer.encode(prompt).ids.count, 77)

        // A model folder whose tokenizer cannot be read: the load fails as it does without a preload.
        let broken = FileManager.default.temporaryDirectory.appendingPathComponent("preload-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: broken, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: broken) }
        for item in try FileManager.default.contentsOfDirectory(atPath: Self.modelURL.path) where item != "tokenizer" {
            try FileManager.default.createSymbolicLink(
                at: broken.appendingPathComponent(item), withDestinationURL: Self.modelURL.appendingPathComponent(item))
        }
        try FileManager.default.createDirectory(
            at: broken.appendingPathComponent("tokenizer"), withIntermediateDirectories: false)
        func message(_ body: () throws -> StableDiffusionModel) -> String {
            do {
                _ = try body()
                return "loaded"
            } catch {
                return "\(error)"
            }
        }
        let without = message { try StableDiffusionModel.load(from: broken) }
        let preload = TokenizerPreload(modelFolder: broken)
        let with = message { try StableDiffusionModel.load(from: broken, tokenizer: preload) }
        XCTAssertNotEqual(without, "loaded")
        XCTAssertEqual(with, without)
    }
}
