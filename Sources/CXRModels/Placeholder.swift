public enum CXRModelsPlaceholder {}
