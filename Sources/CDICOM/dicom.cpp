// DICOM reading and writing through DCMTK, behind the C interface in cdicom.h.
//
// Hostile files are the normal case here: every size is checked against the limits before DCMTK allocates for
// it, DCMTK's own logging is switched off (the caller prints exactly one line), no C++ exception crosses into
// Swift, and the parser runs on a thread with a large stack (DCMTK parses nested sequences recursively; the item
// count checked beforehand bounds the depth).
#include "cdicom.h"
#include "jpeg2000.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dctk.h>
#include <dcmtk/dcmdata/dcistrmb.h>
#include <dcmtk/dcmdata/dcostrmb.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>
#include <dcmtk/dcmdata/dcrledrg.h>
#include <dcmtk/dcmimgle/dcmimage.h>
#include <dcmtk/dcmjpeg/djdecode.h>
#include <dcmtk/dcmjpls/djdecode.h>
#include <dcmtk/oflog/oflog.h>

#include <pthread.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace {

const char *const kPrivateCreator = "CXR-EDIT PROVENANCE";
const Uint16 kPrivateGroup = 0x0011;

struct Failure {
    std::string message;
};

[[noreturn]] void fail(const std::string &message) { throw Failure{message}; }

void setUp() {
    static std::once_flag once;
    std::call_once(once, [] {
        // DCMTK logs warnings to stderr by default; the caller reports errors itself, in one line.
        OFLog::configure(OFLogger::OFF_LOG_LEVEL);
        DJDecoderRegistration::registerCodecs();
        DJLSDecoderRegistration::registerCodecs();
        DcmRLEDecoderRegistration::registerCodecs();
    });
}

/// Runs `body` on a thread with a 256 MiB stack (reserved, touched only as deep as the parse goes) and turns any
/// exception into a message.
int guarded(const std::function<void()> &body, char *error, size_t errorSize) {
    struct Job {
        const std::function<void()> *body;
        std::string message;
        bool failed = false;
    } job{&body, "", false};
    auto entry = [](void *p) -> void * {
        Job *j = static_cast<Job *>(p);
        try {
            (*j->body)();
        } catch (const Failure &f) {
            j->failed = true;
            j->message = f.message;
        } catch (const std::bad_alloc &) {
            j->failed = true;
            j->message = "out of memory while decoding";
        } catch (...) {
            j->failed = true;
            j->message = "unexpected error in the DICOM library";
        }
        return nullptr;
    };
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, size_t(256) << 20);
    pthread_t thread;
    int rc = pthread_create(&thread, &attr, entry, &job);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        job.failed = true;
        job.message = "cannot start the decoding thread";
    } else {
        pthread_join(thread, nullptr);
    }
    if (error && errorSize > 0) {
        std::string m = job.failed ? job.message : "";
        for (char &c : m) if (c == '\n' || c == '\r') c = ' ';
        snprintf(error, errorSize, "%s", m.c_str());
    }
    return job.failed ? 1 : 0;
}

// MARK: - Raw checks before DCMTK sees the bytes

uint16_t le16(const uint8_t *p) { return uint16_t(p[0] | (p[1] << 8)); }
uint32_t le32(const uint8_t *p) {
    return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}

bool isLongVR(const uint8_t *vr) {
    // The VRs whose explicit-VR header has 2 reserved bytes and a 4-byte length.
    static const char *const longVRs[] = {"OB", "OW", "OF", "OD", "OL", "OV", "SQ", "UT", "UN", "UC", "UR", "SV", "UV"};
    for (const char *v : longVRs) if (vr[0] == v[0] && vr[1] == v[1]) return true;
    return false;
}

struct RawInfo {
    std::string transferSyntax;
    size_t datasetOffset = 0;
};

/// Walks the file meta information (always explicit VR little endian) for the transfer syntax.
RawInfo scanMeta(const uint8_t *data, size_t size) {
    if (size < 132 || memcmp(data + 128, "DICM", 4) != 0) fail("not a DICOM file (no DICM prefix at offset 128)");
    RawInfo info;
    size_t off = 132;
    while (off + 8 <= size && le16(data + off) == 0x0002) {
        uint16_t element = le16(data + off + 2);
        const uint8_t *vr = data + off + 4;
        uint64_t length;
        size_t header;
        if (isLongVR(vr)) {
            if (off + 12 > size) fail("truncated file meta information");
            length = le32(data + off + 8);
            header = 12;
        } else {
            length = le16(data + off + 6);
            header = 8;
        }
        if (length == 0xFFFFFFFFu || off + header + length > size) fail("truncated file meta information");
        if (element == 0x0010) {
            std::string uid(reinterpret_cast<const char *>(data + off + header), size_t(length));
            while (!uid.empty() && (uid.back() == '\0' || uid.back() == ' ')) uid.pop_back();
            info.transferSyntax = uid;
        }
        off += header + size_t(length);
    }
    if (info.transferSyntax.empty()) fail("no transfer syntax in the file meta information");
    info.datasetOffset = off;
    return info;
}

/// HTJ2K (lossless, lossless RPCL, lossy): DCMTK 3.6.7 predates these UIDs, OpenJPEG 2.5 decodes them.
bool isHTJ2K(const std::string &uid) {
    return uid == "1.2.840.10008.1.2.4.201" || uid == "1.2.840.10008.1.2.4.202" || uid == "1.2.840.10008.1.2.4.203";
}

/// The JPEG 2000 syntaxes decoded here with OpenJPEG: Part 1 lossless-only and lossy, and HTJ2K.
bool isJPEG2000(const std::string &uid) {
    return uid == "1.2.840.10008.1.2.4.90" || uid == "1.2.840.10008.1.2.4.91" || isHTJ2K(uid);
}

/// JPEG 2000 Part 2 multi-component (colour and volume transforms): not a radiograph's encoding.
bool isJPEG2000Part2(const std::string &uid) {
    return uid == "1.2.840.10008.1.2.4.92" || uid == "1.2.840.10008.1.2.4.93";
}

bool isSupportedSyntax(const std::string &uid) {
    static const char *const supported[] = {
        "1.2.840.10008.1.2",       "1.2.840.10008.1.2.1",    "1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.2",
        "1.2.840.10008.1.2.4.50",  "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70",
        "1.2.840.10008.1.2.4.80",  "1.2.840.10008.1.2.4.81", "1.2.840.10008.1.2.5"};
    for (const char *s : supported) if (uid == s) return true;
    return false;
}

/// Walks the dataset's element structure before DCMTK reads it. DCMTK allocates an element's declared length
/// before it finds out that the file is shorter (a 4 GiB allocation from a 200-byte file, found by fuzz-dicom),
/// parses nested sequences recursively (dcmdump overflows its stack on 20,000 levels) and spends a few hundred
/// bytes per element; so every defined length must fit in what encloses it, nesting and element count are
/// bounded, and undefined lengths are allowed only where DICOM allows them (sequences, UN, encapsulated pixel
/// data), exactly the places where DCMTK reads items.
class StructureWalk {
public:
    StructureWalk(const uint8_t *data, size_t size, bool explicitVR, bool bigEndian, const cxr_dicom_limits &limits)
        : data_(data), size_(size), explicit_(explicitVR), big_(bigEndian), limits_(limits) {}

