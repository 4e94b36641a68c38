// swift-tools-version:6.0
// libFuzzer targets for cxr-edit's readers of untrusted files. A separate package so that the main package's
// build never needs the fuzzer runtime; it depends on the main package by path. Build and run with ./run.sh.
import Foundation
import PackageDescription

// The main package: ../.. (this repository), or $CXR_EDIT_ROOT (e.g. a scratch copy of it).
let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
let root = URL(fileURLWithPath: ProcessInfo.processInfo.environment["CXR_EDIT_ROOT"] ?? "../..", relativeTo: here).standardizedFileURL
// A path dependency's identity is its folder name.
let mainPackage = root.lastPathComponent.lowercased()
let cxr: Target.Dependency = .product(name: "CXREdit", package: mainPackage)

let package = Package(
    name: "cxr-fuzz",
    dependencies: [.package(path: root.path)],
    targets: [
        .target(name: "CFuzzDriver", path: "Sources/CFuzzDriver"),
        .target(name: "FuzzSupport", dependencies: ["CFuzzDriver"], path: "Sources/FuzzSupport"),
        // safetensors header/offset validation and tensor conversion (CXRCheckpoint.SafeTensorsFile).
        .executableTarget(name: "fuzz-safetensors", dependencies: [cxr, "FuzzSupport"], path: "Sources/fuzz-safetensors"),
        // the restricted unpickler and the ZIP reader behind .bin/.pt/.ckpt (CXRCheckpoint.TorchPickleFile).
        .executableTarget(name: "fuzz-pickle", dependencies: [cxr, "FuzzSupport"], path: "Sources/fuzz-pickle"),
        // PNG/JPEG decoding (our chunk/marker scan + libpng/libjpeg on a guarded thread), masks, text chunks.
        .executableTarget(name: "fuzz-image", dependencies: [cxr, "FuzzSupport"], path: "Sources/fuzz-image"),
        // DICOM through DCMTK (CDICOM): decoding, derived-image writing from the input, provenance read-back.
        .executableTarget(name: "fuzz-dicom", dependencies: [cxr, "FuzzSupport"], path: "Sources/fuzz-dicom"),
        // the JSON parser and the config readers built on it (UNet, VAE, CLIP text, scheduler, model_index).
        .executableTarget(name: "fuzz-json", dependencies: [cxr, "FuzzSupport"], path: "Sources/fuzz-json"),
        // the CLIP BPE tokenizer on arbitrary prompt text.
        .executableTarget(name: "fuzz-tokenizer", dependencies: [cxr, "FuzzSupport"], path: "Sources/fuzz-tokenizer"),
        // probe/synthesize run specs: the YAML nesting pre-scan, the composer under limits, the spec readers.
        .executableTarget(name: "fuzz-spec", dependencies: [cxr, "FuzzSupport"], path: "Sources/fuzz-spec"),
        // the --noise .npy reader (CXRCheckpoint.NpyArray).
        .executableTarget(name: "fuzz-npy", dependencies: [cxr, "FuzzSupport"], path: "Sources/fuzz-npy"),
    ]
)
