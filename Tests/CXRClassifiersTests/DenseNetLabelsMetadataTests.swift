import Foundation
import XCTest
@testable import CXRClassifiers

/// A DenseNet safetensors file may name its outputs in its metadata (`labels`: a JSON list of strings), as
/// `Tools/classifiers` writes them; anything else there is refused by name rather than guessed at.
final class DenseNetLabelsMetadataTests: XCTestCase {
    /// densenet_small.safetensors with `labels` set to `json` in its metadata (the tensors' offsets are relative to
    /// the end of the header, so only the header changes).
    func weights(labelsJSON json: String) throws -> URL {
        let source = try Data(contentsOf: ClassifierFixtures.url("densenet_small.safetensors"))
        let length = source.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        var header = String(decoding: source[8..<(8 + length)], as: UTF8.self).trimmingCharacters(in: .whitespaces)
        let quoted = String(decoding: try JSONEncoder().encode(json), as: UTF8.self)
        header.insert(contentsOf: #""__metadata__":{"labels":\#(quoted)},"#, at: header.index(after: header.startIndex))
        while header.utf8.count % 8 != 0 { header += " " }
        var out = Data((0..<8).map { UInt8(truncatingIfNeeded: header.utf8.count >> (8 * $0)) })
        out += Data(header.utf8) + source[(8 + length)...]
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("densenet-labels-\(UUID().uuidString).safetensors")
        try out.write(to: url)
        return url
    }

    func testLabelsComeFromTheMetadata() throws {
        let names = (0..<18).map { $0 < 14 ? "finding \($0) \"quoted\" / é" : "" }
        let json = String(decoding: try JSONEncoder().encode(names), as: UTF8.self)
        let clf = try DenseNetClassifier(weightsURL: try weights(labelsJSON: json))
        XCTAssertEqual(clf.outputLabels, names)
        XCTAssertEqual(clf.labels, Array(names.prefix(14)))
    }

    func testLabelsThatAreNotAListOfStringsAreRefused() throws {
        for json in [#"{"a": 1}"#, #"["A", 2]"#, "not json"] {
            XCTAssertThrowsError(try DenseNetClassifier(weightsURL: try weights(labelsJSON: json)), json) {
                XCTAssertTrue("\($0)".contains("metadata 'labels' is not a JSON list of strings"), "\($0)")
            }
        }
    }
}