    void run(size_t offset) { walkItem(offset, size_, 0, false); }

private:
    static const uint32_t kUndefined = 0xFFFFFFFFu;
    static const int kMaxDepth = 32;

    const uint8_t *data_;
    size_t size_;
    bool explicit_, big_;
    const cxr_dicom_limits &limits_;
    long elements_ = 0;

    uint16_t u16(size_t at) const { return big_ ? uint16_t((data_[at] << 8) | data_[at + 1]) : le16(data_ + at); }
    uint32_t u32(size_t at) const {
        return big_ ? (uint32_t(data_[at]) << 24) | (uint32_t(data_[at + 1]) << 16) | (uint32_t(data_[at + 2]) << 8) |
                          uint32_t(data_[at + 3])
                    : le32(data_ + at);
    }

    void count() {
        if (++elements_ > limits_.max_items) {
            fail("more than " + std::to_string(limits_.max_items) + " data elements and sequence items");
        }
    }

    static bool validVR(const uint8_t *vr) {
        static const char *const vrs[] = {"AE", "AS", "AT", "CS", "DA", "DS", "DT", "FL", "FD", "IS", "LO", "LT",
                                          "OB", "OD", "OF", "OL", "OV", "OW", "PN", "SH", "SL", "SQ", "SS", "ST",
                                          "SV", "TM", "UC", "UI", "UL", "UN", "UR", "US", "UT", "UV"};
        for (const char *v : vrs) if (vr[0] == v[0] && vr[1] == v[1]) return true;
        return false;
    }

    /// Elements from `off` up to `end` (a defined-length item or the dataset), or up to an item delimiter when
    /// `untilDelimiter`. Returns the offset after what was read.
    size_t walkItem(size_t off, size_t end, int depth, bool untilDelimiter, bool implicitInside = false) {
        bool implicitVR = !explicit_ || implicitInside;
        while (off < end) {
            if (end - off < 8) fail("truncated DICOM data (" + std::to_string(end - off) + " stray bytes at the end)");
            uint16_t group = u16(off), element = u16(off + 2);
            if (group == 0xFFFE) {
                if (element == 0xE00D && untilDelimiter) return off + 8;
                fail("unexpected item tag (FFFE," + hex(element) + ") outside a sequence");
            }
            count();
            uint32_t length;
            size_t header;
            bool isSequence = false, isUN = false;
            if (implicitVR) {
                length = u32(off + 4);
                header = 8;
                isSequence = DcmTag(group, element).getEVR() == EVR_SQ;
            } else {
                const uint8_t *vr = data_ + off + 4;
                if (!validVR(vr)) fail("invalid value representation at offset " + std::to_string(off + 4));
                if (isLongVR(vr)) {
                    if (end - off < 12) fail("truncated DICOM data");
                    length = u32(off + 8);
                    header = 12;
                } else {
                    length = u16(off + 6);
                    header = 8;
                }
                isSequence = vr[0] == 'S' && vr[1] == 'Q';
                isUN = vr[0] == 'U' && vr[1] == 'N';
            }
            off += header;
            bool pixelData = group == 0x7FE0 && element == 0x0010;
            if (length == kUndefined) {
                if (pixelData) {
                    off = walkFragments(off, end);
                } else if (isSequence || isUN) {
                    // An undefined-length UN is a sequence in implicit VR (CP-246), and DCMTK reads it so.
                    off = walkSequence(off, end, size_t(-1), depth + 1, implicitVR || isUN);
                } else {
                    fail("undefined length on element (" + hex(group) + "," + hex(element) + "), not a sequence");
                }
            } else {
                if (length > end - off) {
                    fail("element (" + hex(group) + "," + hex(element) + ") declares " + std::to_string(length) +
                         " bytes, only " + std::to_string(end - off) + " follow (truncated or corrupt)");
                }
                if (isSequence) walkSequence(off, off + length, off + length, depth + 1, implicitVR);
                off += length;
            }
        }
        if (untilDelimiter) fail("truncated DICOM data (item without delimiter)");
        return off;
    }

    /// Items of a sequence from `off`: up to `definedEnd` for a defined length, else up to the sequence delimiter.
    size_t walkSequence(size_t off, size_t end, size_t definedEnd, int depth, bool implicitInside) {
        if (depth > kMaxDepth) fail("sequences nested deeper than " + std::to_string(kMaxDepth) + " levels");
        bool defined = definedEnd != size_t(-1);
        while (defined ? off < definedEnd : true) {
            if (end - off < 8) fail("truncated DICOM data (sequence without delimiter)");
            uint16_t group = u16(off), element = u16(off + 2);
            uint32_t length = u32(off + 4);
            off += 8;
            if (group == 0xFFFE && element == 0xE0DD && !defined) return off;
            if (group != 0xFFFE || element != 0xE000) {
                fail("expected an item in a sequence at offset " + std::to_string(off - 8));
            }
            count();
            if (length == kUndefined) {
                off = walkItem(off, end, depth, true, implicitInside);
            } else {
                if (length > end - off) fail("sequence item declares " + std::to_string(length) + " bytes, only " +
                                             std::to_string(end - off) + " follow (truncated or corrupt)");
                walkItem(off, off + length, depth, false, implicitInside);
                off += length;
            }
        }
        return off;
    }

    /// Encapsulated pixel data: defined-length fragments up to the sequence delimiter.
    size_t walkFragments(size_t off, size_t end) {
        while (true) {
            if (end - off < 8) fail("truncated DICOM data (encapsulated pixel data without delimiter)");
            uint16_t group = u16(off), element = u16(off + 2);
            uint32_t length = u32(off + 4);
            off += 8;
            if (group == 0xFFFE && element == 0xE0DD) return off;
            if (group != 0xFFFE || element != 0xE000 || length == kUndefined) fail("corrupt encapsulated pixel data");
            count();
            if (length > end - off) fail("pixel data fragment declares " + std::to_string(length) + " bytes, only " +
                                         std::to_string(end - off) + " follow (truncated or corrupt)");
            off += length;
        }
    }

    static std::string hex(uint16_t v) {
        char text[8];
        snprintf(text, sizeof text, "%04X", v);
        return text;
    }
};

/// Inflates a deflated dataset with a cap, so a small file cannot expand into gigabytes inside DCMTK.
std::vector<uint8_t> inflateCapped(const uint8_t *p, size_t n, size_t cap) {
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, -MAX_WBITS) != Z_OK) fail("cannot initialise zlib");
    std::vector<uint8_t> out;
    z.next_in = const_cast<Bytef *>(p);
    z.avail_in = uInt(std::min(n, size_t(UINT32_MAX)));
    uint8_t chunk[65536];
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
        z.next_out = chunk;
        z.avail_out = sizeof chunk;
        rc = inflate(&z, Z_NO_FLUSH);
        if (rc != Z_OK && rc != Z_STREAM_END) {
            inflateEnd(&z);
            fail("corrupt deflated dataset");
        }
        out.insert(out.end(), chunk, chunk + (sizeof chunk - z.avail_out));
        if (out.size() > cap) {
            inflateEnd(&z);
            fail("deflated dataset inflates to more than " + std::to_string(cap) + " bytes");
        }
        if (rc == Z_OK && z.avail_in == 0 && z.avail_out != 0) break;  // truncated stream: DCMTK reports it
    }
    inflateEnd(&z);
    return out;
}

