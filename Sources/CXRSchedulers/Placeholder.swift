public enum CXRSchedulersPlaceholder {}
