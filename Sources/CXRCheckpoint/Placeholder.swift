public enum CXRCheckpointPlaceholder {}
