import Foundation
import XCTest

/// Models whose numbers break down (issue 18, item 3): a NaN or infinity stored in a weight is refused at load,
/// and one produced while denoising or decoding stops the run; either way exit 1, one line, no output file —
/// never an all-black image with exit 0 and normal provenance.
final class NonFiniteModelTests: XCTestCase {
    /// Overwrites every value of tensor `name` in a safetensors file with `value` (F32 or F16 storage).
    static func patch(_ file: URL, tensor name: String, with value: Float) throws {
        var bytes = try Data(contentsOf: file)
        let n = bytes.prefix(8).withUnsafeBytes { Int($0.loadUnaligned(as: UInt64.self).littleEndian) }
        let header = try JSONSerialization.jsonObject(with: bytes.subdata(in: 8..<(8 + n))) as? [String: Any]
        guard let entry = header?[name] as? [String: Any], let dtype = entry["dtype"] as? String,
            let offsets = entry["data_offsets"] as? [Int]
        else {
            throw XCTSkip("\(file.lastPathComponent) has no tensor \(name)")
        }
        let element: [UInt8]
        switch dtype {
        case "F32": element = withUnsafeBytes(of: value.bitPattern.littleEndian, Array.init)
        case "F16": element = withUnsafeBytes(of: Float16(value).bitPattern.littleEndian, Array.init)
        default: throw XCTSkip("\(name) is \(dtype)")
        }
        var at = 8 + n + offsets[0]
        while at < 8 + n + offsets[1] {
            bytes.replaceSubrange(at..<(at + element.count), with: element)
            at += element.count
        }
        try bytes.write(to: file)
    }

    func runEdit(model: URL, out: URL) throws -> CLI.Result {
        try CLI.run([
            "edit", CLI.bad.appendingPathComponent("ok/grey8.png").path, "--model", model.path,
            "--prompt", "x", "--steps", "2", "-o", out.appendingPathComponent("o.png").path, "--quiet",
        ])
    }

    func testNaNOrInfinityInF32WeightsIsRefusedAtLoad() throws {
        let out = try CLI.tempDir(self)
        for (component, tensor, value) in [
            ("unet", "conv_in.weight", Float.nan), ("vae", "decoder.conv_out.bias", .infinity),
            ("text_encoder", "text_model.final_layer_norm.weight", -.infinity),
        ] {
            let model = try CLI.modelCopy(self)
            let dir = model.appendingPathComponent(component)
            let file = try XCTUnwrap(CLI.listing(dir).first { $0.hasSuffix(".safetensors") })
            try Self.patch(dir.appendingPathComponent(file), tensor: tensor, with: value)
            let r = try runEdit(model: model, out: out)
            CLI.assertFails(
                r, matches: [component, tensor, "NaN or infinite"], dir: out, "\(value) in \(component)/\(tensor)")
        }
    }

    func testNaNInF16WeightsIsRefusedAtLoad() throws {
        let out = try CLI.tempDir(self)
        let model = try CLI.tempDir(self, "sd2").appendingPathComponent("sd2-tiny")
        try FileManager.default.copyItem(at: CLI.fixtures.appendingPathComponent("models/sd2-tiny"), to: model)
        let unet = model.appendingPathComponent("unet/diffusion_pytorch_model.fp16.safetensors")
        try Self.patch(unet, tensor: "conv_out.weight", with: .nan)
        let r = try runEdit(model: model, out: out)
        CLI.assertFails(r, matches: ["conv_out.weight", "NaN or infinite"], dir: out, "fp16 NaN in the UNet")
    }

    /// Finite but huge weights: the decoder overflows to infinity (and inf - inf = NaN) only while running.
    func testOverflowDuringDecodingStopsTheRun() throws {
        let out = try CLI.tempDir(self)
        let model = try CLI.modelCopy(self)
        try Self.patch(
            model.appendingPathComponent("vae/diffusion_pytorch_model.safetensors"),
            tensor: "decoder.conv_out.weight", with: 3e38)
        for args in [["edit", CLI.bad.appendingPathComponent("ok/grey8.png").path], ["generate"]] {
            let r = try CLI.run(
                args + [
                    "--model", model.path, "--prompt", "x", "--steps", "2",
                    "-o", out.appendingPathComponent("o.png").path, "--quiet",
                ])
            CLI.assertFails(r, matches: ["NaN or infinite"], dir: out, "\(args[0]) with an overflowing decoder")
        }
    }
}
