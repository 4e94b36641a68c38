import CXRFindings
import CXRImaging
import Foundation

/// One input radiograph read, hashed and with its edit areas placed: what `Edit` knows of an image before the
/// model is loaded, and all it needs to make the image's `EditRequest` for any seed.
struct PreparedInput {
    let url: URL
    let image: RasterImage
    /// SHA-256 of the file: recorded in the provenance, and how a rerun recognises its input.
    let hash: String
    /// The --mask file or the regions at the image's size, and what is kept.
    let placed: PlacedRegions
    /// Which window/VOI LUT of a DICOM input made the picture (`cxr-edit:x:window`); empty for PNG/JPEG.
    let windowProvenance: [String: String]

    /// The --mask file at the image's size, else the placed regions; nil = the whole image.
    var editMask: Mask? { placed.edit }

    /// The warning a weak atlas fit accepted with --force records (nil for a good fit or no regions).
    func fitWarning(_ resolved: ResolvedFindings) -> String? {
        placed.fit.flatMap { resolved.fitPolicy.warning(for: $0) }
    }
}
