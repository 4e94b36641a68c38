import Foundation

/// A batch's progress on stderr: which output of how many is being made, and after each the time per output
/// and the ETA of the rest ("edit 3/8 done | 4.1 s per output | ETA 21 s"), measured on this run's own outputs.
struct BatchProgress {
    let total: Int
    let reporter: ProgressReporter
    private(set) var finished = 0
    private var seconds = 0.0

    init(total: Int, reporter: ProgressReporter) {
        self.total = total
        self.reporter = reporter
    }

    /// The label of the next output's step progress, e.g. "[3/8] edit x.png seed 1".
    func label(_ kind: String, _ what: String) -> String { "[\(finished + 1)/\(total)] \(kind) \(what)" }

    mutating func finished(seconds: Double) {
        finished += 1
        self.seconds += seconds
        let perOutput = self.seconds / Double(finished)
        reporter.note(
            String(
                format: "edit %d/%d done | %.1f s per output | ETA %.0f s", finished, total, perOutput,
                perOutput * Double(total - finished)))
    }
}