// MARK: - Parsing

struct Parsed {
    std::unique_ptr<DcmFileFormat> file;
    DcmDataset *dataset = nullptr;
    std::string transferSyntax;
};

Parsed parse(const uint8_t *data, size_t size, const cxr_dicom_limits &limits) {
    setUp();
    RawInfo raw = scanMeta(data, size);
    if (isJPEG2000Part2(raw.transferSyntax)) {
        fail("JPEG 2000 Part 2 multi-component compression (" + raw.transferSyntax + ") is not supported; "
             "convert it first, e.g. `gdcmconv --raw`");
    }
    if (!isSupportedSyntax(raw.transferSyntax) && !isJPEG2000(raw.transferSyntax)) {
        fail("unsupported transfer syntax " + raw.transferSyntax);
    }
    const bool bigEndian = raw.transferSyntax == "1.2.840.10008.1.2.2";
    const bool explicitVR = raw.transferSyntax != "1.2.840.10008.1.2";
    if (raw.transferSyntax == "1.2.840.10008.1.2.1.99") {
        std::vector<uint8_t> inflated = inflateCapped(data + raw.datasetOffset, size - raw.datasetOffset,
                                                      size_t(limits.max_inflated_bytes));
        StructureWalk(inflated.data(), inflated.size(), true, false, limits).run(0);
    } else {
        StructureWalk(data, size, explicitVR, bigEndian, limits).run(raw.datasetOffset);
    }
    Parsed parsed;
    parsed.transferSyntax = raw.transferSyntax;
    parsed.file.reset(new DcmFileFormat());
    DcmInputBufferStream stream;
    stream.setBuffer(data, offile_off_t(size));
    stream.setEos();
    parsed.file->transferInit();
    // DCMTK 3.6.7 does not know the HTJ2K UIDs: it detects their dataset encoding (explicit VR little endian, as
    // every JPEG 2000 syntax) and still reads undefined-length pixel data as fragments.
    OFCondition status = parsed.file->read(stream, EXS_Unknown, EGL_noChange);
    parsed.file->transferEnd();
    if (status.bad()) {
        if (status == EC_StreamNotifyClient) fail("truncated DICOM data");
        fail(std::string("cannot parse DICOM data: ") + status.text());
    }
    parsed.dataset = parsed.file->getDataset();
    if (!parsed.dataset) fail("no dataset");
    return parsed;
}

Uint16 requiredUint16(DcmDataset *d, const DcmTagKey &tag, const char *name) {
    Uint16 value = 0;
    if (d->findAndGetUint16(tag, value).bad()) fail(std::string("missing or malformed ") + name);
    return value;
}

std::string stringOf(DcmItem *d, const DcmTagKey &tag) {
    OFString value;
    if (d->findAndGetOFString(tag, value).bad()) return "";
    return std::string(value.c_str());
}

// MARK: - Decoding to display values

enum class VOIKind { lut, window, minMax };

struct Decoded {
    Parsed parsed;
    long width = 0, height = 0;
    int bitsAllocated = 0, bitsStored = 0;
    bool isSigned = false, monochrome1 = false;
    VOIKind voi = VOIKind::minMax;
    unsigned long voiLut = 0;       // which VOI LUT, when voi is lut
    bool fileHasVOI = false;        // the file has a VOI LUT or a window (else derived files get the min-max one)
    long voiCount = 0;              // VOI LUTs + windows in the file, the range of a chosen window
    double center = 0, width_ = 0;  // the window actually applied (min-max or from the file)
    int displayBits = 16;
    std::vector<uint16_t> display;
    std::vector<uint16_t> stored;  // raw stored words (bits above the high bit included)
    std::string voiDescription;
};

/// "VOI LUT 1 of 3: GAMMA 0.6", "window 2 of 3: center 2000 width 3000 (SOFT TISSUE)": the number is the one
/// `window` takes (VOI LUTs first, then windows), the rest what it does.
std::string voiName(const char *kind, unsigned long number, unsigned long count, const std::string &what,
                    const char *explanation) {
    std::string name = std::string(kind) + " " + std::to_string(number) + " of " + std::to_string(count);
    std::string text = explanation ? explanation : "";
    for (char &ch : text) if (ch < 0x20 || ch > 0x7E) ch = '?';  // provenance and messages are ASCII
    text = text.substr(0, 48);
    if (!what.empty()) name += ": " + what + (text.empty() ? "" : " (" + text + ")");
    else if (!text.empty()) name += ": " + text;
    return name;
}

std::string centerWidth(double center, double width) {
    char text[64];
    snprintf(text, sizeof text, "center %g width %g", center, width);
    return text;
}

/// Applies the VOI transformation `window` asks for (cdicom.h): by default the first VOI LUT if the file has one,
/// else the first window, else a min-max window (what `dcm2pnm +Wm` shows; written into derived files so they
/// display the same). A chosen number counts the VOI LUTs first, then the windows, as the default prefers them.
void applyVOI(DicomImage &image, Decoded &d, int window) {
    const unsigned long luts = image.getVoiLutCount(), windows = image.getWindowCount();
    d.voiCount = long(luts + windows);
    d.fileHasVOI = d.voiCount > 0;
    if (window > 0 && long(window) > d.voiCount) {
        fail("window " + std::to_string(window) + " asked for, but the file has " +
             (d.voiCount == 0 ? std::string("no window or VOI LUT (only minmax is possible)")
                              : std::to_string(d.voiCount) + " (" + std::to_string(luts) + " VOI LUT" +
                                    (luts == 1 ? "" : "s") + ", then " + std::to_string(windows) + " window" +
                                    (windows == 1 ? "" : "s") + "): choose 1-" + std::to_string(d.voiCount) +
                                    " or minmax"));
    }
    OFString explanation;
    const unsigned long count = luts + windows;
    if (window > 0 && static_cast<unsigned long>(window) <= luts) {
        unsigned long index = static_cast<unsigned long>(window - 1);
        if (!image.setVoiLut(index)) fail("cannot apply VOI LUT " + std::to_string(window) + " (corrupt table)");
        d.voi = VOIKind::lut;
        d.voiLut = index;
    } else if (window > 0) {
        unsigned long index = static_cast<unsigned long>(window - 1) - luts;
        if (!image.setWindow(index)) fail("cannot apply window " + std::to_string(window) + " (malformed values)");
        d.voi = VOIKind::window;
    } else if (window == 0 && luts > 0 && image.setVoiLut(0)) {
        d.voi = VOIKind::lut;
    } else if (window == 0 && windows > 0 && image.setWindow(0)) {
        d.voi = VOIKind::window;
    } else {
        if (!image.setMinMaxWindow(0)) fail("cannot compute a window for this image");
        d.voi = VOIKind::minMax;
    }
    image.getWindow(d.center, d.width_);
    const unsigned long number = window > 0 ? static_cast<unsigned long>(window) : d.voi == VOIKind::lut ? 1 : luts + 1;
    if (d.voi == VOIKind::lut) {
        d.voiDescription = voiName("VOI LUT", number, count, "", image.getVoiLutExplanation(d.voiLut, explanation));
    } else if (d.voi == VOIKind::window) {
        d.voiDescription = voiName("window", number, count, centerWidth(d.center, d.width_),
                                   image.getVoiWindowExplanation(number - luts - 1, explanation));
    } else {
        d.voiDescription = "min-max window: " + centerWidth(d.center, d.width_);
    }
}

