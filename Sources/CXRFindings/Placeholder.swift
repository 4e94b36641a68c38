public enum CXRFindingsPlaceholder {}
