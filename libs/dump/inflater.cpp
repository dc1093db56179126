#include "inflater.hpp"

#include <string>

#include <isa-l/igzip_lib.h>

namespace pixrep::common {
namespace {

std::string reason(int r) {
    switch (r) {
    case ISAL_INVALID_BLOCK: return "an invalid deflate block";
    case ISAL_INVALID_SYMBOL: return "an invalid code";
    case ISAL_INVALID_LOOKBACK: return "a distance too far back";
    case ISAL_INVALID_WRAPPER: return "an invalid header";
    case ISAL_UNSUPPORTED_METHOD: return "an unknown compression method";
    case ISAL_INCORRECT_CHECKSUM: return "an incorrect checksum";
    case ISAL_NEED_DICT: return "a preset dictionary, which a dump never uses";
    default: return "ISA-L error " + std::to_string(r);
    }
}

}  // namespace

// Both about 100 KB: kept off the stack of the threads that read dumps.
struct Inflater::State {
    inflate_state st{};
    unsigned char out[1 << 16];
};

Inflater::Inflater(bool gzip) : s_(std::make_unique<State>()) {
    isal_inflate_init(&s_->st);
    s_->st.crc_flag = gzip ? ISAL_GZIP : ISAL_ZLIB;
}

Inflater::~Inflater() = default;

void Inflater::feed(const char* p, std::size_t n, const std::function<void(const char*, std::size_t)>& sink) {
    auto& st = s_->st;
    st.next_in = reinterpret_cast<uint8_t*>(const_cast<char*>(p));
    st.avail_in = static_cast<uint32_t>(n);
    while (st.avail_in > 0 || !ended_) {
        if (ended_) throw Error("data follows the end of its compressed stream");
        st.next_out = s_->out;
        st.avail_out = sizeof s_->out;
        const uint32_t in_before = st.avail_in;
        const int r = isal_inflate(&st);
        if (r < 0 || r == ISAL_NEED_DICT) throw Error("does not decompress (" + reason(r) + ")");
        const std::size_t made = sizeof s_->out - st.avail_out;
        if (made > 0) sink(reinterpret_cast<const char*>(s_->out), made);
        if (st.block_state == ISAL_BLOCK_FINISH) {
            ended_ = true;
            // ISA-L reads ahead by whole words: bytes after the checksum may sit in its bit buffer.
            if (st.read_in_length >= 8) throw Error("data follows the end of its compressed stream");
        }
        // Input used up and room left in the output: nothing more until the next bytes come.
        else if (st.avail_in == 0 && st.avail_out > 0) break;
        else if (made == 0 && st.avail_in == in_before) throw Error("does not decompress (no progress)");
    }
}

}  // namespace pixrep::common