/// Decodes the one frame of JPEG 2000 pixel data with OpenJPEG and puts it back into the dataset as native pixel
/// data, so that everything after (stored values, Modality/VOI LUTs, MONOCHROME1) is the path every other
/// transfer syntax takes.
void decodeJPEG2000Frame(DcmDataset *ds, const Decoded &d) {
    DcmElement *element = nullptr;
    if (ds->findAndGetElement(DCM_PixelData, element).bad() || !element) fail("no pixel data (not an image)");
    DcmPixelData *pixelData = OFdynamic_cast(DcmPixelData *, element);
    E_TransferSyntax xfer = EXS_Unknown;
    const DcmRepresentationParameter *parameter = nullptr;
    if (pixelData) pixelData->getOriginalRepresentationKey(xfer, parameter);
    DcmPixelSequence *sequence = nullptr;
    // The representation key is the transfer syntax DCMTK read the dataset in: for HTJ2K, whose UID it does not
    // know, the explicit VR little endian it detected; the fragments are there all the same.
    if (!pixelData || pixelData->getEncapsulatedRepresentation(xfer, parameter, sequence).bad() || !sequence) {
        fail("JPEG 2000 pixel data is not encapsulated (no fragments)");
    }
    // Item 0 is the basic offset table; with one frame, every other item is a piece of its codestream.
    std::vector<uint8_t> codestream;
    for (unsigned long i = 1; i < sequence->card(); i++) {
        DcmPixelItem *item = nullptr;
        Uint8 *bytes = nullptr;
        if (sequence->getItem(item, i).bad() || !item) fail("corrupt encapsulated pixel data");
        Uint32 length = item->getLength();
        if (length == 0) continue;
        if (item->getUint8Array(bytes).bad() || !bytes) fail("corrupt encapsulated pixel data");
        codestream.insert(codestream.end(), bytes, bytes + length);
    }
    if (codestream.empty()) fail("no JPEG 2000 data in the encapsulated pixel data (only an offset table)");
    cdicom::JPEG2000Frame frame;
    frame.width = d.width;
    frame.height = d.height;
    frame.bitsStored = d.bitsStored;
    frame.isSigned = d.isSigned;
    std::vector<uint16_t> stored;
    std::string problem = cdicom::decodeJPEG2000(codestream.data(), codestream.size(), frame, stored);
    if (!problem.empty()) fail(problem);
    codestream = std::vector<uint8_t>();  // not needed past here; the frame may be large
    OFCondition status;
    if (d.bitsAllocated == 16) {
        status = ds->putAndInsertUint16Array(DCM_PixelData, stored.data(), (unsigned long)stored.size());
    } else {
        std::vector<Uint8> bytes(stored.size());
        for (size_t i = 0; i < stored.size(); i++) bytes[i] = Uint8(stored[i] & 0xFF);
        status = ds->putAndInsertUint8Array(DCM_PixelData, bytes.data(), (unsigned long)bytes.size());
    }
    if (status.bad()) fail(std::string("cannot store the decoded JPEG 2000 frame: ") + status.text());
}

Decoded decode(const uint8_t *data, size_t size, const cxr_dicom_limits &limits, int window, bool keepStored) {
    Decoded d;
    d.parsed = parse(data, size, limits);
    DcmDataset *ds = d.parsed.dataset;
    if (!ds->tagExists(DCM_PixelData)) fail("no pixel data (not an image)");
    Uint16 samplesPerPixel = 1;
    ds->findAndGetUint16(DCM_SamplesPerPixel, samplesPerPixel);
    std::string photometric = stringOf(ds, DCM_PhotometricInterpretation);
    if (samplesPerPixel != 1 || (photometric != "MONOCHROME1" && photometric != "MONOCHROME2")) {
        fail("photometric interpretation " + (photometric.empty() ? std::string("(missing)") : photometric) +
             " with " + std::to_string(samplesPerPixel) + " samples per pixel: only greyscale radiographs "
             "(MONOCHROME1/MONOCHROME2) are supported");
    }
    d.monochrome1 = photometric == "MONOCHROME1";
    Uint16 rows = requiredUint16(ds, DCM_Rows, "Rows"), columns = requiredUint16(ds, DCM_Columns, "Columns");
    d.width = columns;
    d.height = rows;
    if (d.width <= 0 || d.height <= 0) {
        fail("image has zero size (" + std::to_string(d.width) + "x" + std::to_string(d.height) + ")");
    }
    if (d.width > limits.max_side || d.height > limits.max_side) {
        fail("image " + std::to_string(d.width) + "x" + std::to_string(d.height) + " exceeds the limit of " +
             std::to_string(limits.max_side) + " px per side");
    }
    if (d.width * d.height > limits.max_pixels) {
        fail("image " + std::to_string(d.width) + "x" + std::to_string(d.height) + " exceeds the limit of " +
             std::to_string(limits.max_pixels) + " pixels");
    }
    d.bitsAllocated = requiredUint16(ds, DCM_BitsAllocated, "Bits Allocated");
    d.bitsStored = requiredUint16(ds, DCM_BitsStored, "Bits Stored");
    Uint16 highBit = requiredUint16(ds, DCM_HighBit, "High Bit");
    Uint16 representation = 0;
    ds->findAndGetUint16(DCM_PixelRepresentation, representation);
    d.isSigned = representation == 1;
    if (d.bitsAllocated != 8 && d.bitsAllocated != 16) {
        fail("bits allocated " + std::to_string(d.bitsAllocated) + " is not supported (8 or 16)");
    }
    if (d.bitsStored < 1 || d.bitsStored > d.bitsAllocated || highBit != d.bitsStored - 1) {
        fail("bits stored " + std::to_string(d.bitsStored) + " / high bit " + std::to_string(highBit) +
             " do not fit " + std::to_string(d.bitsAllocated) + " bits allocated (only high bit = bits stored - 1)");
    }
    Sint32 frames = 1;
    if (ds->findAndGetSint32(DCM_NumberOfFrames, frames).good() && frames != 1) {
        fail("multi-frame images are not supported (" + std::to_string(frames) + " frames)");
    }
    size_t frameBytes = size_t(d.width) * size_t(d.height) * size_t(d.bitsAllocated / 8);
    // Native pixel data must hold the frame before anything is decoded; compressed data are checked after.
    DcmElement *pixelElement = nullptr;
    if (ds->findAndGetElement(DCM_PixelData, pixelElement).good() && pixelElement) {
        if (pixelElement->getLength() != DCM_UndefinedLength && pixelElement->getLength() < frameBytes &&
            !DcmXfer(d.parsed.transferSyntax.c_str()).isEncapsulated() && !isJPEG2000(d.parsed.transferSyntax)) {
            fail("pixel data shorter than declared (" + std::to_string(pixelElement->getLength()) + " of " +
                 std::to_string(frameBytes) + " bytes)");
        }
    }
    if (isJPEG2000(d.parsed.transferSyntax)) {
        decodeJPEG2000Frame(ds, d);
    } else {
        OFCondition status = ds->chooseRepresentation(EXS_LittleEndianExplicit, nullptr);
        if (status.bad() || !ds->canWriteXfer(EXS_LittleEndianExplicit)) {
            fail(std::string("cannot decompress the pixel data: ") + (status.bad() ? status.text() : "codec failed"));
        }
    }
    if (keepStored) {
        d.stored.resize(size_t(d.width) * size_t(d.height));
        if (d.bitsAllocated == 16) {
            const Uint16 *words = nullptr;
            unsigned long count = 0;
            if (ds->findAndGetUint16Array(DCM_PixelData, words, &count).bad() || !words || count < d.stored.size()) {
                fail("pixel data shorter than declared");
            }
            std::copy(words, words + d.stored.size(), d.stored.begin());
        } else {
            const Uint8 *bytes = nullptr;
            unsigned long count = 0;
            if (ds->findAndGetUint8Array(DCM_PixelData, bytes, &count).bad() || !bytes || count < d.stored.size()) {
                fail("pixel data shorter than declared");
            }
            std::copy(bytes, bytes + d.stored.size(), d.stored.begin());
        }
    }
    DicomImage image(ds, EXS_LittleEndianExplicit, 0UL, 0UL, 1UL);
    if (image.getStatus() != EIS_Normal) {
        fail(std::string("cannot decode the image: ") + DicomImage::getString(image.getStatus()));
    }
    applyVOI(image, d, window);
    d.displayBits = d.bitsStored > 8 ? 16 : 8;
    const void *pixels = image.getOutputData(d.displayBits);
    if (!pixels) fail("cannot render the image (pixel data shorter than declared or corrupt)");
    size_t n = size_t(d.width) * size_t(d.height);
    d.display.resize(n);
    if (d.displayBits == 16) {
        const Uint16 *p = static_cast<const Uint16 *>(pixels);
        std::copy(p, p + n, d.display.begin());
    } else {
        const Uint8 *p = static_cast<const Uint8 *>(pixels);
        std::copy(p, p + n, d.display.begin());
    }
    return d;
}

