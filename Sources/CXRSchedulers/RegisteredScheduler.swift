/// A scheduler type as the registry (`SchedulerKind`) builds it: its diffusers class name, the extra names the run
/// specs accept, and the initialiser `makeScheduler` calls.
///
/// Why a protocol: it keeps everything about one scheduler in its own file, so the registry needs only a case and
/// a type per scheduler, and the CLI, the probe/synthesize specs and the class-name lookup follow from it.
public protocol RegisteredScheduler: Scheduler {
    /// diffusers' class name (`_class_name` in scheduler_config.json), e.g. "DDIMScheduler".
    static var className: String { get }
    /// Other spellings accepted for the command-line name (older run specs wrote "euler_a").
    static var aliases: [String] { get }
    /// Builds the scheduler as diffusers' `Class.from_config(config)` does. `eta` is the pipeline's DDIM noise
    /// weight (0 = deterministic); schedulers without that parameter ignore it, as diffusers' pipelines do.
    init(config: SchedulerConfig, eta: Double) throws
}

extension RegisteredScheduler {
    public static var aliases: [String] { [] }
}
