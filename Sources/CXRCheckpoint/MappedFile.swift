import Foundation
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A whole file mapped read-only into memory.
///
/// Weights are read straight from the page cache and converted once into the float32 `Tensor`, avoiding a
/// second full copy of multi-GB checkpoints. The mapping lives as long as this object (unmapped in deinit).
final class MappedFile: @unchecked Sendable {
    let path: String
    /// Start of the mapping (nil only for an empty file).
    let base: UnsafeRawPointer?
    let size: Int

    init(url: URL) throws {
        path = url.path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw CheckpointError(.io, file: path, "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw CheckpointError(.io, file: path, "cannot stat: \(String(cString: strerror(errno)))")
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw CheckpointError(.io, file: path, "not a regular file")
        }
        size = Int(st.st_size)
        if size == 0 {
            base = nil
            return
        }
        let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else {
            throw CheckpointError(.io, file: path, "cannot map \(size) bytes: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(p)
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), size) }
    }

    /// The whole mapping as a buffer (empty for an empty file).
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: size) }
}
