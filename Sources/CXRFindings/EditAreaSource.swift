/// Where an edit's area comes from; its raw value is what provenance (`cxr-edit:x:area`), probe rows and the
/// `--json` reports record.
public enum EditAreaSource: String, Sendable, Equatable {
    /// The added and removed findings' extents (the default for findings, and the regions named `auto`).
    case extents
    /// Regions named by the caller.
    case named
    /// A mask file.
    case maskFile = "mask"
    /// The whole image (asked for, or a free prompt without an area).
    case wholeImage = "whole-image"
}
