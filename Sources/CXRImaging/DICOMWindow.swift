import CDICOM

/// Which VOI transformation (window or VOI LUT) turns a DICOM file's stored values into the picture that is read.
///
/// A file may carry several: e.g. a lung and a mediastinum window, or a VOI LUT beside them. Reading uses the first
/// unless told otherwise; writing a derived file must use the same one, so that its unedited pixels keep their
/// stored values (docs/dicom.md).
public enum DICOMWindow: Equatable, Sendable, CustomStringConvertible {
    /// The first VOI LUT, else the first window, else a min-max window over the pixel values.
    case automatic
    /// The N-th (1-based) of the file's VOI LUTs followed by its windows.
    case number(Int)
    /// A window from the smallest to the largest pixel value, whatever the file declares.
    case minMax

    /// Parses `N` (1-based) or `minmax`; nil for anything else.
    public init?(argument: String) {
        let text = argument.trimmingCharacters(in: .whitespaces).lowercased()
        if text == "minmax" || text == "min-max" {
            self = .minMax
        } else if let n = Int(text), n >= 1, n <= 65535 {
            self = .number(n)
        } else {
            return nil
        }
    }

    /// How the choice is written on a command line (`--window` takes it back).
    public var description: String {
        switch self {
        case .automatic: return "auto"
        case .number(let n): return String(n)
        case .minMax: return "minmax"
        }
    }

    /// The C interface's value (cdicom.h).
    var cValue: Int32 {
        switch self {
        case .automatic: return CXR_DICOM_WINDOW_DEFAULT
        case .number(let n): return Int32(n)
        case .minMax: return CXR_DICOM_WINDOW_MIN_MAX
        }
    }
}
