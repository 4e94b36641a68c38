import Foundation
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The one way cxr-edit reads a whole input file: a regular file, no larger than a limit, judged by what was
/// actually opened.
///
/// Why: the size must be checked before the bytes are read (a 5 GB sparse file cost 5 GB of memory), and it
/// must be the size of the opened file — `stat` of a path describes a symbolic link, not its target, and the
/// file can be swapped between a check and a later open. So: open (non-blocking, so a FIFO cannot stall the
/// open), `fstat` the descriptor, refuse anything but a regular file, check the size, read from the same
/// descriptor. Devices and FIFOs (`/dev/zero`, `/dev/stdin`) never end and are refused.
public enum BoundedFile {
    /// Why a file was not read. `description` is the reason without the file name; callers add it.
    public enum Failure: Error, CustomStringConvertible, Equatable, Sendable {
        case cannotOpen(errno: Int32)
        case isDirectory
        case notRegularFile
        case tooLarge(size: Int, limit: Int)
        case readFailed(errno: Int32)

        public var description: String {
            switch self {
            case .cannotOpen(let e): return "cannot open file (\(String(cString: strerror(e))))"
            case .isDirectory: return "is a directory, not a file"
            case .notRegularFile: return "not a regular file"
            case .tooLarge(let size, let limit): return "file of \(size) bytes exceeds the limit of \(limit) bytes"
            case .readFailed(let e): return "cannot read file (\(String(cString: strerror(e))))"
            }
        }

        /// The file does not exist (as opposed to existing but being refused).
        public var isMissing: Bool { self == .cannotOpen(errno: ENOENT) }
    }

    /// The bytes of the regular file at `url`, which must hold at most `limit` bytes. A file that shrinks while
    /// being read gives the bytes that were there (the format readers then report the truncation).
    public static func read(_ url: URL, limit: Int) throws -> Data {
        let fd = open(url.path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw Failure.cannotOpen(errno: errno) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw Failure.cannotOpen(errno: errno) }
        switch st.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: throw Failure.isDirectory
        default: throw Failure.notRegularFile
        }
        let size = Int(st.st_size)
        guard size <= limit else { throw Failure.tooLarge(size: size, limit: limit) }
        var data = Data(count: size)
        var failed: Int32 = 0
        let got = data.withUnsafeMutableBytes { (buf: UnsafeMutableRawBufferPointer) -> Int in
            var off = 0
            while off < size, let base = buf.baseAddress {
                let n = Foundation.read(fd, base + off, size - off)
                if n < 0 && errno == EINTR { continue }
                if n < 0 { failed = errno; break }
                if n == 0 { break }
                off += n
            }
            return off
        }
        if failed != 0 { throw Failure.readFailed(errno: failed) }
        if got < size { data.count = got }
        return data
    }
}
