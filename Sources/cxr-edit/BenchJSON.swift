/// `bench --json`: the settings and machine of the run, then each part timed (the median of `steps` runs after a
/// warm-up, in seconds, with its median process CPU time as `<key>_cpu`), the UNet's work and speed, and the load.
/// A part left out by --only has no keys.
struct BenchJSON: Encodable {
    var model: String
    var size: Int
    var steps: Int
    var threads: Int
    var precision: String
    /// `--vae-tiling` (auto, on or off): VAE figures at sizes above one tile depend on it.
    var vaeTiling: String
    var machine: MachineJSON
    var loadSeconds: Double = 0
    var textEncodeSeconds: Double?
    var textEncodeCPUSeconds: Double?
    var unetStepSeconds: Double?
    var unetStepCPUSeconds: Double?
    var unetGFLOP: Double?
    var unetGFLOPS: Double?
    var vaeEncodeSeconds: Double?
    var vaeEncodeCPUSeconds: Double?
    var vaeDecodeSeconds: Double?
    var vaeDecodeCPUSeconds: Double?
    var sgemmGFLOPS: Double?
    /// The UNet's speed as a share of the machine's sgemm speed.
    var unetPeakFraction: Double?
    var loadAverage: Double = 0
    var peakRSSMB: Double = 0

    init(
        model: String, size: Int, steps: Int, threads: Int, precision: String, vaeTiling: String, machine: MachineJSON
    ) {
        self.model = model; self.size = size; self.steps = steps; self.threads = threads
        self.precision = precision; self.vaeTiling = vaeTiling; self.machine = machine
    }

    /// The settings the text output prints before the figures (as `key value` lines, like them), under their JSON
    /// keys.
    var settings: [(key: String, value: String)] { [(CodingKeys.vaeTiling.stringValue, vaeTiling)] }

    /// The figures the text output prints, in its order, under their JSON keys.
    var summary: [(key: String, value: Double?)] {
        let figures: [(CodingKeys, Double?)] = [
            (.textEncodeSeconds, textEncodeSeconds), (.unetStepSeconds, unetStepSeconds),
            (.vaeEncodeSeconds, vaeEncodeSeconds), (.vaeDecodeSeconds, vaeDecodeSeconds), (.unetGFLOPS, unetGFLOPS),
            (.sgemmGFLOPS, sgemmGFLOPS), (.peakRSSMB, peakRSSMB),
        ]
        return figures.map { (key: $0.0.stringValue, value: $0.1) }
    }

    enum CodingKeys: String, CodingKey {
        case model, size, steps, threads, precision, vaeTiling = "vae_tiling", machine, loadSeconds = "load_s"
        case textEncodeSeconds = "text_encode_s", textEncodeCPUSeconds = "text_encode_s_cpu"
        case unetStepSeconds = "unet_step_s", unetStepCPUSeconds = "unet_step_s_cpu"
        case unetGFLOP = "unet_gflop", unetGFLOPS = "unet_gflops"
        case vaeEncodeSeconds = "vae_encode_s", vaeEncodeCPUSeconds = "vae_encode_s_cpu"
        case vaeDecodeSeconds = "vae_decode_s", vaeDecodeCPUSeconds = "vae_decode_s_cpu"
        case sgemmGFLOPS = "sgemm_gflops", unetPeakFraction = "unet_peak_fraction"
        case loadAverage = "load_average", peakRSSMB = "peak_rss_mb"
    }
}
