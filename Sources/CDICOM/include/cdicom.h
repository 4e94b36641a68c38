// C interface to the DICOM reader/writer (DCMTK), so that Swift needs no C++ interop.
//
// Every function returns 0 on success. On failure it returns nonzero and writes one line (no newline) into `error`
// (always NUL-terminated, truncated to `error_size`). Buffers handed out are malloc'ed; free them with
// cxr_dicom_free. All functions are safe to call from any thread (DCMTK's codec registry is set up once).
#ifndef CDICOM_H
#define CDICOM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Limits checked from the header before any pixel memory is allocated.
typedef struct {
    long max_side;
    long max_pixels;
    long max_inflated_bytes;  // deflated transfer syntax: largest inflated dataset
    long max_items;           // data elements + sequence items in the file (DCMTK spends ~200 bytes on each)
} cxr_dicom_limits;

/// Which VOI transformation makes the stored values displayable (`window` below): 0 the default (the first VOI LUT,
/// else the first window, else a min-max window over the pixel values), N > 0 the N-th of the file's VOI LUTs
/// followed by its windows (1-based; more than the file has is an error), -1 a min-max window whatever the file has.
#define CXR_DICOM_WINDOW_DEFAULT 0
#define CXR_DICOM_WINDOW_MIN_MAX (-1)

/// A decoded image in display convention (higher = brighter, MONOCHROME1 already inverted), after the Modality LUT
/// and the VOI LUT / window.
typedef struct {
    long width;
    long height;
    int bits;            // 8 or 16: the range of `samples`
    uint16_t *samples;   // width * height, row-major
    int bits_stored;
    int monochrome1;     // 1 if the file says MONOCHROME1
    char voi[96];        // which VOI transformation was applied ("window 2 of 2: center 2000 width 3000")
    long voi_count;      // VOI LUTs + windows in the file: the numbers a chosen window may take
} cxr_dicom_image;

/// Returns 1 if the bytes look like a DICOM Part 10 file ("DICM" at offset 128).
int cxr_dicom_is_dicom(const uint8_t *data, size_t size);

/// JPEG 2000 and HTJ2K pixel data are decoded by OpenJPEG; everything else by DCMTK.
int cxr_dicom_decode(const uint8_t *data, size_t size, const cxr_dicom_limits *limits, int window,
                     cxr_dicom_image *out, char *error, size_t error_size);

/// What a derived image says about itself.
typedef struct {
    const char *image_comments;          // ASCII, goes to Image Comments (0020,4000)
    const char *derivation_description;  // ASCII, Derivation Description (0008,2111)
    const char *provenance_json;         // ASCII JSON, stored in the private block
    const char *software;                // Software Versions (0018,1020)
    int anonymize;                       // 1: apply the basic de-identification profile to the copied attributes
} cxr_dicom_derivation;

/// Writes `samples` (display convention, `bits` 8 or 16, width x height grey) as a DICOM file derived from the
/// DICOM file `source` (may be NULL: a new Secondary Capture image then). With a source, the stored values are
/// the source's where the displayed value is unchanged, else the stored value that displays closest under the
/// VOI transformation `window` (the one `samples` were read with).
int cxr_dicom_encode(const uint8_t *source, size_t source_size, const cxr_dicom_limits *limits, int window,
                     const uint16_t *samples, long width, long height, int bits,
                     const cxr_dicom_derivation *derivation, uint8_t **out, size_t *out_size,
                     char *error, size_t error_size);

/// The provenance JSON of a file written by cxr_dicom_encode (`*json` NULL if it has none).
int cxr_dicom_read_provenance(const uint8_t *data, size_t size, const cxr_dicom_limits *limits, char **json,
                              char *error, size_t error_size);

void cxr_dicom_free(void *pointer);

#ifdef __cplusplus
}
#endif

#endif
