/// What every output of one run records about who made it: the software and the model (path and weights hash).
struct OutputStamp {
    let modelPath: String
    let modelHash: String
    var software: String { "cxr-edit \(CXREdit.version)" }
}
