public enum CXRProbePlaceholder {}
