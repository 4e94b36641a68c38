public enum CXRClassifiersPlaceholder {}
