public enum CXRImagingPlaceholder {}