// MARK: - Writing

void put(DcmItem *item, const DcmTagKey &tag, const std::string &value) {
    OFCondition c = item->putAndInsertString(tag, value.c_str());
    if (c.bad()) fail(std::string("cannot set ") + DcmTag(tag).getTagName() + ": " + c.text());
}

std::string newUID(const char *root) {
    char uid[100];
    dcmGenerateUniqueIdentifier(uid, root);
    return uid;
}

/// The display value of every possible stored value under the source's transformations: a ramp image of all
/// 2^bitsStored values with the source's pixel-value attributes, rendered by DCMTK exactly as the source was.
std::vector<uint16_t> forwardLUT(const Decoded &d) {
    size_t count = size_t(1) << d.bitsStored;
    long width = long(std::min<size_t>(count, 256)), height = long(count / size_t(width));
    DcmDataset ramp;
    const DcmTagKey copied[] = {DCM_SamplesPerPixel, DCM_PhotometricInterpretation, DCM_BitsAllocated, DCM_BitsStored,
                                DCM_HighBit, DCM_PixelRepresentation, DCM_RescaleSlope, DCM_RescaleIntercept,
                                DCM_RescaleType, DCM_ModalityLUTSequence, DCM_VOILUTSequence, DCM_WindowCenter,
                                DCM_WindowWidth, DCM_VOILUTFunction, DCM_PresentationLUTShape};
    for (const DcmTagKey &tag : copied) {
        DcmElement *e = nullptr;
        if (d.parsed.dataset->findAndGetElement(tag, e).good() && e) {
            ramp.insert(OFstatic_cast(DcmElement *, e->clone()), true);
        }
    }
    ramp.putAndInsertUint16(DCM_Rows, Uint16(height));
    ramp.putAndInsertUint16(DCM_Columns, Uint16(width));
    if (d.bitsAllocated == 16) {
        std::vector<Uint16> words(count);
        for (size_t i = 0; i < count; i++) words[i] = Uint16(i);
        ramp.putAndInsertUint16Array(DCM_PixelData, words.data(), (unsigned long)count);
    } else {
        std::vector<Uint8> bytes(count);
        for (size_t i = 0; i < count; i++) bytes[i] = Uint8(i);
        ramp.putAndInsertUint8Array(DCM_PixelData, bytes.data(), (unsigned long)count);
    }
    DicomImage image(&ramp, EXS_LittleEndianExplicit, 0UL, 0UL, 1UL);
    if (image.getStatus() != EIS_Normal) fail("cannot compute the display mapping of the source");
    bool ok = d.voi == VOIKind::lut ? image.setVoiLut(d.voiLut) != 0 : image.setWindow(d.center, d.width_) != 0;
    if (!ok) fail("cannot reproduce the source's VOI transformation");
    const void *pixels = image.getOutputData(d.displayBits);
    if (!pixels) fail("cannot compute the display mapping of the source");
    std::vector<uint16_t> lut(count);
    for (size_t i = 0; i < count; i++) {
        lut[i] = d.displayBits == 16 ? static_cast<const Uint16 *>(pixels)[i] : static_cast<const Uint8 *>(pixels)[i];
    }
    return lut;
}

/// For each display value, the stored value (index into `lut`) whose display value is closest; among equals the
/// one nearest the middle of the run, so a clipped window end maps inside the clipped range's edge.
std::vector<uint16_t> inverseLUT(const std::vector<uint16_t> &lut, int displayBits) {
    size_t displayCount = size_t(1) << displayBits;
    std::vector<std::pair<uint16_t, uint16_t>> pairs;  // (display, stored index)
    pairs.reserve(lut.size());
    for (size_t i = 0; i < lut.size(); i++) pairs.push_back({lut[i], uint16_t(i)});
    std::sort(pairs.begin(), pairs.end());
    std::vector<uint16_t> inverse(displayCount);
    size_t j = 0;
    for (size_t v = 0; v < displayCount; v++) {
        while (j + 1 < pairs.size() && pairs[j + 1].first <= v) j++;
        size_t best = j;
        if (j + 1 < pairs.size() && pairs[j].first < v &&
            long(pairs[j + 1].first) - long(v) < long(v) - long(pairs[j].first)) {
            best = j + 1;
        }
        inverse[v] = pairs[best].second;
    }
    return inverse;
}

/// The first private block of group 0011 reserved for cxr-edit, or a free one (0 if none is left).
Uint16 privateBlock(DcmItem *item, bool reserve) {
    Uint16 free = 0;
    for (Uint16 block = 0x10; block <= 0xFF; block++) {
        std::string creator = stringOf(item, DcmTagKey(kPrivateGroup, block));
        if (creator == kPrivateCreator) return block;
        if (free == 0 && !item->tagExists(DcmTagKey(kPrivateGroup, block))) free = block;
    }
    if (reserve && free != 0) put(item, DcmTagKey(kPrivateGroup, free), kPrivateCreator);
    return reserve ? free : 0;
}

