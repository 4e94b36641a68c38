import CDICOM
import Foundation

/// DICOM reading and writing through DCMTK (the `CDICOM` target; see docs/dicom.md).
///
/// Reading gives the image as a radiologist sees it: Modality LUT, then the first VOI LUT, else the first window,
/// else a min-max window (or the `DICOMWindow` chosen), MONOCHROME1 inverted, as 16-bit grey (8-bit when at most
/// 8 bits are stored). JPEG 2000 and HTJ2K pixel data are decoded by OpenJPEG, the rest by DCMTK. Writing keeps the
/// source's pixel encoding: a pixel whose displayed value is unchanged gets the source's stored value back bit for
/// bit, an edited one the stored value that displays closest.
enum DICOMCodec {
    /// Data elements and sequence items per file: real radiographs carry a few hundred, DCMTK spends a few hundred
    /// bytes of memory on each, and a 512 MiB file of empty elements would otherwise cost gigabytes.
    static let maxItems = 200_000

    static func isDICOM(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= 132 && bytes[128] == 0x44 && bytes[129] == 0x49 && bytes[130] == 0x43 && bytes[131] == 0x4D
    }

    static func cLimits(_ limits: ImageLimits) -> cxr_dicom_limits {
        cxr_dicom_limits(
            max_side: limits.maxSide, max_pixels: limits.maxPixels,
            max_inflated_bytes: limits.maxFileBytes, max_items: maxItems)
    }

    static func decode(
        _ bytes: UnsafeRawBufferPointer, file: String, limits: ImageLimits,
        window: DICOMWindow = .automatic
    ) throws -> RasterImage {
        try decodeWindowed(bytes, file: file, limits: limits, window: window).image
    }

    /// The image and a description of the VOI transformation that made it ("window 2 of 2 (SOFT)").
    static func decodeWindowed(
        _ bytes: UnsafeRawBufferPointer, file: String, limits: ImageLimits,
        window: DICOMWindow
    ) throws -> WindowedImage {
        var cl = cLimits(limits)
        var image = cxr_dicom_image()
        let message = CMessage()
        defer { message.deallocate() }
        let rc = cxr_dicom_decode(
            bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count, &cl,
            window.cValue, &image, message.buffer, CMessage.capacity)
        defer { cxr_dicom_free(image.samples) }
        guard rc == 0, let samples = image.samples else {
            throw ImageError(file: file, message.isEmpty ? "cannot decode DICOM data" : message.string)
        }
        let count = image.width * image.height
        let raster = try RasterImage(
            width: image.width, height: image.height, channels: 1, bitDepth: Int(image.bits),
            samples: Array(UnsafeBufferPointer(start: samples, count: count)))
        let voi = withUnsafeBytes(of: image.voi) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        return WindowedImage(image: raster, window: voi, windowCount: image.voi_count)
    }

    /// Encodes `image` (made grey) as DICOM derived from `source` (the bytes of a DICOM file), or as a new
    /// Secondary Capture image when `source` is nil. `text` is the provenance (as for PNG text chunks);
    /// `anonymize` applies the basic de-identification profile to what is copied from the source.
    /// `window` is the VOI transformation the image was read with from `source`.
    static func encode(
        _ image: RasterImage, source: Data?, text: [(key: String, value: String)], file: String,
        anonymize: Bool = false, window: DICOMWindow = .automatic,
        limits: ImageLimits = .default
    ) throws -> [UInt8] {
        let grey = image.toGray()
        var cl = cLimits(limits)
        let message = CMessage()
        defer { message.deallocate() }
        let comments = DICOMProvenance.imageComments(text)
        let derivation = DICOMProvenance.derivationDescription(text)
        let json = DICOMProvenance.json(text)
        let software = text.first(where: { $0.key == "Software" })?.value ?? "cxr-edit"
        var out: UnsafeMutablePointer<UInt8>?
        var outSize = 0
        let rc: Int32 = comments.withCString { c in
            derivation.withCString { d in
                json.withCString { j in
                    DICOMProvenance.ascii(software).withCString { s in
                        var what = cxr_dicom_derivation(
                            image_comments: c, derivation_description: d,
                            provenance_json: j, software: s, anonymize: anonymize ? 1 : 0)
                        return grey.samples.withUnsafeBufferPointer { px in
                            if let source {
                                return source.withUnsafeBytes { src in
                                    cxr_dicom_encode(
                                        src.baseAddress?.assumingMemoryBound(to: UInt8.self), src.count,
                                        &cl, window.cValue, px.baseAddress, grey.width, grey.height,
                                        Int32(grey.bitDepth), &what, &out, &outSize, message.buffer,
                                        CMessage.capacity)
                                }
                            }
                            return cxr_dicom_encode(
                                nil, 0, &cl, window.cValue, px.baseAddress, grey.width, grey.height,
                                Int32(grey.bitDepth), &what, &out, &outSize, message.buffer,
                                CMessage.capacity)
                        }
                    }
                }
            }
        }
        defer { cxr_dicom_free(out) }
        guard rc == 0, let out else {
            throw ImageError(file: file, message.isEmpty ? "cannot encode DICOM data" : message.string)
        }
        return Array(UnsafeBufferPointer(start: out, count: outSize))
    }

    /// The provenance pairs stored by `encode` (empty if the file has none).
    static func provenanceText(
        _ bytes: UnsafeRawBufferPointer, file: String,
        limits: ImageLimits
    ) throws -> [(key: String, value: String)] {
        var cl = cLimits(limits)
        let message = CMessage()
        defer { message.deallocate() }
        var json: UnsafeMutablePointer<CChar>?
        let rc = cxr_dicom_read_provenance(
            bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count, &cl,
            &json, message.buffer, CMessage.capacity)
        defer { cxr_dicom_free(json) }
        guard rc == 0 else {
            throw ImageError(file: file, message.isEmpty ? "cannot parse DICOM data" : message.string)
        }
        guard let json else { return [] }
        return DICOMProvenance.pairs(fromJSON: String(cString: json))
    }
}
