// swift-tools-version:6.0
import PackageDescription

let optimize: [SwiftSetting] = [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]

let package = Package(
    name: "cxr-edit",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "cxr-edit", targets: ["cxr-edit"]),
        .library(
            name: "CXREdit",
            targets: [
                "CXRTensor", "CXRCheckpoint", "CXRTokenizer", "CXRModels",
                "CXRSchedulers", "CXRPipelines", "CXRImaging",
                "CXRFindings", "CXRClassifiers", "CXRRuns", "CXRProbe", "CXRFiles",
            ]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.0"),
    ],
    targets: [
        // System libraries (apt: libdnnl-dev libpng-dev libjpeg-dev libdcmtk-dev libopenjp2-7-dev). oneDNN (what
        // PyTorch runs on CPU) for the fp32 GEMMs: its kernels are generated at run time for the CPU's best
        // instruction set.
        .systemLibrary(name: "CDNNL", path: "Sources/CDNNL"),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG"),
        .systemLibrary(name: "CJPEG", path: "Sources/CJPEG"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        // CPUID and XGETBV, which Swift cannot execute itself (kernel selection needs the CPU's features).
        .target(name: "CCPUID"),
        // bf16 GEMM with float32 accumulation on AVX512-BF16, packing and caching its weights once (see BFloat16GEMM).
        .target(name: "CBFloat16", dependencies: ["CCPUID"]),
        // Fused fp32 attention on AVX-512 (score tiles in registers and L1, online softmax; see Attention.swift).
        .target(name: "CAttention", dependencies: ["CCPUID"]),
        // Elementwise kernels of the small models' hot loops: SiLU and the Winograd F(2x2,3x3) transforms in
        // AVX-512, bit-identical to the Swift they replace; GELU with an erf of our own, the same bits on every CPU.
        .target(name: "CVectorKernels", dependencies: ["CCPUID"]),
        // The worker threads of the parallel loops: spin briefly between loops, then sleep (see Threads.swift).
        .target(name: "CThreadPool"),
        // DICOM through DCMTK (apt: libdcmtk-dev), behind a C interface: parsing, JPEG/JPEG-LS/RLE/deflate
        // decoding, Modality/VOI LUT rendering, derived-image writing; JPEG 2000 and HTJ2K decoding through
        // OpenJPEG (apt: libopenjp2-7-dev), which DCMTK's free codecs lack.
        .target(
            name: "CDICOM",
            linkerSettings: [
                .linkedLibrary("dcmjpls"), .linkedLibrary("dcmjpeg"), .linkedLibrary("dcmimgle"),
                .linkedLibrary("dcmdata"), .linkedLibrary("oflog"), .linkedLibrary("ofstd"),
                .linkedLibrary("openjp2"), .linkedLibrary("z"),
            ]),

        // Reading input files: whole files under a size limit (regular files only, size from the opened
        // descriptor), the one JSON reader and writer (typed getters whose errors name file and key), and the
        // input-file error type that the checkpoint layer shares.
        .target(name: "CXRFiles", swiftSettings: optimize),
        // Tensor type and CPU kernels (GEMM via oneDNN, conv, norms, attention, activations).
        .target(
            name: "CXRTensor",
            dependencies: ["CDNNL", "CCPUID", "CBFloat16", "CAttention", "CVectorKernels", "CThreadPool"],
            swiftSettings: optimize),
        // safetensors (validated, mmapped), PyTorch .bin through an allow-listed unpickler, diffusers folders.
        .target(name: "CXRCheckpoint", dependencies: ["CXRTensor", "CXRFiles"], swiftSettings: optimize),
        // CLIP BPE tokenizer, identical to transformers' CLIPTokenizer.
        .target(name: "CXRTokenizer", dependencies: ["CZlib", "CXRFiles"], swiftSettings: optimize),
        // The neural-network layers every network is built from (the diffusion models, the lung segmenter, the
        // classifiers) and their weight reading; CLIPTextModel, UNet2DConditionModel, AutoencoderKL, driven by
        // config.json.
        .target(name: "CXRModels", dependencies: ["CXRTensor", "CXRCheckpoint", "CXRFiles"], swiftSettings: optimize),
        // Schedulers (DDIM, PNDM, Euler, Euler-a, DPM++2M, LMS) and torch-identical random numbers.
        .target(
            name: "CXRSchedulers", dependencies: ["CXRTensor", "CXRCheckpoint", "CXRFiles"], swiftSettings: optimize),
        // PNG/JPEG/DICOM I/O, grey/RGB, resize, masks, provenance chunks, atomic writes.
        .target(
            name: "CXRImaging", dependencies: ["CPNG", "CJPEG", "CZlib", "CXRFiles", "CDICOM"],
            swiftSettings: optimize),
        // Text-to-image, SDEdit and inpainting pipelines.
        .target(
            name: "CXRPipelines",
            dependencies: [
                "CXRTensor", "CXRCheckpoint", "CXRTokenizer", "CXRModels", "CXRSchedulers", "CXRImaging",
                "CXRFiles",
            ],
            swiftSettings: optimize),
        // Findings vocabulary, prompt composition from --add/--remove/--severity, named anatomical regions placed
        // by the atlas fit and the lung/heart segmenter (a small network run by CXRModels' layers).
        .target(
            name: "CXRFindings", dependencies: ["CXRImaging", "CXRTensor", "CXRCheckpoint", "CXRModels"],
            resources: [.copy("Resources")], swiftSettings: optimize),
        // Chest X-ray classifiers: native DenseNet-121 (torchxrayvision layout), the demo classifier, adapters;
        // their networks are built from CXRModels' layers.
        .target(
            name: "CXRClassifiers",
            dependencies: ["CXRTensor", "CXRCheckpoint", "CXRModels", "CXRImaging", "CXRFiles"],
            swiftSettings: optimize),
        // Resumable, shardable runs: run directory lock, fsynced results log of typed rows, merge of shards,
        // run.json, progress, input image lists; knows nothing of what a row measures.
        .target(name: "CXRRuns", dependencies: ["CXRImaging", "CXRFiles"], swiftSettings: optimize),
        // Counterfactual stress tests of classifiers and synthetic datasets on the run machinery: specs, plans,
        // runners, rows, metrics, reports.
        .target(
            name: "CXRProbe",
            dependencies: [
                "CXRRuns", "CXRPipelines", "CXRSchedulers", "CXRFindings", "CXRClassifiers",
                "CXRImaging", "CXRCheckpoint", "CXRTensor", "CXRFiles",
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: optimize),
        .executableTarget(
            name: "cxr-edit",
            dependencies: [
                "CXRPipelines", "CXRImaging", "CXRModels", "CXRCheckpoint", "CXRTokenizer",
                "CXRSchedulers", "CXRTensor", "CXRFindings", "CXRClassifiers", "CXRRuns",
                "CXRProbe", "CXRFiles",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: optimize),

        // Times CXRTensor's conv2d, linear and attention on given shapes, driven by Tools/bench/onednn/compare.py
        // beside another library's benchmark (a tool, not a product: nothing else depends on it).
        .executableTarget(name: "cxr-kernel-bench", dependencies: ["CXRTensor"], swiftSettings: optimize),

        .testTarget(name: "CXRTensorTests", dependencies: ["CXRTensor"]),
        .testTarget(name: "CXRCheckpointTests", dependencies: ["CXRCheckpoint", "CXRTensor", "CXRFiles"]),
        .testTarget(name: "CXRTokenizerTests", dependencies: ["CXRTokenizer"]),
        .testTarget(
            name: "CXRModelsTests",
            dependencies: ["CXRModels", "CXRCheckpoint", "CXRTensor", "CXRTokenizer", "CXRFiles"]),
        .testTarget(
            name: "CXRSchedulersTests",
            dependencies: ["CXRSchedulers", "CXRTensor", "CXRCheckpoint", "CXRFiles"]),
        .testTarget(name: "CXRImagingTests", dependencies: ["CXRImaging"]),
        .testTarget(
            name: "CXRPipelinesTests",
            dependencies: [
                "CXRPipelines", "CXRImaging", "CXRTensor", "CXRCheckpoint", "CXRSchedulers",
                "CXRFiles",
            ]),
        .testTarget(name: "CXRFindingsTests", dependencies: ["CXRFindings", "CXRImaging"]),
        .testTarget(
            name: "CXRClassifiersTests", dependencies: ["CXRClassifiers", "CXRTensor", "CXRCheckpoint", "CXRImaging"]),
        // End-to-end tests of the cxr-edit binary: exit codes, one-line errors, no partial outputs.
        .testTarget(name: "CLITests", dependencies: ["cxr-edit", "CXRImaging", "CXRTensor"]),
        .testTarget(
            name: "CXRProbeTests",
            dependencies: [
                "CXRRuns", "CXRProbe", "CXRClassifiers", "CXRFindings",
                "CXRPipelines", "CXRImaging", "CXRSchedulers",
            ]),
    ],
    swiftLanguageModes: [.v5]
)
