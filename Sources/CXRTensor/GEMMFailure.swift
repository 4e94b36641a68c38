/// The end of a run whose GEMM failed (`sgemm`), which has no way to return an error: the GEMMs sit deep inside
/// the layers and the parallel loops, and a result left unwritten would spoil the image silently.
///
/// The library's default stops with the message (a crash report); the executable installs a handler that removes
/// the run's temporary files and prints the one error line with exit status 1, as for any other failure.
public enum GEMMFailure {
    /// Receives a one-line description of the failure and must not return. Set it once, before any computation.
    nonisolated(unsafe) public static var handler: (String) -> Never = { fatalError($0) }

    static func fail(_ message: String) -> Never { handler(message) }
}