void describeDerivation(DcmDataset *ds, const cxr_dicom_derivation &what) {
    put(ds, DCM_ImageType, "DERIVED\\SECONDARY");
    put(ds, DCM_DerivationDescription,
        std::string(what.derivation_description ? what.derivation_description : "").substr(0, 1024));
    put(ds, DCM_ImageComments, std::string(what.image_comments ? what.image_comments : "").substr(0, 10240));
    if (what.software) put(ds, DCM_SoftwareVersions, std::string(what.software).substr(0, 64));
    put(ds, DCM_SeriesDescription, "cxr-edit synthetic (not for clinical use)");
    char date[32], time[32];
    OFDateTime now;
    now.setCurrentDateTime();
    snprintf(date, sizeof date, "%04u%02u%02u", now.getDate().getYear(), now.getDate().getMonth(),
             now.getDate().getDay());
    snprintf(time, sizeof time, "%02u%02u%02u", now.getTime().getHour(), now.getTime().getMinute(),
             unsigned(now.getTime().getIntSecond()));
    put(ds, DCM_InstanceCreationDate, date);
    put(ds, DCM_InstanceCreationTime, time);
    put(ds, DCM_ContentDate, date);
    put(ds, DCM_ContentTime, time);
    Uint16 block = privateBlock(ds, true);
    if (block == 0) fail("no free private block in group 0011 for the provenance");
    Uint16 base = Uint16(block << 8);
    // Built as concrete classes: the dictionary does not know our private tags, and a generic element would be UN.
    DcmTag jsonTag(kPrivateGroup, Uint16(base | 0x01), kPrivateCreator);
    jsonTag.setVR(EVR_UT);
    DcmUnlimitedText *json = new DcmUnlimitedText(jsonTag);
    json->putString(what.provenance_json ? what.provenance_json : "[]");
    if (ds->insert(json, true).bad()) fail("cannot store the provenance");
    DcmTag noticeTag(kPrivateGroup, Uint16(base | 0x02), kPrivateCreator);
    noticeTag.setVR(EVR_LO);
    DcmLongString *notice = new DcmLongString(noticeTag);
    notice->putString("SYNTHETIC - NOT FOR CLINICAL USE");
    if (ds->insert(notice, true).bad()) fail("cannot store the provenance");
}

/// De-identification after DICOM PS3.15 Annex E's Basic Application Level Confidentiality Profile, for the
/// attributes a radiograph carries: identifying attributes of Type 2 are emptied, the others removed (at every
/// nesting level), all private attributes removed, UIDs that link to the source replaced, and the method
/// recorded. Pixel data with burned-in annotation cannot be cleaned here and is refused.
void anonymize(DcmDataset *ds) {
    std::string burned = stringOf(ds, DCM_BurnedInAnnotation);
    if (burned == "YES") fail("the source has burned-in annotation (0028,0301) YES: its pixels may identify the "
                              "patient, so it cannot be anonymized here");
    // Type 2 in the IODs we write: kept present, emptied.
    const DcmTagKey emptied[] = {
        DCM_PatientName, DCM_PatientID, DCM_PatientBirthDate, DCM_PatientSex, DCM_StudyDate, DCM_StudyTime,
        DCM_AccessionNumber, DCM_ReferringPhysicianName, DCM_StudyID, DCM_ContentDate, DCM_ContentTime};
    for (const DcmTagKey &tag : emptied) {
        if (ds->tagExists(tag)) put(ds, tag, "");
    }
    const DcmTagKey removed[] = {
        DcmTagKey(0x0008, 0x0012), DcmTagKey(0x0008, 0x0013), /* Instance Creation Date/Time (re-set below) */
        DcmTagKey(0x0008, 0x0014), /* Instance Creator UID */ DcmTagKey(0x0008, 0x0021), DcmTagKey(0x0008, 0x0022),
        DcmTagKey(0x0008, 0x0031), DcmTagKey(0x0008, 0x0032), DCM_AcquisitionDateTime, /* series/acq dates */
        DcmTagKey(0x0008, 0x0024), DcmTagKey(0x0008, 0x0034), /* overlay date/time */
        DCM_InstitutionName, DcmTagKey(0x0008, 0x0081), /* Institution Address */ DcmTagKey(0x0008, 0x0082),
        DcmTagKey(0x0008, 0x0092), DcmTagKey(0x0008, 0x0094), DcmTagKey(0x0008, 0x0096), /* referring physician */
        DcmTagKey(0x0008, 0x1010), /* Station Name */ DcmTagKey(0x0008, 0x1030), /* Study Description */
        DcmTagKey(0x0008, 0x1040), /* Institutional Department Name */ DCM_PhysiciansOfRecord,
        DcmTagKey(0x0008, 0x1049), DcmTagKey(0x0008, 0x1050), DcmTagKey(0x0008, 0x1052), /* performing physician */
        DCM_NameOfPhysiciansReadingStudy, DcmTagKey(0x0008, 0x1062), DcmTagKey(0x0008, 0x1070), /* operators */
        DcmTagKey(0x0008, 0x1072), DcmTagKey(0x0008, 0x1080), /* Admitting Diagnoses */
        DcmTagKey(0x0008, 0x1110), DcmTagKey(0x0008, 0x1111), DcmTagKey(0x0008, 0x1120), /* referenced study... */
        DcmTagKey(0x0008, 0x1140), /* Referenced Image Sequence */ DcmTagKey(0x0008, 0x2111), /* re-set below */
        DCM_IssuerOfPatientID, DCM_PatientBirthTime, DCM_RETIRED_OtherPatientIDs, DcmTagKey(0x0010, 0x1001),
        DCM_OtherPatientIDsSequence, DcmTagKey(0x0010, 0x1005), /* birth name */ DCM_PatientAge,
        DcmTagKey(0x0010, 0x1020), DcmTagKey(0x0010, 0x1030), /* size, weight */ DcmTagKey(0x0010, 0x1040),
        DcmTagKey(0x0010, 0x1060), /* mother's birth name */ DcmTagKey(0x0010, 0x1080), DcmTagKey(0x0010, 0x1081),
        DcmTagKey(0x0010, 0x1090), /* medical record locator */ DcmTagKey(0x0010, 0x2150), DcmTagKey(0x0010, 0x2152),
        DcmTagKey(0x0010, 0x2154), /* country/region of residence, telephone */ DcmTagKey(0x0010, 0x2160),
        DcmTagKey(0x0010, 0x2180), DcmTagKey(0x0010, 0x21B0), DcmTagKey(0x0010, 0x21D0), /* ethnic group ... */
        DcmTagKey(0x0010, 0x21F0), DcmTagKey(0x0010, 0x4000), /* religious preference, patient comments */
        DcmTagKey(0x0018, 0x1000), /* Device Serial Number */ DcmTagKey(0x0018, 0x1030), /* Protocol Name */
        DcmTagKey(0x0020, 0x4000), /* Image Comments (re-set below) */ DcmTagKey(0x0032, 0x1032),
        DcmTagKey(0x0032, 0x1060), DcmTagKey(0x0032, 0x4000), /* requesting physician, procedure, study comments */
        DcmTagKey(0x0038, 0x0010), DcmTagKey(0x0038, 0x0300), DcmTagKey(0x0038, 0x0500), /* admission, location */
        DcmTagKey(0x0040, 0x0241), DcmTagKey(0x0040, 0x0242), DcmTagKey(0x0040, 0x0243), DcmTagKey(0x0040, 0x0244),
        DcmTagKey(0x0040, 0x0245), DcmTagKey(0x0040, 0x0250), DcmTagKey(0x0040, 0x0251), DcmTagKey(0x0040, 0x0253),
        DcmTagKey(0x0040, 0x0254), DcmTagKey(0x0040, 0x0275), DcmTagKey(0x0040, 0x0280), /* performed procedure step */
        DcmTagKey(0x0040, 0x1001), DcmTagKey(0x0040, 0x2016), DcmTagKey(0x0040, 0x2017), DcmTagKey(0x0040, 0xA730),
        DcmTagKey(0x0088, 0x0140), /* Storage Media File-set UID */ DcmTagKey(0x0400, 0x0561), /* Original Attributes */
    };
    for (const DcmTagKey &tag : removed) ds->findAndDeleteElement(tag, OFTrue, OFTrue);
    // Private attributes (any odd group) may hold anything.
    for (unsigned long i = ds->card(); i > 0; i--) {
        DcmElement *element = ds->getElement(i - 1);
        if (element && (element->getGTag() & 1)) delete ds->remove(element);
    }
    // UIDs that would link the output to the source's study and frame of reference.
    put(ds, DCM_StudyInstanceUID, newUID(SITE_STUDY_UID_ROOT));
    if (ds->tagExists(DCM_FrameOfReferenceUID)) put(ds, DCM_FrameOfReferenceUID, newUID(SITE_INSTANCE_UID_ROOT));
    ds->findAndDeleteElement(DCM_SourceImageSequence);
    put(ds, DCM_PatientIdentityRemoved, "YES");
    put(ds, DCM_DeidentificationMethod, "cxr-edit: DICOM PS3.15 E.1-1 basic profile (subset for radiographs)");
}

