import CXRFiles

/// The one error type of the checkpoint layer. It is CXRFiles' `InputFileError` because checkpoint readers
/// parse JSON (headers, configs, indexes) through CXRFiles' reader: a JSON failure and a pickle failure must be
/// the same type for callers that catch one error and print it.
public typealias CheckpointError = InputFileError
