import CXRTensor
import Foundation
#if canImport(Glibc)
    import Glibc
#endif

/// Applies `BLASKernelChoice` to this process: where OpenBLAS picked kernels below the CPU's best and nobody set
/// `OPENBLAS_CORETYPE`, execute cxr-edit again, once, with it set (OpenBLAS reads it only when it loads).
///
/// Runs first in `main`, before any thread, signal handler or file exists, so the new image starts from the same
/// state; same pid, same arguments, same descriptors. The variable stays set for the children the run starts
/// (classifier commands), whose OpenBLAS, if any, then runs the right kernels too.
enum KernelSelection {
    /// The decision taken for this process (after a re-execution: the one the new image sees).
    static let choice = BLASKernelChoice.decide(
        cpu: .current, core: OpenBLASLibrary.coreName,
        config: OpenBLASLibrary.config,
        environment: ProcessInfo.processInfo.environment)

    static func apply() {
        #if os(Linux)
            guard case .reexecute(let core) = choice.action else { return }
            let detected = OpenBLASLibrary.coreName
            setenv(BLASKernelChoice.coreTypeVariable, core, 1)
            setenv(BLASKernelChoice.markerVariable, "\(core),\(detected)", 1)
            execv("/proc/self/exe", CommandLine.unsafeArgv)
            // Only reached when exec failed (no /proc): run on with the detected kernels, and leave the environment
            // as it was so children do not believe cxr-edit chose their kernels.
            unsetenv(BLASKernelChoice.coreTypeVariable)
            unsetenv(BLASKernelChoice.markerVariable)
        #endif
    }
}
