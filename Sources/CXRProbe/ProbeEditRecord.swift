extension ProbeEdit {
    /// Every parameter of an edit that changes the counterfactual: part of each result's id, and the row's
    /// `edit_spec`. Lists and optional fields the edit does not set are left out, so an edit's id does not change
    /// when a later version adds a parameter.
    public struct Record: Codable, Sendable, Equatable {
        public var name: String
        public var action: String
        public var mode: String
        public var dilate: Int
        public var finding: String?
        public var side: String?
        public var severity: String?
        public var prompt: String?
        public var negativePrompt: String?
        public var region: [String]?
        public var mask: String?
        public var keepRegion: [String]?
        public var keepMask: String?
        public var target: String?

        enum CodingKeys: String, CodingKey {
            case name, action, mode, dilate, finding, side, severity, prompt, region, mask, target
            case negativePrompt = "negative_prompt", keepRegion = "keep_region", keepMask = "keep_mask"
        }
    }

    public var record: Record {
        Record(
            name: name, action: action.rawValue, mode: mode.rawValue, dilate: dilate, finding: finding, side: side,
            severity: severity, prompt: prompt, negativePrompt: negativePrompt,
            region: region.isEmpty ? nil : region, mask: mask, keepRegion: keepRegion.isEmpty ? nil : keepRegion,
            keepMask: keepMask, target: target)
    }
}
