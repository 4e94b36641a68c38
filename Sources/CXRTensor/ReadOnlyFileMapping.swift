/// An object that owns a read-only file mapping (PROT_READ, never written). Weights viewing its pages may drop
/// them from the process's memory once they have a copy of their own (`Weight.releaseStoredPages`): clean file
/// pages are read back from the file (usually still in the page cache) if touched again, so nothing is lost.
/// Only owners that promise this may be released; dropping anonymous memory would zero it.
public protocol ReadOnlyFileMapping: AnyObject {}
