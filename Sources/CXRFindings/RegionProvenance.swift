import Foundation

extension ResolvedFindings {
    /// Where the edit acted on one image, as provenance entries (`cxr-edit:x:<key>`): the area's source, the regions
    /// and their growth in image pixels, the pleural fluid that clipped them, the mask files by name, the atlas fit
    /// and a forced weak fit's warning.
    /// Enough to place the same pixels again from the file alone, whoever made the edit.
    public func provenance(of placed: PlacedRegions) -> [String: String] {
        var entries = ["area": areaSource.rawValue]
        if !regions.edit.isEmpty {
            entries["regions"] = regions.editDescription
            entries["region-grow-px"] = placed.growth.map(String.init).joined(separator: ",")
        }
        if regions.dilate > 0 { entries["dilate"] = String(regions.dilate) }
        // The measured fluid changes the pixels repainted, so it is recorded with them.
        if !placed.fluid.isEmpty { entries["pleural-fluid"] = placed.fluid.map(\.summary).joined(separator: "; ") }
        if let editMaskFile { entries["mask-file"] = URL(fileURLWithPath: editMaskFile).lastPathComponent }
        let kept = regions.keep + keepMaskFiles.map { URL(fileURLWithPath: $0).lastPathComponent }
        if !kept.isEmpty { entries["keep"] = kept.joined(separator: "+") }
        if let fit = placed.fit {
            entries["atlas-fit"] = fit.summary
            entries["atlas-fit-score"] = String(format: "%.4f", fit.score)
            if let warning = fitPolicy.warning(for: fit) { entries["warning"] = warning }
        }
        return entries
    }
}