std::vector<uint8_t> serialise(DcmFileFormat &file) {
    const E_TransferSyntax xfer = EXS_LittleEndianExplicit;
    file.getMetaInfo()->clear();
    OFCondition status = file.validateMetaInfo(xfer);
    if (status.bad()) fail(std::string("cannot build the file meta information: ") + status.text());
    Uint32 length = file.calcElementLength(xfer, EET_ExplicitLength);
    std::vector<uint8_t> buffer(size_t(length) + 4096);
    DcmOutputBufferStream stream(buffer.data(), offile_off_t(buffer.size()));
    file.transferInit();
    status = file.write(stream, xfer, EET_ExplicitLength, nullptr, EGL_recalcGL, EPD_noChange, 0, 0, 0,
                        EWM_updateMeta);
    file.transferEnd();
    if (status.bad()) fail(std::string("cannot encode DICOM: ") + status.text());
    void *written = nullptr;
    offile_off_t count = 0;
    stream.flushBuffer(written, count);
    buffer.resize(size_t(count));
    return buffer;
}

std::vector<uint8_t> encodeDerived(const Decoded &source, const uint16_t *samples, long width, long height,
                                   int bits, const cxr_dicom_derivation &what) {
    if (width != source.width || height != source.height) {
        fail("the image is " + std::to_string(width) + "x" + std::to_string(height) + " but its DICOM source is " +
             std::to_string(source.width) + "x" + std::to_string(source.height) +
             ": a DICOM output keeps the source's size (write a PNG instead)");
    }
    size_t n = size_t(width) * size_t(height);
    std::vector<uint16_t> display(samples, samples + n);
    if (bits != source.displayBits) {
        for (uint16_t &v : display) {
            v = bits == 8 ? uint16_t(v * 257) : uint16_t((uint32_t(v) * 255 + 32767) / 65535);
        }
    }
    std::vector<uint16_t> lut = forwardLUT(source);
    std::vector<uint16_t> inverse = inverseLUT(lut, source.displayBits);
    uint16_t mask = uint16_t((uint32_t(1) << source.bitsStored) - 1);
    std::vector<uint16_t> stored(n);
    for (size_t i = 0; i < n; i++) {
        if (display[i] == source.display[i]) {
            stored[i] = source.stored[i];  // unedited: the source's word, bit for bit
        } else {
            uint16_t value = inverse[display[i]];
            if (source.isSigned && (value >> (source.bitsStored - 1)) & 1) value |= uint16_t(~mask);  // sign-extend
            stored[i] = source.bitsAllocated == 8 ? uint16_t(value & 0xFF) : value;
        }
    }
    DcmFileFormat file(*source.parsed.file);
    DcmDataset *ds = file.getDataset();
    if (source.bitsAllocated == 16) {
        ds->putAndInsertUint16Array(DCM_PixelData, stored.data(), (unsigned long)n);
    } else {
        std::vector<Uint8> bytes(stored.begin(), stored.end());
        ds->putAndInsertUint8Array(DCM_PixelData, bytes.data(), (unsigned long)n);
    }
    if (!source.fileHasVOI) {
        // The source had no VOI; the window it was shown with is written so the output displays the same. (A
        // min-max window chosen over the file's own is not written: the file's windows stay as they were.)
        char value[32];
        OFStandard::ftoa(value, sizeof value, source.center, 0, 0, 10);
        put(ds, DCM_WindowCenter, value);
        OFStandard::ftoa(value, sizeof value, source.width_, 0, 0, 10);
        put(ds, DCM_WindowWidth, value);
        put(ds, DCM_WindowCenterWidthExplanation, "CXR-EDIT MIN-MAX OF SOURCE");
    }
    // Attributes that described the source's pixels or encoding and would now be wrong.
    const DcmTagKey stale[] = {DCM_SmallestImagePixelValue, DCM_LargestImagePixelValue, DCM_IconImageSequence,
                               DCM_PixelDataProviderURL, DCM_DigitalSignaturesSequence, DCM_NumberOfFrames};
    for (const DcmTagKey &tag : stale) delete ds->remove(tag);
    std::string sopClass = stringOf(ds, DCM_SOPClassUID), sopInstance = stringOf(ds, DCM_SOPInstanceUID);
    ds->findAndDeleteElement(DCM_SourceImageSequence);
    if (!sopClass.empty() && !sopInstance.empty()) {
        DcmItem *reference = nullptr;
        if (ds->findOrCreateSequenceItem(DCM_SourceImageSequence, reference, 0).bad() || !reference) {
            fail("cannot create the Source Image Sequence");
        }
        put(reference, DCM_ReferencedSOPClassUID, sopClass);
        put(reference, DCM_ReferencedSOPInstanceUID, sopInstance);
    }
    put(ds, DCM_SOPInstanceUID, newUID(SITE_INSTANCE_UID_ROOT));
    put(ds, DCM_SeriesInstanceUID, newUID(SITE_SERIES_UID_ROOT));
    if (what.anonymize) anonymize(ds);  // after the Source Image Sequence was built: it names the source
    if (stringOf(ds, DCM_BurnedInAnnotation).empty()) put(ds, DCM_BurnedInAnnotation, "NO");
    // Type 2 (may be empty, must be present) in General Image/Series, which a derived image must carry.
    if (!ds->tagExists(DCM_PatientOrientation)) put(ds, DCM_PatientOrientation, "");
    if (!ds->tagExists(DCM_SeriesNumber)) put(ds, DCM_SeriesNumber, "");
    describeDerivation(ds, what);
    return serialise(file);
}

