public enum CXRPipelinesPlaceholder {}
