import Foundation
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Crash-safe file writing: the bytes go to `.<name>.tmp-<pid>-<random>` in the target's
/// directory, are fsync'ed, then moved into place with one atomic step. A reader (or a crash)
/// therefore never sees a half-written image. The temp file is removed on every failure path.
public enum AtomicFile {
    /// Writes `bytes` to `url`. Without `overwrite`, an existing file is never replaced (checked
    /// atomically with `link(2)`, which fails if the target appears in the meantime).
    public static func write(_ bytes: [UInt8], to url: URL, overwrite: Bool) throws {
        let name = url.lastPathComponent
        let dir = url.deletingLastPathComponent()
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue else {
            throw ImageError(file: name, "output directory \(dir.path) does not exist")
        }
        if !overwrite && FileManager.default.fileExists(atPath: url.path) {
            throw ImageError(file: name, .fileExists)
        }
        removeStaleTemporaries(of: name, in: dir)
        let random = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        let tmp = dir.appendingPathComponent(".\(name).tmp-\(getpid())-\(random)").path
        // Registered before it exists and until it is gone, so a SIGINT/SIGTERM handler can remove it.
        let token = TempFileRegistry.register(tmp)
        defer { TempFileRegistry.unregister(token) }
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure(name, "cannot create a temporary file in \(dir.path)", errno) }
        var ok = false
        defer { if !ok { unlink(tmp) } }
        do {
            defer { close(fd) }
            try bytes.withUnsafeBytes { buf in
                var off = 0
                while off < buf.count {
                    guard let base = buf.baseAddress else { return }
                    let n = Glibc.write(fd, base + off, buf.count - off)
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw failure(name, "write failed", errno)
                    }
                    off += n
                }
            }
            guard fsync(fd) == 0 else { throw failure(name, "fsync failed", errno) }
        }
        if overwrite {
            guard rename(tmp, url.path) == 0 else {
                throw failure(name, "cannot move the temporary file into place", errno)
            }
        } else {
            if link(tmp, url.path) == 0 {
                unlink(tmp)
            } else {
                let e = errno
                if e == EEXIST { throw ImageError(file: name, .fileExists) }
                // File systems without hard links: fall back to a checked rename.
                guard e == EPERM || e == ENOTSUP || e == EOPNOTSUPP || e == EXDEV,
                    !FileManager.default.fileExists(atPath: url.path),
                    rename(tmp, url.path) == 0
                else { throw failure(name, "cannot move the temporary file into place", e) }
            }
        }
        ok = true
        // Persist the directory entry too (best effort).
        let dfd = open(dir.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 { _ = fsync(dfd); close(dfd) }
    }

    /// Removes `.<name>.tmp-<pid>-*` files left by writers of the same target that no longer run (a SIGKILL or
    /// power loss between creating and renaming the temp file). Files of live processes are left alone.
    static func removeStaleTemporaries(of name: String, in dir: URL) {
        let prefix = ".\(name).tmp-"
        guard let items = try? FileManager.default.contentsOfDirectory(atPath: dir.path) else { return }
        for item in items where item.hasPrefix(prefix) {
            let rest = item.dropFirst(prefix.count)
            guard let dash = rest.firstIndex(of: "-"), let pid = pid_t(rest[..<dash]), pid > 0, pid != getpid() else {
                continue
            }
            if kill(pid, 0) != 0 && errno == ESRCH {
                unlink(dir.appendingPathComponent(item).path)
            }
        }
    }

    static func failure(_ name: String, _ what: String, _ code: Int32) -> ImageError {
        let reason: String
        switch code {
        case ENOSPC: reason = "no space left on device"
        case EDQUOT: reason = "disk quota exceeded"
        case EACCES, EPERM: reason = "permission denied"
        case EROFS: reason = "read-only file system"
        default: reason = String(cString: strerror(code))
        }
        return ImageError(file: name, "\(what): \(reason)")
    }
}