/// A Secondary Capture image with no patient or study of origin (e.g. `generate`).
std::vector<uint8_t> encodeNew(const uint16_t *samples, long width, long height, int bits,
                               const cxr_dicom_derivation &what) {
    if (width <= 0 || height <= 0 || width > 65535 || height > 65535) fail("image size does not fit DICOM");
    size_t n = size_t(width) * size_t(height);
    DcmFileFormat file;
    DcmDataset *ds = file.getDataset();
    put(ds, DCM_SOPClassUID, UID_SecondaryCaptureImageStorage);
    put(ds, DCM_SOPInstanceUID, newUID(SITE_INSTANCE_UID_ROOT));
    put(ds, DCM_StudyInstanceUID, newUID(SITE_STUDY_UID_ROOT));
    put(ds, DCM_SeriesInstanceUID, newUID(SITE_SERIES_UID_ROOT));
    put(ds, DCM_Modality, "OT");
    put(ds, DCM_Manufacturer, "cxr-edit");
    put(ds, DCM_Laterality, "");
    put(ds, DCM_ConversionType, "SYN");
    put(ds, DCM_PatientName, "");
    put(ds, DCM_PatientID, "");
    put(ds, DCM_PatientBirthDate, "");
    put(ds, DCM_PatientSex, "");
    put(ds, DCM_StudyDate, "");
    put(ds, DCM_StudyTime, "");
    put(ds, DCM_ReferringPhysicianName, "");
    put(ds, DCM_StudyID, "");
    put(ds, DCM_AccessionNumber, "");
    put(ds, DCM_SeriesNumber, "1");
    put(ds, DCM_InstanceNumber, "1");
    put(ds, DCM_PatientOrientation, "");
    put(ds, DCM_BurnedInAnnotation, "NO");
    ds->putAndInsertUint16(DCM_SamplesPerPixel, 1);
    put(ds, DCM_PhotometricInterpretation, "MONOCHROME2");
    ds->putAndInsertUint16(DCM_Rows, Uint16(height));
    ds->putAndInsertUint16(DCM_Columns, Uint16(width));
    ds->putAndInsertUint16(DCM_BitsAllocated, Uint16(bits));
    ds->putAndInsertUint16(DCM_BitsStored, Uint16(bits));
    ds->putAndInsertUint16(DCM_HighBit, Uint16(bits - 1));
    ds->putAndInsertUint16(DCM_PixelRepresentation, 0);
    if (bits == 16) {
        ds->putAndInsertUint16Array(DCM_PixelData, samples, (unsigned long)n);
    } else {
        std::vector<Uint8> bytes(samples, samples + n);
        ds->putAndInsertUint8Array(DCM_PixelData, bytes.data(), (unsigned long)n);
    }
    describeDerivation(ds, what);
    return serialise(file);
}

void copyOut(const std::vector<uint8_t> &bytes, uint8_t **out, size_t *outSize) {
    *out = static_cast<uint8_t *>(malloc(std::max<size_t>(bytes.size(), 1)));
    if (!*out) throw std::bad_alloc();
    memcpy(*out, bytes.data(), bytes.size());
    *outSize = bytes.size();
}

}  // namespace

extern "C" {

int cxr_dicom_is_dicom(const uint8_t *data, size_t size) {
    return size >= 132 && memcmp(data + 128, "DICM", 4) == 0;
}

int cxr_dicom_decode(const uint8_t *data, size_t size, const cxr_dicom_limits *limits, int window,
                     cxr_dicom_image *out, char *error, size_t errorSize) {
    memset(out, 0, sizeof *out);
    return guarded([&] {
        Decoded d = decode(data, size, *limits, window, false);
        out->samples = static_cast<uint16_t *>(malloc(d.display.size() * sizeof(uint16_t)));
        if (!out->samples) throw std::bad_alloc();
        std::copy(d.display.begin(), d.display.end(), out->samples);
        out->width = d.width;
        out->height = d.height;
        out->bits = d.displayBits;
        out->bits_stored = d.bitsStored;
        out->monochrome1 = d.monochrome1 ? 1 : 0;
        out->voi_count = d.voiCount;
        snprintf(out->voi, sizeof out->voi, "%s", d.voiDescription.c_str());
    }, error, errorSize);
}

int cxr_dicom_encode(const uint8_t *source, size_t sourceSize, const cxr_dicom_limits *limits, int window,
                     const uint16_t *samples, long width, long height, int bits,
                     const cxr_dicom_derivation *derivation, uint8_t **out, size_t *outSize,
                     char *error, size_t errorSize) {
    *out = nullptr;
    *outSize = 0;
    return guarded([&] {
        if (bits != 8 && bits != 16) fail("unsupported bit depth " + std::to_string(bits));
        setUp();
        std::vector<uint8_t> bytes = source ? encodeDerived(decode(source, sourceSize, *limits, window, true), samples,
                                                            width, height, bits, *derivation)
                                            : encodeNew(samples, width, height, bits, *derivation);
        copyOut(bytes, out, outSize);
    }, error, errorSize);
}

int cxr_dicom_read_provenance(const uint8_t *data, size_t size, const cxr_dicom_limits *limits, char **json,
                              char *error, size_t errorSize) {
    *json = nullptr;
    return guarded([&] {
        Parsed parsed = parse(data, size, *limits);
        Uint16 block = privateBlock(parsed.dataset, false);
        if (block == 0) return;
        std::string text;
        DcmElement *element = nullptr;
        if (parsed.dataset->findAndGetElement(DcmTagKey(kPrivateGroup, Uint16((block << 8) | 0x01)), element).good() &&
            element) {
            char *chars = nullptr;
            Uint8 *bytes = nullptr;
            if (element->getString(chars).good() && chars) {
                text.assign(chars, element->getLength());
            } else if (element->getUint8Array(bytes).good() && bytes) {
                // Read back as UN (e.g. after an implicit-VR transcode, where our private tag has no VR).
                text.assign(reinterpret_cast<const char *>(bytes), element->getLength());
            }
            while (!text.empty() && (text.back() == ' ' || text.back() == '\0')) text.pop_back();
        }
        *json = static_cast<char *>(malloc(text.size() + 1));
        if (!*json) throw std::bad_alloc();
        memcpy(*json, text.c_str(), text.size() + 1);
    }, error, errorSize);
}

void cxr_dicom_free(void *pointer) { free(pointer); }

}  // extern "C"
