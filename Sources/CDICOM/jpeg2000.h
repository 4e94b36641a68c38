// JPEG 2000 and HTJ2K decoding of one greyscale frame through OpenJPEG (internal to CDICOM; not in include/, so
// Swift never sees it).
#ifndef CDICOM_JPEG2000_H
#define CDICOM_JPEG2000_H

#include <stddef.h>
#include <stdint.h>

#include <string>
#include <vector>

namespace cdicom {

/// What the DICOM header declares about the frame; the codestream must say exactly the same.
struct JPEG2000Frame {
    long width = 0;
    long height = 0;
    int bitsStored = 0;
    bool isSigned = false;
};

/// Decodes a JPEG 2000 codestream (raw J2K, HTJ2K, or inside a JP2 wrapper) into stored words: width * height
/// values, masked to `bitsStored` bits (signed values as two's complement in 16 bits). The codestream's size,
/// component count, sub-sampling, precision and signedness are compared with `frame` from its header, before any
/// sample is decoded. Returns an empty string on success, else one line saying what is wrong. Never prints.
std::string decodeJPEG2000(const uint8_t *data, size_t size, const JPEG2000Frame &frame,
                           std::vector<uint16_t> &stored);

}  // namespace cdicom

#endif
