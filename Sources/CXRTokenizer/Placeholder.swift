public enum CXRTokenizerPlaceholder {}
