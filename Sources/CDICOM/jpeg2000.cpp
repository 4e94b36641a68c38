// JPEG 2000 decoding through OpenJPEG (Debian libopenjp2-7-dev), the reference implementation: DCMTK's free
// codecs have none. OpenJPEG 2.5 also decodes HTJ2K (Part 15) codestreams, so the same path serves those.
//
// OpenJPEG reports through callbacks; they collect its messages here instead of printing (the caller prints one
// line). Strict mode makes a truncated codestream an error instead of a partially decoded image.
#include "jpeg2000.h"

#include <openjpeg-2.5/openjpeg.h>

#include <algorithm>
#include <cstring>
#include <memory>

namespace cdicom {
namespace {

/// The codestream in memory, read through OpenJPEG's stream callbacks.
struct MemorySource {
    const uint8_t *data;
    size_t size;
    size_t position;
};

OPJ_SIZE_T readSource(void *buffer, OPJ_SIZE_T count, void *user) {
    MemorySource *s = static_cast<MemorySource *>(user);
    if (s->position >= s->size) return OPJ_SIZE_T(-1);  // OpenJPEG's end-of-stream value
    size_t n = std::min(size_t(count), s->size - s->position);
    memcpy(buffer, s->data + s->position, n);
    s->position += n;
    return n;
}

OPJ_OFF_T skipSource(OPJ_OFF_T count, void *user) {
    MemorySource *s = static_cast<MemorySource *>(user);
    if (count < 0) {
        if (size_t(-count) > s->position) return -1;
        s->position -= size_t(-count);
        return count;
    }
    size_t n = std::min(size_t(count), s->size - s->position);
    s->position += n;
    return OPJ_OFF_T(n);
}

OPJ_BOOL seekSource(OPJ_OFF_T offset, void *user) {
    MemorySource *s = static_cast<MemorySource *>(user);
    if (offset < 0 || size_t(offset) > s->size) return OPJ_FALSE;
    s->position = size_t(offset);
    return OPJ_TRUE;
}

/// OpenJPEG's error and warning messages, kept for the one-line error.
struct Messages {
    std::string errors;
    std::string warnings;
};

void append(std::string &to, const char *message) {
    std::string m(message ? message : "");
    while (!m.empty() && (m.back() == '\n' || m.back() == '\r' || m.back() == ' ')) m.pop_back();
    if (m.empty() || to.size() > 300) return;  // the first few say what broke; later ones repeat it
    if (!to.empty()) to += "; ";
    to += m;
}

void onError(const char *message, void *user) { append(static_cast<Messages *>(user)->errors, message); }
void onWarning(const char *message, void *user) { append(static_cast<Messages *>(user)->warnings, message); }
void onInfo(const char *, void *) {}

struct CodecDeleter {
    void operator()(opj_codec_t *c) const { opj_destroy_codec(c); }
};
struct StreamDeleter {
    void operator()(opj_stream_t *s) const { opj_stream_destroy(s); }
};
struct ImageDeleter {
    void operator()(opj_image_t *i) const { opj_image_destroy(i); }
};

std::string describe(long width, long height, long components, int bits, bool isSigned, const char *bitsWord) {
    return std::to_string(width) + "x" + std::to_string(height) + ", " + std::to_string(components) +
           (components == 1 ? " component, " : " components, ") + std::to_string(bits) + bitsWord +
           (isSigned ? "signed" : "unsigned");
}

std::string failure(const char *what, const Messages &messages) {
    std::string line = std::string("corrupt JPEG 2000 codestream: ") + what;
    const std::string &detail = messages.errors.empty() ? messages.warnings : messages.errors;
    if (!detail.empty()) line += " (OpenJPEG: " + detail + ")";
    return line;
}

}  // namespace

std::string decodeJPEG2000(const uint8_t *data, size_t size, const JPEG2000Frame &frame,
                           std::vector<uint16_t> &stored) {
    static const uint8_t jp2Signature[] = {0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20, 0x0D, 0x0A, 0x87, 0x0A};
    static const uint8_t codestreamStart[] = {0xFF, 0x4F, 0xFF, 0x51};  // SOC, then SIZ
    OPJ_CODEC_FORMAT format;
    if (size >= sizeof jp2Signature && memcmp(data, jp2Signature, sizeof jp2Signature) == 0) {
        format = OPJ_CODEC_JP2;  // not conformant inside DICOM, but archives hold such files
    } else if (size >= sizeof codestreamStart && memcmp(data, codestreamStart, sizeof codestreamStart) == 0) {
        format = OPJ_CODEC_J2K;
    } else {
        return "not a JPEG 2000 codestream (no SOC/SIZ marker and no JP2 signature at the start of the pixel data)";
    }
    Messages messages;
    std::unique_ptr<opj_codec_t, CodecDeleter> codec(opj_create_decompress(format));
    if (!codec) return "cannot create the JPEG 2000 decoder";
    opj_set_error_handler(codec.get(), onError, &messages);
    opj_set_warning_handler(codec.get(), onWarning, &messages);
    opj_set_info_handler(codec.get(), onInfo, &messages);
    opj_dparameters_t parameters;
    opj_set_default_decoder_parameters(&parameters);
    if (!opj_setup_decoder(codec.get(), &parameters)) return failure("cannot set up the decoder", messages);
    opj_decoder_set_strict_mode(codec.get(), OPJ_TRUE);

    MemorySource source{data, size, 0};
    std::unique_ptr<opj_stream_t, StreamDeleter> stream(opj_stream_create(OPJ_J2K_STREAM_CHUNK_SIZE, OPJ_TRUE));
    if (!stream) return "cannot create the JPEG 2000 input stream";
    opj_stream_set_user_data(stream.get(), &source, nullptr);
    opj_stream_set_user_data_length(stream.get(), OPJ_UINT64(size));
    opj_stream_set_read_function(stream.get(), readSource);
    opj_stream_set_skip_function(stream.get(), skipSource);
    opj_stream_set_seek_function(stream.get(), seekSource);

    opj_image_t *header = nullptr;
    if (!opj_read_header(stream.get(), codec.get(), &header) || !header) {
        if (header) opj_image_destroy(header);
        return failure("cannot read its main header", messages);
    }
    std::unique_ptr<opj_image_t, ImageDeleter> image(header);

    // The codestream must describe the frame the DICOM header declares (the size limits were checked on the
    // header), before OpenJPEG allocates for it.
    long width = long(image->x1) - long(image->x0), height = long(image->y1) - long(image->y0);
    long components = long(image->numcomps);
    const opj_image_comp_t *c = components > 0 ? &image->comps[0] : nullptr;
    int precision = c ? int(c->prec) : 0;
    bool isSigned = c && c->sgnd;
    if (width != frame.width || height != frame.height || components != 1 || !c || c->dx != 1 || c->dy != 1 ||
        precision != frame.bitsStored || isSigned != frame.isSigned) {
        std::string subsampled = c && (c->dx != 1 || c->dy != 1) ? " (sub-sampled)" : "";
        return "JPEG 2000 codestream does not match the DICOM header: it is " +
               describe(width, height, components, precision, isSigned, "-bit ") + subsampled +
               "; the header declares " +
               describe(frame.width, frame.height, 1, frame.bitsStored, frame.isSigned, " bits stored, ");
    }
    if (!opj_decode(codec.get(), stream.get(), image.get()) || !opj_end_decompress(codec.get(), stream.get())) {
        return failure("cannot decode it (truncated or damaged)", messages);
    }
    c = &image->comps[0];
    if (!c->data || long(c->w) != frame.width || long(c->h) != frame.height) {
        return failure("decoded size differs from its header", messages);
    }
    // Lossy decoding can overshoot the precision's range by rounding; clamp, then store as the header says.
    const long lowest = frame.isSigned ? -(1L << (frame.bitsStored - 1)) : 0;
    const long highest = frame.isSigned ? (1L << (frame.bitsStored - 1)) - 1 : (1L << frame.bitsStored) - 1;
    const size_t count = size_t(frame.width) * size_t(frame.height);
    stored.resize(count);
    for (size_t i = 0; i < count; i++) {
        long v = std::min(std::max(long(c->data[i]), lowest), highest);
        stored[i] = uint16_t(v & 0xFFFF);  // two's complement in 16 bits for signed data
    }
    return "";
}

}  // namespace cdicom
